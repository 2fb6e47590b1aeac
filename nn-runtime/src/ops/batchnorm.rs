//! Batch normalization over the channel axis, as `nn.BatchNorm1d`/`nn.BatchNorm2d`:
//! training normalizes with the batch's mean and biased variance and updates the
//! running statistics with `momentum` and the unbiased variance; eval uses the running
//! statistics. Each sample is `[C, S]` (S = H·W, or 1 for features).
//!
//! `params` = weight (γ) then bias (β), C each. `buffers` = running_mean, running_var,
//! num_batches_tracked (C, C, 1). `batch_stats` (kept for backward) = mean and 1/√(var + eps).

use crate::float::Float;

/// Channel `c`'s values of every sample: `batch` contiguous runs of `S`.
#[inline(always)]
fn runs<F, const C: usize, const S: usize>(x: &[F], batch: usize, c: usize) -> impl Iterator<Item = &[F]> {
    (0..batch).map(move |n| &x[(n * C + c) * S..(n * C + c + 1) * S])
}

#[allow(clippy::too_many_arguments)]
pub fn forward<F: Float, const C: usize, const S: usize>(
    batch: usize, x: &[F], params: &[F], y: &mut [F], buffers: &mut [F], batch_stats: &mut [F], eps: f64,
    momentum: f64, training: bool,
) {
    let (gamma, beta) = params.split_at(C);
    let (running_mean, rest) = buffers.split_at_mut(C);
    let (running_var, tracked) = rest.split_at_mut(C);
    let (mean, inv_std) = batch_stats.split_at_mut(C);
    let count = batch * S;
    for c in 0..C {
        let (m, inv) = if training {
            // Two passes, accumulated in f64: the running statistics match PyTorch's.
            let m = runs::<F, C, S>(x, batch, c).flatten().map(|v| v.to_f64()).sum::<f64>() / count as f64;
            let squared = |v: &F| (v.to_f64() - m) * (v.to_f64() - m);
            let var = runs::<F, C, S>(x, batch, c).flatten().map(squared).sum::<f64>() / count as f64;
            let unbiased = if count > 1 { var * count as f64 / (count - 1) as f64 } else { var };
            let mo = F::from_f64(momentum);
            running_mean[c] = (F::ONE - mo) * running_mean[c] + mo * F::from_f64(m);
            running_var[c] = (F::ONE - mo) * running_var[c] + mo * F::from_f64(unbiased);
            (F::from_f64(m), F::from_f64(1.0 / Float::sqrt(var + eps)))
        } else {
            (running_mean[c], F::ONE / (running_var[c] + F::from_f64(eps)).sqrt())
        };
        mean[c] = m;
        inv_std[c] = inv;
        normalize::<F, C, S>(batch, x, y, c, gamma[c], beta[c], m, inv);
    }
    if training {
        tracked[0] += F::ONE;
    }
}

/// Eval mode's forward, reading the running statistics and writing nothing else: the
/// static inference types hold their weights read-only. Equal to [`forward`] with
/// `training` false, bit for bit.
pub fn eval<F: Float, const C: usize, const S: usize>(
    batch: usize, x: &[F], params: &[F], y: &mut [F], buffers: &[F], eps: f64,
) {
    let (gamma, beta) = params.split_at(C);
    let (running_mean, running_var) = (&buffers[..C], &buffers[C..2 * C]);
    for c in 0..C {
        let inv = F::ONE / (running_var[c] + F::from_f64(eps)).sqrt();
        normalize::<F, C, S>(batch, x, y, c, gamma[c], beta[c], running_mean[c], inv);
    }
}

/// Channel `c`'s `y = γ·(x − m)·inv + β`, computed as `scale·x + shift`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn normalize<F: Float, const C: usize, const S: usize>(
    batch: usize, x: &[F], y: &mut [F], c: usize, gamma: F, beta: F, m: F, inv: F,
) {
    let scale = gamma * inv;
    let shift = beta - scale * m;
    for n in 0..batch {
        let range = (n * C + c) * S..(n * C + c + 1) * S;
        for (o, &v) in y[range.clone()].iter_mut().zip(&x[range]) {
            *o = scale * v + shift;
        }
    }
}

/// Backward; in training the batch statistics depend on every input, in eval they are
/// constants.
#[allow(clippy::too_many_arguments)]
pub fn backward<F: Float, const C: usize, const S: usize>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], mut dx: Option<&mut [F]>, batch_stats: &[F],
    training: bool,
) {
    let gamma = &params[..C];
    let (dgamma, dbeta) = grads.split_at_mut(C);
    let (mean, inv_std) = batch_stats.split_at(C);
    let count = F::from_usize(batch * S);
    for c in 0..C {
        let (m, inv) = (mean[c], inv_std[c]);
        let (mut sum_dy, mut sum_dy_x) = (F::ZERO, F::ZERO);
        for (xs, gs) in runs::<F, C, S>(x, batch, c).zip(runs::<F, C, S>(dy, batch, c)) {
            for (&v, &g) in xs.iter().zip(gs) {
                sum_dy += g;
                sum_dy_x += g * v;
            }
        }
        // Σ dy·x̂ = inv·(Σ dy·x − m·Σ dy)
        let sum_dy_xhat = inv * (sum_dy_x - m * sum_dy);
        dgamma[c] = sum_dy_xhat;
        dbeta[c] = sum_dy;
        if let Some(dx) = dx.as_deref_mut() {
            let scale = gamma[c] * inv;
            // training: dx = scale·(dy − (Σdy + x̂·Σdy·x̂)/N), x̂ = (x − m)·inv
            let (a, b) = if training { (sum_dy / count, sum_dy_xhat * inv / count) } else { (F::ZERO, F::ZERO) };
            for n in 0..batch {
                let range = (n * C + c) * S..(n * C + c + 1) * S;
                for ((d, &g), &v) in dx[range.clone()].iter_mut().zip(&dy[range.clone()]).zip(&x[range]) {
                    *d = scale * (g - a - (v - m) * b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_tracks_running_statistics() {
        // C = 1, S = 2, batch 2: values 1, 2, 3, 4 → mean 2.5, biased var 1.25, unbiased 5/3.
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let params = [2.0, 0.5];
        let mut y = [0.0; 4];
        let mut buffers = [0.0, 1.0, 0.0];
        let mut batch_stats = [0.0; 2];
        forward::<f64, 1, 2>(2, &x, &params, &mut y, &mut buffers, &mut batch_stats, 1e-5, 0.1, true);
        let inv = 1.0 / (1.25f64 + 1e-5).sqrt();
        assert!((y[0] - (2.0 * -1.5 * inv + 0.5)).abs() < 1e-12);
        assert!((buffers[0] - 0.25).abs() < 1e-12);
        assert!((buffers[1] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-12);
        assert_eq!(buffers[2], 1.0);
        forward::<f64, 1, 2>(2, &x, &params, &mut y, &mut buffers, &mut batch_stats, 1e-5, 0.1, false);
        let inv = 1.0 / (buffers[1] + 1e-5).sqrt();
        assert!((y[3] - (2.0 * (4.0 - 0.25) * inv + 0.5)).abs() < 1e-12);
        assert_eq!(buffers[2], 1.0);
    }

    #[test]
    fn eval_is_forward_in_eval_mode_bit_for_bit_and_writes_nothing_else() {
        // C = 2, S = 3, batch 2.
        let x: [f32; 12] = core::array::from_fn(|i| (i as f32 * 0.7).sin() * 3.0);
        let params = [1.5, -0.25, 0.1, 2.0];
        let buffers = [0.3, -0.2, 0.8, 1.7, 5.0];
        let (mut expected, mut y) = ([0.0f32; 12], [0.0f32; 12]);
        let (mut written, mut batch_stats) = (buffers, [0.0; 4]);
        forward::<f32, 2, 3>(2, &x, &params, &mut expected, &mut written, &mut batch_stats, 1e-3, 0.1, false);
        assert_eq!(written, buffers, "eval mode leaves the statistics alone");
        eval::<f32, 2, 3>(2, &x, &params, &mut y, &buffers, 1e-3);
        assert_eq!(y.map(f32::to_bits), expected.map(f32::to_bits));
    }
}
