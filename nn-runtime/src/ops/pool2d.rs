//! Max and average pooling over `C×H×W` planes, as PyTorch's `nn.MaxPool2d` and
//! `nn.AvgPool2d` (floor mode; average counts the zero padding, `count_include_pad`).
//! Const parameters: channels `C`, input `H×W`, window `KH×KW`, stride `SH,SW`,
//! padding `PH,PW`, output `OH×OW`.

use crate::float::Float;
use crate::ops::activation::Activation;

/// Each output's window, clipped to the input: `(h0, h1, w0, w1)`.
#[inline(always)]
fn window(
    oh: usize,
    ow: usize,
    (kh, kw, sh, sw, ph, pw, h, w): (usize, usize, usize, usize, usize, usize, usize, usize),
) -> (usize, usize, usize, usize) {
    let h0 = (oh * sh).saturating_sub(ph);
    let w0 = (ow * sw).saturating_sub(pw);
    let h1 = (oh * sh + kh).saturating_sub(ph).min(h);
    let w1 = (ow * sw + kw).saturating_sub(pw).min(w);
    (h0, h1, w0, w1)
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
pub struct MaxPlane<
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
>;

impl<
        F: Float,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const OH: usize,
        const OW: usize,
    > PlanePool<F> for MaxPlane<H, W, KH, KW, SH, SW, PH, PW, OH, OW>
{
    const IN: usize = H * W;
    const OUT: usize = OH * OW;
    #[inline]
    fn plane(plane: &[F], out: &mut [F]) {
        let (plane, out) = (&plane[..H * W], &mut out[..OH * OW]);
        let geometry = (KH, KW, SH, SW, PH, PW, H, W);
        for oh in 0..OH {
            for ow in 0..OW {
                let (h0, h1, w0, w1) = window(oh, ow, geometry);
                let mut m = F::NEG_INFINITY;
                for ih in h0..h1 {
                    for &v in &plane[ih * W + w0..ih * W + w1] {
                        if v > m || v.is_nan() {
                            m = v;
                        }
                    }
                }
                out[oh * OW + ow] = m;
            }
        }
    }
    /// Each output's gradient goes to the first input in its window that holds the
    /// maximum (PyTorch's tie rule), found again from `x` and `y`.
    #[inline]
    fn plane_backward(plane: &[F], out: &[F], dout: &[F], dplane: &mut [F]) {
        let (plane, dplane) = (&plane[..H * W], &mut dplane[..H * W]);
        let geometry = (KH, KW, SH, SW, PH, PW, H, W);
        dplane.fill(F::ZERO);
        for oh in 0..OH {
            for ow in 0..OW {
                let (h0, h1, w0, w1) = window(oh, ow, geometry);
                let m = out[oh * OW + ow];
                'search: for ih in h0..h1 {
                    for iw in w0..w1 {
                        let v = plane[ih * W + iw];
                        if v == m || (v.is_nan() && m.is_nan()) {
                            dplane[ih * W + iw] += dout[oh * OW + ow];
                            break 'search;
                        }
                    }
                }
            }
        }
    }
}

/// Average pooling of one plane; the divisor is always `KH·KW` (padding counts as
/// zeros).
pub struct AvgPlane<
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
>;

impl<
        F: Float,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const OH: usize,
        const OW: usize,
    > PlanePool<F> for AvgPlane<H, W, KH, KW, SH, SW, PH, PW, OH, OW>
{
    const IN: usize = H * W;
    const OUT: usize = OH * OW;
    #[inline]
    fn plane(plane: &[F], out: &mut [F]) {
        let (plane, out) = (&plane[..H * W], &mut out[..OH * OW]);
        let geometry = (KH, KW, SH, SW, PH, PW, H, W);
        let scale = F::ONE / F::from_usize(KH * KW);
        for oh in 0..OH {
            for ow in 0..OW {
                let (h0, h1, w0, w1) = window(oh, ow, geometry);
                let mut s = F::ZERO;
                for ih in h0..h1 {
                    for &v in &plane[ih * W + w0..ih * W + w1] {
                        s += v;
                    }
                }
                out[oh * OW + ow] = s * scale;
            }
        }
    }
    /// Each output's gradient spread evenly over its window.
    #[inline]
    fn plane_backward(_: &[F], _: &[F], dout: &[F], dplane: &mut [F]) {
        let dplane = &mut dplane[..H * W];
        let geometry = (KH, KW, SH, SW, PH, PW, H, W);
        let scale = F::ONE / F::from_usize(KH * KW);
        dplane.fill(F::ZERO);
        for oh in 0..OH {
            for ow in 0..OW {
                let (h0, h1, w0, w1) = window(oh, ow, geometry);
                let g = dout[oh * OW + ow] * scale;
                for ih in h0..h1 {
                    for d in &mut dplane[ih * W + w0..ih * W + w1] {
                        *d += g;
                    }
                }
            }
        }
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
    batch: usize,
    x: &[F],
    y: &[F],
    dy: &[F],
    dx: &mut [F],
    alpha: F,
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

    #[test]
    fn max_pool_with_padding_and_stride() {
        // 1×3×3 input, window 2, stride 2, padding 1: OH = (3 + 2 - 2)/2 + 1 = 2
        let x = [1.0, 2.0, 3.0, 4.0, 9.0, 6.0, 7.0, 8.0, 5.0];
        let mut y = [0.0f64; 4];
        forward::<f64, MaxPlane<3, 3, 2, 2, 2, 2, 1, 1, 2, 2>, 1>(1, &x, &mut y);
        assert_eq!(y, [1.0, 3.0, 7.0, 9.0]);
        let mut dx = [0.0; 9];
        backward::<f64, MaxPlane<3, 3, 2, 2, 2, 2, 1, 1, 2, 2>, Identity, 1>(
            1,
            &x,
            &y,
            &[1.0, 2.0, 3.0, 4.0],
            &mut dx,
            1.0,
        );
        assert_eq!(dx, [1.0, 0.0, 2.0, 0.0, 4.0, 0.0, 3.0, 0.0, 0.0]);
    }

    #[test]
    fn max_pool_ties_go_to_the_first_maximum() {
        let x = [5.0, 5.0, 5.0, 5.0];
        let mut y = [0.0f64; 1];
        forward::<f64, MaxPlane<2, 2, 2, 2, 2, 2, 0, 0, 1, 1>, 1>(1, &x, &mut y);
        let mut dx = [0.0; 4];
        backward::<f64, MaxPlane<2, 2, 2, 2, 2, 2, 0, 0, 1, 1>, Identity, 1>(1, &x, &y, &[1.0], &mut dx, 1.0);
        assert_eq!(dx, [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn avg_pool_counts_padding() {
        let x = [4.0, 8.0, 12.0, 16.0];
        let mut y = [0.0f64; 4];
        // window 2, stride 1, padding 1 on a 2×2 input: 3×3 output; take the corner.
        let mut y9 = [0.0f64; 9];
        forward::<f64, AvgPlane<2, 2, 2, 2, 1, 1, 1, 1, 3, 3>, 1>(1, &x, &mut y9);
        assert_eq!(y9[0], 1.0);
        assert_eq!(y9[4], 10.0);
        forward::<f64, AvgPlane<2, 2, 2, 2, 2, 2, 0, 0, 1, 1>, 1>(1, &x, &mut y[..1]);
        assert_eq!(y[0], 10.0);
        let mut dx = [0.0; 4];
        backward::<f64, AvgPlane<2, 2, 2, 2, 2, 2, 0, 0, 1, 1>, Identity, 1>(1, &x, &y[..1], &[4.0], &mut dx, 1.0);
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
        forward::<f32, MaxPlane<7, 6, 3, 3, 2, 2, 1, 1, 4, 3>, 3>(batch, &x, &mut y);
        let dy: Vec<f32> = (0..y.len()).map(|i| ((i as f32) * 0.37).cos()).collect();
        let (mut pooled_grad, mut want) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
        backward::<f32, MaxPlane<7, 6, 3, 3, 2, 2, 1, 1, 4, 3>, Identity, 3>(batch, &x, &y, &dy, &mut pooled_grad, 1.0);
        activation::backward::<f32, Tanh, 126>(batch, &input, &x, &pooled_grad, &mut want, 0.0);
        let mut got = vec![f32::NAN; x.len()];
        type Max = MaxPlane<7, 6, 3, 3, 2, 2, 1, 1, 4, 3>;
        backward::<f32, Max, Tanh, 3>(batch, &x, &y, &dy, &mut got, 0.0);
        assert_eq!(got, want);

        let mut x = vec![0.0f32; input.len()];
        activation::forward::<f32, Relu, 126>(batch, &input, &mut x, 0.0);
        let mut y = vec![0.0f32; batch * c * 3 * 3];
        forward::<f32, AvgPlane<7, 6, 2, 2, 2, 2, 0, 0, 3, 3>, 3>(batch, &x, &mut y);
        let dy: Vec<f32> = (0..y.len()).map(|i| ((i as f32) * 0.37).cos()).collect();
        backward::<f32, AvgPlane<7, 6, 2, 2, 2, 2, 0, 0, 3, 3>, Identity, 3>(batch, &x, &y, &dy, &mut pooled_grad, 1.0);
        activation::backward::<f32, Relu, 126>(batch, &input, &x, &pooled_grad, &mut want, 0.0);
        let mut got = vec![f32::NAN; x.len()];
        type Avg = AvgPlane<7, 6, 2, 2, 2, 2, 0, 0, 3, 3>;
        backward::<f32, Avg, Relu, 3>(batch, &x, &y, &dy, &mut got, 0.0);
        assert_eq!(got, want);
        assert!(got.contains(&0.0) && got.iter().any(|&g| g != 0.0));
    }
}
