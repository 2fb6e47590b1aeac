//! Batch normalization over the channel axis, as `nn.BatchNorm1d`/`nn.BatchNorm2d`:
//! training normalizes with the batch's mean and biased variance and updates the
//! running statistics with `momentum` and the unbiased variance; eval uses the running
//! statistics. Each sample is `[C, S]` (S = H·W, or 1 for features).
//!
//! `params` = weight (γ) then bias (β), C each. `buffers` = running_mean, running_var,
//! num_batches_tracked (C, C, 1). `batch_stats` (kept for backward) = mean and 1/√(var + eps).
//!
//! A batch runs in chunks ([`Barrier`]): in training, each pass stops at the layer while
//! every chunk computes its partial sums ([`statistics`], [`gradient_sums`]), the
//! runtime merges them in chunk order, and each chunk continues ([`forward`],
//! [`backward`]) with the whole batch's values.

use crate::float::Float;

/// Channel `c`'s values of every sample: `batch` contiguous runs of `S`.
#[inline(always)]
fn runs<F, const C: usize, const S: usize>(x: &[F], batch: usize, c: usize) -> impl Iterator<Item = &[F]> {
    (0..batch).map(move |n| &x[(n * C + c) * S..(n * C + c + 1) * S])
}

/// Where a batch-norm layer keeps its statistics, and its settings: what the runtime
/// needs to merge the statistics of a batch computed in chunks (possibly on several
/// threads or processes) into the whole batch's.
///
/// In a chunk's `batch_stats` (elements of the network's type) the layer has `2C` at
/// `stats`: the batch mean and `1/√(var + eps)`, used by both passes. In a chunk's
/// `partials` (f64) it has `6C` at `partials`: the chunk's own mean and sum of squared
/// deviations (forward), its own `Σdy` and `Σdy·x` (backward), and the whole batch's
/// two backward coefficients `a = Σdy/N` and `b = Σdy·x̂·inv/N` (N values per channel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Barrier {
    pub channels: usize,
    /// Values per channel per sample (H·W, or 1).
    pub per_sample: usize,
    pub stats: usize,
    pub partials: usize,
    /// Where running_mean, running_var and num_batches_tracked start in the buffers.
    pub buffers: usize,
    pub eps: f64,
    pub momentum: f64,
}

impl Barrier {
    /// A chunk's forward record, its channels' means then sums of squared deviations:
    /// `partials[self.forward_record()]`.
    pub fn forward_record(&self) -> core::ops::Range<usize> {
        self.partials..self.partials + 2 * self.channels
    }

    /// A chunk's backward record, its channels' `Σdy` then `Σdy·x`.
    pub fn backward_record(&self) -> core::ops::Range<usize> {
        self.partials + 2 * self.channels..self.partials + 4 * self.channels
    }

    /// The backward coefficients every chunk reads.
    pub fn coefficients(&self) -> core::ops::Range<usize> {
        self.partials + 4 * self.channels..self.partials + 6 * self.channels
    }

    /// The whole batch's statistics from the chunks' forward records, in chunk order
    /// (Chan et al.'s pairwise update, in f64): `merged` gets the mean and
    /// `1/√(var + eps)` of every channel, and the running statistics in `buffers` are
    /// updated as PyTorch updates them (momentum, unbiased variance). One record gives
    /// exactly what a two-pass computation over the whole batch gives.
    pub fn merge_statistics<'a, F: Float>(
        &self, records: impl Iterator<Item = (usize, &'a [f64])> + Clone, buffers: &mut [F], merged: &mut [F],
    ) {
        let c_count = self.channels;
        let (running, tracked) = buffers[self.buffers..self.buffers + 2 * c_count + 1].split_at_mut(2 * c_count);
        let (running_mean, running_var) = running.split_at_mut(c_count);
        let (mean_out, inv_out) = merged[..2 * c_count].split_at_mut(c_count);
        for c in 0..c_count {
            let (mut n, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
            for (samples, record) in records.clone() {
                let (nb, mb, m2b) = ((samples * self.per_sample) as f64, record[c], record[c_count + c]);
                if nb == 0.0 {
                    continue; // an empty chunk adds nothing (and its mean is 0/0)
                }
                if n == 0.0 {
                    (n, mean, m2) = (nb, mb, m2b);
                    continue;
                }
                let total = n + nb;
                let delta = mb - mean;
                mean += delta * (nb / total);
                m2 += m2b + delta * delta * (n * nb / total);
                n = total;
            }
            let var = m2 / n;
            let unbiased = if n > 1.0 { var * n / (n - 1.0) } else { var };
            let mo = F::from_f64(self.momentum);
            running_mean[c] = (F::ONE - mo) * running_mean[c] + mo * F::from_f64(mean);
            running_var[c] = (F::ONE - mo) * running_var[c] + mo * F::from_f64(unbiased);
            mean_out[c] = F::from_f64(mean);
            inv_out[c] = F::from_f64(1.0 / Float::sqrt(var + self.eps));
        }
        tracked[0] += F::ONE;
    }

    /// The backward coefficients `a` and `b` of every channel (into `coefficients`)
    /// from the chunks' backward records, summed in chunk order, for a batch of
    /// `samples`; `stats` is the layer's mean and inverse deviation. Zero in eval
    /// mode, where the statistics are constants.
    pub fn merge_gradient_sums<'a, F: Float>(
        &self, records: impl Iterator<Item = &'a [f64]> + Clone, samples: usize, stats: &[F], training: bool,
        coefficients: &mut [f64],
    ) {
        let c_count = self.channels;
        let n = (samples * self.per_sample) as f64;
        let (a_out, b_out) = coefficients[..2 * c_count].split_at_mut(c_count);
        for c in 0..c_count {
            if !training {
                (a_out[c], b_out[c]) = (0.0, 0.0);
                continue;
            }
            let (mut sum_dy, mut sum_dy_x) = (0.0f64, 0.0f64);
            for record in records.clone() {
                sum_dy += record[c];
                sum_dy_x += record[c_count + c];
            }
            let (m, inv) = (stats[c].to_f64(), stats[c_count + c].to_f64());
            // Σ dy·x̂ = inv·(Σ dy·x − m·Σ dy)
            let sum_dy_xhat = inv * (sum_dy_x - m * sum_dy);
            (a_out[c], b_out[c]) = (sum_dy / n, sum_dy_xhat * inv / n);
        }
    }
}

/// Training forward, before the barrier: this chunk's mean and sum of squared
/// deviations per channel (two passes, in f64) into its forward record.
pub fn statistics<F: Float, const C: usize, const S: usize>(batch: usize, x: &[F], partials: &mut [f64]) {
    let (mean, m2) = partials[..2 * C].split_at_mut(C);
    let count = (batch * S) as f64;
    for c in 0..C {
        let m = runs::<F, C, S>(x, batch, c).flatten().map(|v| v.to_f64()).sum::<f64>() / count;
        mean[c] = m;
        m2[c] = runs::<F, C, S>(x, batch, c).flatten().map(|v| (v.to_f64() - m) * (v.to_f64() - m)).sum::<f64>();
    }
}

/// Forward after the barrier: in training, normalizes with the whole batch's
/// statistics, which [`Barrier::merge_statistics`] wrote into `batch_stats`; in eval,
/// with the running statistics, which it also writes there for backward.
#[allow(clippy::too_many_arguments)]
pub fn forward<F: Float, const C: usize, const S: usize>(
    batch: usize, x: &[F], params: &[F], y: &mut [F], buffers: &[F], batch_stats: &mut [F], eps: f64, training: bool,
) {
    let (gamma, beta) = params.split_at(C);
    let (mean, inv_std) = batch_stats.split_at_mut(C);
    for c in 0..C {
        if !training {
            mean[c] = buffers[c];
            inv_std[c] = F::ONE / (buffers[C + c] + F::from_f64(eps)).sqrt();
        }
        normalize::<F, C, S>(batch, x, y, c, gamma[c], beta[c], mean[c], inv_std[c]);
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

/// Backward, before the barrier: this chunk's `Σdy` and `Σdy·x` per channel (in
/// f64) into its backward record.
pub fn gradient_sums<F: Float, const C: usize, const S: usize>(batch: usize, x: &[F], dy: &[F], partials: &mut [f64]) {
    let (sums_dy, sums_dy_x) = partials[2 * C..4 * C].split_at_mut(C);
    for c in 0..C {
        let (mut sum_dy, mut sum_dy_x) = (0.0f64, 0.0f64);
        for (xs, gs) in runs::<F, C, S>(x, batch, c).zip(runs::<F, C, S>(dy, batch, c)) {
            for (&v, &g) in xs.iter().zip(gs) {
                sum_dy += g.to_f64();
                sum_dy_x += g.to_f64() * v.to_f64();
            }
        }
        (sums_dy[c], sums_dy_x[c]) = (sum_dy, sum_dy_x);
    }
}

/// Backward after the barrier: this chunk's share of `∂γ` and `∂β` from its own sums,
/// and `dx = γ·inv·(dy − a − x̂·b/inv)` with the whole batch's coefficients, which
/// [`Barrier::merge_gradient_sums`] wrote (zero in eval mode).
#[allow(clippy::too_many_arguments)]
pub fn backward<F: Float, const C: usize, const S: usize>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], mut dx: Option<&mut [F]>, batch_stats: &[F],
    partials: &[f64],
) {
    let gamma = &params[..C];
    let (dgamma, dbeta) = grads.split_at_mut(C);
    let (mean, inv_std) = batch_stats.split_at(C);
    let (sums_dy, sums_dy_x) = partials[2 * C..4 * C].split_at(C);
    let (a_all, b_all) = partials[4 * C..6 * C].split_at(C);
    for c in 0..C {
        let (m, inv) = (mean[c], inv_std[c]);
        // Σ dy·x̂ = inv·(Σ dy·x − m·Σ dy)
        dgamma[c] = F::from_f64(inv.to_f64() * (sums_dy_x[c] - m.to_f64() * sums_dy[c]));
        dbeta[c] = F::from_f64(sums_dy[c]);
        if let Some(dx) = dx.as_deref_mut() {
            let scale = gamma[c] * inv;
            // training: dx = scale·(dy − (Σdy + x̂·Σdy·x̂)/N), x̂ = (x − m)·inv
            let (a, b) = (F::from_f64(a_all[c]), F::from_f64(b_all[c]));
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

    /// One channel-group layer (C = 2, S = 3) run in chunks of the given sizes: forward
    /// and backward through the barriers, as the runtime sequences them. Returns the
    /// output, the input gradient, ∂γ and ∂β summed over chunks, and the buffers.
    #[allow(clippy::type_complexity)]
    fn in_chunks(sizes: &[usize], x: &[f64], dy: &[f64], training: bool) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        const C: usize = 2;
        const S: usize = 3;
        let barrier =
            Barrier { channels: C, per_sample: S, stats: 0, partials: 0, buffers: 0, eps: 1e-5, momentum: 0.1 };
        let params = [1.5, -0.5, 0.25, 2.0];
        let mut buffers = vec![0.3, -0.2, 0.8, 1.7, 4.0];
        let batch: usize = sizes.iter().sum();
        let starts: Vec<usize> = sizes.iter().scan(0, |at, &n| Some(std::mem::replace(at, *at + n))).collect();
        let mut partials = vec![vec![0.0f64; 6 * C]; sizes.len()];
        let mut stats = vec![[0.0f64; 2 * C]; sizes.len()];
        let sample = |v: &[f64], k: usize| v[starts[k] * C * S..(starts[k] + sizes[k]) * C * S].to_vec();
        if training {
            for (k, &n) in sizes.iter().enumerate() {
                statistics::<f64, C, S>(n, &sample(x, k), &mut partials[k]);
            }
            let records = sizes.iter().zip(&partials).map(|(&n, p)| (n, &p[barrier.forward_record()]));
            let mut merged = [0.0; 2 * C];
            barrier.merge_statistics(records, &mut buffers, &mut merged);
            stats.iter_mut().for_each(|s| *s = merged);
        }
        let (mut y, mut dx) = (Vec::new(), Vec::new());
        for (k, &n) in sizes.iter().enumerate() {
            let mut out = vec![0.0; n * C * S];
            forward::<f64, C, S>(n, &sample(x, k), &params, &mut out, &buffers, &mut stats[k], 1e-5, training);
            y.extend(out);
            gradient_sums::<f64, C, S>(n, &sample(x, k), &sample(dy, k), &mut partials[k]);
        }
        let records = partials.iter().map(|p| &p[barrier.backward_record()]);
        let mut coefficients = [0.0; 2 * C];
        barrier.merge_gradient_sums(records, batch, &stats[0], training, &mut coefficients);
        let mut param_grads = vec![0.0; 2 * C];
        for (k, &n) in sizes.iter().enumerate() {
            partials[k][barrier.coefficients()].copy_from_slice(&coefficients);
            let (mut grads, mut out) = ([0.0; 2 * C], vec![0.0; n * C * S]);
            let args = (&sample(x, k), &sample(dy, k));
            backward::<f64, C, S>(n, args.0, &params, args.1, &mut grads, Some(&mut out), &stats[k], &partials[k]);
            dx.extend(out);
            param_grads.iter_mut().zip(grads).for_each(|(g, v)| *g += v);
        }
        (y, dx, param_grads, buffers)
    }

    #[test]
    fn normalizes_and_tracks_running_statistics() {
        // C = 2, S = 3, batch 2: channel 0 holds 0..3 and 6..9.
        let x: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let dy: Vec<f64> = (0..12).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
        let (y, dx, grads, buffers) = in_chunks(&[2], &x, &dy, true);
        let values = [0.0, 1.0, 2.0, 6.0, 7.0, 8.0];
        let mean = 4.0;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 6.0;
        let inv = 1.0 / (var + 1e-5f64).sqrt();
        assert!((y[1] - (1.5 * (1.0 - mean) * inv + 0.25)).abs() < 1e-12);
        assert!((buffers[0] - (0.9 * 0.3 + 0.1 * mean)).abs() < 1e-12);
        assert!((buffers[2] - (0.9 * 0.8 + 0.1 * var * 6.0 / 5.0)).abs() < 1e-12);
        assert_eq!(buffers[4], 5.0);
        // Against the textbook gradients of channel 0.
        let idx = [0, 1, 2, 6, 7, 8];
        let xhat: Vec<f64> = idx.iter().map(|&i| (x[i] - mean) * inv).collect();
        let g: Vec<f64> = idx.iter().map(|&i| dy[i]).collect();
        let sum_g: f64 = g.iter().sum();
        let sum_gx: f64 = g.iter().zip(&xhat).map(|(a, b)| a * b).sum();
        assert!((grads[0] - sum_gx).abs() < 1e-12 && (grads[2] - sum_g).abs() < 1e-12);
        for (k, &i) in idx.iter().enumerate() {
            let expected = 1.5 * inv * (g[k] - sum_g / 6.0 - xhat[k] * sum_gx / 6.0);
            assert!((dx[i] - expected).abs() < 1e-12, "{} vs {expected}", dx[i]);
        }
        // Eval mode: the running statistics normalize, and stay as they were.
        let (y, dx, _, buffers) = in_chunks(&[2], &x, &dy, false);
        let inv = 1.0 / (0.8f64 + 1e-5).sqrt();
        assert!((y[1] - (1.5 * (1.0 - 0.3) * inv + 0.25)).abs() < 1e-12);
        assert!((dx[1] - 1.5 * inv * dy[1]).abs() < 1e-12);
        assert_eq!(buffers, [0.3, -0.2, 0.8, 1.7, 4.0]);
    }

    #[test]
    fn chunks_give_the_whole_batch_result() {
        let x: Vec<f64> = (0..7 * 6).map(|i| (i as f64 * 0.37).sin() * 3.0 + 1.0).collect();
        let dy: Vec<f64> = (0..7 * 6).map(|i| (i as f64 * 0.91).cos()).collect();
        let whole = in_chunks(&[7], &x, &dy, true);
        for sizes in [&[3, 4][..], &[1, 1, 5], &[2, 2, 2, 1]] {
            let parts = in_chunks(sizes, &x, &dy, true);
            let pairs = [(&whole.0, &parts.0), (&whole.1, &parts.1), (&whole.2, &parts.2), (&whole.3, &parts.3)];
            for (a, b) in pairs {
                assert!(a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-12), "{sizes:?}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn eval_is_forward_in_eval_mode_bit_for_bit_and_writes_nothing_else() {
        // C = 2, S = 3, batch 2.
        let x: [f32; 12] = core::array::from_fn(|i| (i as f32 * 0.7).sin() * 3.0);
        let params = [1.5, -0.25, 0.1, 2.0];
        let buffers = [0.3, -0.2, 0.8, 1.7, 5.0];
        let (mut expected, mut y) = ([0.0f32; 12], [0.0f32; 12]);
        let mut batch_stats = [0.0; 4];
        forward::<f32, 2, 3>(2, &x, &params, &mut expected, &buffers, &mut batch_stats, 1e-3, false);
        eval::<f32, 2, 3>(2, &x, &params, &mut y, &buffers, 1e-3);
        assert_eq!(y.map(f32::to_bits), expected.map(f32::to_bits));
    }
}
