//! Transposed 2-D convolution, as `nn.ConvTranspose2d` (weight `[C, OC/G, KH, KW]`): the
//! adjoint of a convolution, computed per sample and group as a GEMM followed by
//! col2im. Const parameters as in [`crate::conv2d`], with `H×W` the input and `OH×OW`
//! the (larger) output.

use crate::conv2d::{col2im_add, im2col};
use crate::float::Float;
use crate::gemm::{gemm, Mat};

/// Scratch elements: one column matrix, `(OC/G)·KH·KW × H·W`.
pub const fn scratch_len(oc: usize, kh: usize, kw: usize, g: usize, h: usize, w: usize) -> usize {
    (oc / g) * kh * kw * h * w
}

#[allow(clippy::too_many_arguments)]
pub fn forward<
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const DH: usize,
    const DW: usize,
    const G: usize,
    const OH: usize,
    const OW: usize,
    const BIAS: bool,
>(
    batch: usize,
    x: &[F],
    params: &[F],
    y: &mut [F],
    scratch: &mut [F],
) {
    let (cg, ocg, p) = (C / G, OC / G, H * W);
    let k = ocg * KH * KW;
    let (w, b) = params.split_at(C * k);
    let col = &mut scratch[..k * p];
    for n in 0..batch {
        let xn = &x[n * C * p..(n + 1) * C * p];
        let yn = &mut y[n * OC * OH * OW..(n + 1) * OC * OH * OW];
        yn.fill(F::ZERO);
        for g in 0..G {
            // col[K, P] = W_gᵀ[K, Cg] · x_g[Cg, P]
            let wg = &w[g * cg * k..(g + 1) * cg * k];
            let xg = &xn[g * cg * p..(g + 1) * cg * p];
            gemm(F::ONE, Mat::transposed(wg, k, cg), Mat::row_major(xg, cg, p), F::ZERO, col, p);
            let yg = &mut yn[g * ocg * OH * OW..(g + 1) * ocg * OH * OW];
            col2im_add::<F, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, H, W>(ocg, col, yg, p, 0);
        }
        if BIAS {
            for (o, plane) in yn.chunks_exact_mut(OH * OW).enumerate() {
                for v in plane {
                    *v += b[o];
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn backward<
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const DH: usize,
    const DW: usize,
    const G: usize,
    const OH: usize,
    const OW: usize,
    const BIAS: bool,
>(
    batch: usize,
    x: &[F],
    params: &[F],
    dy: &[F],
    grads: &mut [F],
    mut dx: Option<&mut [F]>,
    scratch: &mut [F],
) {
    let (cg, ocg, p) = (C / G, OC / G, H * W);
    let k = ocg * KH * KW;
    let w = &params[..C * k];
    let (dw, db) = grads.split_at_mut(C * k);
    dw.fill(F::ZERO);
    if BIAS {
        db[..OC].fill(F::ZERO);
    }
    let dcol = &mut scratch[..k * p];
    for n in 0..batch {
        let xn = &x[n * C * p..(n + 1) * C * p];
        let dyn_ = &dy[n * OC * OH * OW..(n + 1) * OC * OH * OW];
        if BIAS {
            for (o, plane) in dyn_.chunks_exact(OH * OW).enumerate() {
                for &v in plane {
                    db[o] += v;
                }
            }
        }
        for g in 0..G {
            let dyg = &dyn_[g * ocg * OH * OW..(g + 1) * ocg * OH * OW];
            im2col::<F, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, H, W>(ocg, dyg, dcol, p, 0);
            let xg = &xn[g * cg * p..(g + 1) * cg * p];
            // dW_g[Cg, K] += x_g[Cg, P] · dcolᵀ[P, K]
            let dwg = &mut dw[g * cg * k..(g + 1) * cg * k];
            gemm(F::ONE, Mat::row_major(xg, cg, p), Mat::transposed(dcol, p, k), F::ONE, dwg, k);
            if let Some(dx) = dx.as_deref_mut() {
                // dx_g[Cg, P] = W_g[Cg, K] · dcol[K, P]
                let wg = &w[g * cg * k..(g + 1) * cg * k];
                let dxg = &mut dx[n * C * p + g * cg * p..n * C * p + (g + 1) * cg * p];
                gemm(F::ONE, Mat::row_major(wg, cg, k), Mat::row_major(dcol, k, p), F::ZERO, dxg, p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_two_scatters_the_kernel() {
        // One 2×2 input, one 2×2 kernel of ones, stride 2: each pixel becomes a block.
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let params = [1.0, 1.0, 1.0, 1.0, 0.5];
        let mut y = [0.0; 16];
        let mut scratch = [0.0; scratch_len(1, 2, 2, 1, 2, 2)];
        forward::<f64, 1, 2, 2, 1, 2, 2, 2, 2, 0, 0, 1, 1, 1, 4, 4, true>(1, &x, &params, &mut y, &mut scratch);
        assert_eq!(y[..4], [1.5, 1.5, 2.5, 2.5]);
        assert_eq!(y[12..], [3.5, 3.5, 4.5, 4.5]);
    }
}
