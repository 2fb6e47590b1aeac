//! Max and average pooling over `C×H×W` planes, as PyTorch's `nn.MaxPool2d` and
//! `nn.AvgPool2d` (floor mode; average counts the zero padding, `count_include_pad`).
//! A layer's shape is a type implementing [`Window`]; `C` is a const parameter.

use crate::float::Float;
use crate::ops::activation::Activation;
use std::marker::PhantomData;

/// A pooling window's fixed shape over one plane, as the macro computed it: one marker
/// type per pooling layer implements it. Input `H×W`, window `KH×KW`, stride, the zero
/// padding before the first row and column, and the output `OH×OW` (which says how far
/// the windows reach, so the padding after needs no constant).
pub trait Window {
    const H: usize;
    const W: usize;
    const KH: usize;
    const KW: usize;
    const SH: usize;
    const SW: usize;
    const PAD_TOP: usize;
    const PAD_LEFT: usize;
    const OH: usize;
    const OW: usize;
}

/// Calls `body(o, rows)` for each output `o` of a plane (row-major), `rows` giving the
/// ranges of the input plane (flat indices) its window covers, clipped to the input.
#[inline(always)]
fn for_each_window<G: Window>(mut body: impl FnMut(usize, WindowRows)) {
    for oh in 0..G::OH {
        let top = oh * G::SH;
        let rows = top.saturating_sub(G::PAD_TOP)..(top + G::KH).saturating_sub(G::PAD_TOP).min(G::H);
        for ow in 0..G::OW {
            let left = ow * G::SW;
            let columns = left.saturating_sub(G::PAD_LEFT)..(left + G::KW).saturating_sub(G::PAD_LEFT).min(G::W);
            body(oh * G::OW + ow, WindowRows { rows: rows.clone(), width: G::W, columns });
        }
    }
}

/// The rows of one window, each as a range of flat indices into the plane.
struct WindowRows {
    rows: std::ops::Range<usize>,
    width: usize,
    columns: std::ops::Range<usize>,
}

impl Iterator for WindowRows {
    type Item = std::ops::Range<usize>;
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()? * self.width;
        Some(row + self.columns.start..row + self.columns.end)
    }
}

/// Defines a type implementing [`Window`] from named values, for tests and examples:
/// `pool2d_window!(Name { h: 28, w: 28, k: (2, 2) })`, with `stride` (default the
/// window) and `padding` (`(top, left)`, default 0) optional; the output size is
/// PyTorch's floor-mode formula.
#[macro_export]
macro_rules! pool2d_window {
    ($(#[$attr:meta])* $vis:vis $name:ident { h: $h:expr, w: $w:expr, k: ($kh:expr, $kw:expr)
        $(, stride: ($sh:expr, $sw:expr))? $(, padding: ($pt:expr, $pl:expr))? $(,)? }) => {
        $(#[$attr])*
        $vis struct $name;
        impl $crate::ops::pool2d::Window for $name {
            const H: usize = $h;
            const W: usize = $w;
            const KH: usize = $kh;
            const KW: usize = $kw;
            const SH: usize = $crate::conv2d_geometry!(@or $($sh)?, $kh);
            const SW: usize = $crate::conv2d_geometry!(@or $($sw)?, $kw);
            const PAD_TOP: usize = $crate::conv2d_geometry!(@or $($pt)?, 0);
            const PAD_LEFT: usize = $crate::conv2d_geometry!(@or $($pl)?, 0);
            const OH: usize = (Self::H + 2 * Self::PAD_TOP - Self::KH) / Self::SH + 1;
            const OW: usize = (Self::W + 2 * Self::PAD_LEFT - Self::KW) / Self::SW + 1;
        }
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

/// Average pooling of one plane; the divisor is always `KH·KW` (padding counts as
/// zeros).
pub struct AvgPlane<G>(PhantomData<G>);

impl<F: Float, G: Window> PlanePool<F> for AvgPlane<G> {
    const IN: usize = G::H * G::W;
    const OUT: usize = G::OH * G::OW;
    #[inline]
    fn plane(plane: &[F], out: &mut [F]) {
        let (plane, out) = (&plane[..G::H * G::W], &mut out[..G::OH * G::OW]);
        let scale = F::ONE / F::from_usize(G::KH * G::KW);
        for_each_window::<G>(|o, rows| {
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
        let scale = F::ONE / F::from_usize(G::KH * G::KW);
        dplane.fill(F::ZERO);
        for_each_window::<G>(|o, rows| {
            let g = dout[o] * scale;
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
/// whose derivative reads only its output (relu, tanh, sigmoid; the macro fuses no
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
}
