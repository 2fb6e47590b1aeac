//! The same convolution as [`super::forward`] and [`super::backward`], without the
//! column matrix: forward and the weight gradient are [`crate::kernels::gathered`] products that
//! broadcast input pixels straight from the image into register tiles over output
//! channels. im2col writes `C·KH·KW` values per output pixel and reads them back, which
//! costs as much as the multiply when the layer has few output channels; here the
//! extra passes are over outputs only (`[pixel][channel]` order back to NCHW).
//!
//! Output channels are padded to a multiple of 8 (one vector), so the macro picks this
//! strategy where that padding wastes little (see `nn-macros/src/layers/conv.rs` and the
//! per-layer measurements in `bench/README.md`). The input gradient is
//! `Wᵀ · dY` scattered back by `col2im`, as in the im2col strategy.

use super::Geometry;
use crate::float::Float;
use crate::kernels::gathered::{self, Walk};
use crate::ops::activation::{self, Activation};
use crate::ops::pool2d::PlanePool;

/// Staged outputs (or output gradients) per chunk of samples, in elements: small
/// enough to stay in L1/L2 between the product that writes them and the pass that
/// reads them. Half the L1d's bytes as elements (16,384 for a 32 KiB L1d, the size it
/// was measured at).
fn stage_budget() -> usize {
    crate::kernels::simd::caches().l1d / 2
}

/// Output channels per group rounded up to whole vectors of 8.
pub const fn padded_channels(channels: usize) -> usize {
    channels.div_ceil(8) * 8
}

/// Scratch independent of the batch: every group's weights in `[tap][channel]` order
/// (forward) or weight-gradient accumulators (backward), and one output plane (where
/// inference pools a plane it does not keep).
pub const fn scratch<G: Geometry>() -> usize {
    G::GROUPS * G::K * padded_channels(G::OCG) + G::P
}

/// Scratch per sample: staged outputs, the zero-padded input, and the input
/// gradient's columns.
pub const fn scratch_per_sample<G: Geometry>() -> usize {
    G::P * padded_channels(G::OCG) + super::padded_input_len::<G>() + G::K * G::P
}

/// Scratch for eval-mode forward of one sample: [`scratch`], one sample's staged
/// outputs and its zero-padded input.
pub const fn inference_scratch<G: Geometry>() -> usize {
    scratch::<G>() + G::P * padded_channels(G::OCG) + super::padded_input_len::<G>()
}

fn stage_chunk(per_sample: usize, batch: usize) -> usize {
    (stage_budget() / per_sample.max(1)).clamp(1, batch.max(1))
}

/// One chunk of samples: the first, how many, their zero-padded input, the walks over
/// one group's kernel taps and over the chunk's output pixels in it, and the chunk's
/// staging area.
struct Chunk<'a, F> {
    first: usize,
    samples: usize,
    input: &'a [F],
    taps: Walk,
    pixels: Walk,
    stage: &'a mut [F],
}

/// Runs `body` on each chunk of the batch whose staged outputs fit [`stage_budget`];
/// `rest` holds the staging area, then the zero-padded input.
fn for_each_chunk<F: Float, G: Geometry>(batch: usize, x: &[F], rest: &mut [F], mut body: impl FnMut(Chunk<'_, F>)) {
    let (hp, wp, per_sample) = (G::HP, G::WP, G::P * padded_channels(G::OCG));
    let chunk = stage_chunk(per_sample, batch);
    let (stage, image) = rest.split_at_mut(chunk * per_sample);
    let taps = Walk { n: [G::CG, G::KH, G::KW], step: [hp * wp, G::DH * wp, G::DW] };
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        let input = super::padded_input::<F, G>(&x[first * G::INPUT_LEN..][..samples * G::INPUT_LEN], image);
        let pixels = Walk { n: [samples, G::OH, G::OW], step: [G::C * hp * wp, G::SH * wp, G::SW] };
        body(Chunk { first, samples, input, taps, pixels, stage: &mut stage[..samples * per_sample] });
    }
}

/// Forward for a batch with an activation and a pooling fused into the epilogue: `y[n]
/// = A(W ⋆ x[n] + b)`, each output channel's plane activated right after it is written
/// ([`Identity`](crate::ops::activation::Identity) for none), then pooled into `pooled`
/// while it is still in L1 ([`NoPool`](crate::ops::pool2d::NoPool) and an empty slice
/// for none). With a pooling, `y` may be empty: inference, which never reads it, then
/// writes only the pooled planes.
#[allow(clippy::too_many_arguments)]
pub fn forward<F: Float, G: Geometry, A: Activation, P: PlanePool<F>>(
    batch: usize, x: &[F], params: &[F], y: &mut [F], pooled: &mut [F], scratch: &mut [F], alpha: F,
) {
    let (cg, ocg, p, k, np) = (G::CG, G::OCG, G::P, G::K, padded_channels(G::OCG));
    let (w, b) = params.split_at(G::WEIGHT_LEN);
    // An empty `y`: only the pooled planes are wanted (inference), each plane is
    // written to scratch, pooled, and overwritten by the next.
    let keep = !y.is_empty();
    assert!(keep || P::OUT > 0, "a convolution with nothing to write");
    // The unkept plane from the scratch's end, so that the staged outputs keep the
    // vector alignment they have after the packed weights.
    let end = scratch.len() - p;
    let (scratch, unkept) = scratch.split_at_mut(end);
    let (packed, rest) = scratch.split_at_mut(G::GROUPS * k * np);
    for (g, packed) in packed.chunks_exact_mut(k * np).enumerate() {
        for (t, row) in packed.chunks_exact_mut(np).enumerate() {
            for (o, slot) in row.iter_mut().enumerate() {
                *slot = if o < ocg { w[(g * ocg + o) * k + t] } else { F::ZERO };
            }
        }
    }
    let plane = G::HP * G::WP;
    for_each_chunk::<F, G>(batch, x, rest, |Chunk { first, samples, input, taps, pixels, stage }| {
        for g in 0..G::GROUPS {
            gathered::product(
                &input[g * cg * plane..],
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
                    let bias = if G::BIAS { b[channel] } else { F::ZERO };
                    let dst = if keep { &mut y[((first + s) * G::OC + channel) * p..][..p] } else { &mut *unkept };
                    // Column `o` of the staged `[pixel][channel]` block.
                    for (d, &v) in dst.iter_mut().zip(staged[o..].iter().step_by(np)) {
                        *d = v + bias;
                    }
                    activation::in_place::<F, A>(dst, alpha);
                    P::plane(dst, &mut pooled[((first + s) * G::OC + channel) * P::OUT..][..P::OUT]);
                }
            }
        }
    });
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient (overwritten).
pub fn backward<F: Float, G: Geometry>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], dx: Option<&mut [F]>, scratch: &mut [F],
) {
    let (cg, ocg, p, k, np) = (G::CG, G::OCG, G::P, G::K, padded_channels(G::OCG));
    let (dw, db) = grads.split_at_mut(G::WEIGHT_LEN);
    if G::BIAS {
        super::bias_gradient(batch, p, dy, &mut db[..G::OC]);
    }
    // dWᵀ_g[tap][channel] = Σ over the batch's pixels of x(pixel, tap) · dYᵀ[pixel][channel].
    let (acc, rest) = scratch.split_at_mut(G::GROUPS * k * np);
    let plane = G::HP * G::WP;
    for_each_chunk::<F, G>(batch, x, rest, |Chunk { first, samples, input, taps, pixels, stage }| {
        for g in 0..G::GROUPS {
            for s in 0..samples {
                let staged = &mut stage[s * p * np..][..p * np];
                // Channel by channel: contiguous reads.
                for o in 0..np {
                    if o < ocg {
                        let src = &dy[((first + s) * G::OC + g * ocg + o) * p..][..p];
                        for (row, &v) in staged.chunks_exact_mut(np).zip(src) {
                            row[o] = v;
                        }
                    } else {
                        staged.chunks_exact_mut(np).for_each(|row| row[o] = F::ZERO);
                    }
                }
            }
            let acc_g = &mut acc[g * k * np..][..k * np];
            gathered::product(&input[g * cg * plane..], taps, pixels, stage, np, acc_g, first > 0);
        }
    });
    for g in 0..G::GROUPS {
        for o in 0..ocg {
            let dst = &mut dw[(g * ocg + o) * k..][..k];
            for (d, row) in dst.iter_mut().zip(acc[g * k * np..][..k * np].chunks_exact(np)) {
                *d = row[o];
            }
        }
    }
    if let Some(dx) = dx {
        super::input_gradient::<F, G>(batch, &params[..G::WEIGHT_LEN], dy, dx, rest);
    }
}

#[cfg(test)]
mod tests {
    use super::super::shifted;
    use super::super::testing::*;
    use super::*;
    use crate::ops::activation::{Identity, Relu, Tanh};
    use crate::ops::pool2d::{self, AvgPlane, MaxPlane, NoPool};

    fn direct<F: Float, G: Geometry>(batch: usize) -> (f64, f64, f64) {
        let strategy = Strategy {
            forward: |batch, x, params, y, scratch| {
                forward::<F, G, Identity, NoPool>(batch, x, params, y, &mut [], scratch, F::ZERO)
            },
            backward: backward::<F, G>,
            scratch: scratch::<G>() + batch * scratch_per_sample::<G>(),
        };
        against_im2col::<F, G>(strategy, batch)
    }

    /// The layer shapes the benchmarks' networks use, and one with every option
    /// (stride, padding, dilation, groups, no bias, channels not a multiple of 8), in
    /// f64 (portable kernel) and f32 (vector kernel where the processor has one).
    /// Under Miri (tools/miri.sh) only the tiny layers, which still run 8-row tiles,
    /// 6-row ones over a 16- and an 8-column strip, padded channels, groups, stride,
    /// dilation and one-sided padding.
    #[test]
    fn direct_strategy_matches_im2col_on_every_option() {
        if !cfg!(miri) {
            assert_close(direct::<f64, LenetConv1>(3), "lenet conv1 f64", 1e-12);
            assert_close(direct::<f32, LenetConv1>(5), "lenet conv1 f32", 1e-4);
            assert_close(direct::<f64, LenetConv2>(3), "lenet conv2 f64", 1e-12);
            assert_close(direct::<f32, LenetConv2>(17), "lenet conv2 f32", 1e-4);
            assert_close(direct::<f32, KerasConv1>(9), "keras conv1 f32", 1e-4);
            assert_close(direct::<f32, KerasConv2>(9), "keras conv2 f32", 1e-4);
            assert_close(direct::<f32, KerasConv3>(130), "keras conv3 f32", 1e-4);
            assert_close(direct::<f64, EveryOption>(4), "every option f64", 1e-12);
            assert_close(direct::<f32, EveryOption>(4), "every option f32", 1e-4);
            assert_close(direct::<f32, Same>(3), "same padding f32", 1e-4);
            assert_close(direct::<f64, SameEven>(2), "asymmetric padding f64", 1e-12);
            assert_close(direct::<f32, SameEven>(2), "asymmetric padding f32", 1e-4);
        }
        assert_eq!((Tiny20::P, Tiny8::P), (9, 12));
        assert_close(direct::<f32, Tiny20>(2), "tiny, 20 channels f32", 1e-4);
        assert_close(direct::<f32, Tiny8>(2), "tiny, 2 groups of 8 f32", 1e-4);
        assert_close(direct::<f64, Tiny8>(1), "tiny, 2 groups of 8 f64", 1e-12);
    }

    /// Runs `$forward` (a strategy's forward) for geometry `$g` on a batch of `$batch`
    /// with activation `$a` and plane pooling `$p` fused, and checks it against the
    /// separate passes: the kept activations are the activation of the plain output,
    /// the pooled planes pool them, and inference (activations not kept) pools the same.
    /// Evaluates to the fused activations.
    macro_rules! fused_equals_separate {
        ($($forward:ident)::+, $g:ty, $a:ty, $p:ty, $batch:expr) => {{
            const BATCH: usize = $batch;
            const LEN: usize = <$g as Geometry>::OUTPUT_LEN;
            const POOLED: usize = <$g as Geometry>::OC * <$p as PlanePool<f32>>::OUT;
            let mut scratch = vec![0.0f32; 1 << 16];
            let x: Vec<f32> = values(BATCH * <$g as Geometry>::INPUT_LEN, 0.5);
            let params: Vec<f32> = values(<$g as Geometry>::WEIGHT_LEN + <$g as Geometry>::OC, 3.0);
            let (mut plain, mut fused) = (vec![0.0f32; BATCH * LEN], vec![0.0f32; BATCH * LEN]);
            let mut pooled = vec![0.0f32; BATCH * POOLED];
            $($forward)::+::<f32, $g, Identity, NoPool>(BATCH, &x, &params, &mut plain, &mut [], &mut scratch, 0.0);
            $($forward)::+::<f32, $g, $a, $p>(BATCH, &x, &params, &mut fused, &mut pooled, &mut scratch, 0.0);
            let mut separate = vec![0.0f32; plain.len()];
            activation::forward::<f32, $a, LEN>(BATCH, &plain, &mut separate, 0.0);
            assert_eq!(fused, separate);
            let mut separately_pooled = vec![0.0f32; pooled.len()];
            pool2d::forward::<f32, $p, { <$g as Geometry>::OC }>(BATCH, &separate, &mut separately_pooled);
            assert_eq!(pooled, separately_pooled);
            // Inference: the activations not kept, the pooled planes the same.
            let mut unkept = vec![0.0f32; pooled.len()];
            $($forward)::+::<f32, $g, $a, $p>(BATCH, &x, &params, &mut [], &mut unkept, &mut scratch, 0.0);
            assert_eq!(unkept, pooled);
            fused
        }};
    }

    /// An activation and a pooling fused into the epilogue of either strategy give what
    /// the separate passes give, value for value: direct (LeNet-5's conv2), tanh, then
    /// 2×2 average pooling; shifted (LeNet-5's conv1), relu, then 3×3 max pooling with
    /// stride 2 and padding 1.
    #[test]
    #[cfg_attr(miri, ignore = "LeNet-5's layers take Miri too long: its twin below runs small layers")]
    fn fused_activation_and_pooling_equal_the_separate_passes() {
        crate::pool2d_window!(Half10 { h: 10, w: 10, k: (2, 2) });
        fused_equals_separate!(forward, LenetConv2, Tanh, AvgPlane<Half10>, 3);
        crate::pool2d_window!(Overlapping28 { h: 28, w: 28, k: (3, 3), stride: (2, 2), padding: (1, 1) });
        let fused = fused_equals_separate!(shifted::forward, LenetConv1, Relu, MaxPlane<Overlapping28>, 2);
        assert!(fused.contains(&0.0) && fused.iter().any(|&v| v > 0.0));
    }

    /// The test above on layers small enough for Miri, through the same unsafe code:
    /// direct with 24 channels (16- and 8-column strips, 6-row tiles and a rest of 4),
    /// the vector tanh on planes of 16; shifted with 6 channels over rows of 4·8 + 7 =
    /// 39 columns (16, 16 and a masked 7), the vector bias copy, and relu on planes of
    /// 35 (a vector tail).
    #[test]
    fn fused_epilogues_equal_the_separate_passes_on_small_layers() {
        crate::conv2d_geometry!(Small24 { c: 2, h: 5, w: 5, oc: 24, k: (2, 2) });
        crate::conv2d_geometry!(Small6 { c: 1, h: 6, w: 8, oc: 6, k: (2, 2) });
        crate::pool2d_window!(Half4 { h: 4, w: 4, k: (2, 2) });
        fused_equals_separate!(forward, Small24, Tanh, AvgPlane<Half4>, 2);
        crate::pool2d_window!(Overlapping5x7 { h: 5, w: 7, k: (3, 3), stride: (2, 2), padding: (1, 1) });
        let fused = fused_equals_separate!(shifted::forward, Small6, Relu, MaxPlane<Overlapping5x7>, 2);
        assert!(fused.contains(&0.0) && fused.iter().any(|&v| v > 0.0));
    }
}
