//! 2-D convolution as PyTorch's `nn.Conv2d` (NCHW, weight `[OC, C/G, KH, KW]`), by
//! im2col + GEMM per sample and group. Every dimension is a const generic, so each
//! layer gets its own copy with the window loops' bounds known to the compiler.
//!
//! Const parameters: input `C×H×W`, `OC` output channels, kernel `KH×KW`, stride
//! `SH,SW`, zero padding `PH,PW`, dilation `DH,DW`, `G` groups, output `OH×OW` (the
//! macro computes it with PyTorch's formula), and whether there is a bias.

use crate::float::Float;
use crate::gemm::{gemm, Mat};

/// Scratch elements a layer needs: one im2col matrix and its gradient.
pub const fn scratch_len(c: usize, kh: usize, kw: usize, g: usize, oh: usize, ow: usize) -> usize {
    2 * (c / g) * kh * kw * oh * ow
}

/// Fills `col[(c·KH + i)·KW + j][oh·OW + ow]` with the input pixel that kernel tap
/// (i, j) of channel c sees at output position (oh, ow), or zero in the padding.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn im2col<
    F: Float,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const DH: usize,
    const DW: usize,
    const OH: usize,
    const OW: usize,
>(
    cg: usize,
    x: &[F],
    col: &mut [F],
) {
    let p = OH * OW;
    for c in 0..cg {
        let plane = &x[c * H * W..(c + 1) * H * W];
        for i in 0..KH {
            for j in 0..KW {
                let row = &mut col[((c * KH + i) * KW + j) * p..][..p];
                for oh in 0..OH {
                    let ih = (oh * SH + i * DH) as isize - PH as isize;
                    let out = &mut row[oh * OW..(oh + 1) * OW];
                    if ih < 0 || ih >= H as isize {
                        out.fill(F::ZERO);
                        continue;
                    }
                    let src = &plane[ih as usize * W..(ih as usize + 1) * W];
                    for (ow, o) in out.iter_mut().enumerate() {
                        let iw = (ow * SW + j * DW) as isize - PW as isize;
                        *o = if iw < 0 || iw >= W as isize { F::ZERO } else { src[iw as usize] };
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each column entry back onto the pixel it came from.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn col2im_add<
    F: Float,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const DH: usize,
    const DW: usize,
    const OH: usize,
    const OW: usize,
>(
    cg: usize,
    col: &[F],
    dx: &mut [F],
) {
    let p = OH * OW;
    for c in 0..cg {
        let plane = &mut dx[c * H * W..(c + 1) * H * W];
        for i in 0..KH {
            for j in 0..KW {
                let row = &col[((c * KH + i) * KW + j) * p..][..p];
                for oh in 0..OH {
                    let ih = (oh * SH + i * DH) as isize - PH as isize;
                    if ih < 0 || ih >= H as isize {
                        continue;
                    }
                    let dst = &mut plane[ih as usize * W..(ih as usize + 1) * W];
                    for (ow, &v) in row[oh * OW..(oh + 1) * OW].iter().enumerate() {
                        let iw = (ow * SW + j * DW) as isize - PW as isize;
                        if iw >= 0 && iw < W as isize {
                            dst[iw as usize] += v;
                        }
                    }
                }
            }
        }
    }
}

/// Whether im2col would only copy the input (1×1 kernel, stride 1, no padding).
const fn is_pointwise(kh: usize, kw: usize, sh: usize, sw: usize, ph: usize, pw: usize) -> bool {
    kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0
}

/// Forward for a batch: `y[n] = W ⋆ x[n] + b`.
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
    let (cg, ocg, p) = (C / G, OC / G, OH * OW);
    let k = cg * KH * KW;
    let (w, b) = params.split_at(OC * k);
    let pointwise = is_pointwise(KH, KW, SH, SW, PH, PW);
    let col = &mut scratch[..if pointwise { 0 } else { k * p }];
    for n in 0..batch {
        let xn = &x[n * C * H * W..(n + 1) * C * H * W];
        let yn = &mut y[n * OC * p..(n + 1) * OC * p];
        if BIAS {
            for (o, plane) in yn.chunks_exact_mut(p).enumerate() {
                plane.fill(b[o]);
            }
        }
        let beta = if BIAS { F::ONE } else { F::ZERO };
        for g in 0..G {
            let xg = &xn[g * cg * H * W..(g + 1) * cg * H * W];
            let cols: &[F] = if pointwise {
                xg
            } else {
                im2col::<F, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW>(cg, xg, col);
                &*col
            };
            let wg = &w[g * ocg * k..(g + 1) * ocg * k];
            let yg = &mut yn[g * ocg * p..(g + 1) * ocg * p];
            gemm(F::ONE, Mat::row_major(wg, ocg, k), Mat::row_major(cols, k, p), beta, yg, p);
        }
    }
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient. Recomputes im2col per sample rather than keeping it for the batch.
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
    let (cg, ocg, p) = (C / G, OC / G, OH * OW);
    let k = cg * KH * KW;
    let w = &params[..OC * k];
    let (dw, db) = grads.split_at_mut(OC * k);
    dw.fill(F::ZERO);
    if BIAS {
        db[..OC].fill(F::ZERO);
    }
    let pointwise = is_pointwise(KH, KW, SH, SW, PH, PW);
    let col_len = if pointwise { 0 } else { k * p };
    let (col, dcol) = scratch[..2 * col_len].split_at_mut(col_len);
    for n in 0..batch {
        let xn = &x[n * C * H * W..(n + 1) * C * H * W];
        let dyn_ = &dy[n * OC * p..(n + 1) * OC * p];
        if BIAS {
            for (o, plane) in dyn_.chunks_exact(p).enumerate() {
                let mut s = F::ZERO;
                for &v in plane {
                    s += v;
                }
                db[o] += s;
            }
        }
        let mut dxn = dx.as_deref_mut().map(|dx| {
            let dxn = &mut dx[n * C * H * W..(n + 1) * C * H * W];
            dxn.fill(F::ZERO);
            dxn
        });
        for g in 0..G {
            let xg = &xn[g * cg * H * W..(g + 1) * cg * H * W];
            let cols: &[F] = if pointwise {
                xg
            } else {
                im2col::<F, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW>(cg, xg, col);
                &*col
            };
            let dyg = &dyn_[g * ocg * p..(g + 1) * ocg * p];
            // dW_g[OCg, K] += dY_g[OCg, P] · colᵀ[P, K]
            let dwg = &mut dw[g * ocg * k..(g + 1) * ocg * k];
            gemm(F::ONE, Mat::row_major(dyg, ocg, p), Mat::transposed(cols, p, k), F::ONE, dwg, k);
            if let Some(dxn) = dxn.as_deref_mut() {
                let wg = &w[g * ocg * k..(g + 1) * ocg * k];
                let dxg = &mut dxn[g * cg * H * W..(g + 1) * cg * H * W];
                if pointwise {
                    // dX_g[K, P] = W_gᵀ[K, OCg] · dY_g[OCg, P], straight into dx.
                    gemm(F::ONE, Mat::transposed(wg, k, ocg), Mat::row_major(dyg, ocg, p), F::ZERO, dxg, p);
                } else {
                    gemm(F::ONE, Mat::transposed(wg, k, ocg), Mat::row_major(dyg, ocg, p), F::ZERO, dcol, p);
                    col2im_add::<F, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW>(cg, dcol, dxg);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct convolution by definition, the reference for the im2col path.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        x: &[f64],
        w: &[f64],
        b: &[f64],
        (c, h, wd): (usize, usize, usize),
        oc: usize,
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        (ph, pw): (usize, usize),
        (dh, dw): (usize, usize),
        g: usize,
        (oh, ow): (usize, usize),
    ) -> Vec<f64> {
        let (cg, ocg) = (c / g, oc / g);
        let mut y = vec![0.0; oc * oh * ow];
        for o in 0..oc {
            let grp = o / ocg;
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = b[o];
                    for ci in 0..cg {
                        for a in 0..kh {
                            for bb in 0..kw {
                                let ih = (i * sh + a * dh) as isize - ph as isize;
                                let iw = (j * sw + bb * dw) as isize - pw as isize;
                                if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < wd {
                                    s += w[((o * cg + ci) * kh + a) * kw + bb]
                                        * x[((grp * cg + ci) * h + ih as usize) * wd + iw as usize];
                                }
                            }
                        }
                    }
                    y[(o * oh + i) * ow + j] = s;
                }
            }
        }
        y
    }

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + seed) * 0.7).sin()).collect()
    }

    #[test]
    fn strided_padded_dilated_grouped_forward_matches_definition() {
        // C=4, 7x6 input, OC=6, 3x2 kernel, stride (2,1), padding (1,2), dilation (1,2), 2 groups.
        // OH = (7 + 2 - 2 - 1)/2 + 1 = 4; OW = (6 + 4 - 2 - 1)/1 + 1 = 8
        let x = values(4 * 7 * 6, 0.3);
        let params = values(6 * 2 * 3 * 2 + 6, 1.1);
        let (w, b) = params.split_at(6 * 2 * 3 * 2);
        let mut y = vec![0.0; 6 * 4 * 8];
        let mut scratch = vec![0.0; scratch_len(4, 3, 2, 2, 4, 8)];
        forward::<f64, 4, 7, 6, 6, 3, 2, 2, 1, 1, 2, 1, 2, 2, 4, 8, true>(1, &x, &params, &mut y, &mut scratch);
        let want = reference(&x, w, b, (4, 7, 6), 6, (3, 2), (2, 1), (1, 2), (1, 2), 2, (4, 8));
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn pointwise_fast_path_matches_definition() {
        let x = values(2 * 3 * 3 * 3, 0.0);
        let params = values(4 * 3 + 4, 2.0);
        let (w, b) = params.split_at(12);
        let mut y = vec![0.0; 2 * 4 * 9];
        forward::<f64, 3, 3, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 3, 3, true>(2, &x, &params, &mut y, &mut []);
        for n in 0..2 {
            let want =
                reference(&x[n * 27..(n + 1) * 27], w, b, (3, 3, 3), 4, (1, 1), (1, 1), (0, 0), (1, 1), 1, (3, 3));
            for (a, b) in y[n * 36..(n + 1) * 36].iter().zip(&want) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }
}
