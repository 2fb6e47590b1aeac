//! A unit-stride convolution over shifted windows of its input: forward as
//! [`crate::kernels::gathered::shifted`] products (the weights broadcast, the image streamed). Output row `oh` is computed over the input's
//! full width, so kernel tap `(c, i, j)` reads the input from one offset onward,
//! contiguous: `y'[o][oh·W + ow] = Σ_tap w[o][tap] · x[tap offset + oh·W + ow]`. The
//! `W − OW` columns past each row's end are computed and dropped; in exchange there
//! is no column matrix, and every output channel fills a row of the 6 × 16 register
//! tile, which suits layers with few output channels (LeNet-5's first: 6), where
//! [`super::direct`] would pad channels to a vector of 8.
//!
//! The weight gradient is the same windows' dot products with the output gradient
//! laid over full-width rows ([`crate::kernels::gathered::shifted_dots`]); the input gradient
//! is im2col's (`input_gradient` in the parent module). It needs unit stride.

use super::Geometry;
use crate::float::Float;
use crate::kernels::gathered::{self, Walk};
use crate::ops::activation::{self, Activation};
use crate::ops::pool2d::PlanePool;

/// Scratch (independent of the batch): one sample's zero-padded input, one group's
/// full-width outputs, and one output plane (where inference pools a plane it does not
/// keep). Per sample: the im2col strategy's, for the input gradient.
pub const fn scratch<G: Geometry>() -> usize {
    super::padded_input_len::<G>() + G::OCG * columns::<G>() + G::P
}

/// Scratch for eval-mode forward of one sample: all of [`scratch`].
pub const fn inference_scratch<G: Geometry>() -> usize {
    scratch::<G>()
}

/// Columns per output channel: full rows, the last one only as far as it is valid, so
/// no read goes past the group's planes.
const fn columns<G: Geometry>() -> usize {
    (G::OH - 1) * G::WP + G::OW
}

/// The walk over one group's kernel taps in the zero-padded input.
fn taps<G: Geometry>() -> Walk {
    let (hp, wp) = (G::HP, G::WP);
    Walk { n: [G::CG, G::KH, G::KW], step: [hp * wp, G::DH * wp, G::DW] }
}

/// Forward for a batch with an activation and a pooling fused into the epilogue, as
/// [`super::direct::forward`]: `y[n] = A(W ⋆ x[n] + b)`, and each plane of it pooled
/// into `pooled` right after it is written.
#[allow(clippy::too_many_arguments)]
pub fn forward<F: Float, G: Geometry, A: Activation, P: PlanePool<F>>(
    batch: usize, x: &[F], params: &[F], y: &mut [F], pooled: &mut [F], scratch: &mut [F], alpha: F,
) {
    assert!(G::SH == 1 && G::SW == 1, "shifted convolution needs unit stride");
    let (cg, ocg, p, k, wp) = (G::CG, G::OCG, G::P, G::K, G::WP);
    let (plane, columns) = (G::HP * wp, columns::<G>());
    let (w, b) = params.split_at(G::WEIGHT_LEN);
    let (image, out) = scratch.split_at_mut(super::padded_input_len::<G>());
    let (out, unkept) = out.split_at_mut(ocg * columns);
    let unkept = &mut unkept[..p];
    // An empty `y`: only the pooled planes are wanted, as in `direct::forward`.
    let keep = !y.is_empty();
    assert!(keep || P::OUT > 0, "a convolution with nothing to write");
    let taps = taps::<G>();
    for n in 0..batch {
        let sample = &x[n * G::INPUT_LEN..][..G::INPUT_LEN];
        let input = super::padded_input::<F, G>(sample, image);
        for g in 0..G::GROUPS {
            let wg = &w[g * ocg * k..][..ocg * k];
            gathered::shifted(wg, ocg, taps, &input[g * cg * plane..][..cg * plane], columns, out, columns, false);
            for o in 0..ocg {
                let channel = g * ocg + o;
                let bias = if G::BIAS { b[channel] } else { F::ZERO };
                let dst = if keep { &mut y[(n * G::OC + channel) * p..][..p] } else { &mut *unkept };
                for (oh, row) in dst.chunks_exact_mut(G::OW).enumerate() {
                    activation::add_bias(&out[o * columns + oh * wp..][..G::OW], bias, row);
                }
                activation::in_place::<F, A>(dst, alpha);
                P::plane(dst, &mut pooled[(n * G::OC + channel) * P::OUT..][..P::OUT]);
            }
        }
    }
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient. The weight gradient is [`gathered::shifted_dots`] of the output
/// gradient laid over the same full-width rows (zero in the columns past each row's
/// end) with the input's shifted windows; the input gradient is
/// im2col's (`input_gradient` in the parent module).
pub fn backward<F: Float, G: Geometry>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], dx: Option<&mut [F]>, scratch: &mut [F],
) {
    assert!(G::SH == 1 && G::SW == 1, "shifted convolution needs unit stride");
    let (cg, ocg, p, k, wp) = (G::CG, G::OCG, G::P, G::K, G::WP);
    let (plane, columns) = (G::HP * wp, columns::<G>());
    let (dw, db) = grads.split_at_mut(G::WEIGHT_LEN);
    if G::BIAS {
        super::bias_gradient(batch, p, dy, &mut db[..G::OC]);
    }
    let (image, rest) = scratch.split_at_mut(super::padded_input_len::<G>());
    let (widened, rest) = rest.split_at_mut(ocg * columns);
    let taps = taps::<G>();
    for n in 0..batch {
        let sample = &x[n * G::INPUT_LEN..][..G::INPUT_LEN];
        let input = super::padded_input::<F, G>(sample, image);
        for g in 0..G::GROUPS {
            for (o, row) in widened.chunks_exact_mut(columns).enumerate() {
                let src = &dy[(n * G::OC + g * ocg + o) * p..][..p];
                for (oh, values) in src.chunks_exact(G::OW).enumerate() {
                    row[oh * wp..][..G::OW].copy_from_slice(values);
                    if oh + 1 < G::OH {
                        row[oh * wp + G::OW..(oh + 1) * wp].fill(F::ZERO);
                    }
                }
            }
            let dwg = &mut dw[g * ocg * k..][..ocg * k];
            let input = &input[g * cg * plane..][..cg * plane];
            gathered::shifted_dots(widened, columns, ocg, taps, input, columns, dwg, k, n > 0);
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

    fn shifted<F: Float, G: Geometry>(batch: usize) -> (f64, f64, f64) {
        let strategy = Strategy {
            forward: |batch, x, params, y, scratch| {
                forward::<F, G, Identity, NoPool>(batch, x, params, y, &mut [], scratch, F::ZERO)
            },
            backward: backward::<F, G>,
            scratch: scratch::<G>() + batch * super::super::scratch_per_sample::<G>(),
        };
        against_im2col::<F, G>(strategy, batch)
    }

    /// In f64 (portable loops) and f32 (vector kernels where the processor has them):
    /// LeNet-5's first layer, one with padding, dilation, groups and no bias, and one
    /// padded more on one side than the other. Under Miri (tools/miri.sh) only a tiny
    /// layer, which still runs a 6-row tile and a 1-row one over 16-column strips and a
    /// masked tail (forward) and the dot products' every row tile and column tail
    /// (weight gradient).
    #[test]
    fn shifted_strategy_matches_im2col() {
        assert_eq!((Grouped::OH, Grouped::OW), (5, 12));
        assert_eq!((TinyShifted::OH, TinyShifted::OW, TinyShifted::WP), (4, 8, 10));
        if !cfg!(miri) {
            assert_close(shifted::<f64, LenetConv1>(3), "lenet conv1 f64", 1e-12);
            assert_close(shifted::<f32, LenetConv1>(5), "lenet conv1 f32", 1e-4);
            assert_close(shifted::<f64, Grouped>(2), "grouped f64", 1e-12);
            assert_close(shifted::<f32, Grouped>(2), "grouped f32", 1e-4);
            assert_close(shifted::<f64, SameEven>(2), "asymmetric padding f64", 1e-12);
            assert_close(shifted::<f32, SameEven>(2), "asymmetric padding f32", 1e-4);
        }
        assert_close(shifted::<f32, TinyShifted>(2), "tiny f32", 1e-4);
        assert_close(shifted::<f64, TinyShifted>(1), "tiny f64", 1e-12);
    }
}
