//! Element-wise activations, each defined once as a pair: the function and its
//! derivative written in terms of the input and output (whichever is cheaper).

// The vector kernels exist for x86-64 only; elsewhere the code that calls them is
// compiled but never reached, and its arguments look unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(unused))]

use crate::float::Float;
use crate::kernels::simd::{self, as_f32, as_f32_mut, Level};
use crate::kernels::tanh;

/// An element-wise function with its derivative, and one optional parameter `alpha`
/// (the negative slope of `leaky_relu`, the scale of `elu`; ignored by the others).
pub trait Activation {
    fn f<F: Float>(x: F, alpha: F) -> F;
    /// `dy/dx` given both the input `x` and the output `y = f(x)`.
    fn df<F: Float>(x: F, y: F, alpha: F) -> F;
    /// [`Identity`]: a fused epilogue skips its pass.
    const IS_IDENTITY: bool = false;
    /// f32 runs the vector kernels of [`crate::kernels::tanh`] instead of the compiled `f`.
    const VECTOR_TANH: bool = false;
}

/// `x` unchanged: what a layer with no activation fused into it applies.
pub struct Identity;
impl Activation for Identity {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        x
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, _y: F, _alpha: F) -> F {
        F::ONE
    }
    const IS_IDENTITY: bool = true;
}

/// `max(0, x)`; NaN stays NaN and the derivative at 0 is 0, as in PyTorch.
pub struct Relu;
impl Activation for Relu {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        // Not `x > 0 ? x : 0`, which would turn NaN into 0 and hide it from the loss.
        if x < F::ZERO {
            F::ZERO
        } else {
            x
        }
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, y: F, _alpha: F) -> F {
        if y > F::ZERO {
            F::ONE
        } else {
            F::ZERO
        }
    }
}

/// Hyperbolic tangent.
pub struct Tanh;
impl Activation for Tanh {
    const VECTOR_TANH: bool = true;
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        x.tanh()
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, y: F, _alpha: F) -> F {
        F::ONE - y * y
    }
}

/// Logistic sigmoid `1 / (1 + e^-x)`, computed without overflow for large |x|.
pub struct Sigmoid;
impl Activation for Sigmoid {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        if x >= F::ZERO {
            F::ONE / (F::ONE + (-x).exp())
        } else {
            let e = x.exp();
            e / (F::ONE + e)
        }
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, y: F, _alpha: F) -> F {
        y * (F::ONE - y)
    }
}

/// `|x|`; the derivative at 0 is 0, as PyTorch's `sign(x)`.
pub struct Abs;
impl Activation for Abs {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        x.abs()
    }
    #[inline(always)]
    fn df<F: Float>(x: F, _y: F, _alpha: F) -> F {
        if x > F::ZERO {
            F::ONE
        } else if x < F::ZERO {
            -F::ONE
        } else {
            F::ZERO
        }
    }
}

/// `ln(1 + eˣ)`, and `x` itself above 20, as `nn.Softplus()` (beta 1, threshold 20).
pub struct Softplus;
impl Activation for Softplus {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        if x > F::from_f64(20.0) {
            x
        } else {
            // ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|), exact for very negative x too.
            x.max(F::ZERO) + (-x.abs()).exp().ln_1p()
        }
    }
    #[inline(always)]
    fn df<F: Float>(x: F, _y: F, alpha: F) -> F {
        if x > F::from_f64(20.0) {
            F::ONE
        } else {
            Sigmoid::f(x, alpha)
        }
    }
}

/// `x` for `x > 0`, else `alpha·x`, as `nn.LeakyReLU(alpha)`.
pub struct LeakyRelu;
impl Activation for LeakyRelu {
    #[inline(always)]
    fn f<F: Float>(x: F, alpha: F) -> F {
        if x > F::ZERO {
            x
        } else {
            alpha * x
        }
    }
    #[inline(always)]
    fn df<F: Float>(x: F, _y: F, alpha: F) -> F {
        if x > F::ZERO {
            F::ONE
        } else {
            alpha
        }
    }
}

/// `x` for `x > 0`, else `alpha·(eˣ − 1)`, as `nn.ELU(alpha)`.
pub struct Elu;
impl Activation for Elu {
    #[inline(always)]
    fn f<F: Float>(x: F, alpha: F) -> F {
        if x > F::ZERO {
            x
        } else {
            alpha * (x.exp() - F::ONE)
        }
    }
    #[inline(always)]
    fn df<F: Float>(x: F, y: F, alpha: F) -> F {
        if x > F::ZERO {
            F::ONE
        } else {
            y + alpha
        }
    }
}

/// C++'s `std::max(a, b)`, `a < b ? b : a`, and `std::min(a, b)`, `b < a ? b : a`, as
/// PyTorch's scalar kernels use them: a NaN `a` comes back unchanged (so it propagates
/// as PyTorch's vector kernels' `maximum`/`minimum` make it), unlike `f64::max`.
#[inline(always)]
fn cpp_max<F: Float>(a: F, b: F) -> F {
    if a < b {
        b
    } else {
        a
    }
}
#[inline(always)]
fn cpp_min<F: Float>(a: F, b: F) -> F {
    if b < a {
        b
    } else {
        a
    }
}

/// `min(max(x, 0), 6)`, as `nn.ReLU6` (PyTorch's `hardtanh(x, 0, 6)`). The derivative
/// is 1 strictly inside (0, 6) and 0 elsewhere, kinks included, as PyTorch's
/// `hardtanh_backward` (and 0 at NaN, as its vector kernel and [`Relu`]). It reads
/// only the output: the output lies strictly inside (0, 6) exactly when the input does,
/// so the activation fuses into the layer before it.
pub struct Relu6;
impl Activation for Relu6 {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        cpp_min(cpp_max(x, F::ZERO), F::from_f64(6.0))
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, y: F, _alpha: F) -> F {
        if y > F::ZERO && y < F::from_f64(6.0) {
            F::ONE
        } else {
            F::ZERO
        }
    }
}

/// `x · min(max(x + 3, 0), 6) / 6`, as `nn.Hardswish` (the same operations in the same
/// order as PyTorch's kernel, so the same bits). The derivative, as PyTorch's
/// `hardswish_backward` since 2.7 (pytorch/pytorch#148049): 0 up to −3, `x/3 + 1/2`
/// strictly inside (−3, 3), 1 from 3 on — at the kinks the outer pieces' values (0 and
/// 1), where PyTorch before 2.7 gave the inner formula's (−1/2 and 3/2). It needs the
/// input: an output of 0 comes from both sides of −3.
pub struct Hardswish;
impl Activation for Hardswish {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        let six = F::from_f64(6.0);
        x * cpp_min(cpp_max(x + F::from_f64(3.0), F::ZERO), six) / six
    }
    #[inline(always)]
    fn df<F: Float>(x: F, _y: F, _alpha: F) -> F {
        let three = F::from_f64(3.0);
        if x <= -three {
            F::ZERO
        } else if x < three {
            x / three + F::from_f64(0.5)
        } else {
            F::ONE
        }
    }
}

/// PyTorch's `hardsigmoid_backward` constant, `1.0f / 6.0f`: 1/6 rounded to f32, in f64
/// too (PyTorch's float64 gradient is 0.1666666716337204, not 1/6).
const ONE_SIXTH_F32: f32 = 1.0 / 6.0;

/// `min(max(x + 3, 0), 6) / 6`, as `nn.Hardsigmoid`. The derivative is 1/6 (as PyTorch
/// has it: `1.0f32 / 6.0`) strictly inside (−3, 3) and 0 elsewhere, ±3 included, as
/// PyTorch's `hardsigmoid_backward`. It needs the input: just below 3, `x + 3` rounds to
/// 6 and the output to 1, where PyTorch's derivative is still 1/6.
pub struct Hardsigmoid;
impl Activation for Hardsigmoid {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        let six = F::from_f64(6.0);
        cpp_min(cpp_max(x + F::from_f64(3.0), F::ZERO), six) / six
    }
    #[inline(always)]
    fn df<F: Float>(x: F, _y: F, _alpha: F) -> F {
        let three = F::from_f64(3.0);
        if x > -three && x < three {
            F::from_f64(ONE_SIXTH_F32 as f64)
        } else {
            F::ZERO
        }
    }
}

#[inline(always)]
fn apply<F: Float, A: Activation>(x: &[F], y: &mut [F], alpha: F) {
    for (o, &i) in y.iter_mut().zip(x) {
        *o = A::f(i, alpha);
    }
}

/// The same loop compiled for AVX2 and FMA: the branch-free functions (`tanh` above
/// all) then vectorize 8 lanes wide instead of SSE2's 4.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn apply_avx2<F: Float, A: Activation>(x: &[F], y: &mut [F], alpha: F) {
    apply::<F, A>(x, y, alpha)
}

#[inline(always)]
fn add_bias_portable<F: Float>(x: &[F], bias: F, y: &mut [F]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v + bias;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_bias_avx2<F: Float>(x: &[F], bias: F, y: &mut [F]) {
    add_bias_portable(x, bias, y)
}

/// `y[i] = x[i] + bias` over `min(x.len(), y.len())` values: an epilogue's copy out of
/// a kernel's staging layout, compiled for AVX2 where the processor has it (the
/// generic loop compiled for the baseline target ran scalar, and cost more than the
/// activation after it).
#[inline]
pub fn add_bias<F: Float>(x: &[F], bias: F, y: &mut [F]) {
    #[cfg(target_arch = "x86_64")]
    if simd::level() >= Level::Avx2 {
        // SAFETY: AVX2 and FMA were detected at run time, the only requirement of the
        // `#[target_feature]` function, whose body is safe code.
        unsafe { add_bias_avx2(x, bias, y) };
        return;
    }
    add_bias_portable(x, bias, y)
}

#[inline(always)]
fn apply_in_place<F: Float, A: Activation>(values: &mut [F], alpha: F) {
    for v in values {
        *v = A::f(*v, alpha);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn apply_in_place_avx2<F: Float, A: Activation>(values: &mut [F], alpha: F) {
    apply_in_place::<F, A>(values, alpha)
}

/// `v = f(v)` for every value: the epilogue a layer runs on output it has just written
/// (still in L1), instead of a separate pass over the whole batch later.
#[inline]
pub fn in_place<F: Float, A: Activation>(values: &mut [F], alpha: F) {
    if A::IS_IDENTITY {
        return;
    }
    if A::VECTOR_TANH {
        if let Some(values) = as_f32_mut(values) {
            tanh::in_place(values);
            return;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if simd::level() >= Level::Avx2 {
        // SAFETY: AVX2 and FMA were detected at run time, the only requirement of the
        // `#[target_feature]` function, whose body is safe code.
        unsafe { apply_in_place_avx2::<F, A>(values, alpha) };
        return;
    }
    apply_in_place::<F, A>(values, alpha)
}

/// `y = f(x)` over `LEN` elements per sample.
pub fn forward<F: Float, A: Activation, const LEN: usize>(batch: usize, x: &[F], y: &mut [F], alpha: F) {
    let (x, y) = (&x[..batch * LEN], &mut y[..batch * LEN]);
    if A::VECTOR_TANH {
        if let (Some(x), Some(y)) = (as_f32(x), as_f32_mut(y)) {
            tanh::apply(x, y);
            return;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if simd::level() >= Level::Avx2 {
        // SAFETY: AVX2 and FMA were detected at run time, the only requirement of the
        // `#[target_feature]` function, whose body is safe code.
        unsafe { apply_avx2::<F, A>(x, y, alpha) };
        return;
    }
    apply::<F, A>(x, y, alpha)
}

/// `dx = dy · f'(x)`.
pub fn backward<F: Float, A: Activation, const LEN: usize>(
    batch: usize, x: &[F], y: &[F], dy: &[F], dx: &mut [F], alpha: F,
) {
    let n = batch * LEN;
    for (((d, &g), &yi), &xi) in dx[..n].iter_mut().zip(&dy[..n]).zip(&y[..n]).zip(&x[..n]) {
        *d = g * A::df(xi, yi, alpha);
    }
}

/// `x` for `x > 0`, else `a_c·x` with one learned slope per channel, as `nn.PReLU(C)`.
/// `params` holds the C slopes; each sample is `[C, S]`.
pub fn prelu_forward<F: Float, const C: usize, const S: usize>(batch: usize, x: &[F], params: &[F], y: &mut [F]) {
    for (xs, ys) in x[..batch * C * S].chunks_exact(C * S).zip(y.chunks_exact_mut(C * S)) {
        for c in 0..C {
            let a = params[c];
            for (o, &i) in ys[c * S..(c + 1) * S].iter_mut().zip(&xs[c * S..(c + 1) * S]) {
                *o = if i > F::ZERO { i } else { a * i };
            }
        }
    }
}

/// PReLU backward: slope gradients (overwritten) and, if asked, the input gradient.
pub fn prelu_backward<F: Float, const C: usize, const S: usize>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], mut dx: Option<&mut [F]>,
) {
    grads[..C].fill(F::ZERO);
    for n in 0..batch {
        for c in 0..C {
            let a = params[c];
            let base = (n * C + c) * S;
            let mut slope = F::ZERO;
            for i in base..base + S {
                let positive = x[i] > F::ZERO;
                if !positive {
                    slope += dy[i] * x[i];
                }
                if let Some(dx) = dx.as_deref_mut() {
                    dx[i] = if positive { dy[i] } else { a * dy[i] };
                }
            }
            grads[c] += slope;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derivative_matches<A: Activation>(points: &[f64]) {
        let alpha = 0.3;
        for &x in points {
            let h = 1e-6;
            let numeric = (A::f(x + h, alpha) - A::f(x - h, alpha)) / (2.0 * h);
            let analytic = A::df(x, A::f(x, alpha), alpha);
            assert!((numeric - analytic).abs() < 1e-7, "at {x}: {numeric} vs {analytic}");
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let points = [-30.0, -2.5, -0.3, 0.4, 1.7, 30.0];
        derivative_matches::<Relu>(&points);
        derivative_matches::<Tanh>(&points);
        derivative_matches::<Sigmoid>(&points);
        derivative_matches::<Abs>(&points);
        derivative_matches::<Softplus>(&points);
        derivative_matches::<LeakyRelu>(&points);
        derivative_matches::<Elu>(&points);
        let hard = [-30.0, -3.5, -2.5, -0.3, 0.4, 1.7, 2.9, 3.1, 5.5, 6.5, 30.0];
        derivative_matches::<Relu6>(&hard);
        derivative_matches::<Hardswish>(&hard);
        derivative_matches::<Hardsigmoid>(&hard);
    }

    /// The values PyTorch 2.15 gives at and around the kinks (`torch.autograd.grad` of
    /// `F.relu6`, `F.hardswish`, `F.hardsigmoid`, float64 and float32): relu6's
    /// derivative is 0 at 0 and 6; hardswish's 0 at −3 and 1 at 3; hardsigmoid's
    /// 0.1666666716337204 (1/6 in f32) only strictly inside (−3, 3).
    #[test]
    fn hard_activations_at_their_kinks() {
        let df = |f: fn(f64, f64, f64) -> f64, fx: fn(f64, f64) -> f64, x: f64| f(x, fx(x, 0.0), 0.0);
        let relu6 = |x| df(Relu6::df, Relu6::f, x);
        assert_eq!([-1.0, 0.0, 3.0, 6.0, 7.0].map(relu6), [0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!([-1.0, 0.0, 3.0, 6.0, 7.0].map(|x| Relu6::f(x, 0.0)), [0.0, 0.0, 3.0, 6.0, 6.0]);
        let hardswish = |x| df(Hardswish::df, Hardswish::f, x);
        assert_eq!([-4.0, -3.0, -1.5, 0.0, 3.0, 4.0].map(hardswish), [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]);
        assert_eq!(hardswish(-2.9999999), -0.4999999666666667);
        assert_eq!(hardswish(2.9999999), 1.4999999666666666);
        assert_eq!([-4.0, -3.0, -1.5, 3.0, 4.0].map(|x| Hardswish::f(x, 0.0)), [-0.0, -0.0, -0.375, 3.0, 4.0]);
        let hardsigmoid = |x| df(Hardsigmoid::df, Hardsigmoid::f, x);
        assert_eq!(
            [-4.0, -3.0, 0.0, 2.9999999, 3.0, 4.0].map(hardsigmoid),
            [0.0, 0.0, 0.1666666716337204, 0.1666666716337204, 0.0, 0.0]
        );
        assert_eq!([-4.0, -3.0, 0.0, 1.5, 3.0, 4.0].map(|x| Hardsigmoid::f(x, 0.0)), [0.0, 0.0, 0.5, 0.75, 1.0, 1.0]);
        // Just below 3 in f32, x + 3 rounds to 6: the output is 1, the derivative still 1/6.
        let below = f32::from_bits(3.0f32.to_bits() - 1);
        assert_eq!(Hardsigmoid::f(below, 0.0), 1.0);
        assert_eq!(Hardsigmoid::df(below, 1.0, 0.0), 1.0 / 6.0);
    }

    /// The AVX2 build of the loop computes exactly what the portable one does (no
    /// contraction into FMA happens in either), for every activation.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_path_equals_the_portable_path() {
        if simd::level() < Level::Avx2 {
            return;
        }
        fn same<A: Activation>() {
            let x: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.031).collect();
            let (mut portable, mut vector) = (vec![0.0f32; 1000], vec![0.0f32; 1000]);
            apply::<f32, A>(&x, &mut portable, 0.2);
            // SAFETY: AVX2 and FMA were detected just above.
            unsafe { apply_avx2::<f32, A>(&x, &mut vector, 0.2) };
            assert_eq!(portable, vector);
        }
        same::<Tanh>();
        same::<Sigmoid>();
        same::<Relu>();
        same::<Softplus>();
        same::<LeakyRelu>();
        same::<Elu>();
        same::<Abs>();
        same::<Relu6>();
        same::<Hardswish>();
        same::<Hardsigmoid>();
    }

    #[test]
    fn parameterized_values() {
        assert_eq!(LeakyRelu::f(-2.0f64, 0.01), -0.02);
        assert!((Elu::f(-1.0f64, 1.0) - (1f64.exp().recip() - 1.0)).abs() < 1e-15);
        assert_eq!(Softplus::f(30.0f64, 0.0), 30.0);
        assert!((Softplus::f(-50.0f64, 0.0) - (-50f64).exp()).abs() < 1e-30);
        assert_eq!(Abs::df(0.0f64, 0.0, 0.0), 0.0);
    }

    /// NaN goes through every activation as NaN (PyTorch's behaviour), so a NaN input
    /// reaches the loss and the step is refused instead of training on zeros.
    #[test]
    fn nan_propagates_through_every_activation() {
        fn nan_out<A: Activation>() -> bool {
            A::f(f64::NAN, 0.1).is_nan() && A::f(f32::NAN, 0.1).is_nan()
        }
        assert!(nan_out::<Relu>() && nan_out::<Tanh>() && nan_out::<Sigmoid>() && nan_out::<Abs>());
        assert!(nan_out::<Softplus>() && nan_out::<LeakyRelu>() && nan_out::<Elu>() && nan_out::<Identity>());
        assert!(nan_out::<Relu6>() && nan_out::<Hardswish>() && nan_out::<Hardsigmoid>());
        let mut values = [f32::NAN, -1.0, 2.0, -0.0];
        in_place::<f32, Relu>(&mut values, 0.0);
        assert!(values[0].is_nan());
        assert_eq!(values[1..], [0.0, 2.0, -0.0]);
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(Sigmoid::f(-1000.0f32, 0.0), 0.0);
        assert_eq!(Sigmoid::f(1000.0f32, 0.0), 1.0);
        assert_eq!(Relu::f(-0.0f64, 0.0), 0.0);
    }
}
