//! Fully connected layer: `y = x Wᵀ + b`, W stored `[OUT, IN]` as PyTorch's `nn.Linear`.

use crate::float::Float;
use crate::kernels::gemm::{gemm, Mat};

/// Forward for a batch. `params` is the layer's slice: weight `[OUT, IN]` then bias `[OUT]`.
pub fn forward<F: Float, const IN: usize, const OUT: usize, const BIAS: bool>(
    batch: usize, x: &[F], params: &[F], y: &mut [F],
) {
    let (w, b) = params.split_at(OUT * IN);
    let y = &mut y[..batch * OUT];
    if BIAS {
        for row in y.chunks_exact_mut(OUT) {
            row.copy_from_slice(&b[..OUT]);
        }
    }
    let beta = if BIAS { F::ONE } else { F::ZERO };
    gemm(F::ONE, Mat::row_major(x, batch, IN), Mat::transposed(w, IN, OUT), beta, y, OUT);
}

/// Backward: parameter gradients (overwritten) and, if asked, the input gradient.
pub fn backward<F: Float, const IN: usize, const OUT: usize, const BIAS: bool>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], dx: Option<&mut [F]>,
) {
    let dy = &dy[..batch * OUT];
    let (dw, db) = grads.split_at_mut(OUT * IN);
    // dW[OUT, IN] = dYᵀ[OUT, B] · X[B, IN]
    gemm(F::ONE, Mat::transposed(dy, OUT, batch), Mat::row_major(x, batch, IN), F::ZERO, dw, IN);
    if BIAS {
        let db = &mut db[..OUT];
        db.fill(F::ZERO);
        for row in dy.chunks_exact(OUT) {
            for (acc, &g) in db.iter_mut().zip(row) {
                *acc += g;
            }
        }
    }
    if let Some(dx) = dx {
        // dX[B, IN] = dY[B, OUT] · W[OUT, IN]
        let w = &params[..OUT * IN];
        gemm(F::ONE, Mat::row_major(dy, batch, OUT), Mat::row_major(w, OUT, IN), F::ZERO, dx, IN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_matches_hand_computation() {
        // W = [[1, 2], [3, 4], [5, 6]], b = [0.5, -1, 2]; x = [1, -1]
        let params = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.5, -1.0, 2.0];
        let mut y = [0.0f64; 3];
        forward::<f64, 2, 3, true>(1, &[1.0, -1.0], &params, &mut y);
        assert_eq!(y, [-0.5, -2.0, 1.0]);
    }

    #[test]
    fn backward_matches_hand_computation() {
        let params = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0];
        let x = [1.0, -1.0, 2.0, 0.5];
        let dy = [1.0, 0.0, -1.0, 0.5, 2.0, 0.0];
        let mut grads = [9.0f64; 9];
        let mut dx = [0.0; 4];
        backward::<f64, 2, 3, true>(2, &x, &params, &dy, &mut grads, Some(&mut dx));
        // dW[o][i] = Σ_b dy[b][o] x[b][i]
        assert_eq!(grads[..6], [2.0, -0.75, 4.0, 1.0, -1.0, 1.0]);
        assert_eq!(grads[6..], [1.5, 2.0, -1.0]);
        // dx[b][i] = Σ_o dy[b][o] W[o][i]
        assert_eq!(dx, [-4.0, -4.0, 6.5, 9.0]);
    }
}
