//! Max and average pooling over `C×H×W` planes, as PyTorch's `nn.MaxPool2d` and
//! `nn.AvgPool2d` (average counts the zero padding, `count_include_pad`), in floor or
//! ceil mode. A layer's shape is a type implementing [`Window`]; `C` is a const
//! parameter.

use crate::float::Float;
use crate::ops::activation::Activation;
use core::marker::PhantomData;

/// A pooling window's fixed shape over one plane, as the macro computed it: one marker
/// type per pooling layer implements it. Input `H×W`, window `KH×KW`, stride, the zero
/// padding before the first row and column and after the last (PyTorch pads both sides
/// alike, the default here; `padding = same` pads the bottom and right one more when the
/// total is odd), and the output `OH×OW`, which says how far the windows reach: in ceil
/// mode the last window may run past the padded input, and is clipped to it.
pub trait Window {
    const H: usize;
    const W: usize;
    const KH: usize;
    const KW: usize;
    const SH: usize;
    const SW: usize;
    const PAD_TOP: usize;
    const PAD_LEFT: usize;
    const PAD_BOTTOM: usize = Self::PAD_TOP;
    const PAD_RIGHT: usize = Self::PAD_LEFT;
    const OH: usize;
    const OW: usize;
    /// Whether the last window runs past the padded input (ceil mode): an average then
    /// divides by the window clipped to the padded input, not by `KH·KW`.
    const OVERRUNS: bool = (Self::OH - 1) * Self::SH + Self::KH > Self::PAD_TOP + Self::H + Self::PAD_BOTTOM
        || (Self::OW - 1) * Self::SW + Self::KW > Self::PAD_LEFT + Self::W + Self::PAD_RIGHT;
}

/// Windows along one axis of `n` inputs, PyTorch's `pooling_output_shape`: `⌊(n + before
/// + after − k) / s⌋ + 1` in floor mode; in ceil mode `⌈…⌉ + 1` (so a window larger than
/// the padded input still gives one output, as PyTorch's), less one where the last window
/// would start past the input and its padding before (it must start inside either).
/// `None` where there would be no output.
pub const fn output_size(n: usize, k: usize, s: usize, before: usize, after: usize, ceil_mode: bool) -> Option<usize> {
    let padded = n + before + after;
    let reach = if ceil_mode { padded + s - 1 } else { padded };
    if reach < k {
        return None;
    }
    let out = (reach - k) / s + 1;
    Some(if ceil_mode && (out - 1) * s >= n + before { out - 1 } else { out })
}

/// Calls `body(o, rows)` for each output `o` of a plane (row-major), `rows` giving the
/// ranges of the input plane (flat indices) its window covers, clipped to the input, and
/// how many positions it covers clipped to the padded input only.
#[inline(always)]
fn for_each_window<G: Window>(mut body: impl FnMut(usize, WindowRows)) {
    for oh in 0..G::OH {
        let top = oh * G::SH;
        let rows = top.saturating_sub(G::PAD_TOP)..(top + G::KH).saturating_sub(G::PAD_TOP).min(G::H);
        let height = (top + G::KH).min(G::PAD_TOP + G::H + G::PAD_BOTTOM) - top;
        for ow in 0..G::OW {
            let left = ow * G::SW;
            let columns = left.saturating_sub(G::PAD_LEFT)..(left + G::KW).saturating_sub(G::PAD_LEFT).min(G::W);
            let width = (left + G::KW).min(G::PAD_LEFT + G::W + G::PAD_RIGHT) - left;
            body(oh * G::OW + ow, WindowRows { rows: rows.clone(), width: G::W, columns, padded_area: height * width });
        }
    }
}

/// The rows of one window, each as a range of flat indices into the plane.
struct WindowRows {
    rows: core::ops::Range<usize>,
    width: usize,
    columns: core::ops::Range<usize>,
    /// Positions of the window inside the padded input: `KH·KW` but where a ceil-mode
    /// window runs past it.
    padded_area: usize,
}

impl Iterator for WindowRows {
    type Item = core::ops::Range<usize>;
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()? * self.width;
        Some(row + self.columns.start..row + self.columns.end)
    }
}

/// Defines a type implementing [`Window`] from named values, for tests and examples:
/// `pool2d_window!(Name { h: 28, w: 28, k: (2, 2) })`, with `stride` (default the
/// window), `padding` (`(top, left)`, default 0, the same after; or `(top, bottom, left,
/// right)`) and `ceil_mode` (default `false`) optional; the output size is PyTorch's
/// ([`output_size`]).
#[macro_export]
macro_rules! pool2d_window {
    ($(#[$attr:meta])* $vis:vis $name:ident { h: $h:expr, w: $w:expr, k: ($kh:expr, $kw:expr)
        $(, stride: ($sh:expr, $sw:expr))? , padding: ($pt:expr, $pb:expr, $pl:expr, $pr:expr)
        $(, ceil_mode: $ceil:expr)? $(,)? }) => {
        $(#[$attr])*
        $vis struct $name;
        impl $crate::ops::pool2d::Window for $name {
            const H: usize = $h;
            const W: usize = $w;
            const KH: usize = $kh;
            const KW: usize = $kw;
            const SH: usize = $crate::conv2d_geometry!(@or $($sh)?, $kh);
            const SW: usize = $crate::conv2d_geometry!(@or $($sw)?, $kw);
            const PAD_TOP: usize = $pt;
            const PAD_BOTTOM: usize = $pb;
            const PAD_LEFT: usize = $pl;
            const PAD_RIGHT: usize = $pr;
            const OH: usize = $crate::ops::pool2d::output_size(Self::H, Self::KH, Self::SH, $pt, $pb,
                $crate::conv2d_geometry!(@or $($ceil)?, false)).expect("the window fits the padded input");
            const OW: usize = $crate::ops::pool2d::output_size(Self::W, Self::KW, Self::SW, $pl, $pr,
                $crate::conv2d_geometry!(@or $($ceil)?, false)).expect("the window fits the padded input");
        }
    };
    ($(#[$attr:meta])* $vis:vis $name:ident { h: $h:expr, w: $w:expr, k: ($kh:expr, $kw:expr)
        $(, stride: ($sh:expr, $sw:expr))? $(, padding: ($pt:expr, $pl:expr))? $(, ceil_mode: $ceil:expr)? $(,)? }) => {
        $crate::pool2d_window!($(#[$attr])* $vis $name { h: $h, w: $w, k: ($kh, $kw) $(, stride: ($sh, $sw))?,
            padding: (
                $crate::conv2d_geometry!(@or $($pt)?, 0),
                $crate::conv2d_geometry!(@or $($pt)?, 0),
                $crate::conv2d_geometry!(@or $($pl)?, 0),
                $crate::conv2d_geometry!(@or $($pl)?, 0)
            ) $(, ceil_mode: $ceil)? });
    };
}

/// One plane's pooling, `H×W` into `OH×OW`: what the pooling layers run plane by plane,
/// and what a convolution's epilogue runs on each plane it has just written (still in
/// L1) instead of a separate pass over the whole batch (see `conv2d::direct`).
pub trait PlanePool<F: Float> {
    /// Elements of one input plane; 0 for [`NoPool`].
    const IN: usize;
    /// Elements of one pooled plane; 0 for [`NoPool`].
    const OUT: usize;
    fn plane(x: &[F], y: &mut [F]);
    /// The gradient for one plane (overwritten), from the plane `x`, its pooled `y` and
    /// their output gradient `dy`.
    fn plane_backward(x: &[F], y: &[F], dy: &[F], dx: &mut [F]);
}

/// No pooling fused: the epilogue stops at the activation.
pub struct NoPool;
impl<F: Float> PlanePool<F> for NoPool {
    const IN: usize = 0;
    const OUT: usize = 0;
    #[inline(always)]
    fn plane(_: &[F], _: &mut [F]) {}
    #[inline(always)]
    fn plane_backward(_: &[F], _: &[F], _: &[F], _: &mut [F]) {}
}

/// Max pooling of one plane; NaN propagates, as in PyTorch.
pub struct MaxPlane<G>(PhantomData<G>);

impl<F: Float, G: Window> PlanePool<F> for MaxPlane<G> {
    const IN: usize = G::H * G::W;
    const OUT: usize = G::OH * G::OW;
    #[inline]
    fn plane(plane: &[F], out: &mut [F]) {
        let (plane, out) = (&plane[..G::H * G::W], &mut out[..G::OH * G::OW]);
        for_each_window::<G>(|o, rows| {
            let mut m = F::NEG_INFINITY;
            for row in rows {
                for &v in &plane[row] {
                    if v > m || v.is_nan() {
                        m = v;
                    }
                }
            }
            out[o] = m;
        });
    }
    /// Each output's gradient goes to the first input in its window that holds the
    /// maximum (PyTorch's tie rule), found again from `x` and `y`.
    #[inline]
    fn plane_backward(plane: &[F], out: &[F], dout: &[F], dplane: &mut [F]) {
        let (plane, dplane) = (&plane[..G::H * G::W], &mut dplane[..G::H * G::W]);
        dplane.fill(F::ZERO);
        for_each_window::<G>(|o, rows| {
            let m = out[o];
            for i in rows.flatten() {
                let v = plane[i];
                if v == m || (v.is_nan() && m.is_nan()) {
                    dplane[i] += dout[o];
                    return;
                }
            }
        });
    }
}

/// Average pooling of one plane, padding counted as zeros (`count_include_pad`): the
/// divisor is `KH·KW`, or in ceil mode, for a window that runs past the padded input, the
/// part of it inside (PyTorch's rule).
pub struct AvgPlane<G>(PhantomData<G>);

impl<G: Window> AvgPlane<G> {
    /// `1 / divisor` for one window: a constant unless some window overruns.
    #[inline(always)]
    fn scale<F: Float>(rows: &WindowRows, full: F) -> F {
        if G::OVERRUNS {
            F::ONE / F::from_usize(rows.padded_area)
        } else {
            full
        }
    }
}

impl<F: Float, G: Window> PlanePool<F> for AvgPlane<G> {
    const IN: usize = G::H * G::W;
    const OUT: usize = G::OH * G::OW;
    #[inline]
    fn plane(plane: &[F], out: &mut [F]) {
        let (plane, out) = (&plane[..G::H * G::W], &mut out[..G::OH * G::OW]);
        let full = F::ONE / F::from_usize(G::KH * G::KW);
        for_each_window::<G>(|o, rows| {
            let scale = Self::scale(&rows, full);
            let mut s = F::ZERO;
            for row in rows {
                for &v in &plane[row] {
                    s += v;
                }
            }
            out[o] = s * scale;
        });
    }
    /// Each output's gradient spread evenly over its window.
    #[inline]
    fn plane_backward(_: &[F], _: &[F], dout: &[F], dplane: &mut [F]) {
        let dplane = &mut dplane[..G::H * G::W];
        let full = F::ONE / F::from_usize(G::KH * G::KW);
        dplane.fill(F::ZERO);
        for_each_window::<G>(|o, rows| {
            let g = dout[o] * Self::scale(&rows, full);
            for row in rows {
                dplane[row].iter_mut().for_each(|d| *d += g);
            }
        });
    }
}

/// Pooling forward over a batch of `C`-plane samples, plane by plane.
pub fn forward<F: Float, P: PlanePool<F>, const C: usize>(batch: usize, x: &[F], y: &mut [F]) {
    let planes = x[..batch * C * P::IN].chunks_exact(P::IN).zip(y[..batch * C * P::OUT].chunks_exact_mut(P::OUT));
    for (plane, out) in planes {
        P::plane(plane, out);
    }
}

/// Pooling backward, with the backward of an activation before it fused in: `dx =
/// A'(x) ⊙ ∂pool(dy)`, each plane finished while it is in L1 instead of a second pass
/// over the batch ([`Identity`](crate::ops::activation::Identity) for no activation). `x` is
/// the pooling's input, which is the activation's output: `A` must be an activation
/// whose derivative reads only its output (relu, relu6, tanh, sigmoid; the macro fuses no
/// other). The same values, bit for bit, as the two passes.
pub fn backward<F: Float, P: PlanePool<F>, A: Activation, const C: usize>(
    batch: usize, x: &[F], y: &[F], dy: &[F], dx: &mut [F], alpha: F,
) {
    let (x, dx) = (&x[..batch * C * P::IN], &mut dx[..batch * C * P::IN]);
    let (y, dy) = (&y[..batch * C * P::OUT], &dy[..batch * C * P::OUT]);
    let planes = x.chunks_exact(P::IN).zip(dx.chunks_exact_mut(P::IN));
    for ((plane, dplane), (out, dout)) in planes.zip(y.chunks_exact(P::OUT).zip(dy.chunks_exact(P::OUT))) {
        P::plane_backward(plane, out, dout, dplane);
        if !A::IS_IDENTITY {
            // The derivative from the output alone: the activation's input is not kept.
            for (d, &v) in dplane.iter_mut().zip(plane) {
                *d *= A::df(v, v, alpha);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::Identity;

    crate::pool2d_window!(Padded3 { h: 3, w: 3, k: (2, 2), padding: (1, 1) });
    crate::pool2d_window!(Whole2 { h: 2, w: 2, k: (2, 2) });
    crate::pool2d_window!(Overlapping2 { h: 2, w: 2, k: (2, 2), stride: (1, 1), padding: (1, 1) });
    crate::pool2d_window!(Padded7x6 { h: 7, w: 6, k: (3, 3), stride: (2, 2), padding: (1, 1) });
    crate::pool2d_window!(Plain7x6 { h: 7, w: 6, k: (2, 2) });

    #[test]
    fn max_pool_with_padding_and_stride() {
        // 1×3×3 input, window 2, stride 2, padding 1: OH = (3 + 2 - 2)/2 + 1 = 2
        assert_eq!((Padded3::OH, Padded3::OW, Padded7x6::OH, Padded7x6::OW), (2, 2, 4, 3));
        let x = [1.0, 2.0, 3.0, 4.0, 9.0, 6.0, 7.0, 8.0, 5.0];
        let mut y = [0.0f64; 4];
        forward::<f64, MaxPlane<Padded3>, 1>(1, &x, &mut y);
        assert_eq!(y, [1.0, 3.0, 7.0, 9.0]);
        let mut dx = [0.0; 9];
        backward::<f64, MaxPlane<Padded3>, Identity, 1>(1, &x, &y, &[1.0, 2.0, 3.0, 4.0], &mut dx, 1.0);
        assert_eq!(dx, [1.0, 0.0, 2.0, 0.0, 4.0, 0.0, 3.0, 0.0, 0.0]);
    }

    #[test]
    fn max_pool_ties_go_to_the_first_maximum() {
        let x = [5.0, 5.0, 5.0, 5.0];
        let mut y = [0.0f64; 1];
        forward::<f64, MaxPlane<Whole2>, 1>(1, &x, &mut y);
        let mut dx = [0.0; 4];
        backward::<f64, MaxPlane<Whole2>, Identity, 1>(1, &x, &y, &[1.0], &mut dx, 1.0);
        assert_eq!(dx, [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn avg_pool_counts_padding() {
        let x = [4.0, 8.0, 12.0, 16.0];
        let mut y = [0.0f64; 4];
        // window 2, stride 1, padding 1 on a 2×2 input: 3×3 output; take the corner.
        let mut y9 = [0.0f64; 9];
        forward::<f64, AvgPlane<Overlapping2>, 1>(1, &x, &mut y9);
        assert_eq!(y9[0], 1.0);
        assert_eq!(y9[4], 10.0);
        forward::<f64, AvgPlane<Whole2>, 1>(1, &x, &mut y[..1]);
        assert_eq!(y[0], 10.0);
        let mut dx = [0.0; 4];
        backward::<f64, AvgPlane<Whole2>, Identity, 1>(1, &x, &y[..1], &[4.0], &mut dx, 1.0);
        assert_eq!(dx, [1.0; 4]);
    }

    /// The pooling backward with an activation's fused in gives what the two passes
    /// give, value for value: tanh before padded max pooling, relu before average pooling.
    #[test]
    fn fused_activation_backward_equals_the_two_passes() {
        use crate::ops::activation::{self, Relu, Tanh};
        let (batch, c, h, w) = (2, 3, 7, 6);
        let len = c * h * w;
        let input: Vec<f32> = (0..batch * len).map(|i| ((i as f32) * 0.91).sin() * 2.0).collect();

        let mut x = vec![0.0f32; input.len()];
        activation::forward::<f32, Tanh, 126>(batch, &input, &mut x, 0.0);
        let mut y = vec![0.0f32; batch * c * 4 * 3];
        forward::<f32, MaxPlane<Padded7x6>, 3>(batch, &x, &mut y);
        let dy: Vec<f32> = (0..y.len()).map(|i| ((i as f32) * 0.37).cos()).collect();
        let (mut pooled_grad, mut want) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
        backward::<f32, MaxPlane<Padded7x6>, Identity, 3>(batch, &x, &y, &dy, &mut pooled_grad, 1.0);
        activation::backward::<f32, Tanh, 126>(batch, &input, &x, &pooled_grad, &mut want, 0.0);
        let mut got = vec![f32::NAN; x.len()];
        type Max = MaxPlane<Padded7x6>;
        backward::<f32, Max, Tanh, 3>(batch, &x, &y, &dy, &mut got, 0.0);
        assert_eq!(got, want);

        let mut x = vec![0.0f32; input.len()];
        activation::forward::<f32, Relu, 126>(batch, &input, &mut x, 0.0);
        let mut y = vec![0.0f32; batch * c * 3 * 3];
        forward::<f32, AvgPlane<Plain7x6>, 3>(batch, &x, &mut y);
        let dy: Vec<f32> = (0..y.len()).map(|i| ((i as f32) * 0.37).cos()).collect();
        backward::<f32, AvgPlane<Plain7x6>, Identity, 3>(batch, &x, &y, &dy, &mut pooled_grad, 1.0);
        activation::backward::<f32, Relu, 126>(batch, &input, &x, &pooled_grad, &mut want, 0.0);
        let mut got = vec![f32::NAN; x.len()];
        type Avg = AvgPlane<Plain7x6>;
        backward::<f32, Avg, Relu, 3>(batch, &x, &y, &dy, &mut got, 0.0);
        assert_eq!(got, want);
        assert!(got.contains(&0.0) && got.iter().any(|&g| g != 0.0));
    }

    /// PyTorch's `pooling_output_shape`, case by case.
    #[test]
    fn output_sizes_in_floor_and_ceil_mode() {
        // 5 inputs, window 2, stride 2: floor drops the last input, ceil keeps it.
        assert_eq!((output_size(5, 2, 2, 0, 0, false), output_size(5, 2, 2, 0, 0, true)), (Some(2), Some(3)));
        // 3 inputs, window 2, stride 2, padding 1: ceil would give 3, but the third window
        // would start at 4 in padded coordinates, past the input and its left padding
        // (3 + 1): one fewer, as floor.
        assert_eq!((output_size(3, 2, 2, 1, 1, false), output_size(3, 2, 2, 1, 1, true)), (Some(2), Some(2)));
        // 6 inputs, window 3, stride 2, padding 1: the fourth window starts at 6 < 7 and
        // runs one past the padded input.
        assert_eq!((output_size(6, 3, 2, 1, 1, false), output_size(6, 3, 2, 1, 1, true)), (Some(3), Some(4)));
        // Divisible: both modes agree.
        assert_eq!((output_size(6, 2, 2, 0, 0, false), output_size(6, 2, 2, 0, 0, true)), (Some(3), Some(3)));
        // Asymmetric ("same") padding, stride 1: the size is kept.
        assert_eq!(output_size(7, 4, 1, 1, 2, false), Some(7));
        // A window larger than the input: none in floor mode; in ceil mode one where the
        // stride reaches past the kernel (PyTorch's 1×1 for `MaxPool2d(3, ceil_mode=True)`
        // on 2×2), none at stride 1.
        assert_eq!((output_size(2, 3, 3, 0, 0, false), output_size(2, 3, 3, 0, 0, true)), (None, Some(1)));
        assert_eq!((output_size(2, 3, 1, 0, 0, true), output_size(2, 4, 2, 1, 1, true)), (None, Some(1)));
    }

    /// PyTorch's CPU `max_pool2d` / `avg_pool2d` (count_include_pad) loops, transcribed
    /// for any window: the window starts at `o·s − before`, an average divides by the
    /// window clipped to `n + after`, then both are clipped to the input.
    fn reference<G: Window>(x: &[f64], max: bool) -> Vec<f64> {
        let mut y = Vec::new();
        for oh in 0..G::OH {
            for ow in 0..G::OW {
                let hstart = (oh * G::SH) as isize - G::PAD_TOP as isize;
                let wstart = (ow * G::SW) as isize - G::PAD_LEFT as isize;
                let hend = (hstart + G::KH as isize).min((G::H + G::PAD_BOTTOM) as isize);
                let wend = (wstart + G::KW as isize).min((G::W + G::PAD_RIGHT) as isize);
                let pool_size = ((hend - hstart) * (wend - wstart)) as f64;
                let (hstart, wstart) = (hstart.max(0) as usize, wstart.max(0) as usize);
                let (hend, wend) = (hend.min(G::H as isize) as usize, wend.min(G::W as isize) as usize);
                let values = (hstart..hend).flat_map(|i| (wstart..wend).map(move |j| x[i * G::W + j]));
                y.push(if max { values.fold(f64::NEG_INFINITY, f64::max) } else { values.sum::<f64>() / pool_size });
            }
        }
        y
    }

    crate::pool2d_window!(Ceil6 { h: 6, w: 5, k: (3, 2), stride: (2, 2), padding: (1, 1), ceil_mode: true });
    crate::pool2d_window!(CeilDecrement { h: 3, w: 5, k: (2, 2), stride: (2, 2), padding: (1, 0), ceil_mode: true });
    crate::pool2d_window!(CeilUnpadded { h: 5, w: 7, k: (2, 3), stride: (2, 3), ceil_mode: true });
    crate::pool2d_window!(SameEven { h: 5, w: 6, k: (2, 4), stride: (1, 1), padding: (0, 1, 1, 2) });
    crate::pool2d_window!(CeilLargerThanInput {
        h: 2,
        w: 3,
        k: (3, 4),
        stride: (3, 2),
        padding: (0, 1),
        ceil_mode: true
    });

    /// Ceil mode (windows clipped to the input, the decrement rule, averages over the
    /// window clipped to the padded input) and asymmetric padding, forward against the
    /// transcription of PyTorch's loops; backward against the transposed forward (each
    /// output's gradient is the forward's weights).
    #[test]
    fn ceil_mode_and_asymmetric_padding_match_pytorchs_loops() {
        assert_eq!((Ceil6::OH, Ceil6::OW, CeilDecrement::OH, CeilDecrement::OW), (4, 3, 2, 3));
        assert_eq!((CeilUnpadded::OH, CeilUnpadded::OW, SameEven::OH, SameEven::OW), (3, 3, 5, 6));
        assert_eq!((CeilLargerThanInput::OH, CeilLargerThanInput::OW), (1, 2));
        const { assert!(Ceil6::OVERRUNS && CeilUnpadded::OVERRUNS && CeilDecrement::OVERRUNS) };
        const { assert!(!SameEven::OVERRUNS && !Padded7x6::OVERRUNS && !Overlapping2::OVERRUNS) };
        fn check<G: Window>() {
            let x: Vec<f64> = (0..G::H * G::W).map(|i| ((i as f64) * 1.37).sin()).collect();
            for max in [true, false] {
                let mut y = vec![0.0; G::OH * G::OW];
                if max {
                    forward::<f64, MaxPlane<G>, 1>(1, &x, &mut y);
                } else {
                    forward::<f64, AvgPlane<G>, 1>(1, &x, &mut y);
                }
                let want = reference::<G>(&x, max);
                for (a, b) in y.iter().zip(&want) {
                    assert!((a - b).abs() < 1e-15, "{} max={max}: {y:?} vs {want:?}", std::any::type_name::<G>());
                }
                // d(y · dy)/dx by finite differences (exact for these piecewise-linear maps).
                let dy: Vec<f64> = (0..y.len()).map(|i| 1.0 + i as f64).collect();
                let mut dx = vec![0.0; x.len()];
                if max {
                    backward::<f64, MaxPlane<G>, Identity, 1>(1, &x, &y, &dy, &mut dx, 0.0);
                } else {
                    backward::<f64, AvgPlane<G>, Identity, 1>(1, &x, &y, &dy, &mut dx, 0.0);
                }
                for i in 0..x.len() {
                    let mut bumped = x.clone();
                    bumped[i] += 1e-6;
                    let moved = reference::<G>(&bumped, max);
                    let numeric: f64 =
                        moved.iter().zip(&want).zip(&dy).map(|((a, b), g)| (a - b) * g).sum::<f64>() / 1e-6;
                    assert!(
                        (numeric - dx[i]).abs() < 1e-6,
                        "{} max={max} dx[{i}]: {} vs {numeric}",
                        std::any::type_name::<G>(),
                        dx[i]
                    );
                }
            }
        }
        check::<Ceil6>();
        check::<CeilDecrement>();
        check::<CeilUnpadded>();
        check::<SameEven>();
        check::<CeilLargerThanInput>();
        check::<Padded7x6>();
    }

    /// Ceil mode's last window, worked by hand: 1×6 input, window 3, stride 2, padding 1
    /// — windows over padded positions 0–2, 2–4, 4–6, 6–8, of which 8 lies past the
    /// padded input (positions 0–7): the last average divides by 2 (the last input and
    /// the padding after it), not 3.
    #[test]
    fn ceil_mode_average_divides_by_the_window_inside_the_padded_input() {
        crate::pool2d_window!(Row { h: 1, w: 6, k: (1, 3), stride: (1, 2), padding: (0, 1), ceil_mode: true });
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut y = [0.0f64; 4];
        forward::<f64, AvgPlane<Row>, 1>(1, &x, &mut y);
        assert_eq!(y, [3.0 / 3.0, 9.0 / 3.0, 15.0 / 3.0, 6.0 / 2.0]);
        forward::<f64, MaxPlane<Row>, 1>(1, &x, &mut y);
        assert_eq!(y, [2.0, 4.0, 6.0, 6.0]);
    }
}
