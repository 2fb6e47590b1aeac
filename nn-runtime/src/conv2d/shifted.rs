//! A unit-stride convolution over shifted windows of its input: forward as
//! [`crate::gathered::shifted`] products (the weights broadcast, the image streamed). Output row `oh` is computed over the input's
//! full width, so kernel tap `(c, i, j)` reads the input from one offset onward,
//! contiguous: `y'[o][oh·W + ow] = Σ_tap w[o][tap] · x[tap offset + oh·W + ow]`. The
//! `W − OW` columns past each row's end are computed and dropped; in exchange there
//! is no column matrix, and every output channel fills a row of the 6 × 16 register
//! tile, which suits layers with few output channels (LeNet-5's first: 6), where
//! [`super::direct`] would pad channels to a vector of 8.
//!
//! The weight gradient is the same windows' dot products with the output gradient
//! laid over full-width rows ([`crate::gathered::shifted_dots`]); the input gradient
//! is im2col's ([`super::input_gradient`]). Const parameters are those of [`super::forward`], with `SH = SW = 1`.

use crate::activation::{self, Activation};
use crate::float::Float;
use crate::gathered::{self, Walk};
use crate::pool2d::PlanePool;

/// Scratch (independent of the batch): one sample's zero-padded input, one group's
/// full-width outputs, and one output plane (where inference pools a plane it does not
/// keep).
#[allow(clippy::too_many_arguments)]
pub const fn scratch(
    c: usize,
    h: usize,
    w: usize,
    ph: usize,
    pw: usize,
    g: usize,
    oc: usize,
    oh: usize,
    ow: usize,
) -> usize {
    let padded_input = if ph > 0 || pw > 0 { c * (h + 2 * ph) * (w + 2 * pw) } else { 0 };
    padded_input + (oc / g) * ((oh - 1) * (w + 2 * pw) + ow) + oh * ow
}

/// Forward for a batch with an activation and a pooling fused into the epilogue, as
/// [`super::direct::forward`]: `y[n] = A(W ⋆ x[n] + b)`, and each plane of it pooled
/// into `pooled` right after it is written.
#[allow(clippy::too_many_arguments)]
pub fn forward<
    F: Float,
    A: Activation,
    P: PlanePool<F>,
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
    pooled: &mut [F],
    scratch: &mut [F],
    alpha: F,
) {
    assert!(SH == 1 && SW == 1, "shifted convolution needs unit stride");
    let (cg, ocg, p) = (C / G, OC / G, OH * OW);
    let k = cg * KH * KW;
    let (hp, wp) = (H + 2 * PH, W + 2 * PW);
    // Columns per output channel: full rows, the last one only as far as it is valid,
    // so no read goes past the group's planes.
    let columns = (OH - 1) * wp + OW;
    let (w, b) = params.split_at(OC * k);
    let padded = PH > 0 || PW > 0;
    let (image, out) = scratch.split_at_mut(if padded { C * hp * wp } else { 0 });
    let (out, unkept) = out.split_at_mut(ocg * columns);
    let unkept = &mut unkept[..p];
    // An empty `y`: only the pooled planes are wanted, as in `direct::forward`.
    let keep = !y.is_empty();
    assert!(keep || P::OUT > 0, "a convolution with nothing to write");
    let taps = Walk { n: [cg, KH, KW], step: [hp * wp, DH * wp, DW] };
    for n in 0..batch {
        let sample = &x[n * C * H * W..][..C * H * W];
        let input = super::padded_input::<F, C, H, W, PH, PW>(sample, image);
        for g in 0..G {
            let wg = &w[g * ocg * k..][..ocg * k];
            gathered::shifted(wg, ocg, taps, &input[g * cg * hp * wp..][..cg * hp * wp], columns, out, columns, false);
            for o in 0..ocg {
                let channel = g * ocg + o;
                let bias = if BIAS { b[channel] } else { F::ZERO };
                let dst = if keep { &mut y[(n * OC + channel) * p..][..p] } else { &mut *unkept };
                for (oh, row) in dst.chunks_exact_mut(OW).enumerate() {
                    activation::add_bias(&out[o * columns + oh * wp..][..OW], bias, row);
                }
                activation::in_place::<F, A>(dst, alpha);
                P::plane(dst, &mut pooled[(n * OC + channel) * P::OUT..][..P::OUT]);
            }
        }
    }
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient. The weight gradient is [`gathered::shifted_dots`] of the output
/// gradient laid over the same full-width rows (zero in the columns past each row's
/// end) with the input's shifted windows; the input gradient is
/// [`super::input_gradient`]'s.
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
    dx: Option<&mut [F]>,
    scratch: &mut [F],
) {
    assert!(SH == 1 && SW == 1, "shifted convolution needs unit stride");
    let (cg, ocg, p) = (C / G, OC / G, OH * OW);
    let k = cg * KH * KW;
    let (hp, wp) = (H + 2 * PH, W + 2 * PW);
    let columns = (OH - 1) * wp + OW;
    let (dw, db) = grads.split_at_mut(OC * k);
    if BIAS {
        super::bias_gradient(batch, p, dy, &mut db[..OC]);
    }
    let padded = PH > 0 || PW > 0;
    let (image, rest) = scratch.split_at_mut(if padded { C * hp * wp } else { 0 });
    let (widened, rest) = rest.split_at_mut(ocg * columns);
    let taps = Walk { n: [cg, KH, KW], step: [hp * wp, DH * wp, DW] };
    for n in 0..batch {
        let sample = &x[n * C * H * W..][..C * H * W];
        let input = super::padded_input::<F, C, H, W, PH, PW>(sample, image);
        for g in 0..G {
            for (o, row) in widened.chunks_exact_mut(columns).enumerate() {
                let src = &dy[(n * OC + g * ocg + o) * p..][..p];
                for (oh, values) in src.chunks_exact(OW).enumerate() {
                    row[oh * wp..][..OW].copy_from_slice(values);
                    if oh + 1 < OH {
                        row[oh * wp + OW..(oh + 1) * wp].fill(F::ZERO);
                    }
                }
            }
            let dwg = &mut dw[g * ocg * k..][..ocg * k];
            let input = &input[g * cg * hp * wp..][..cg * hp * wp];
            gathered::shifted_dots(widened, columns, ocg, taps, input, columns, dwg, k, n > 0);
        }
    }
    if let Some(dx) = dx {
        super::input_gradient::<F, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW>(batch, params, dy, dx, rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Identity;
    use crate::pool2d::NoPool;

    fn values<F: Float>(n: usize, seed: f64) -> Vec<F> {
        (0..n).map(|i| F::from_f64(((i as f64 + seed) * 0.37).sin())).collect()
    }

    /// Forward and backward against the im2col strategy, in f64 (portable loops) and
    /// f32 (vector kernels where the processor has them): LeNet-5's first layer, and one
    /// with padding, dilation, groups and no bias.
    #[test]
    fn shifted_strategy_matches_im2col() {
        macro_rules! check {
            ($f:ty, $tol:expr, $batch:expr, [$c:literal, $h:literal, $w:literal, $oc:literal, $kh:literal, $kw:literal,
              $ph:literal, $pw:literal, $dh:literal, $dw:literal, $g:literal, $oh:literal, $ow:literal, $bias:literal]) => {{
                let batch: usize = $batch;
                let x: Vec<$f> = values(batch * $c * $h * $w, 0.5);
                let params: Vec<$f> = values($oc * ($c / $g) * $kh * $kw + $oc, 3.0);
                let mut want = vec![0.0 as $f; batch * $oc * $oh * $ow];
                let mut got = vec![<$f>::NAN; want.len()];
                let mut scratch =
                    vec![0.0 as $f; batch * super::super::scratch_per_sample($c, $kh, $kw, $g, $oc, $oh, $ow)];
                super::super::forward::<$f, $c, $h, $w, $oc, $kh, $kw, 1, 1, $ph, $pw, $dh, $dw, $g, $oh, $ow, $bias>(
                    batch,
                    &x,
                    &params,
                    &mut want,
                    &mut scratch,
                );
                let mut scratch = vec![0.0 as $f; super::scratch($c, $h, $w, $ph, $pw, $g, $oc, $oh, $ow)];
                forward::<$f, Identity, NoPool, $c, $h, $w, $oc, $kh, $kw, 1, 1, $ph, $pw, $dh, $dw, $g, $oh, $ow, $bias>(
                    batch,
                    &x,
                    &params,
                    &mut got,
                    &mut [],
                    &mut scratch,
                    0.0,
                );
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() <= $tol * (1.0 + b.abs()), "{a} vs {b}");
                }
                // Backward: weight, bias and input gradients.
                let dy: Vec<$f> = values(want.len(), 7.0);
                let run = |shifted_strategy: bool, scratch: &mut [$f]| {
                    let mut grads = vec![<$f>::NAN; params.len()];
                    let mut dx = vec![<$f>::NAN; x.len()];
                    if shifted_strategy {
                        backward::<$f, $c, $h, $w, $oc, $kh, $kw, 1, 1, $ph, $pw, $dh, $dw, $g, $oh, $ow, $bias>(
                            batch,
                            &x,
                            &params,
                            &dy,
                            &mut grads,
                            Some(&mut dx),
                            scratch,
                        );
                    } else {
                        super::super::backward::<
                            $f,
                            $c,
                            $h,
                            $w,
                            $oc,
                            $kh,
                            $kw,
                            1,
                            1,
                            $ph,
                            $pw,
                            $dh,
                            $dw,
                            $g,
                            $oh,
                            $ow,
                            $bias,
                        >(batch, &x, &params, &dy, &mut grads, Some(&mut dx), scratch);
                    }
                    if !$bias {
                        grads.truncate(params.len() - $oc);
                    }
                    (grads, dx)
                };
                let per_sample = super::super::scratch_per_sample($c, $kh, $kw, $g, $oc, $oh, $ow);
                let mut scratch =
                    vec![0.0 as $f; super::scratch($c, $h, $w, $ph, $pw, $g, $oc, $oh, $ow) + batch * per_sample];
                let (want_grads, want_dx) = run(false, &mut scratch);
                let (got_grads, got_dx) = run(true, &mut scratch);
                for (a, b) in got_grads.iter().zip(&want_grads).chain(got_dx.iter().zip(&want_dx)) {
                    assert!((a - b).abs() <= $tol * 10.0 * (1.0 + b.abs()), "{a} vs {b}");
                }
            }};
        }
        check!(f64, 1e-12, 3, [1, 32, 32, 6, 5, 5, 0, 0, 1, 1, 1, 28, 28, true]);
        check!(f32, 1e-5, 5, [1, 32, 32, 6, 5, 5, 0, 0, 1, 1, 1, 28, 28, true]);
        // 4 channels in 2 groups, 7×9 input, 3×2 kernel, padding (1, 2), dilation (2, 1):
        // OH = 7 + 2 − 4 − 1 + 1 = 5, OW = 9 + 4 − 1 − 1 + 1 = 12.
        check!(f64, 1e-12, 2, [4, 7, 9, 6, 3, 2, 1, 2, 2, 1, 2, 5, 12, false]);
        check!(f32, 1e-5, 2, [4, 7, 9, 6, 3, 2, 1, 2, 2, 1, 2, 5, 12, false]);
    }
}
