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
//! is im2col's ([`super::input_gradient`]). It needs unit stride.

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
    batch: usize,
    x: &[F],
    params: &[F],
    y: &mut [F],
    pooled: &mut [F],
    scratch: &mut [F],
    alpha: F,
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
/// [`super::input_gradient`]'s.
pub fn backward<F: Float, G: Geometry>(
    batch: usize,
    x: &[F],
    params: &[F],
    dy: &[F],
    grads: &mut [F],
    dx: Option<&mut [F]>,
    scratch: &mut [F],
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
    use super::*;
    use crate::ops::activation::Identity;
    use crate::ops::pool2d::NoPool;

    fn values<F: Float>(n: usize, seed: f64) -> Vec<F> {
        (0..n).map(|i| F::from_f64(((i as f64 + seed) * 0.37).sin())).collect()
    }

    /// Forward, then weight, bias and input gradients, against the im2col strategy.
    fn check<F: Float, G: Geometry>(tol: f64, batch: usize) {
        let x: Vec<F> = values(batch * G::INPUT_LEN, 0.5);
        let params: Vec<F> = values(G::WEIGHT_LEN + G::OC, 3.0);
        let mut want = vec![F::ZERO; batch * G::OUTPUT_LEN];
        let mut got = vec![F::from_f64(f64::NAN); want.len()];
        let per_sample = super::super::scratch_per_sample::<G>();
        let mut scratch = vec![F::ZERO; scratch::<G>() + batch * per_sample];
        super::super::forward::<F, G>(batch, &x, &params, &mut want, &mut scratch);
        forward::<F, G, Identity, NoPool>(batch, &x, &params, &mut got, &mut [], &mut scratch, F::ZERO);
        let close = |a: F, b: F, tol: f64| (a.to_f64() - b.to_f64()).abs() <= tol * (1.0 + b.to_f64().abs());
        for (&a, &b) in got.iter().zip(&want) {
            assert!(close(a, b, tol), "{a} vs {b}");
        }
        let dy: Vec<F> = values(want.len(), 7.0);
        let mut run = |shifted_strategy: bool| {
            let mut grads = vec![F::from_f64(f64::NAN); params.len()];
            let mut dx = vec![F::from_f64(f64::NAN); x.len()];
            if shifted_strategy {
                backward::<F, G>(batch, &x, &params, &dy, &mut grads, Some(&mut dx), &mut scratch);
            } else {
                super::super::backward::<F, G>(batch, &x, &params, &dy, &mut grads, Some(&mut dx), &mut scratch);
            }
            if !G::BIAS {
                grads.truncate(G::WEIGHT_LEN);
            }
            (grads, dx)
        };
        let (want_grads, want_dx) = run(false);
        let (got_grads, got_dx) = run(true);
        for (&a, &b) in got_grads.iter().zip(&want_grads).chain(got_dx.iter().zip(&want_dx)) {
            assert!(close(a, b, tol * 10.0), "{a} vs {b}");
        }
    }

    crate::conv2d_geometry!(LenetConv1 { c: 1, h: 32, w: 32, oc: 6, k: (5, 5) });
    // 4 channels in 2 groups, 7×9 input, 3×2 kernel, padding (1, 2), dilation (2, 1):
    // OH = 7 + 2 − 4 − 1 + 1 = 5, OW = 9 + 4 − 1 − 1 + 1 = 12.
    crate::conv2d_geometry!(Grouped {
        c: 4,
        h: 7,
        w: 9,
        oc: 6,
        k: (3, 2),
        padding: (1, 1, 2, 2),
        dilation: (2, 1),
        groups: 2,
        bias: false
    });
    // Asymmetric padding, as PyTorch's "same" gives an even kernel.
    crate::conv2d_geometry!(SameEven { c: 2, h: 6, w: 7, oc: 3, k: (2, 4), padding: (0, 1, 1, 2) });

    /// In f64 (portable loops) and f32 (vector kernels where the processor has them):
    /// LeNet-5's first layer, one with padding, dilation, groups and no bias, and one
    /// padded more on one side than the other.
    #[test]
    fn shifted_strategy_matches_im2col() {
        assert_eq!((Grouped::OH, Grouped::OW), (5, 12));
        check::<f64, LenetConv1>(1e-12, 3);
        check::<f32, LenetConv1>(1e-5, 5);
        check::<f64, Grouped>(1e-12, 2);
        check::<f32, Grouped>(1e-5, 2);
        check::<f64, SameEven>(1e-12, 2);
        check::<f32, SameEven>(1e-5, 2);
    }
}
