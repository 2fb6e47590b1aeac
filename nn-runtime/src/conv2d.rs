//! 2-D convolution as PyTorch's `nn.Conv2d` (NCHW, weight `[OC, C/G, KH, KW]`), by
//! im2col + GEMM: the whole batch's columns side by side, so each group is one GEMM
//! `[OC/G, K] × [K, batch·OH·OW]` rather than one small GEMM per sample (small `N` is
//! where GEMM kernels lose most of their speed). Every dimension is a const generic,
//! so each layer gets its own copy with the window loops' bounds known to the compiler.
//!
//! Const parameters: input `C×H×W`, `OC` output channels, kernel `KH×KW`, stride
//! `SH,SW`, zero padding `PH,PW`, dilation `DH,DW`, `G` groups, output `OH×OW` (the
//! macro computes it with PyTorch's formula), and whether there is a bias.

pub mod direct;
pub mod shifted;

use crate::float::Float;
use crate::gemm::{gemm, Mat};

/// Samples whose columns are built and multiplied together: enough for a wide GEMM,
/// few enough that the column matrix (about this many elements) stays in L2.
const COLUMN_BUDGET: usize = 96 * 1024;

fn samples_per_chunk(k: usize, p: usize, batch: usize) -> usize {
    (COLUMN_BUDGET / (k * p).max(1)).clamp(1, batch.max(1))
}

/// Scratch elements per sample: the batch's column matrix for one group and the
/// group's outputs (or output gradients) in `[OC/G, batch·P]` order.
pub const fn scratch_per_sample(c: usize, kh: usize, kw: usize, g: usize, oc: usize, oh: usize, ow: usize) -> usize {
    ((c / g) * kh * kw + oc / g) * oh * ow
}

/// Fills `col[(c·KH + i)·KW + j][oh·OW + ow]` with the input pixel that kernel tap
/// (i, j) of channel c sees at output position (oh, ow), or zero in the padding. Row r
/// starts at `col[r·row_stride + offset]`, so a batch's samples can sit side by side.
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
    row_stride: usize,
    offset: usize,
) {
    let p = OH * OW;
    for c in 0..cg {
        let plane = &x[c * H * W..(c + 1) * H * W];
        for i in 0..KH {
            for j in 0..KW {
                let row = &mut col[((c * KH + i) * KW + j) * row_stride + offset..][..p];
                for oh in 0..OH {
                    let ih = (oh * SH + i * DH) as isize - PH as isize;
                    let out = &mut row[oh * OW..(oh + 1) * OW];
                    if ih < 0 || ih >= H as isize {
                        out.fill(F::ZERO);
                        continue;
                    }
                    let src = &plane[ih as usize * W..(ih as usize + 1) * W];
                    if SW == 1 && PW == 0 {
                        // Unit stride, no padding: the taps of one row are contiguous.
                        out.copy_from_slice(&src[j * DW..j * DW + OW]);
                        continue;
                    }
                    if PW == 0 {
                        // No padding: every tap is inside the row, strided.
                        let taps = src[j * DW..].iter().step_by(SW);
                        for (o, &v) in out.iter_mut().zip(taps) {
                            *o = v;
                        }
                        continue;
                    }
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
    row_stride: usize,
    offset: usize,
) {
    let p = OH * OW;
    for c in 0..cg {
        let plane = &mut dx[c * H * W..(c + 1) * H * W];
        for i in 0..KH {
            for j in 0..KW {
                let row = &col[((c * KH + i) * KW + j) * row_stride + offset..][..p];
                for oh in 0..OH {
                    let ih = (oh * SH + i * DH) as isize - PH as isize;
                    if ih < 0 || ih >= H as isize {
                        continue;
                    }
                    let dst = &mut plane[ih as usize * W..(ih as usize + 1) * W];
                    if SW == 1 && PW == 0 {
                        for (d, &v) in dst[j * DW..j * DW + OW].iter_mut().zip(&row[oh * OW..(oh + 1) * OW]) {
                            *d += v;
                        }
                        continue;
                    }
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
    let chunk = samples_per_chunk(k, p, batch);
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        let columns = samples * p;
        let (col, out) = scratch.split_at_mut(k * columns);
        let out = &mut out[..ocg * columns];
        for g in 0..G {
            for s in 0..samples {
                let xg = &x[((first + s) * C + g * cg) * H * W..][..cg * H * W];
                im2col::<F, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW>(cg, xg, col, columns, s * p);
            }
            let wg = &w[g * ocg * k..(g + 1) * ocg * k];
            gemm(F::ONE, Mat::row_major(wg, ocg, k), Mat::row_major(col, k, columns), F::ZERO, out, columns);
            // Back to NCHW, adding the bias on the way.
            for o in 0..ocg {
                let channel = g * ocg + o;
                let bias = if BIAS { b[channel] } else { F::ZERO };
                for s in 0..samples {
                    let src = &out[o * columns + s * p..][..p];
                    let dst = &mut y[((first + s) * OC + channel) * p..][..p];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = v + bias;
                    }
                }
            }
        }
    }
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient. The columns are recomputed rather than kept from forward; after the
/// weight gradient they are overwritten by their own gradient.
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
    if BIAS {
        db[..OC].fill(F::ZERO);
    }
    if let Some(dx) = dx.as_deref_mut() {
        dx[..batch * C * H * W].fill(F::ZERO);
    }
    let chunk = samples_per_chunk(k, p, batch);
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        let columns = samples * p;
        // The first chunk overwrites the weight gradient, later ones add to it.
        let beta = if first == 0 { F::ZERO } else { F::ONE };
        let (col, rest) = scratch.split_at_mut(k * columns);
        let dy_group = &mut rest[..ocg * columns];
        for g in 0..G {
            // dY_g in [OCg, samples·P] order, and the bias gradient on the way.
            for o in 0..ocg {
                let channel = g * ocg + o;
                for s in 0..samples {
                    let src = &dy[((first + s) * OC + channel) * p..][..p];
                    dy_group[o * columns + s * p..][..p].copy_from_slice(src);
                    if BIAS {
                        db[channel] += F::sum(src);
                    }
                }
            }
            for s in 0..samples {
                let xg = &x[((first + s) * C + g * cg) * H * W..][..cg * H * W];
                im2col::<F, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW>(cg, xg, col, columns, s * p);
            }
            // dW_g[OCg, K] (+)= dY_g[OCg, samples·P] · colᵀ[samples·P, K]
            let dwg = &mut dw[g * ocg * k..(g + 1) * ocg * k];
            gemm(F::ONE, Mat::row_major(dy_group, ocg, columns), Mat::transposed(col, columns, k), beta, dwg, k);
            if let Some(dx) = dx.as_deref_mut() {
                // dcol[K, samples·P] = W_gᵀ[K, OCg] · dY_g, into the columns' own buffer.
                let wg = &w[g * ocg * k..(g + 1) * ocg * k];
                gemm(
                    F::ONE,
                    Mat::transposed(wg, k, ocg),
                    Mat::row_major(dy_group, ocg, columns),
                    F::ZERO,
                    col,
                    columns,
                );
                for s in 0..samples {
                    let dxg = &mut dx[((first + s) * C + g * cg) * H * W..][..cg * H * W];
                    col2im_add::<F, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW>(cg, col, dxg, columns, s * p);
                }
            }
        }
    }
}

/// A chunk of samples' input with `PH`/`PW` zeros around every plane, or the input itself
/// when there is no padding.
pub(crate) fn padded_input<
    'a,
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const PH: usize,
    const PW: usize,
>(
    x: &'a [F],
    image: &'a mut [F],
) -> &'a [F] {
    if PH == 0 && PW == 0 {
        return x;
    }
    let (hp, wp) = (H + 2 * PH, W + 2 * PW);
    let planes = x.len() / (H * W);
    let image = &mut image[..planes * hp * wp];
    image.fill(F::ZERO);
    for (plane, out) in x.chunks_exact(H * W).zip(image.chunks_exact_mut(hp * wp)) {
        for (row, out_row) in plane.chunks_exact(W).zip(out[PH * wp..].chunks_exact_mut(wp)) {
            out_row[PW..PW + W].copy_from_slice(row);
        }
    }
    image
}

/// `db[c] = Σ over samples and positions of dY[n][c]` (overwritten), `positions` per
/// channel plane, in lane-wise sums.
pub(crate) fn bias_gradient<F: Float>(batch: usize, positions: usize, dy: &[F], db: &mut [F]) {
    let channels = db.len();
    for (channel, sum) in db.iter_mut().enumerate() {
        *sum = (0..batch)
            .fold(F::ZERO, |total, n| total + F::sum(&dy[(n * channels + channel) * positions..][..positions]));
    }
}

/// The input gradient alone (overwritten), for strategies whose weight gradient needs
/// no columns: `dcol = W_gᵀ · dY_g` over a chunk's samples side by side, scattered back
/// by [`col2im_add`]. Scratch: [`scratch_per_sample`] per sample.
#[allow(clippy::too_many_arguments)]
pub(crate) fn input_gradient<
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
>(
    batch: usize,
    params: &[F],
    dy: &[F],
    dx: &mut [F],
    scratch: &mut [F],
) {
    let (cg, ocg, p) = (C / G, OC / G, OH * OW);
    let k = cg * KH * KW;
    let w = &params[..OC * k];
    dx[..batch * C * H * W].fill(F::ZERO);
    let chunk = samples_per_chunk(k, p, batch);
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        let columns = samples * p;
        let (cols, rest) = scratch.split_at_mut(k * columns);
        let dy_group = &mut rest[..ocg * columns];
        for g in 0..G {
            for o in 0..ocg {
                for s in 0..samples {
                    let src = &dy[((first + s) * OC + g * ocg + o) * p..][..p];
                    dy_group[o * columns + s * p..][..p].copy_from_slice(src);
                }
            }
            let wg = &w[g * ocg * k..(g + 1) * ocg * k];
            gemm(F::ONE, Mat::transposed(wg, k, ocg), Mat::row_major(dy_group, ocg, columns), F::ZERO, cols, columns);
            for s in 0..samples {
                let dxg = &mut dx[((first + s) * C + g * cg) * H * W..][..cg * H * W];
                col2im_add::<F, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW>(cg, cols, dxg, columns, s * p);
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
        let mut scratch = vec![0.0; scratch_per_sample(4, 3, 2, 2, 6, 4, 8)];
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
        let mut scratch = vec![0.0; 2 * scratch_per_sample(3, 1, 1, 1, 4, 3, 3)];
        forward::<f64, 3, 3, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 3, 3, true>(2, &x, &params, &mut y, &mut scratch);
        for n in 0..2 {
            let want =
                reference(&x[n * 27..(n + 1) * 27], w, b, (3, 3, 3), 4, (1, 1), (1, 1), (0, 0), (1, 1), 1, (3, 3));
            for (a, b) in y[n * 36..(n + 1) * 36].iter().zip(&want) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }

    /// A layer whose columns exceed the L2 budget runs sample by sample; results must
    /// not depend on that: forward matches the definition, and a batch's gradients are
    /// the sums (and concatenation) of its samples' gradients.
    #[test]
    fn chunked_batches_match_sample_by_sample() {
        const B: usize = 3;
        // K = 2·3·3 = 18 rows, P = 78·78 = 6,084 columns: one sample per chunk.
        assert_eq!(samples_per_chunk(18, 78 * 78, B), 1);
        let x = values(B * 2 * 80 * 80, 0.5);
        let params = values(3 * 18 + 3, 3.0);
        let (w, b) = params.split_at(54);
        let mut scratch = vec![0.0; B * scratch_per_sample(2, 3, 3, 1, 3, 78, 78)];
        let mut y = vec![0.0; B * 3 * 78 * 78];
        forward::<f64, 2, 80, 80, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1, 78, 78, true>(B, &x, &params, &mut y, &mut scratch);
        for n in 0..B {
            let want = reference(
                &x[n * 12800..(n + 1) * 12800],
                w,
                b,
                (2, 80, 80),
                3,
                (3, 3),
                (1, 1),
                (0, 0),
                (1, 1),
                1,
                (78, 78),
            );
            assert!(y[n * 18252..(n + 1) * 18252].iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
        }
        let dy = values(y.len(), 7.0);
        let (mut grads, mut dx) = (vec![0.0; 57], vec![0.0; x.len()]);
        backward::<f64, 2, 80, 80, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1, 78, 78, true>(
            B,
            &x,
            &params,
            &dy,
            &mut grads,
            Some(&mut dx),
            &mut scratch,
        );
        let mut summed = vec![0.0; 57];
        for n in 0..B {
            let (mut g, mut d) = (vec![0.0; 57], vec![0.0; 12800]);
            backward::<f64, 2, 80, 80, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1, 78, 78, true>(
                1,
                &x[n * 12800..],
                &params,
                &dy[n * 18252..],
                &mut g,
                Some(&mut d),
                &mut scratch,
            );
            summed.iter_mut().zip(&g).for_each(|(s, v)| *s += v);
            assert!(d.iter().zip(&dx[n * 12800..]).all(|(a, b)| (a - b).abs() < 1e-9));
        }
        assert!(grads.iter().zip(&summed).all(|(a, b)| (a - b).abs() < 1e-9 * (1.0 + b.abs())));
    }
}
