//! Softmax and log-softmax over the channel (feature) axis, as PyTorch's `dim=1`: a
//! sample of shape `[C, S…]` is normalized over C at each of the `S` positions.

use crate::float::Float;

/// Numerically stable: subtracts each column's maximum before exponentiating.
fn normalize<F: Float, const C: usize, const S: usize, const LOG: bool>(batch: usize, x: &[F], y: &mut [F]) {
    for (xs, ys) in x[..batch * C * S].chunks_exact(C * S).zip(y.chunks_exact_mut(C * S)) {
        for s in 0..S {
            let mut m = F::NEG_INFINITY;
            for c in 0..C {
                m = m.max(xs[c * S + s]);
            }
            let mut sum = F::ZERO;
            for c in 0..C {
                let e = (xs[c * S + s] - m).exp();
                ys[c * S + s] = e;
                sum += e;
            }
            if LOG {
                // (x − m) − ln Σ keeps precision when the logits are large.
                let log_sum = sum.ln();
                for c in 0..C {
                    ys[c * S + s] = (xs[c * S + s] - m) - log_sum;
                }
            } else {
                let inv = F::ONE / sum;
                for c in 0..C {
                    ys[c * S + s] *= inv;
                }
            }
        }
    }
}

pub fn softmax_forward<F: Float, const C: usize, const S: usize>(batch: usize, x: &[F], y: &mut [F]) {
    normalize::<F, C, S, false>(batch, x, y)
}

pub fn log_softmax_forward<F: Float, const C: usize, const S: usize>(batch: usize, x: &[F], y: &mut [F]) {
    normalize::<F, C, S, true>(batch, x, y)
}

/// `dx = y ⊙ (dy − Σ_c dy·y)`.
pub fn softmax_backward<F: Float, const C: usize, const S: usize>(batch: usize, y: &[F], dy: &[F], dx: &mut [F]) {
    let n = batch * C * S;
    for ((ys, gs), ds) in y[..n].chunks_exact(C * S).zip(dy[..n].chunks_exact(C * S)).zip(dx.chunks_exact_mut(C * S)) {
        for s in 0..S {
            let mut dot = F::ZERO;
            for c in 0..C {
                dot += gs[c * S + s] * ys[c * S + s];
            }
            for c in 0..C {
                ds[c * S + s] = ys[c * S + s] * (gs[c * S + s] - dot);
            }
        }
    }
}

/// `dx = dy − softmax(x) · Σ_c dy`, with `softmax(x) = exp(y)`.
pub fn log_softmax_backward<F: Float, const C: usize, const S: usize>(batch: usize, y: &[F], dy: &[F], dx: &mut [F]) {
    let n = batch * C * S;
    for ((ys, gs), ds) in y[..n].chunks_exact(C * S).zip(dy[..n].chunks_exact(C * S)).zip(dx.chunks_exact_mut(C * S)) {
        for s in 0..S {
            let mut total = F::ZERO;
            for c in 0..C {
                total += gs[c * S + s];
            }
            for c in 0..C {
                ds[c * S + s] = gs[c * S + s] - ys[c * S + s].exp() * total;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let x = [1000.0f32, 1001.0, 1002.0];
        let mut y = [0.0f32; 3];
        softmax_forward::<f32, 3, 1>(1, &x, &mut y);
        assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((y[2] - 0.665_240_9).abs() < 1e-6);
        let mut l = [0.0f32; 3];
        log_softmax_forward::<f32, 3, 1>(1, &x, &mut l);
        assert!((l[2] - (-0.407_605_96)).abs() < 1e-6);
    }

    #[test]
    fn normalizes_over_channels_at_each_position() {
        // C = 2, S = 2: columns (0, 2) and (1, 3) are separate distributions.
        let x = [0.0f64, 5.0, 0.0, -5.0];
        let mut y = [0.0; 4];
        softmax_forward::<f64, 2, 2>(1, &x, &mut y);
        assert!((y[0] - 0.5).abs() < 1e-15 && (y[2] - 0.5).abs() < 1e-15);
        assert!((y[1] + y[3] - 1.0).abs() < 1e-15);
    }
}
