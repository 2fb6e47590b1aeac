//! Element-wise activations, each defined once as a pair: the function and its
//! derivative written in terms of the input and output (whichever is cheaper).

use crate::float::Float;

/// An element-wise function with its derivative, and one optional parameter `alpha`
/// (the negative slope of `leaky_relu`, the scale of `elu`; ignored by the others).
pub trait Activation {
    fn f<F: Float>(x: F, alpha: F) -> F;
    /// `dy/dx` given both the input `x` and the output `y = f(x)`.
    fn df<F: Float>(x: F, y: F, alpha: F) -> F;
    /// [`Identity`]: a fused epilogue skips its pass.
    const IS_IDENTITY: bool = false;
    /// f32 on AVX2 runs the hand-written [`tanh8`] instead of the compiled `f`.
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

/// `max(0, x)`; the derivative at 0 is 0, as in PyTorch.
pub struct Relu;
impl Activation for Relu {
    #[inline(always)]
    fn f<F: Float>(x: F, _alpha: F) -> F {
        if x > F::ZERO {
            x
        } else {
            F::ZERO
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

/// [`crate::float::tanh_f32`]'s rational function on 8 lanes, with explicit FMAs and its
/// one division replaced by a reciprocal estimate refined by a Newton step: the compiled
/// loop spent half its time waiting on `vdivps` (perf, LeNet-5 inference). Within 6 ULP
/// of the correctly rounded tanh (tests below; the portable function is within 4), and
/// the same for a value wherever it sits in a slice.
///
/// # Safety
/// Requires AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh8(raw: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    const CLAMP: f32 = 7.905_311;
    let splat = _mm256_set1_ps;
    // max(lo, x) and min(hi, ·) return their second operand if it is NaN: NaN propagates.
    let v = _mm256_min_ps(splat(CLAMP), _mm256_max_ps(splat(-CLAMP), raw));
    let x2 = _mm256_mul_ps(v, v);
    let mut p = _mm256_fmadd_ps(x2, splat(-2.760_768_5e-16), splat(2.000_188e-13));
    for c in [-8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619_3e-4, 4.893_524_6e-3] {
        p = _mm256_fmadd_ps(x2, p, splat(c));
    }
    p = _mm256_mul_ps(p, v);
    let mut q = _mm256_fmadd_ps(x2, splat(1.198_258_4e-6), splat(1.185_347e-4));
    for c in [2.268_434_6e-3, 4.893_525e-3] {
        q = _mm256_fmadd_ps(x2, q, splat(c));
    }
    let estimate = _mm256_rcp_ps(q);
    let reciprocal = _mm256_mul_ps(estimate, _mm256_fnmadd_ps(q, estimate, splat(2.0)));
    let magnitude = _mm256_andnot_ps(splat(-0.0), v);
    // Tiny inputs: tanh(x) = x. Saturated ones: exactly ±1 (the estimate lands one ULP short).
    let tiny = _mm256_cmp_ps::<_CMP_LT_OQ>(magnitude, splat(4e-4));
    let saturated = _mm256_cmp_ps::<_CMP_GE_OQ>(magnitude, splat(CLAMP));
    let one = _mm256_or_ps(splat(1.0), _mm256_and_ps(splat(-0.0), v));
    let value = _mm256_blendv_ps(_mm256_mul_ps(p, reciprocal), v, tiny);
    _mm256_blendv_ps(value, one, saturated)
}

/// `values[i] = tanh(values[i])` by [`tanh8`], 8 at a time, the tail padded to 8.
///
/// # Safety
/// Requires AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh_in_place_avx2(values: &mut [f32]) {
    use std::arch::x86_64::*;
    let mut chunks = values.chunks_exact_mut(8);
    for chunk in &mut chunks {
        // SAFETY: the chunk holds exactly 8 values, the width of one load and store;
        // AVX2 and FMA are this function's own requirement.
        unsafe { _mm256_storeu_ps(chunk.as_mut_ptr(), tanh8(_mm256_loadu_ps(chunk.as_ptr()))) };
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        // The same formula for the tail, so a value's result never depends on where it
        // sits in the batch.
        let mut lanes = [0.0f32; 8];
        lanes[..tail.len()].copy_from_slice(tail);
        // SAFETY: `lanes` holds exactly 8 values.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), tanh8(_mm256_loadu_ps(lanes.as_ptr()))) };
        tail.copy_from_slice(&lanes[..tail.len()]);
    }
}

/// `y = tanh(x)` by [`tanh8`], as [`tanh_in_place_avx2`].
///
/// # Safety
/// Requires AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh_avx2(x: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::*;
    let y = &mut y[..x.len()];
    let (mut inputs, mut outputs) = (x.chunks_exact(8), y.chunks_exact_mut(8));
    for (input, output) in (&mut inputs).zip(&mut outputs) {
        // SAFETY: as in `tanh_in_place_avx2`.
        unsafe { _mm256_storeu_ps(output.as_mut_ptr(), tanh8(_mm256_loadu_ps(input.as_ptr()))) };
    }
    let tail = outputs.into_remainder();
    tail.copy_from_slice(inputs.remainder());
    // SAFETY: as above.
    unsafe { tanh_in_place_avx2(tail) };
}

/// [`tanh8`]'s rational function on 16 lanes, with masks instead of blends and a true
/// division: the 8-lane loop was bound by instruction issue, and with half the
/// instructions the Newton-refined reciprocal becomes the bottleneck on the FMA pipes,
/// where `vdivps` runs on its own unit. Correctly rounded division also makes the
/// result the same on every processor with AVX-512. On Zen 4 (whose 512-bit
/// operations cost two 256-bit ones) 1.5–2.7× [`tanh8`]'s throughput
/// (`examples/tanh_throughput.rs`); the reciprocal variant was 15% slower than this one.
///
/// # Safety
/// Requires AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tanh16(raw: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    const CLAMP: f32 = 7.905_311;
    let splat = _mm512_set1_ps;
    // As in `tanh8`: max and min return their second operand if it is NaN.
    let v = _mm512_min_ps(splat(CLAMP), _mm512_max_ps(splat(-CLAMP), raw));
    let x2 = _mm512_mul_ps(v, v);
    let mut p = _mm512_fmadd_ps(x2, splat(-2.760_768_5e-16), splat(2.000_188e-13));
    for c in [-8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619_3e-4, 4.893_524_6e-3] {
        p = _mm512_fmadd_ps(x2, p, splat(c));
    }
    p = _mm512_mul_ps(p, v);
    let mut q = _mm512_fmadd_ps(x2, splat(1.198_258_4e-6), splat(1.185_347e-4));
    for c in [2.268_434_6e-3, 4.893_525e-3] {
        q = _mm512_fmadd_ps(x2, q, splat(c));
    }
    let magnitude = _mm512_abs_ps(v);
    let tiny = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(magnitude, splat(4e-4));
    let saturated = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(magnitude, splat(CLAMP));
    let sign = _mm512_and_si512(_mm512_castps_si512(splat(-0.0)), _mm512_castps_si512(v));
    let one = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(splat(1.0)), sign));
    let value = _mm512_mask_blend_ps(tiny, _mm512_div_ps(p, q), v);
    _mm512_mask_blend_ps(saturated, value, one)
}

/// `y[i] = tanh(x[i])` by [`tanh16`], 16 at a time, the tail by masked loads and stores
/// (lanes are independent, so a value's result never depends on its position). `y` may
/// be `x` itself: in place is the same loop.
///
/// # Safety
/// Requires AVX-512F; `x` and `y` are valid for `len` reads and writes (they may be the
/// same memory, nothing else may alias `y`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tanh_avx512(x: *const f32, y: *mut f32, len: usize) {
    use std::arch::x86_64::*;
    let mut i = 0;
    while i + 16 <= len {
        // SAFETY: i + 16 ≤ len, inside both ranges.
        unsafe { _mm512_storeu_ps(y.add(i), tanh16(_mm512_loadu_ps(x.add(i)))) };
        i += 16;
    }
    if i < len {
        let mask: __mmask16 = ((1u32 << (len - i)) - 1) as u16;
        // SAFETY: masked-off lanes are neither read nor written (nor fault), and the
        // `len - i < 16` lanes left are inside both ranges.
        unsafe { _mm512_mask_storeu_ps(y.add(i), mask, tanh16(_mm512_maskz_loadu_ps(mask, x.add(i)))) };
    }
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
    if crate::small_gemm::available() {
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
    #[cfg(target_arch = "x86_64")]
    if crate::small_gemm::available() {
        if A::VECTOR_TANH {
            if let Some(values) = crate::small_gemm::as_f32_mut(values) {
                if crate::simd::level() == crate::simd::Level::Avx512 {
                    let (len, values) = (values.len(), values.as_mut_ptr());
                    // SAFETY: AVX-512F was detected at run time; the one pointer comes
                    // from an exclusive slice of `len` values.
                    unsafe { tanh_avx512(values, values, len) };
                } else {
                    // SAFETY: AVX2 and FMA were detected at run time, its one requirement.
                    unsafe { tanh_in_place_avx2(values) };
                }
                return;
            }
        }
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
    #[cfg(target_arch = "x86_64")]
    if crate::small_gemm::available() {
        if A::VECTOR_TANH {
            if let (Some(x), Some(y)) = (crate::small_gemm::as_f32(x), crate::small_gemm::as_f32_mut(y)) {
                if crate::simd::level() == crate::simd::Level::Avx512 {
                    // SAFETY: AVX-512F was detected at run time; `x` and `y` hold the
                    // same number of values (sliced above) and `y` is exclusive.
                    unsafe { tanh_avx512(x.as_ptr(), y.as_mut_ptr(), x.len()) };
                } else {
                    // SAFETY: AVX2 and FMA were detected at run time, its one requirement.
                    unsafe { tanh_avx2(x, y) };
                }
                return;
            }
        }
        // SAFETY: AVX2 and FMA were detected at run time, the only requirement of the
        // `#[target_feature]` function, whose body is safe code.
        unsafe { apply_avx2::<F, A>(x, y, alpha) };
        return;
    }
    apply::<F, A>(x, y, alpha)
}

/// `dx = dy · f'(x)`.
pub fn backward<F: Float, A: Activation, const LEN: usize>(
    batch: usize,
    x: &[F],
    y: &[F],
    dy: &[F],
    dx: &mut [F],
    alpha: F,
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
    batch: usize,
    x: &[F],
    params: &[F],
    dy: &[F],
    grads: &mut [F],
    mut dx: Option<&mut [F]>,
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
    }

    /// The AVX2 build of the loop computes exactly what the portable one does (no
    /// contraction into FMA happens in either), for every activation.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_path_equals_the_portable_path() {
        if !crate::small_gemm::available() {
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
    }

    #[cfg(target_arch = "x86_64")]
    /// A hand-written f32 tanh against f64's over the whole range, out of place and in
    /// place (every lane and the tail), and at the edges: ±∞, NaN, tiny values, ±0.
    fn check_vector_tanh(kernel: &str, out_of_place: impl Fn(&[f32], &mut [f32]), in_place: impl Fn(&mut [f32])) {
        let xs: Vec<f32> = (0..141_177).map(|i| -12.0 + i as f32 * 1.7e-4).collect();
        let mut ys = vec![0.0f32; xs.len()];
        out_of_place(&xs, &mut ys);
        let mut same = xs.clone();
        in_place(&mut same);
        assert_eq!(ys, same, "{kernel}: in place");
        // A value's result does not depend on its position (vector body or tail).
        for shift in 1..16 {
            let mut moved = xs[shift..shift + 101].to_vec();
            in_place(&mut moved);
            assert_eq!(moved, ys[shift..shift + 101], "{kernel}: shifted by {shift}");
        }
        let mut worst = 0.0f64;
        for (&x, &y) in xs.iter().zip(&ys) {
            let exact = (x as f64).tanh();
            let ulp = (exact as f32).abs().max(f32::MIN_POSITIVE) as f64 * f32::EPSILON as f64;
            worst = worst.max((y as f64 - exact).abs() / ulp);
        }
        assert!(worst <= 6.0, "{kernel}: worst error {worst} ULP");
        let mut edges = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-6, -1e-6, 0.0, -0.0, 100.0, -100.0];
        in_place(&mut edges[..8]);
        in_place(&mut edges[8..]);
        assert_eq!(&edges[..2], &[1.0, -1.0], "{kernel}");
        assert!(edges[2].is_nan(), "{kernel}");
        assert_eq!(&edges[3..7], &[1e-6, -1e-6, 0.0, -0.0], "{kernel}");
        assert_eq!(&edges[7..], &[1.0, -1.0], "{kernel}");
        assert!(edges[5].is_sign_positive() && edges[6].is_sign_negative(), "{kernel}");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_tanh_is_within_six_ulp_everywhere() {
        if crate::simd::detect() < crate::simd::Level::Avx2 {
            return;
        }
        check_vector_tanh(
            "avx2",
            // SAFETY: AVX2 and FMA are available (checked above); the slices are
            // equally long.
            |x, y| unsafe { tanh_avx2(x, y) },
            // SAFETY: as above.
            |v| unsafe { tanh_in_place_avx2(v) },
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_tanh_is_within_six_ulp_everywhere() {
        if crate::simd::detect() < crate::simd::Level::Avx512 {
            return;
        }
        check_vector_tanh(
            "avx512",
            // SAFETY: AVX-512F is available (checked above); both slices hold `x.len()`
            // values and `y` is exclusive.
            |x, y| unsafe { tanh_avx512(x.as_ptr(), y[..x.len()].as_mut_ptr(), x.len()) },
            |v| {
                let (len, v) = (v.len(), v.as_mut_ptr());
                // SAFETY: as above, reading and writing one exclusive slice.
                unsafe { tanh_avx512(v, v, len) }
            },
        );
    }

    #[test]
    fn parameterized_values() {
        assert_eq!(LeakyRelu::f(-2.0f64, 0.01), -0.02);
        assert!((Elu::f(-1.0f64, 1.0) - (1f64.exp().recip() - 1.0)).abs() < 1e-15);
        assert_eq!(Softplus::f(30.0f64, 0.0), 30.0);
        assert!((Softplus::f(-50.0f64, 0.0) - (-50f64).exp()).abs() < 1e-30);
        assert_eq!(Abs::df(0.0f64, 0.0, 0.0), 0.0);
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(Sigmoid::f(-1000.0f32, 0.0), 0.0);
        assert_eq!(Sigmoid::f(1000.0f32, 0.0), 1.0);
        assert_eq!(Relu::f(-0.0f64, 0.0), 0.0);
    }
}
