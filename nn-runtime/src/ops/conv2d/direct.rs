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
/// reads them.
const STAGE_BUDGET: usize = 16 * 1024;

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

fn stage_chunk(per_sample: usize, batch: usize) -> usize {
    (STAGE_BUDGET / per_sample.max(1)).clamp(1, batch.max(1))
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

/// Runs `body` on each chunk of the batch whose staged outputs fit [`STAGE_BUDGET`];
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
    use super::super::testing::*;
    use super::*;
    use crate::ops::activation::Identity;
    use crate::ops::pool2d::NoPool;

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
    #[test]
    fn direct_strategy_matches_im2col_on_every_option() {
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

    /// An activation and a pooling fused into the epilogue of either strategy give what
    /// the separate passes give, value for value.
    #[test]
    fn fused_activation_and_pooling_equal_the_separate_passes() {
        use crate::ops::activation::{Relu, Tanh};
        use crate::ops::pool2d::{self, AvgPlane, MaxPlane};
        let mut scratch = vec![0.0f32; 1 << 16];

        // Direct (LeNet-5's conv2), tanh, then 2×2 average pooling.
        let x: Vec<f32> = values(3 * 6 * 14 * 14, 0.5);
        let params: Vec<f32> = values(16 * 150 + 16, 3.0);
        let (mut plain, mut fused) = (vec![0.0f32; 3 * 1600], vec![0.0f32; 3 * 1600]);
        let mut pooled = vec![0.0f32; 3 * 400];
        forward::<f32, LenetConv2, Identity, NoPool>(3, &x, &params, &mut plain, &mut [], &mut scratch, 0.0);
        crate::pool2d_window!(Half10 { h: 10, w: 10, k: (2, 2) });
        type Avg = AvgPlane<Half10>;
        forward::<f32, LenetConv2, Tanh, Avg>(3, &x, &params, &mut fused, &mut pooled, &mut scratch, 0.0);
        let mut separate = vec![0.0f32; plain.len()];
        activation::forward::<f32, Tanh, 1600>(3, &plain, &mut separate, 0.0);
        assert_eq!(fused, separate);
        let mut separately_pooled = vec![0.0f32; pooled.len()];
        pool2d::forward::<f32, Avg, 16>(3, &separate, &mut separately_pooled);
        assert_eq!(pooled, separately_pooled);
        // Inference: the activations not kept, the pooled planes the same.
        let mut unkept = vec![0.0f32; pooled.len()];
        forward::<f32, LenetConv2, Tanh, Avg>(3, &x, &params, &mut [], &mut unkept, &mut scratch, 0.0);
        assert_eq!(unkept, pooled);

        // Shifted (LeNet-5's conv1), relu, then 3×3 max pooling with stride 2 and padding 1.
        let x: Vec<f32> = values(2 * 32 * 32, 0.5);
        let params: Vec<f32> = values(6 * 25 + 6, 3.0);
        let (mut plain, mut fused) = (vec![0.0f32; 2 * 4704], vec![0.0f32; 2 * 4704]);
        let mut pooled = vec![0.0f32; 2 * 6 * 14 * 14];
        super::super::shifted::forward::<f32, LenetConv1, Identity, NoPool>(
            2,
            &x,
            &params,
            &mut plain,
            &mut [],
            &mut scratch,
            0.0,
        );
        crate::pool2d_window!(Overlapping28 { h: 28, w: 28, k: (3, 3), stride: (2, 2), padding: (1, 1) });
        type Max = MaxPlane<Overlapping28>;
        super::super::shifted::forward::<f32, LenetConv1, Relu, Max>(
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
        assert!(fused.contains(&0.0) && fused.iter().any(|&v| v > 0.0));
        let mut separately_pooled = vec![0.0f32; pooled.len()];
        pool2d::forward::<f32, Max, 6>(2, &separate, &mut separately_pooled);
        assert_eq!(pooled, separately_pooled);
        let mut unkept = vec![0.0f32; pooled.len()];
        super::super::shifted::forward::<f32, LenetConv1, Relu, Max>(
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
