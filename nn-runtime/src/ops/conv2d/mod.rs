//! 2-D convolution as PyTorch's `nn.Conv2d` (NCHW, weight `[OC, C/G, KH, KW]`), by
//! im2col + GEMM: the whole batch's columns side by side, so each group is one GEMM
//! `[OC/G, K] × [K, batch·OH·OW]` rather than one small GEMM per sample (small `N` is
//! where GEMM kernels lose most of their speed). Every kernel is generic over the
//! layer's [`Geometry`], so each layer gets its own copy with the window loops' bounds
//! known to the compiler. The other strategies: [`direct`] and [`shifted`].

pub mod direct;
mod geometry;
pub mod shifted;
#[cfg(test)]
mod testing;

pub use geometry::Geometry;

use crate::float::Float;
use crate::kernels::gemm::{gemm, Mat};

/// Samples whose columns are built and multiplied together: enough for a wide GEMM,
/// few enough that the column matrix (about this many elements) stays in L2: 3/32 of
/// the L2's bytes as elements (98,304 for 1 MiB, the size it was measured at).
fn column_budget() -> usize {
    crate::kernels::simd::caches().l2 * 3 / 32
}

fn samples_per_chunk<G: Geometry>(batch: usize) -> usize {
    (column_budget() / (G::K * G::P).max(1)).clamp(1, batch.max(1))
}

/// Scratch elements per sample of the im2col strategy (forward, backward, and the
/// input gradient the other strategies share): the batch's column matrix for one group
/// and the group's outputs (or output gradients) in `[OC/G, batch·P]` order.
pub const fn scratch_per_sample<G: Geometry>() -> usize {
    (G::K + G::OCG) * G::P
}

/// Scratch for eval-mode forward of one sample: one sample's columns and outputs.
pub const fn inference_scratch<G: Geometry>() -> usize {
    scratch_per_sample::<G>()
}

/// Fills `col[(c·KH + i)·KW + j][oh·OW + ow]` with the input pixel that kernel tap
/// (i, j) of channel c (of one group's `C/G`) sees at output position (oh, ow), or zero
/// in the padding. Row r starts at `col[r·row_stride + offset]`, so a batch's samples
/// can sit side by side.
#[inline(always)]
pub(crate) fn im2col<F: Float, G: Geometry>(x: &[F], col: &mut [F], row_stride: usize, offset: usize) {
    let (h, w) = (G::H, G::W);
    for c in 0..G::CG {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for i in 0..G::KH {
            for j in 0..G::KW {
                let row = &mut col[((c * G::KH + i) * G::KW + j) * row_stride + offset..][..G::P];
                for oh in 0..G::OH {
                    let ih = (oh * G::SH + i * G::DH) as isize - G::PAD_TOP as isize;
                    let out = &mut row[oh * G::OW..(oh + 1) * G::OW];
                    if ih < 0 || ih >= h as isize {
                        out.fill(F::ZERO);
                        continue;
                    }
                    let src = &plane[ih as usize * w..(ih as usize + 1) * w];
                    if G::SW == 1 && G::PAD_LEFT == 0 && G::PAD_RIGHT == 0 {
                        // Unit stride, no padding: the taps of one row are contiguous.
                        out.copy_from_slice(&src[j * G::DW..j * G::DW + G::OW]);
                        continue;
                    }
                    if G::PAD_LEFT == 0 && G::PAD_RIGHT == 0 {
                        // No padding: every tap is inside the row, strided.
                        let taps = src[j * G::DW..].iter().step_by(G::SW);
                        for (o, &v) in out.iter_mut().zip(taps) {
                            *o = v;
                        }
                        continue;
                    }
                    for (ow, o) in out.iter_mut().enumerate() {
                        let iw = (ow * G::SW + j * G::DW) as isize - G::PAD_LEFT as isize;
                        *o = if iw < 0 || iw >= w as isize { F::ZERO } else { src[iw as usize] };
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each column entry back onto the pixel it came from.
#[inline(always)]
pub(crate) fn col2im_add<F: Float, G: Geometry>(col: &[F], dx: &mut [F], row_stride: usize, offset: usize) {
    let (h, w) = (G::H, G::W);
    for c in 0..G::CG {
        let plane = &mut dx[c * h * w..(c + 1) * h * w];
        for i in 0..G::KH {
            for j in 0..G::KW {
                let row = &col[((c * G::KH + i) * G::KW + j) * row_stride + offset..][..G::P];
                for oh in 0..G::OH {
                    let ih = (oh * G::SH + i * G::DH) as isize - G::PAD_TOP as isize;
                    if ih < 0 || ih >= h as isize {
                        continue;
                    }
                    let dst = &mut plane[ih as usize * w..(ih as usize + 1) * w];
                    let values = &row[oh * G::OW..(oh + 1) * G::OW];
                    if G::SW == 1 && G::PAD_LEFT == 0 && G::PAD_RIGHT == 0 {
                        for (d, &v) in dst[j * G::DW..j * G::DW + G::OW].iter_mut().zip(values) {
                            *d += v;
                        }
                        continue;
                    }
                    for (ow, &v) in values.iter().enumerate() {
                        let iw = (ow * G::SW + j * G::DW) as isize - G::PAD_LEFT as isize;
                        if iw >= 0 && iw < w as isize {
                            dst[iw as usize] += v;
                        }
                    }
                }
            }
        }
    }
}

/// Runs `body(first, samples, columns, block)` on each chunk of the batch whose
/// column matrix fits [`column_budget`]: `columns` has room for the chunk's `K ×
/// samples·P` columns, `block` for one group's `[OC/G, samples·P]` outputs.
fn for_each_chunk<F: Float, G: Geometry>(
    batch: usize, scratch: &mut [F], mut body: impl FnMut(usize, usize, &mut [F], &mut [F]),
) {
    let chunk = samples_per_chunk::<G>(batch);
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        let (columns, rest) = scratch.split_at_mut(G::K * samples * G::P);
        body(first, samples, columns, &mut rest[..G::OCG * samples * G::P]);
    }
}

/// One chunk's `[OC/G, samples·P]` block of group `g`'s planes of `dy` (or any
/// `[batch, OC, P]` tensor), for the GEMMs.
fn gather_group<F: Float, G: Geometry>(dy: &[F], g: usize, first: usize, samples: usize, block: &mut [F]) {
    let (p, columns) = (G::P, samples * G::P);
    for o in 0..G::OCG {
        for s in 0..samples {
            let src = &dy[((first + s) * G::OC + g * G::OCG + o) * p..][..p];
            block[o * columns + s * p..][..p].copy_from_slice(src);
        }
    }
}

/// Forward for a batch: `y[n] = W ⋆ x[n] + b`, the bias only if [`Geometry::BIAS`].
/// Scratch: [`scratch_per_sample`] per sample.
pub fn forward<F: Float, G: Geometry>(batch: usize, x: &[F], params: &[F], y: &mut [F], scratch: &mut [F]) {
    let (w, b) = params.split_at(G::WEIGHT_LEN);
    forward_with::<F, G>(batch, x, w, G::BIAS.then_some(b), y, scratch)
}

/// [`forward`] with the weight and an optional bias apart: the transposed convolution's
/// input gradient is this convolution without its bias.
pub(crate) fn forward_with<F: Float, G: Geometry>(
    batch: usize, x: &[F], w: &[F], b: Option<&[F]>, y: &mut [F], scratch: &mut [F],
) {
    let (cg, ocg, p, k) = (G::CG, G::OCG, G::P, G::K);
    for_each_chunk::<F, G>(batch, scratch, |first, samples, col, out| {
        let columns = samples * p;
        for g in 0..G::GROUPS {
            for s in 0..samples {
                let xg = &x[(first + s) * G::INPUT_LEN + g * cg * G::H * G::W..][..cg * G::H * G::W];
                im2col::<F, G>(xg, col, columns, s * p);
            }
            let wg = &w[g * ocg * k..(g + 1) * ocg * k];
            gemm(F::ONE, Mat::row_major(wg, ocg, k), Mat::row_major(col, k, columns), F::ZERO, out, columns);
            // Back to NCHW, adding the bias on the way.
            for o in 0..ocg {
                let channel = g * ocg + o;
                let bias = b.map_or(F::ZERO, |b| b[channel]);
                for s in 0..samples {
                    let src = &out[o * columns + s * p..][..p];
                    let dst = &mut y[((first + s) * G::OC + channel) * p..][..p];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = v + bias;
                    }
                }
            }
        }
    });
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient (overwritten). Scratch: [`scratch_per_sample`] per sample.
pub fn backward<F: Float, G: Geometry>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], dx: Option<&mut [F]>, scratch: &mut [F],
) {
    let (dw, db) = grads.split_at_mut(G::WEIGHT_LEN);
    if G::BIAS {
        bias_gradient(batch, G::P, dy, &mut db[..G::OC]);
    }
    weight_gradient::<F, G>(batch, x, dy, dw, scratch);
    if let Some(dx) = dx {
        input_gradient::<F, G>(batch, &params[..G::WEIGHT_LEN], dy, dx, scratch);
    }
}

/// `dW (overwritten) = Σ over the batch of dY_g · colᵀ`, the columns built chunk by
/// chunk. Scratch: [`scratch_per_sample`] per sample.
pub(crate) fn weight_gradient<F: Float, G: Geometry>(batch: usize, x: &[F], dy: &[F], dw: &mut [F], scratch: &mut [F]) {
    let (cg, ocg, p, k) = (G::CG, G::OCG, G::P, G::K);
    for_each_chunk::<F, G>(batch, scratch, |first, samples, col, dy_group| {
        let columns = samples * p;
        // The first chunk overwrites the weight gradient, later ones add to it.
        let beta = if first == 0 { F::ZERO } else { F::ONE };
        for g in 0..G::GROUPS {
            gather_group::<F, G>(dy, g, first, samples, dy_group);
            for s in 0..samples {
                let xg = &x[(first + s) * G::INPUT_LEN + g * cg * G::H * G::W..][..cg * G::H * G::W];
                im2col::<F, G>(xg, col, columns, s * p);
            }
            // dW_g[OCg, K] (+)= dY_g[OCg, samples·P] · colᵀ[samples·P, K]
            let dwg = &mut dw[g * ocg * k..(g + 1) * ocg * k];
            gemm(F::ONE, Mat::row_major(dy_group, ocg, columns), Mat::transposed(col, columns, k), beta, dwg, k);
        }
    });
}

/// The input gradient (overwritten): `dcol = W_gᵀ · dY_g` over a chunk's samples side
/// by side, scattered back by [`col2im_add`]. Every strategy's input gradient, and the
/// transposed convolution's forward. `w` is the weight alone. Scratch:
/// [`scratch_per_sample`] per sample.
pub(crate) fn input_gradient<F: Float, G: Geometry>(batch: usize, w: &[F], dy: &[F], dx: &mut [F], scratch: &mut [F]) {
    let (cg, ocg, p, k) = (G::CG, G::OCG, G::P, G::K);
    dx[..batch * G::INPUT_LEN].fill(F::ZERO);
    for_each_chunk::<F, G>(batch, scratch, |first, samples, cols, dy_group| {
        let columns = samples * p;
        for g in 0..G::GROUPS {
            gather_group::<F, G>(dy, g, first, samples, dy_group);
            let wg = &w[g * ocg * k..(g + 1) * ocg * k];
            gemm(F::ONE, Mat::transposed(wg, k, ocg), Mat::row_major(dy_group, ocg, columns), F::ZERO, cols, columns);
            for s in 0..samples {
                let dxg = &mut dx[(first + s) * G::INPUT_LEN + g * cg * G::H * G::W..][..cg * G::H * G::W];
                col2im_add::<F, G>(cols, dxg, columns, s * p);
            }
        }
    });
}

/// A chunk of samples' input with the geometry's zeros around every plane, or the input
/// itself when there is no padding.
pub(crate) fn padded_input<'a, F: Float, G: Geometry>(x: &'a [F], image: &'a mut [F]) -> &'a [F] {
    if !G::PADDED {
        return x;
    }
    let (h, w, hp, wp) = (G::H, G::W, G::HP, G::WP);
    let planes = x.len() / (h * w);
    let image = &mut image[..planes * hp * wp];
    image.fill(F::ZERO);
    for (plane, out) in x.chunks_exact(h * w).zip(image.chunks_exact_mut(hp * wp)) {
        for (row, out_row) in plane.chunks_exact(w).zip(out[G::PAD_TOP * wp..].chunks_exact_mut(wp)) {
            out_row[G::PAD_LEFT..G::PAD_LEFT + w].copy_from_slice(row);
        }
    }
    image
}

/// Elements of one sample's zero-padded input (0 without padding).
pub(crate) const fn padded_input_len<G: Geometry>() -> usize {
    if G::PADDED {
        G::C * G::HP * G::WP
    } else {
        0
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct convolution by definition, the reference for the im2col path.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        x: &[f64], w: &[f64], b: &[f64], (c, h, wd): (usize, usize, usize), oc: usize, (kh, kw): (usize, usize),
        (sh, sw): (usize, usize), (ph, pw): (usize, usize), (dh, dw): (usize, usize), g: usize,
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

    /// The definition with the geometry's values.
    fn reference_for<G: Geometry>(x: &[f64], params: &[f64]) -> Vec<f64> {
        assert_eq!(G::PAD_TOP, G::PAD_BOTTOM, "the reference pads symmetrically");
        let (w, b) = params.split_at(G::WEIGHT_LEN);
        let zeros = vec![0.0; G::OC];
        reference(
            x,
            w,
            if G::BIAS { b } else { &zeros },
            (G::C, G::H, G::W),
            G::OC,
            (G::KH, G::KW),
            (G::SH, G::SW),
            (G::PAD_TOP, G::PAD_LEFT),
            (G::DH, G::DW),
            G::GROUPS,
            (G::OH, G::OW),
        )
    }

    crate::conv2d_geometry!(Everything {
        c: 4,
        h: 7,
        w: 6,
        oc: 6,
        k: (3, 2),
        stride: (2, 1),
        padding: (1, 1, 2, 2),
        dilation: (1, 2),
        groups: 2
    });

    #[test]
    fn strided_padded_dilated_grouped_forward_matches_definition() {
        // OH = (7 + 2 - 2 - 1)/2 + 1 = 4; OW = (6 + 4 - 2 - 1)/1 + 1 = 8
        assert_eq!((Everything::OH, Everything::OW), (4, 8));
        let x = values(4 * 7 * 6, 0.3);
        let params = values(6 * 2 * 3 * 2 + 6, 1.1);
        let mut y = vec![0.0; 6 * 4 * 8];
        let mut scratch = vec![0.0; scratch_per_sample::<Everything>()];
        forward::<f64, Everything>(1, &x, &params, &mut y, &mut scratch);
        let want = reference_for::<Everything>(&x, &params);
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    /// Padding that differs between the sides (PyTorch's `padding = "same"` with an
    /// even kernel): the result is the symmetric padding's, cropped.
    #[test]
    fn asymmetric_padding_crops_the_symmetric_result() {
        crate::conv2d_geometry!(Symmetric { c: 2, h: 5, w: 6, oc: 3, k: (2, 4), padding: (1, 1, 2, 2) });
        crate::conv2d_geometry!(Same { c: 2, h: 5, w: 6, oc: 3, k: (2, 4), padding: (0, 1, 1, 2) });
        // Symmetric: 6×7; "same": 5×6, which starts one row and one column later.
        assert_eq!((Symmetric::OH, Symmetric::OW, Same::OH, Same::OW), (6, 7, 5, 6));
        let x = values(2 * 5 * 6, 0.9);
        let params = values(3 * 2 * 2 * 4 + 3, 0.2);
        let mut full = vec![0.0; 3 * 42];
        let mut same = vec![0.0; 3 * 30];
        let mut scratch = vec![0.0; 1000];
        forward::<f64, Symmetric>(1, &x, &params, &mut full, &mut scratch);
        forward::<f64, Same>(1, &x, &params, &mut same, &mut scratch);
        for c in 0..3 {
            for i in 0..5 {
                for j in 0..6 {
                    assert_eq!(same[(c * 5 + i) * 6 + j], full[(c * 6 + i + 1) * 7 + j + 1]);
                }
            }
        }
        // Backward: the input gradient is the symmetric one's through the cropped rows.
        let dy = values(3 * 30, 4.0);
        let mut dy_full = vec![0.0; 3 * 42];
        for c in 0..3 {
            for i in 0..5 {
                for j in 0..6 {
                    dy_full[(c * 6 + i + 1) * 7 + j + 1] = dy[(c * 5 + i) * 6 + j];
                }
            }
        }
        let (mut g_same, mut g_full) = (vec![0.0; params.len()], vec![0.0; params.len()]);
        let (mut dx_same, mut dx_full) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        backward::<f64, Same>(1, &x, &params, &dy, &mut g_same, Some(&mut dx_same), &mut scratch);
        backward::<f64, Symmetric>(1, &x, &params, &dy_full, &mut g_full, Some(&mut dx_full), &mut scratch);
        for (a, b) in g_same.iter().zip(&g_full).chain(dx_same.iter().zip(&dx_full)) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn pointwise_fast_path_matches_definition() {
        crate::conv2d_geometry!(Pointwise { c: 3, h: 3, w: 3, oc: 4, k: (1, 1) });
        let x = values(2 * 3 * 3 * 3, 0.0);
        let params = values(4 * 3 + 4, 2.0);
        let mut y = vec![0.0; 2 * 4 * 9];
        let mut scratch = vec![0.0; 2 * scratch_per_sample::<Pointwise>()];
        forward::<f64, Pointwise>(2, &x, &params, &mut y, &mut scratch);
        for n in 0..2 {
            let want = reference_for::<Pointwise>(&x[n * 27..(n + 1) * 27], &params);
            for (a, b) in y[n * 36..(n + 1) * 36].iter().zip(&want) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }

    /// A layer whose columns exceed the L2 budget runs sample by sample; results must
    /// not depend on that: forward matches the definition, and a batch's gradients are
    /// the sums (and concatenation) of its samples' gradients. Too large for Miri by
    /// design (the L2 budget decides the chunks): the chunking is safe code, and the
    /// one unsafe call it reaches, matrixmultiply's dgemm over more columns than one of
    /// its blocks, runs under Miri in `kernels::gemm`'s tests.
    #[test]
    #[cfg_attr(miri, ignore = "needs a layer larger than the L2 budget; its unsafe path runs in kernels::gemm's tests")]
    fn chunked_batches_match_sample_by_sample() {
        const B: usize = 3;
        // K = 2·3·3 = 18 rows, P = 78·78 = 6,084 columns: one sample per chunk.
        crate::conv2d_geometry!(Large { c: 2, h: 80, w: 80, oc: 3, k: (3, 3) });
        assert_eq!(samples_per_chunk::<Large>(B), 1);
        let x = values(B * 2 * 80 * 80, 0.5);
        let params = values(3 * 18 + 3, 3.0);
        let mut scratch = vec![0.0; B * scratch_per_sample::<Large>()];
        let mut y = vec![0.0; B * 3 * 78 * 78];
        forward::<f64, Large>(B, &x, &params, &mut y, &mut scratch);
        for n in 0..B {
            let want = reference_for::<Large>(&x[n * 12800..(n + 1) * 12800], &params);
            assert!(y[n * 18252..(n + 1) * 18252].iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
        }
        let dy = values(y.len(), 7.0);
        let (mut grads, mut dx) = (vec![0.0; 57], vec![0.0; x.len()]);
        backward::<f64, Large>(B, &x, &params, &dy, &mut grads, Some(&mut dx), &mut scratch);
        let mut summed = vec![0.0; 57];
        for n in 0..B {
            let (mut g, mut d) = (vec![0.0; 57], vec![0.0; 12800]);
            backward::<f64, Large>(1, &x[n * 12800..], &params, &dy[n * 18252..], &mut g, Some(&mut d), &mut scratch);
            summed.iter_mut().zip(&g).for_each(|(s, v)| *s += v);
            assert!(d.iter().zip(&dx[n * 12800..]).all(|(a, b)| (a - b).abs() < 1e-9));
        }
        assert!(grads.iter().zip(&summed).all(|(a, b)| (a - b).abs() < 1e-9 * (1.0 + b.abs())));
    }
}
