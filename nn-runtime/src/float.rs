//! The element types networks compute in: `f32` for speed, `f64` for gradient checks.

use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type. Implemented for `f32` and `f64` only: the kernels
/// dispatch to `matrixmultiply`'s `sgemm`/`dgemm` through [`Float::gemm_raw`].
pub trait Float:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
{
    const ZERO: Self;
    const ONE: Self;
    const NEG_INFINITY: Self;
    /// Name as PyTorch and safetensors spell the dtype.
    const DTYPE: &'static str;

    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_usize(x: usize) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    /// `ln(1 + self)`, accurate for tiny `self`.
    fn ln_1p(self) -> Self;
    fn tanh(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, other: Self) -> Self;
    /// `self · a + b` with one rounding (a single instruction where FMA is enabled).
    fn mul_add(self, a: Self, b: Self) -> Self;
    fn is_finite(self) -> bool;
    fn is_nan(self) -> bool;

    /// The sum of `values` in 8 interleaved lanes, then the lanes in order: independent
    /// chains that vectorize and hide the adder's latency (one chain is latency-bound:
    /// it cost more than the convolution products it follows), in an order fixed by the
    /// length alone.
    fn sum(values: &[Self]) -> Self {
        let mut lanes = [Self::ZERO; 8];
        let chunks = values.chunks_exact(8);
        let tail = chunks.remainder();
        for chunk in chunks {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += v;
            }
        }
        tail.iter().fold(lanes.iter().fold(Self::ZERO, |a, &b| a + b), |a, &b| a + b)
    }

    /// Whether every value is finite: `v·0` is 0 for finite `v` and NaN otherwise,
    /// summed in 32 independent lanes so the loop vectorizes (it runs on every
    /// training step's gradients).
    fn all_finite(values: &[Self]) -> bool {
        let mut lanes = [Self::ZERO; 32];
        let chunks = values.chunks_exact(32);
        let tail = chunks.remainder();
        for chunk in chunks {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += v * Self::ZERO;
            }
        }
        tail.iter().chain(&lanes).all(|v| v.is_finite())
    }

    /// `C ← α A B + β C` on raw strided matrices.
    ///
    /// # Safety
    /// As `matrixmultiply::sgemm`: every element addressed through the dimensions and
    /// strides must lie inside the allocations behind `a`, `b` and `c`, and `c` must not
    /// alias `a` or `b`. [`crate::kernels::gemm::gemm`] checks this and is the safe entry point.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize, k: usize, n: usize, alpha: Self, a: *const Self, rsa: isize, csa: isize, b: *const Self, rsb: isize,
        csb: isize, beta: Self, c: *mut Self, rsc: isize, csc: isize,
    );
}

macro_rules! impl_float {
    ($t:ty, $gemm:path, $dtype:literal, $tanh:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const DTYPE: &'static str = $dtype;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_usize(x: usize) -> Self {
                x as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                #[cfg(feature = "std")]
                return <$t>::exp(self);
                #[cfg(not(feature = "std"))]
                libm::Libm::<$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                #[cfg(feature = "std")]
                return <$t>::ln(self);
                #[cfg(not(feature = "std"))]
                libm::Libm::<$t>::log(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                #[cfg(feature = "std")]
                return <$t>::ln_1p(self);
                #[cfg(not(feature = "std"))]
                libm::Libm::<$t>::log1p(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                #[cfg(feature = "std")]
                return <$t>::sqrt(self);
                #[cfg(not(feature = "std"))]
                libm::Libm::<$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                #[cfg(feature = "std")]
                return <$t>::mul_add(self, a, b);
                #[cfg(not(feature = "std"))]
                libm::Libm::<$t>::fma(self, a, b)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            unsafe fn gemm_raw(
                m: usize, k: usize, n: usize, alpha: Self, a: *const Self, rsa: isize, csa: isize, b: *const Self,
                rsb: isize, csb: isize, beta: Self, c: *mut Self, rsc: isize, csc: isize,
            ) {
                // SAFETY: forwarded verbatim; the caller upholds `gemm_raw`'s contract,
                // which is exactly matrixmultiply's (and the portable loop's).
                #[cfg(feature = "std")]
                return unsafe { $gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) };
                #[cfg(not(feature = "std"))]
                unsafe {
                    portable_gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
                }
            }
        }
    };
}

impl_float!(f32, matrixmultiply::sgemm, "F32", rational_tanh::scalar);
#[cfg(feature = "std")]
impl_float!(f64, matrixmultiply::dgemm, "F64", f64::tanh);
#[cfg(not(feature = "std"))]
impl_float!(f64, matrixmultiply::dgemm, "F64", libm::tanh);

/// `C ← α A B + β C` without `matrixmultiply` (which needs an allocator): one fused
/// multiply-add chain per element, C not read where β is 0 (as `matrixmultiply`).
///
/// # Safety
/// As [`Float::gemm_raw`].
#[cfg(not(feature = "std"))]
#[allow(clippy::too_many_arguments)]
unsafe fn portable_gemm<F: Float>(
    m: usize, k: usize, n: usize, alpha: F, a: *const F, rsa: isize, csa: isize, b: *const F, rsb: isize, csb: isize,
    beta: F, c: *mut F, rsc: isize, csc: isize,
) {
    // SAFETY: every offset formed is an element (i, p) of A, (p, j) of B or (i, j) of C,
    // inside their allocations by the contract; C aliases neither.
    unsafe {
        for i in 0..m as isize {
            for j in 0..n as isize {
                let mut sum = F::ZERO;
                for p in 0..k as isize {
                    sum = (*a.offset(i * rsa + p * csa)).mul_add(*b.offset(p * rsb + j * csb), sum);
                }
                let out = c.offset(i * rsc + j * csc);
                *out = if beta == F::ZERO { alpha * sum } else { alpha * sum + beta * *out };
            }
        }
    }
}

/// `tanh` for f32 as a branch-free rational function (the 13/6 minimax approximation
/// Eigen uses), so loops over it vectorize. The coefficients are shared with the
/// vector kernels in [`crate::kernels::tanh`], which test all of them against f64.
pub mod rational_tanh {
    /// Beyond ±7.9053 tanh rounds to ±1 in f32; the clamp also keeps the polynomial tame.
    pub(crate) const CLAMP: f32 = 7.905_311;
    /// Below this magnitude tanh(x) = x to f32 precision, and p/q would lose the last bit.
    pub(crate) const TINY: f32 = 4e-4;
    /// Numerator `p(x²)`, highest power first; the numerator is `x · p(x²)`.
    pub(crate) const P: [f32; 7] =
        [-2.760_768_5e-16, 2.000_188e-13, -8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619_3e-4, 4.893_524_6e-3];
    /// Denominator `q(x²)`, highest power first.
    pub(crate) const Q: [f32; 4] = [1.198_258_4e-6, 1.185_347e-4, 2.268_434_6e-3, 4.893_525e-3];

    /// `tanh(x)` within 4 ULP (relative 5e-7) of the correctly rounded result over the
    /// whole range, branch-free so that loops over it vectorize.
    #[inline(always)]
    pub fn scalar(x: f32) -> f32 {
        let x = x.clamp(-CLAMP, CLAMP);
        let x2 = x * x;
        let mut p = x2 * P[0] + P[1];
        for c in &P[2..] {
            p = x2 * p + c;
        }
        p *= x;
        let mut q = x2 * Q[0] + Q[1];
        for c in &Q[2..] {
            q = x2 * q + c;
        }
        if x.abs() < TINY {
            x
        } else {
            p / q
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sum_adds_every_value_including_the_tail() {
        for n in [0usize, 1, 7, 8, 9, 100, 803] {
            let values: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).sin()).collect();
            let sequential: f64 = values.iter().sum();
            assert!((f64::sum(&values) - sequential).abs() < 1e-12, "n = {n}");
            let exact: Vec<f32> = (0..n).map(|i| i as f32).collect();
            assert_eq!(f32::sum(&exact), (n * n.saturating_sub(1) / 2) as f32, "n = {n}");
        }
    }
}
