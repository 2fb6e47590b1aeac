//! A training loop users need not write, in the spirit of Keras' `fit`: epochs of
//! shuffled batches through [`Network::train_step`]'s pieces, a learning-rate
//! [`Schedule`] per step, gradient clipping by global norm (`clip_grad_norm_`),
//! validation after each epoch with a [`Metric`], early stopping and keeping the best
//! weights (`EarlyStopping(restore_best_weights=True)`), checkpoints every K steps that
//! a later run resumes to the very same weights, a progress line, and a [`History`].

use crate::error::Error;
use crate::exec::network::Network;
use crate::float::Float;
use crate::io::checkpoint::Checkpoint;
use crate::io::data::{Batches, Dataset};
use crate::io::metrics::top_k_correct;
use crate::train::loss::Loss;
use crate::train::optim::Optimizer;
use crate::train::schedule::{Constant, Schedule};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A figure computed on validation outputs: the larger, the better.
pub trait Metric<F, T> {
    /// Its column in the [`History`], after `val_`.
    fn name(&self) -> String;
    /// The sum of the figure over the batch's samples (or positions) and their count.
    fn score(&self, output: &[F], sample_shape: &[usize], targets: &[T]) -> Result<(f64, usize), Error>;
}

/// The fraction of class labels predicted right (one per sample, or per position of a
/// `[C, H, W]` output).
#[derive(Debug, Clone, Copy, Default)]
pub struct Accuracy;

impl<F: Float> Metric<F, usize> for Accuracy {
    fn name(&self) -> String {
        "accuracy".into()
    }
    fn score(&self, output: &[F], sample_shape: &[usize], labels: &[usize]) -> Result<(f64, usize), Error> {
        let classes = sample_shape[0];
        let positions: usize = sample_shape[1..].iter().product();
        if output.len() != labels.len() * classes {
            return Err(Error::TargetLength {
                what: "labels",
                expected: output.len() / classes.max(1),
                found: labels.len(),
                batch: labels.len() / positions.max(1),
            });
        }
        let mut correct = 0;
        for (i, &label) in labels.iter().enumerate() {
            let (n, s) = (i / positions, i % positions);
            let at = |c: usize| (n * classes + c) * positions + s;
            let best = (0..classes).fold(0, |best, c| {
                if output[at(c)] > output[at(best)] || (output[at(c)].is_nan() && !output[at(best)].is_nan()) {
                    c
                } else {
                    best
                }
            });
            correct += usize::from(best == label);
        }
        Ok((correct as f64, labels.len()))
    }
}

/// Top-k accuracy on `[C]` outputs ([`top_k_correct`]).
#[derive(Debug, Clone, Copy)]
pub struct TopK(pub usize);

impl<F: Float> Metric<F, usize> for TopK {
    fn name(&self) -> String {
        format!("top{}_accuracy", self.0)
    }
    fn score(&self, output: &[F], sample_shape: &[usize], labels: &[usize]) -> Result<(f64, usize), Error> {
        let correct = top_k_correct(output, sample_shape.iter().product(), labels, self.0)?;
        Ok((correct as f64, labels.len()))
    }
}

/// One row per epoch: `epoch`, `lr` (the last step's), `loss` (the epoch's mean
/// training loss), then `val_loss` and `val_<metric>` when validating, and `seconds`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl History {
    /// One column's values, by name.
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let c = self.columns.iter().position(|n| n == name)?;
        Some(self.rows.iter().map(|row| row[c]).collect())
    }

    /// The history as CSV text, a header and a line per epoch.
    pub fn to_csv(&self) -> String {
        let mut text = self.columns.join(",") + "\n";
        for row in &self.rows {
            text += &row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
            text.push('\n');
        }
        text
    }

    /// Writes [`History::to_csv`] to `path`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        std::fs::write(path, self.to_csv())
            .map_err(|e| Error::Data { source: path.display().to_string(), message: format!("cannot write: {e}") })
    }
}

/// The loop's settings; [`Fit::run`] trains. See the module documentation.
pub struct Fit<'a, F, T> {
    epochs: usize,
    schedule: Box<dyn Schedule + 'a>,
    clip_norm: Option<f64>,
    validation: Option<&'a dyn Dataset<F, Target = T>>,
    eval_batch: usize,
    metric: Option<Box<dyn Metric<F, T> + 'a>>,
    patience: Option<usize>,
    keep_best: bool,
    checkpoint: Option<(PathBuf, u64)>,
    resume: bool,
    progress: bool,
    print: bool,
}

/// Where a run stands: everything a checkpoint keeps besides the network, the
/// optimizer and the batches.
#[derive(Debug, Clone, PartialEq)]
struct Progress<F> {
    step: u64,
    epoch: u64,
    base_lr: f64,
    loss_sum: f64,
    seen: u64,
    rows: Vec<Vec<f64>>,
    best: Option<(f64, u64, Vec<F>)>,
    stopped: bool,
}

impl<'a, F: Float, T: Copy + 'a> Fit<'a, F, T> {
    /// `epochs` epochs at the optimizer's rate, nothing else: add what is wanted.
    pub fn new(epochs: usize) -> Self {
        Fit {
            epochs,
            schedule: Box::new(Constant),
            clip_norm: None,
            validation: None,
            eval_batch: 1000,
            metric: None,
            patience: None,
            keep_best: false,
            checkpoint: None,
            resume: false,
            progress: std::io::stderr().is_terminal(),
            print: true,
        }
    }
    /// The learning rate of every step, from the optimizer's rate at the start.
    pub fn schedule(mut self, schedule: impl Schedule + 'a) -> Self {
        self.schedule = Box::new(schedule);
        self
    }
    /// Scales the gradients down when their global L2 norm exceeds `max_norm`, as
    /// `torch.nn.utils.clip_grad_norm_` (coefficient `max_norm / (norm + 1e-6)`).
    pub fn clip_grad_norm(mut self, max_norm: f64) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }
    /// Evaluates `set` after every epoch (eval mode, batches of 1,000): `val_loss`.
    pub fn validation(mut self, set: &'a dyn Dataset<F, Target = T>) -> Self {
        self.validation = Some(set);
        self
    }
    /// Also `val_<metric>` on the validation set; early stopping then watches it.
    pub fn metric(mut self, metric: impl Metric<F, T> + 'a) -> Self {
        self.metric = Some(Box::new(metric));
        self
    }
    /// Stops after `patience` epochs without a better validation figure (the metric if
    /// given, else the loss); needs [`Fit::validation`].
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.patience = Some(patience);
        self
    }
    /// Ends with the weights of the best validated epoch.
    pub fn keep_best(mut self, keep: bool) -> Self {
        self.keep_best = keep;
        self
    }
    /// Writes a checkpoint to `path` every `every` steps (atomically).
    pub fn checkpoint(mut self, path: impl Into<PathBuf>, every: u64) -> Self {
        self.checkpoint = Some((path.into(), every.max(1)));
        self
    }
    /// When the checkpoint file exists, goes on from it: the same weights result as
    /// from a run never stopped.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }
    /// A progress line on standard error (default: when it is a terminal).
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
        self
    }
    /// A line per epoch on standard output (default: on).
    pub fn print(mut self, print: bool) -> Self {
        self.print = print;
        self
    }

    /// Trains `net` on `train`, drawing from `batches`, and returns the history.
    /// Errors (bad settings, a refused step, a checkpoint that cannot be written) end
    /// the run; the network is then as after the last good step.
    pub fn run<N, D, L, O>(
        &mut self, net: &mut N, train: &D, batches: &mut Batches<F, T>, loss: &L, optimizer: &mut O,
    ) -> Result<History, Error>
    where
        N: Network<F>,
        D: Dataset<F, Target = T> + ?Sized,
        L: Loss<F, Target = [T]>,
        O: Optimizer<F>,
    {
        let fail = |message: String| Error::Data { source: "fit".into(), message };
        if batches.per_epoch() == 0 {
            return Err(fail("an epoch has no batches (fewer samples than a batch, with drop_last)".into()));
        }
        if (self.patience.is_some() || self.keep_best) && self.validation.is_none() {
            return Err(fail("early stopping and keeping the best weights need a validation set".into()));
        }
        let columns = self.columns();
        let mut state = Progress {
            step: 0,
            epoch: 0,
            base_lr: optimizer.lr(),
            loss_sum: 0.0,
            seen: 0,
            rows: Vec::new(),
            best: None,
            stopped: false,
        };
        if let Some((path, _)) = self.checkpoint.as_ref().filter(|(path, _)| self.resume && path.exists()) {
            let checkpoint = net.load_checkpoint(path, optimizer)?;
            batches.restore("fit.batches", &checkpoint)?;
            state = Progress::restore(&checkpoint, columns.len(), N::PARAMS + N::BUFFERS)?;
        }
        let mut epoch_start = Instant::now();
        while state.epoch < self.epochs as u64 && !state.stopped {
            if !batches.in_epoch() {
                batches.shuffle();
                (state.loss_sum, state.seen) = (0.0, 0);
                epoch_start = Instant::now();
            }
            let Some((input, target)) = batches.next_batch(train)? else { unreachable!("an epoch under way") };
            let samples = target.len() / train.target_len().max(1);
            let lr = self.schedule.lr(state.base_lr, state.step);
            optimizer.set_lr(lr);
            optimizer.check()?;
            let value = net.loss_and_grads(input, target, loss)?;
            let parts = net.__parts();
            if let Some(max_norm) = self.clip_norm {
                clip_grad_norm(parts.grads, max_norm);
            }
            optimizer.step(parts.params, parts.grads);
            state.step += 1;
            state.loss_sum += value.to_f64() * samples as f64;
            state.seen += samples as u64;
            if self.progress {
                let done = batches.per_epoch() - batches.remaining();
                progress_line(
                    state.epoch + 1,
                    self.epochs,
                    done,
                    batches.per_epoch(),
                    state.loss_sum / state.seen as f64,
                );
            }
            if !batches.in_epoch() {
                self.end_epoch(net, loss, &mut state, lr, epoch_start.elapsed().as_secs_f64())?;
            }
            if let Some((path, every)) = &self.checkpoint {
                if state.step.is_multiple_of(*every) {
                    let mut checkpoint = Checkpoint::new(state.step);
                    batches.save("fit.batches", &mut checkpoint);
                    state.save(&mut checkpoint);
                    net.save_checkpoint(path, &*optimizer, &checkpoint)?;
                }
            }
        }
        if self.keep_best {
            if let Some((_, _, weights)) = &state.best {
                let parts = net.__parts();
                let (params, buffers) = weights.split_at(parts.params.len());
                parts.params.copy_from_slice(params);
                parts.buffers.copy_from_slice(buffers);
            }
        }
        Ok(History { columns, rows: state.rows })
    }

    fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = ["epoch", "lr", "loss"].map(String::from).to_vec();
        if self.validation.is_some() {
            columns.push("val_loss".into());
            if let Some(metric) = &self.metric {
                columns.push(format!("val_{}", metric.name()));
            }
        }
        columns.push("seconds".into());
        columns
    }

    /// Validation, the history's row, the best weights and early stopping.
    fn end_epoch<N: Network<F>, L: Loss<F, Target = [T]>>(
        &self, net: &mut N, loss: &L, state: &mut Progress<F>, lr: f64, seconds: f64,
    ) -> Result<(), Error> {
        state.epoch += 1;
        if self.progress {
            eprint!("\r\x1b[2K");
        }
        let mut row = vec![state.epoch as f64, lr, state.loss_sum / state.seen.max(1) as f64];
        if let Some(set) = self.validation {
            let (val_loss, score) = self.validate(net, set, loss)?;
            row.push(val_loss);
            row.extend(score);
            // Higher is better for a metric, lower for the loss.
            let figure = score.unwrap_or(-val_loss);
            let improved = state.best.as_ref().is_none_or(|(best, _, _)| figure > *best);
            if improved {
                let weights = if self.keep_best {
                    net.params().iter().chain(net.buffers()).copied().collect()
                } else {
                    Vec::new()
                };
                state.best = Some((figure, state.epoch, weights));
            }
            let since = state.epoch - state.best.as_ref().map_or(state.epoch, |(_, epoch, _)| *epoch);
            if self.patience.is_some_and(|patience| since >= patience as u64) {
                state.stopped = true;
            }
        }
        row.push(seconds);
        if self.print {
            let columns = self.columns();
            let cells: Vec<String> =
                columns.iter().zip(&row).skip(1).map(|(name, value)| format!("{name} {value:.4}")).collect();
            println!("epoch {:>3}/{}: {}", state.epoch, self.epochs, cells.join("  "));
            if state.stopped {
                println!("early stopping: no better validation figure for {} epochs", self.patience.unwrap_or(0));
            }
        }
        state.rows.push(row);
        Ok(())
    }

    /// The validation set's mean loss and metric, in eval mode (the mode is put back
    /// whatever happens).
    fn validate<N: Network<F>, L: Loss<F, Target = [T]>>(
        &self, net: &mut N, set: &dyn Dataset<F, Target = T>, loss: &L,
    ) -> Result<(f64, Option<f64>), Error> {
        set.check()?;
        let training = net.is_training();
        net.set_training(false);
        let result = self.evaluate(net, set, loss);
        net.set_training(training);
        result
    }

    fn evaluate<N: Network<F>, L: Loss<F, Target = [T]>>(
        &self, net: &mut N, set: &dyn Dataset<F, Target = T>, loss: &L,
    ) -> Result<(f64, Option<f64>), Error> {
        let (mut inputs, mut targets) = (Vec::new(), Vec::new());
        let (mut loss_sum, mut score_sum, mut score_count) = (0.0f64, 0.0f64, 0usize);
        for start in (0..set.len()).step_by(self.eval_batch) {
            let end = (start + self.eval_batch).min(set.len());
            inputs.clear();
            targets.clear();
            for i in start..end {
                inputs.extend_from_slice(set.input(i));
                targets.extend_from_slice(set.target(i));
            }
            let batch = end - start;
            let output = net.forward(&inputs)?;
            loss_sum +=
                loss.evaluate(output, N::LOSS_SHAPE, &targets, batch * N::LOSS_ROWS, None)?.to_f64() * batch as f64;
            if let Some(metric) = &self.metric {
                let (sum, count) = metric.score(output, N::LOSS_SHAPE, &targets)?;
                (score_sum, score_count) = (score_sum + sum, score_count + count);
            }
        }
        let score = self.metric.as_ref().map(|_| score_sum / score_count.max(1) as f64);
        Ok((loss_sum / set.len().max(1) as f64, score))
    }
}

impl<F: Float> Progress<F> {
    fn save(&self, checkpoint: &mut Checkpoint) {
        let bits = |v: f64| v.to_bits();
        checkpoint.set_counter("fit.epoch", self.epoch);
        checkpoint.set_counter("fit.base_lr", bits(self.base_lr));
        checkpoint.set_counter("fit.loss_sum", bits(self.loss_sum));
        checkpoint.set_counter("fit.seen", self.seen);
        checkpoint.set_counter("fit.stopped", u64::from(self.stopped));
        checkpoint.set_indices("fit.history", self.rows.iter().flatten().map(|&v| bits(v)));
        if let Some((figure, epoch, weights)) = &self.best {
            checkpoint.set_counter("fit.best_figure", bits(*figure));
            checkpoint.set_counter("fit.best_epoch", *epoch);
            checkpoint.set_indices("fit.best_weights", weights.iter().map(|w| bits(w.to_f64())));
        }
    }

    fn restore(checkpoint: &Checkpoint, columns: usize, weights: usize) -> Result<Self, Error> {
        let fail = |message: String| Error::Checkpoint { source: "fit".into(), message };
        let counter = |name: &str| checkpoint.counter(name).ok_or_else(|| fail(format!("it has no counter {name}")));
        let float = |name: &str| counter(name).map(f64::from_bits);
        let history = checkpoint.indices("fit.history")?;
        if !history.len().is_multiple_of(columns) {
            return Err(fail(format!("its history has {} values, not rows of {columns}", history.len())));
        }
        let rows = history.chunks(columns).map(|row| row.iter().map(|&v| f64::from_bits(v)).collect()).collect();
        let best = match checkpoint.counter("fit.best_epoch") {
            Some(epoch) => {
                let saved = checkpoint.indices("fit.best_weights")?;
                if !saved.is_empty() && saved.len() != weights {
                    return Err(fail(format!("its best weights have {} values, the network {weights}", saved.len())));
                }
                Some((
                    float("fit.best_figure")?,
                    epoch,
                    saved.iter().map(|&v| F::from_f64(f64::from_bits(v))).collect(),
                ))
            }
            None => None,
        };
        Ok(Progress {
            step: checkpoint.step,
            epoch: counter("fit.epoch")?,
            base_lr: float("fit.base_lr")?,
            loss_sum: float("fit.loss_sum")?,
            seen: counter("fit.seen")?,
            rows,
            best,
            stopped: counter("fit.stopped")? != 0,
        })
    }
}

/// `torch.nn.utils.clip_grad_norm_`: the global L2 norm, and the gradients scaled by
/// `max_norm / (norm + 1e-6)` when that is below 1. Returns the norm before clipping.
pub fn clip_grad_norm<F: Float>(grads: &mut [F], max_norm: f64) -> f64 {
    let norm = grads.iter().map(|g| g.to_f64() * g.to_f64()).sum::<f64>().sqrt();
    let coefficient = max_norm / (norm + 1e-6);
    if coefficient < 1.0 {
        let c = F::from_f64(coefficient);
        grads.iter_mut().for_each(|g| *g *= c);
    }
    norm
}

fn progress_line(epoch: u64, epochs: usize, done: usize, total: usize, loss: f64) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    let bar: String = (0..width).map(|i| if i < filled { '=' } else { ' ' }).collect();
    eprint!("\repoch {epoch}/{epochs} [{bar}] {done}/{total} loss {loss:.4}");
    let _ = std::io::stderr().flush();
}
