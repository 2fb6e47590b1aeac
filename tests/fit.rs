//! The training loop: a run interrupted mid-epoch and resumed from its checkpoint (in a
//! fresh network, optimizer and loader, as a new process would) ends with the weights
//! and history of a run never interrupted; schedules set each step's rate; clipping is
//! `clip_grad_norm_`; early stopping stops and keeps the best weights.

use nn::data::{Augment, Batches, ImageSet};
use nn::prelude::*;
use nn::schedule::{Cosine, Schedule, Warmup};
use nn::History;

network! {
    Net: [1, 6, 6] => conv(1, 4, 3) -> batchnorm(4) -> relu -> flatten -> dropout(0.25) -> linear(64, 3)
}

fn data(count: usize, seed: u64) -> ImageSet<f32> {
    let mut rng = nn::runtime::rng::Rng::new(seed);
    let labels: Vec<usize> = (0..count).map(|i| i % 3).collect();
    let images = labels
        .iter()
        .flat_map(|&l| (0..36).map(move |p| (p % 3 == l) as u8 as f64))
        .map(|v| (v + rng.uniform(-0.5, 0.5)) as f32)
        .collect();
    ImageSet { images, labels, shape: [1, 6, 6] }
}

/// A schedule that refuses step `at` (a NaN rate: the optimizer's check fails), to
/// interrupt a run there; the rates before are the wrapped schedule's.
#[derive(Debug)]
struct FailAt<S>(S, u64);

impl<S: Schedule> Schedule for FailAt<S> {
    fn lr(&self, base: f64, step: u64) -> f64 {
        if step == self.1 {
            f64::NAN
        } else {
            self.0.lr(base, step)
        }
    }
}

fn schedule() -> Warmup<Cosine> {
    Warmup { steps: 4, start_factor: 0.1, then: Cosine { t_max: 40, eta_min: 0.0 } }
}

/// Trains 6 epochs of batches of 8 (50 samples: 7 batches an epoch), checkpointing
/// every 5 steps at `path`, with `schedule`; resumes when the checkpoint exists.
fn run(schedule: impl Schedule, path: &std::path::Path) -> Result<(Vec<f32>, History), nn::Error> {
    let (train, validation) = (data(50, 1), data(20, 2));
    let mut net = Net::new(7);
    let mut optimizer = Adam::new(0.01);
    let mut batches = Batches::new(train.len(), 8, 11)?.augment(Augment::new(1, true, 3));
    let history = Fit::new(6)
        .schedule(schedule)
        .clip_grad_norm(1.0)
        .validation(&validation)
        .metric(Accuracy)
        .keep_best(true)
        .checkpoint(path, 5)
        .resume(true)
        .print(false)
        .run(&mut net, &train, &mut batches, &SoftmaxCrossEntropy, &mut optimizer)?;
    Ok((net.params().iter().chain(net.buffers()).copied().collect(), history))
}

fn without_seconds(history: &History) -> Vec<Vec<f64>> {
    history.rows.iter().map(|row| row[..row.len() - 1].to_vec()).collect()
}

#[test]
fn an_interrupted_and_resumed_fit_reaches_the_weights_of_an_uninterrupted_one() {
    let dir = std::env::temp_dir().join(format!("nn-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = dir.join("whole.safetensors");
    let (weights, history) = run(schedule(), &whole).unwrap();
    assert_eq!(history.rows.len(), 6);
    // Interrupted at step 23 (mid-epoch 4; the last checkpoint at step 20, mid-epoch 3),
    // and at step 36 (the checkpoint at 35 is the end of epoch 5).
    for at in [23, 36] {
        let path = dir.join(format!("interrupted-{at}.safetensors"));
        let error = run(FailAt(schedule(), at), &path).unwrap_err().to_string();
        assert!(error.contains("learning rate is NaN"), "{error}");
        let (resumed, resumed_history) = run(schedule(), &path).unwrap();
        assert_eq!(resumed, weights, "interrupted at step {at}");
        assert_eq!(without_seconds(&resumed_history), without_seconds(&history), "interrupted at step {at}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_step_runs_at_the_schedules_rate_with_clipped_gradients() {
    // One epoch of one batch a step, against train_step by hand.
    let set = data(12, 4);
    let schedule = || Cosine { t_max: 3, eta_min: 0.01 };
    let mut net = Net::new(3);
    let mut batches = Batches::new(set.len(), 4, 5).unwrap();
    let history = Fit::new(2)
        .schedule(schedule())
        .clip_grad_norm(0.05)
        .print(false)
        .run(&mut net, &set, &mut batches, &SoftmaxCrossEntropy, &mut Sgd::new(0.5))
        .unwrap();
    let mut by_hand = Net::new(3);
    let mut sgd = Sgd::new(0.5);
    let mut batches = Batches::new(set.len(), 4, 5).unwrap();
    let mut last_rate = Vec::new();
    for step in 0..6u64 {
        if !batches.in_epoch() {
            batches.shuffle();
        }
        let (images, labels) = batches.next_batch(&set).unwrap().unwrap();
        sgd.lr = schedule().lr(0.5, step);
        by_hand.loss_and_grads(images, labels, &SoftmaxCrossEntropy).unwrap();
        let mut grads = by_hand.grads().to_vec();
        let norm = grads.iter().map(|g| (*g as f64).powi(2)).sum::<f64>().sqrt();
        assert!(norm > 0.05, "clipping acts");
        grads.iter_mut().for_each(|g| *g *= (0.05 / (norm + 1e-6)) as f32);
        sgd.step(by_hand.params_mut(), &grads);
        last_rate.push(sgd.lr);
    }
    assert_eq!(net.params(), by_hand.params());
    assert_eq!(history.column("lr").unwrap(), [last_rate[2], last_rate[5]]);
    assert_eq!(history.columns, ["epoch", "lr", "loss", "seconds"]);
}

#[test]
fn early_stopping_stops_and_keeps_the_best_weights() {
    // A rate so high that validation gets worse after the first epochs.
    let (train, validation) = (data(30, 1), data(30, 9));
    let mut net = Net::new(1);
    let mut batches = Batches::new(train.len(), 10, 2).unwrap().drop_last(true);
    assert_eq!(batches.per_epoch(), 3);
    let history = Fit::new(60)
        .validation(&validation)
        .early_stopping(3)
        .keep_best(true)
        .print(false)
        .run(&mut net, &train, &mut batches, &SoftmaxCrossEntropy, &mut Sgd::new(3.0))
        .unwrap();
    let losses = history.column("val_loss").unwrap();
    let best = losses.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!(history.rows.len() < 60, "stopped early: {losses:?}");
    assert_eq!(history.rows.len(), best + 1 + 3, "three epochs without a better loss: {losses:?}");
    // The kept weights give the best epoch's validation loss.
    net.eval();
    let loss = net.loss(&validation.images, &validation.labels, &SoftmaxCrossEntropy).unwrap();
    assert!((loss as f64 - losses[best]).abs() < 1e-5, "{loss} vs {}", losses[best]);
    // Early stopping without a validation set is refused.
    let error = Fit::new(1)
        .early_stopping(2)
        .run(&mut net, &train, &mut batches, &SoftmaxCrossEntropy, &mut Sgd::new(0.1))
        .unwrap_err();
    assert!(error.to_string().contains("validation set"), "{error}");
}
