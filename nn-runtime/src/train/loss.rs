//! Losses, with PyTorch's default `reduction='mean'`. Each computes its value and the
//! gradient with respect to the network's output in one pass.

use crate::error::Error;
use crate::float::Float;

/// A loss over a batch of network outputs. `sample_shape` is one output's shape.
pub trait Loss<F: Float>: Sync {
    /// What the loss compares the output to: class labels or values.
    type Target: ?Sized + Sync;
    /// Name used in error messages.
    const NAME: &'static str;

    /// The targets of samples `range` out of a batch of `batch`, or `None` if the
    /// targets are not a whole number per sample.
    fn samples(target: &Self::Target, batch: usize, range: std::ops::Range<usize>) -> Option<&Self::Target>;

    /// Whether `target` fits a batch of `batch` outputs of `sample_shape`: its length
    /// and (for labels) every value, the first bad one named by its position in the
    /// whole batch. A training step asks before it changes anything.
    fn check(&self, target: &Self::Target, sample_shape: &[usize], batch: usize) -> Result<(), Error>;

    /// The batch-mean loss; when `grad` is given, also `∂loss/∂output` into it.
    fn evaluate(
        &self, output: &[F], sample_shape: &[usize], target: &Self::Target, batch: usize, grad: Option<&mut [F]>,
    ) -> Result<F, Error>;
}

/// Checks class labels against a batch of outputs whose first axis holds the classes:
/// one label per position (`[C]` → one, `[C, H, W]` → `H·W`), each below `C`.
fn check_labels(labels: &[usize], sample_shape: &[usize], batch: usize) -> Result<(), Error> {
    let classes = sample_shape[0];
    let expected = batch * sample_shape[1..].iter().product::<usize>();
    if labels.len() != expected {
        return Err(Error::TargetLength { what: "labels", expected, found: labels.len(), batch });
    }
    match labels.iter().position(|&label| label >= classes) {
        Some(position) => Err(Error::LabelOutOfRange { position, label: labels[position], classes }),
        None => Ok(()),
    }
}

/// [`Loss::samples`] and [`Loss::check`] of a loss on class labels.
macro_rules! class_label_targets {
    () => {
        fn samples(target: &[usize], batch: usize, range: std::ops::Range<usize>) -> Option<&[usize]> {
            per_sample(target, batch, range)
        }

        fn check(&self, labels: &[usize], sample_shape: &[usize], batch: usize) -> Result<(), Error> {
            check_labels(labels, sample_shape, batch)
        }
    };
}

/// The targets of samples `range`, when `target` holds a whole number per sample.
fn per_sample<T>(target: &[T], batch: usize, range: std::ops::Range<usize>) -> Option<&[T]> {
    let per = target.len() / batch.max(1);
    (per * batch == target.len()).then(|| &target[range.start * per..range.end * per])
}

/// Where the classes of one position lie in a batch of outputs `[n, C, positions…]`:
/// position `i` (batch-major) has class `c` at `at(i, c)`.
#[derive(Clone, Copy)]
struct ClassAxis {
    classes: usize,
    positions: usize,
}

impl ClassAxis {
    fn of(sample_shape: &[usize]) -> Self {
        ClassAxis { classes: sample_shape[0], positions: sample_shape[1..].iter().product() }
    }
    #[inline(always)]
    fn at(self, i: usize, c: usize) -> usize {
        let (n, s) = (i / self.positions, i % self.positions);
        (n * self.classes + c) * self.positions + s
    }
    /// The largest output of position `i` and `ln Σ exp(x − max)`.
    fn log_sum_exp<F: Float>(self, output: &[F], i: usize) -> (F, F) {
        let mut m = F::NEG_INFINITY;
        for c in 0..self.classes {
            m = m.max(output[self.at(i, c)]);
        }
        let mut sum = F::ZERO;
        for c in 0..self.classes {
            sum += (output[self.at(i, c)] - m).exp();
        }
        (m, sum.ln())
    }
}

/// Softmax cross-entropy on integer class labels, as `nn.CrossEntropyLoss`: the output
/// holds logits over the first axis (`[C]`, or `[C, H, W]` with one label per position).
/// Stable: uses log-sum-exp with the maximum subtracted.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftmaxCrossEntropy;

impl<F: Float> Loss<F> for SoftmaxCrossEntropy {
    type Target = [usize];
    const NAME: &'static str = "softmax cross-entropy";

    class_label_targets!();

    fn evaluate(
        &self, output: &[F], sample_shape: &[usize], labels: &[usize], batch: usize, mut grad: Option<&mut [F]>,
    ) -> Result<F, Error> {
        check_labels(labels, sample_shape, batch)?;
        let axis = ClassAxis::of(sample_shape);
        let count = F::from_usize(labels.len());
        let mut total = 0.0f64;
        for (i, &label) in labels.iter().enumerate() {
            let (m, log_sum) = axis.log_sum_exp(output, i);
            total += (log_sum - (output[axis.at(i, label)] - m)).to_f64();
            if let Some(grad) = grad.as_deref_mut() {
                for c in 0..axis.classes {
                    let p = ((output[axis.at(i, c)] - m) - log_sum).exp();
                    let onehot = if c == label { F::ONE } else { F::ZERO };
                    grad[axis.at(i, c)] = (p - onehot) / count;
                }
            }
        }
        Ok(F::from_f64(total / labels.len() as f64))
    }
}

/// Softmax cross-entropy against class probabilities, as `nn.CrossEntropyLoss` given a
/// float target of the output's shape: `−Σ_c t_c · log_softmax(x)_c`, the mean over the
/// batch (and positions, for `[C, H, W]` outputs). Targets need not sum to one (PyTorch
/// does not ask either); label smoothing is such a target.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProbabilityCrossEntropy;

impl<F: Float> Loss<F> for ProbabilityCrossEntropy {
    type Target = [F];
    const NAME: &'static str = "cross-entropy with probability targets";

    fn samples(target: &[F], batch: usize, range: std::ops::Range<usize>) -> Option<&[F]> {
        per_sample(target, batch, range)
    }

    fn check(&self, target: &[F], sample_shape: &[usize], batch: usize) -> Result<(), Error> {
        let expected = batch * sample_shape.iter().product::<usize>();
        if target.len() != expected {
            return Err(Error::TargetLength { what: "probabilities", expected, found: target.len(), batch });
        }
        Ok(())
    }

    fn evaluate(
        &self, output: &[F], sample_shape: &[usize], target: &[F], batch: usize, mut grad: Option<&mut [F]>,
    ) -> Result<F, Error> {
        Loss::<F>::check(self, target, sample_shape, batch)?;
        let axis = ClassAxis::of(sample_shape);
        let rows = batch * axis.positions;
        let count = F::from_usize(rows);
        let mut total = 0.0f64;
        for i in 0..rows {
            let (m, log_sum) = axis.log_sum_exp(output, i);
            let mut mass = F::ZERO;
            for c in 0..axis.classes {
                let at = axis.at(i, c);
                total -= (target[at] * ((output[at] - m) - log_sum)).to_f64();
                mass += target[at];
            }
            // ∂/∂x_c = softmax_c · Σ t − t_c.
            if let Some(grad) = grad.as_deref_mut() {
                for c in 0..axis.classes {
                    let at = axis.at(i, c);
                    let p = ((output[at] - m) - log_sum).exp();
                    grad[at] = (p * mass - target[at]) / count;
                }
            }
        }
        Ok(F::from_f64(total / rows as f64))
    }
}

/// Negative log-likelihood on log-probabilities and class labels, as `nn.NLLLoss`: the
/// loss is `−x[label]`, the mean over the batch (and positions). Put a `log_softmax`
/// layer last; the pair is [`SoftmaxCrossEntropy`] on the logits.
#[derive(Debug, Clone, Copy, Default)]
pub struct NllLoss;

impl<F: Float> Loss<F> for NllLoss {
    type Target = [usize];
    const NAME: &'static str = "negative log-likelihood";

    class_label_targets!();

    fn evaluate(
        &self, output: &[F], sample_shape: &[usize], labels: &[usize], batch: usize, mut grad: Option<&mut [F]>,
    ) -> Result<F, Error> {
        check_labels(labels, sample_shape, batch)?;
        let axis = ClassAxis::of(sample_shape);
        let step = -F::ONE / F::from_usize(labels.len());
        let mut total = 0.0f64;
        if let Some(grad) = grad.as_deref_mut() {
            grad[..labels.len() * axis.classes].fill(F::ZERO);
        }
        for (i, &label) in labels.iter().enumerate() {
            total -= output[axis.at(i, label)].to_f64();
            if let Some(grad) = grad.as_deref_mut() {
                grad[axis.at(i, label)] = step;
            }
        }
        Ok(F::from_f64(total / labels.len() as f64))
    }
}

/// A loss that compares each output value with its own target and takes the mean:
/// one function per element, the rest shared (one target per output value, checked
/// lengths, the mean and its gradient).
pub trait ElementLoss: Sync {
    /// Name used in error messages.
    const NAME: &'static str;
    /// The loss of output `y` against target `t`, and its derivative with respect to
    /// `y` times `scale` (one over the number of elements: the mean's share).
    fn element<F: Float>(y: F, t: F, scale: F) -> (F, F);
}

impl<F: Float, L: ElementLoss> Loss<F> for L {
    type Target = [F];
    const NAME: &'static str = L::NAME;

    fn samples(target: &[F], batch: usize, range: std::ops::Range<usize>) -> Option<&[F]> {
        per_sample(target, batch, range)
    }

    fn check(&self, target: &[F], sample_shape: &[usize], batch: usize) -> Result<(), Error> {
        let expected = batch * sample_shape.iter().product::<usize>();
        if target.len() != expected {
            return Err(Error::TargetLength { what: "targets", expected, found: target.len(), batch });
        }
        Ok(())
    }

    fn evaluate(
        &self, output: &[F], sample_shape: &[usize], target: &[F], batch: usize, mut grad: Option<&mut [F]>,
    ) -> Result<F, Error> {
        Loss::<F>::check(self, target, sample_shape, batch)?;
        let expected = target.len();
        let scale = F::from_f64(1.0 / expected as f64);
        let mut total = 0.0f64;
        for (i, (&y, &t)) in output[..expected].iter().zip(target).enumerate() {
            let (value, derivative) = L::element(y, t, scale);
            total += value.to_f64();
            if let Some(grad) = grad.as_deref_mut() {
                grad[i] = derivative;
            }
        }
        Ok(F::from_f64(total / expected as f64))
    }
}

/// Mean squared error over every element, as `nn.MSELoss`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanSquaredError;

impl ElementLoss for MeanSquaredError {
    const NAME: &'static str = "mean squared error";
    #[inline(always)]
    fn element<F: Float>(y: F, t: F, scale: F) -> (F, F) {
        let d = y - t;
        (d * d, d * (scale + scale))
    }
}

/// Binary cross-entropy on logits, as `nn.BCEWithLogitsLoss`: targets in [0, 1], one per
/// output element. Stable: `max(x, 0) − x·t + ln(1 + e^−|x|)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryCrossEntropyWithLogits;

impl ElementLoss for BinaryCrossEntropyWithLogits {
    const NAME: &'static str = "binary cross-entropy";
    #[inline(always)]
    fn element<F: Float>(x: F, t: F, scale: F) -> (F, F) {
        let e = (-x.abs()).exp();
        let sigmoid = if x >= F::ZERO { F::ONE / (F::ONE + e) } else { e / (F::ONE + e) };
        (x.max(F::ZERO) - x * t + e.ln_1p(), (sigmoid - t) * scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_value_and_gradient() {
        // logits [1, 2, 3], label 2: loss = ln(e + e² + e³) − 3
        let logits = [1.0f64, 2.0, 3.0, 0.0, 0.0, 0.0];
        let mut grad = [0.0; 6];
        let loss = SoftmaxCrossEntropy.evaluate(&logits, &[3], &[2, 0][..], 2, Some(&mut grad)).unwrap();
        let first = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 3.0;
        let second = 3f64.ln();
        assert!((loss - (first + second) / 2.0).abs() < 1e-12);
        let z = 1f64.exp() + 2f64.exp() + 3f64.exp();
        assert!((grad[2] - (3f64.exp() / z - 1.0) / 2.0).abs() < 1e-12);
        assert!((grad[3] - (1.0 / 3.0 - 1.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn cross_entropy_is_stable_for_huge_logits() {
        let loss: f32 = SoftmaxCrossEntropy.evaluate(&[1e30f32, 0.0], &[2], &[1][..], 1, None).unwrap();
        assert_eq!(loss, 1e30);
        let loss: f32 = SoftmaxCrossEntropy.evaluate(&[1e4f32, 0.0], &[2], &[0][..], 1, None).unwrap();
        assert_eq!(loss, 0.0);
    }

    #[test]
    fn cross_entropy_rejects_bad_labels() {
        let err = Loss::<f32>::evaluate(&SoftmaxCrossEntropy, &[0.0; 4], &[2], &[0, 2][..], 2, None).unwrap_err();
        assert_eq!(err, Error::LabelOutOfRange { position: 1, label: 2, classes: 2 });
        assert!(err.to_string().contains("label 2 at position 1"));
        let err = Loss::<f32>::evaluate(&SoftmaxCrossEntropy, &[0.0; 4], &[2], &[0][..], 2, None).unwrap_err();
        assert!(matches!(err, Error::TargetLength { expected: 2, found: 1, .. }));
    }

    #[test]
    fn mse_and_bce_match_definitions() {
        let mut grad = [0.0f64; 2];
        let loss = MeanSquaredError.evaluate(&[1.0, 3.0], &[2], &[0.0, 1.0][..], 1, Some(&mut grad)).unwrap();
        assert_eq!(loss, 2.5);
        assert_eq!(grad, [1.0, 2.0]);
        let x = [0.3f64, -2.0];
        let t = [1.0, 0.25];
        let loss = BinaryCrossEntropyWithLogits.evaluate(&x, &[2], &t[..], 1, Some(&mut grad)).unwrap();
        let s = |v: f64| 1.0 / (1.0 + (-v).exp());
        let want = -((t[0] * s(x[0]).ln() + (1.0 - t[0]) * (1.0 - s(x[0])).ln())
            + (t[1] * s(x[1]).ln() + (1.0 - t[1]) * (1.0 - s(x[1])).ln()))
            / 2.0;
        assert!((loss - want).abs() < 1e-12);
        assert!((grad[1] - (s(-2.0) - 0.25) / 2.0).abs() < 1e-12);
    }
}
