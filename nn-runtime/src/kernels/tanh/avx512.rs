//! [`crate::float::rational_tanh::scalar`]'s rational function on 16 lanes, with masks instead of blends and
//! a true division: the 8-lane loop was bound by instruction issue, and with half the
//! instructions the Newton-refined reciprocal becomes the bottleneck on the FMA pipes,
//! where `vdivps` runs on its own unit. Correctly rounded division also makes the
//! result the same on every processor with AVX-512. Measured against the 8-lane
//! kernel: `examples/tanh_throughput.rs`, bench/README.md.

use crate::float::rational_tanh::{CLAMP, P, Q, TINY};
use core::arch::x86_64::*;

/// # Safety
/// Requires AVX-512F.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tanh16(raw: __m512) -> __m512 {
    let splat = _mm512_set1_ps;
    // As in the 8-lane kernel: max and min return their second operand if it is NaN.
    let v = _mm512_min_ps(splat(CLAMP), _mm512_max_ps(splat(-CLAMP), raw));
    let x2 = _mm512_mul_ps(v, v);
    let mut p = _mm512_fmadd_ps(x2, splat(P[0]), splat(P[1]));
    for c in &P[2..] {
        p = _mm512_fmadd_ps(x2, p, splat(*c));
    }
    p = _mm512_mul_ps(p, v);
    let mut q = _mm512_fmadd_ps(x2, splat(Q[0]), splat(Q[1]));
    for c in &Q[2..] {
        q = _mm512_fmadd_ps(x2, q, splat(*c));
    }
    let magnitude = _mm512_abs_ps(v);
    let tiny = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(magnitude, splat(TINY));
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
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn apply(x: *const f32, y: *mut f32, len: usize) {
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
