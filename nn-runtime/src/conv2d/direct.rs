//! The same convolution as [`super::forward`] and [`super::backward`], without the
//! column matrix: forward and the weight gradient are [`crate::gathered`] products that
//! broadcast input pixels straight from the image into register tiles over output
//! channels. im2col writes `C·KH·KW` values per output pixel and reads them back, which
//! costs as much as the multiply when the layer has few output channels; here the
//! extra passes are over outputs only (`[pixel][channel]` order back to NCHW).
//!
//! Output channels are padded to a multiple of 8 (one vector), so the macro picks this
//! strategy where that padding wastes little (see `nn-macros/src/layers/conv.rs` and the
//! per-layer measurements in `bench/README.md`). The input gradient is
//! `Wᵀ · dY` scattered back by `col2im`, as in the im2col strategy.
//!
//! Const parameters are those of [`super::forward`].

use crate::activation::{self, Activation};
use crate::float::Float;
use crate::gathered::{self, Walk};
use crate::pool2d::PlanePool;

/// Staged outputs (or output gradients) per chunk of samples, in elements: small
/// enough to stay in L1/L2 between the product that writes them and the pass that
/// reads them.
const STAGE_BUDGET: usize = 16 * 1024;

/// Output channels per group rounded up to whole vectors of 8.
pub const fn padded_channels(channels: usize) -> usize {
    channels.div_ceil(8) * 8
}

/// Scratch independent of the batch: every group's weights in `[tap][channel]` order
/// (forward) or weight-gradient accumulators (backward), and one output plane (where
/// inference pools a plane it does not keep).
#[allow(clippy::too_many_arguments)]
pub const fn scratch(c: usize, kh: usize, kw: usize, g: usize, oc: usize, oh: usize, ow: usize) -> usize {
    c * kh * kw * padded_channels(oc / g) + oh * ow
}

/// Scratch per sample: staged outputs, the zero-padded input, and the input
/// gradient's columns.
#[allow(clippy::too_many_arguments)]
pub const fn scratch_per_sample(
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    ph: usize,
    pw: usize,
    g: usize,
    oc: usize,
    oh: usize,
    ow: usize,
) -> usize {
    let padded_input = if ph > 0 || pw > 0 { c * (h + 2 * ph) * (w + 2 * pw) } else { 0 };
    oh * ow * padded_channels(oc / g) + padded_input + (c / g) * kh * kw * oh * ow
}

fn stage_chunk(per_sample: usize, batch: usize) -> usize {
    (STAGE_BUDGET / per_sample.max(1)).clamp(1, batch.max(1))
}

/// Forward for a batch with an activation and a pooling fused into the epilogue: `y[n]
/// = A(W ⋆ x[n] + b)`, each output channel's plane activated right after it is written
/// ([`Identity`](crate::activation::Identity) for none), then pooled into `pooled`
/// while it is still in L1 ([`NoPool`](crate::pool2d::NoPool) and an empty slice for
/// none). With a pooling, `y` may be empty: inference, which never reads it, then
/// writes only the pooled planes.
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
    let (cg, ocg, p) = (C / G, OC / G, OH * OW);
    let (k, np) = (cg * KH * KW, padded_channels(ocg));
    let (hp, wp) = (H + 2 * PH, W + 2 * PW);
    let (w, b) = params.split_at(OC * k);
    // An empty `y`: only the pooled planes are wanted (inference), each plane is
    // written to scratch, pooled, and overwritten by the next.
    let keep = !y.is_empty();
    assert!(keep || P::OUT > 0, "a convolution with nothing to write");
    // The unkept plane from the scratch's end, so that the staged outputs keep the
    // vector alignment they have after the packed weights.
    let end = scratch.len() - p;
    let (scratch, unkept) = scratch.split_at_mut(end);
    let (packed, rest) = scratch.split_at_mut(G * k * np);
    for (g, packed) in packed.chunks_exact_mut(k * np).enumerate() {
        for (t, row) in packed.chunks_exact_mut(np).enumerate() {
            for (o, slot) in row.iter_mut().enumerate() {
                *slot = if o < ocg { w[(g * ocg + o) * k + t] } else { F::ZERO };
            }
        }
    }
    let chunk = stage_chunk(p * np, batch);
    let (stage, image) = rest.split_at_mut(chunk * p * np);
    let taps = Walk { n: [cg, KH, KW], step: [hp * wp, DH * wp, DW] };
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        let input = super::padded_input::<F, C, H, W, PH, PW>(&x[first * C * H * W..][..samples * C * H * W], image);
        let pixels = Walk { n: [samples, OH, OW], step: [C * hp * wp, SH * wp, SW] };
        let stage = &mut stage[..samples * p * np];
        for g in 0..G {
            gathered::product(
                &input[g * cg * hp * wp..],
                pixels,
                taps,
                &packed[g * k * np..][..k * np],
                np,
                stage,
                false,
            );
            // Back to NCHW, adding the bias on the way.
            for s in 0..samples {
                let staged = &stage[s * p * np..][..p * np];
                for o in 0..ocg {
                    let channel = g * ocg + o;
                    let bias = if BIAS { b[channel] } else { F::ZERO };
                    let dst = if keep { &mut y[((first + s) * OC + channel) * p..][..p] } else { &mut *unkept };
                    // Column `o` of the staged `[pixel][channel]` block.
                    for (d, &v) in dst.iter_mut().zip(staged[o..].iter().step_by(np)) {
                        *d = v + bias;
                    }
                    activation::in_place::<F, A>(dst, alpha);
                    P::plane(dst, &mut pooled[((first + s) * OC + channel) * P::OUT..][..P::OUT]);
                }
            }
        }
    }
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient (overwritten).
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
    let (cg, ocg, p) = (C / G, OC / G, OH * OW);
    let (k, np) = (cg * KH * KW, padded_channels(ocg));
    let (hp, wp) = (H + 2 * PH, W + 2 * PW);
    let (dw, db) = grads.split_at_mut(OC * k);
    if BIAS {
        super::bias_gradient(batch, p, dy, &mut db[..OC]);
    }
    // dWᵀ_g[tap][channel] = Σ over the batch's pixels of x(pixel, tap) · dYᵀ[pixel][channel].
    let (acc, rest) = scratch.split_at_mut(G * k * np);
    let chunk = stage_chunk(p * np, batch);
    let (stage, image) = rest.split_at_mut(chunk * p * np);
    let taps = Walk { n: [cg, KH, KW], step: [hp * wp, DH * wp, DW] };
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        let input = super::padded_input::<F, C, H, W, PH, PW>(&x[first * C * H * W..][..samples * C * H * W], image);
        let pixels = Walk { n: [samples, OH, OW], step: [C * hp * wp, SH * wp, SW] };
        let stage = &mut stage[..samples * p * np];
        for g in 0..G {
            for s in 0..samples {
                let staged = &mut stage[s * p * np..][..p * np];
                // Channel by channel: contiguous reads.
                for o in 0..np {
                    if o < ocg {
                        let src = &dy[((first + s) * OC + g * ocg + o) * p..][..p];
                        for (row, &v) in staged.chunks_exact_mut(np).zip(src) {
                            row[o] = v;
                        }
                    } else {
                        staged.chunks_exact_mut(np).for_each(|row| row[o] = F::ZERO);
                    }
                }
            }
            let acc_g = &mut acc[g * k * np..][..k * np];
            gathered::product(&input[g * cg * hp * wp..], taps, pixels, stage, np, acc_g, first > 0);
        }
    }
    for g in 0..G {
        for o in 0..ocg {
            let dst = &mut dw[(g * ocg + o) * k..][..k];
            for (d, row) in dst.iter_mut().zip(acc[g * k * np..][..k * np].chunks_exact(np)) {
                *d = row[o];
            }
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

    /// Runs both strategies on one layer and returns the largest difference of
    /// (output, weight and bias gradients, input gradient) relative to the im2col path.
    macro_rules! compare {
        ($f:ty, $batch:expr, [$c:literal, $h:literal, $w:literal, $oc:literal, $kh:literal, $kw:literal, $sh:literal,
          $sw:literal, $ph:literal, $pw:literal, $dh:literal, $dw:literal, $g:literal, $oh:literal, $ow:literal, $bias:literal]) => {{
            const K: usize = ($c / $g) * $kh * $kw;
            let batch: usize = $batch;
            let x: Vec<$f> = values(batch * $c * $h * $w, 0.5);
            let params: Vec<$f> = values($oc * K + $oc, 3.0);
            let dy: Vec<$f> = values(batch * $oc * $oh * $ow, 7.0);
            let mut im2col_scratch =
                vec![0.0 as $f; batch * super::super::scratch_per_sample($c, $kh, $kw, $g, $oc, $oh, $ow)];
            let mut direct_scratch =
                vec![
                    0.0 as $f;
                    scratch($c, $kh, $kw, $g, $oc, $oh, $ow)
                        + batch * scratch_per_sample($c, $h, $w, $kh, $kw, $ph, $pw, $g, $oc, $oh, $ow)
                ];
            let run = |direct: bool, scratch: &mut Vec<$f>| {
                let mut y = vec![0.0 as $f; dy.len()];
                let mut grads = vec![f64::NAN as $f; params.len()];
                let mut dx = vec![f64::NAN as $f; x.len()];
                if direct {
                    forward::<
                        $f,
                        Identity,
                        NoPool,
                        $c,
                        $h,
                        $w,
                        $oc,
                        $kh,
                        $kw,
                        $sh,
                        $sw,
                        $ph,
                        $pw,
                        $dh,
                        $dw,
                        $g,
                        $oh,
                        $ow,
                        $bias,
                    >(batch, &x, &params, &mut y, &mut [], scratch, 0.0);
                    backward::<$f, $c, $h, $w, $oc, $kh, $kw, $sh, $sw, $ph, $pw, $dh, $dw, $g, $oh, $ow, $bias>(
                        batch,
                        &x,
                        &params,
                        &dy,
                        &mut grads,
                        Some(&mut dx),
                        scratch,
                    );
                } else {
                    super::super::forward::<
                        $f,
                        $c,
                        $h,
                        $w,
                        $oc,
                        $kh,
                        $kw,
                        $sh,
                        $sw,
                        $ph,
                        $pw,
                        $dh,
                        $dw,
                        $g,
                        $oh,
                        $ow,
                        $bias,
                    >(batch, &x, &params, &mut y, scratch);
                    super::super::backward::<
                        $f,
                        $c,
                        $h,
                        $w,
                        $oc,
                        $kh,
                        $kw,
                        $sh,
                        $sw,
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
                    grads.truncate($oc * K);
                }
                (y, grads, dx)
            };
            let want = run(false, &mut im2col_scratch);
            let got = run(true, &mut direct_scratch);
            let worst = |a: &[$f], b: &[$f]| {
                a.iter().zip(b).map(|(a, b)| ((a - b).abs() / (1.0 + b.abs())) as f64).fold(0.0, f64::max)
            };
            (worst(&got.0, &want.0), worst(&got.1, &want.1), worst(&got.2, &want.2))
        }};
    }

    /// The layer shapes the benchmarks' networks use, and one with every option
    /// (stride, padding, dilation, groups, no bias, channels not a multiple of 8), in
    /// f64 (portable kernel) and f32 (vector kernel where the processor has one).
    #[test]
    fn direct_strategy_matches_im2col_on_every_option() {
        let tight = |(y, g, dx): (f64, f64, f64), what: &str, tol: f64| {
            assert!(y < tol && g < tol && dx < tol, "{what}: output {y:e}, weights {g:e}, input {dx:e}");
        };
        // LeNet-5 conv1 and conv2, the Keras network's three convolutions.
        tight(compare!(f64, 3, [1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, 28, 28, true]), "lenet conv1 f64", 1e-12);
        tight(compare!(f32, 5, [1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, 28, 28, true]), "lenet conv1 f32", 1e-4);
        tight(compare!(f64, 3, [6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 10, 10, true]), "lenet conv2 f64", 1e-12);
        tight(compare!(f32, 17, [6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 10, 10, true]), "lenet conv2 f32", 1e-4);
        tight(compare!(f32, 9, [1, 28, 28, 8, 7, 7, 2, 2, 0, 0, 1, 1, 1, 11, 11, true]), "keras conv1 f32", 1e-4);
        tight(compare!(f32, 9, [8, 11, 11, 16, 5, 5, 2, 2, 0, 0, 1, 1, 1, 4, 4, true]), "keras conv2 f32", 1e-4);
        tight(compare!(f32, 130, [16, 4, 4, 32, 3, 3, 1, 1, 0, 0, 1, 1, 1, 2, 2, true]), "keras conv3 f32", 1e-4);
        // Stride (2, 1), padding (1, 2), dilation (1, 2), 2 groups of 3 → 10 channels, no bias.
        tight(compare!(f64, 4, [6, 7, 6, 20, 3, 2, 2, 1, 1, 2, 1, 2, 2, 4, 8, false]), "every option f64", 1e-12);
        tight(compare!(f32, 4, [6, 7, 6, 20, 3, 2, 2, 1, 1, 2, 1, 2, 2, 4, 8, false]), "every option f32", 1e-4);
        // Padded "same" convolution with 24 output channels (a 16 + 8 strip).
        tight(compare!(f32, 3, [3, 9, 9, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 9, 9, true]), "same padding f32", 1e-4);
    }

    /// An activation and a pooling fused into the epilogue of either strategy give what
    /// the separate passes give, value for value.
    #[test]
    fn fused_activation_and_pooling_equal_the_separate_passes() {
        use crate::activation::{Relu, Tanh};
        use crate::pool2d::{self, AvgPlane, MaxPlane};
        let mut scratch = vec![0.0f32; 1 << 16];

        // Direct (LeNet-5's conv2), tanh, then 2×2 average pooling.
        let x: Vec<f32> = values(3 * 6 * 14 * 14, 0.5);
        let params: Vec<f32> = values(16 * 150 + 16, 3.0);
        let (mut plain, mut fused) = (vec![0.0f32; 3 * 1600], vec![0.0f32; 3 * 1600]);
        let mut pooled = vec![0.0f32; 3 * 400];
        forward::<f32, Identity, NoPool, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 10, 10, true>(
            3,
            &x,
            &params,
            &mut plain,
            &mut [],
            &mut scratch,
            0.0,
        );
        type Avg = AvgPlane<10, 10, 2, 2, 2, 2, 0, 0, 5, 5>;
        forward::<f32, Tanh, Avg, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 10, 10, true>(
            3,
            &x,
            &params,
            &mut fused,
            &mut pooled,
            &mut scratch,
            0.0,
        );
        let mut separate = vec![0.0f32; plain.len()];
        activation::forward::<f32, Tanh, 1600>(3, &plain, &mut separate, 0.0);
        assert_eq!(fused, separate);
        let mut separately_pooled = vec![0.0f32; pooled.len()];
        pool2d::forward::<f32, Avg, 16>(3, &separate, &mut separately_pooled);
        assert_eq!(pooled, separately_pooled);
        // Inference: the activations not kept, the pooled planes the same.
        let mut unkept = vec![0.0f32; pooled.len()];
        forward::<f32, Tanh, Avg, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 10, 10, true>(
            3,
            &x,
            &params,
            &mut [],
            &mut unkept,
            &mut scratch,
            0.0,
        );
        assert_eq!(unkept, pooled);

        // Shifted (LeNet-5's conv1), relu, then 3×3 max pooling with stride 2 and padding 1.
        let x: Vec<f32> = values(2 * 32 * 32, 0.5);
        let params: Vec<f32> = values(6 * 25 + 6, 3.0);
        let (mut plain, mut fused) = (vec![0.0f32; 2 * 4704], vec![0.0f32; 2 * 4704]);
        let mut pooled = vec![0.0f32; 2 * 6 * 14 * 14];
        super::super::shifted::forward::<f32, Identity, NoPool, 1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, 28, 28, true>(
            2,
            &x,
            &params,
            &mut plain,
            &mut [],
            &mut scratch,
            0.0,
        );
        type Max = MaxPlane<28, 28, 3, 3, 2, 2, 1, 1, 14, 14>;
        super::super::shifted::forward::<f32, Relu, Max, 1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, 28, 28, true>(
            2,
            &x,
            &params,
            &mut fused,
            &mut pooled,
            &mut scratch,
            0.0,
        );
        let mut separate = vec![0.0f32; plain.len()];
        activation::forward::<f32, Relu, 4704>(2, &plain, &mut separate, 0.0);
        assert_eq!(fused, separate);
        assert!(fused.iter().any(|&v| v == 0.0) && fused.iter().any(|&v| v > 0.0));
        let mut separately_pooled = vec![0.0f32; pooled.len()];
        pool2d::forward::<f32, Max, 6>(2, &separate, &mut separately_pooled);
        assert_eq!(pooled, separately_pooled);
        let mut unkept = vec![0.0f32; pooled.len()];
        super::super::shifted::forward::<f32, Relu, Max, 1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, 28, 28, true>(
            2,
            &x,
            &params,
            &mut [],
            &mut unkept,
            &mut scratch,
            0.0,
        );
        assert_eq!(unkept, pooled);
    }
}
