//! [`crate::float::rational_tanh::scalar`]'s rational function on 8 lanes, with explicit FMAs and its one
//! division replaced by a reciprocal estimate refined by a Newton step: the compiled
//! loop spent half its time waiting on `vdivps` (bench/README.md). Within 6 ULP of the
//! correctly rounded tanh, and the same for a value wherever it sits in a slice.

use crate::float::rational_tanh::{CLAMP, P, Q, TINY};
use core::arch::x86_64::*;

/// # Safety
/// Requires AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh8(raw: __m256) -> __m256 {
    let splat = _mm256_set1_ps;
    // max(lo, x) and min(hi, ·) return their second operand if it is NaN: NaN propagates.
    let v = _mm256_min_ps(splat(CLAMP), _mm256_max_ps(splat(-CLAMP), raw));
    let x2 = _mm256_mul_ps(v, v);
    let mut p = _mm256_fmadd_ps(x2, splat(P[0]), splat(P[1]));
    for c in &P[2..] {
        p = _mm256_fmadd_ps(x2, p, splat(*c));
    }
    p = _mm256_mul_ps(p, v);
    let mut q = _mm256_fmadd_ps(x2, splat(Q[0]), splat(Q[1]));
    for c in &Q[2..] {
        q = _mm256_fmadd_ps(x2, q, splat(*c));
    }
    let estimate = _mm256_rcp_ps(q);
    let reciprocal = _mm256_mul_ps(estimate, _mm256_fnmadd_ps(q, estimate, splat(2.0)));
    let magnitude = _mm256_andnot_ps(splat(-0.0), v);
    // Tiny inputs: tanh(x) = x. Saturated ones: exactly ±1 (the estimate lands one ULP short).
    let tiny = _mm256_cmp_ps::<_CMP_LT_OQ>(magnitude, splat(TINY));
    let saturated = _mm256_cmp_ps::<_CMP_GE_OQ>(magnitude, splat(CLAMP));
    let one = _mm256_or_ps(splat(1.0), _mm256_and_ps(splat(-0.0), v));
    let value = _mm256_blendv_ps(_mm256_mul_ps(p, reciprocal), v, tiny);
    _mm256_blendv_ps(value, one, saturated)
}

/// `values[i] = tanh(values[i])` by [`tanh8`], 8 at a time, the tail padded to 8.
///
/// # Safety
/// Requires AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn in_place(values: &mut [f32]) {
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

/// `y = tanh(x)` by [`tanh8`], as [`in_place`]; `y` is at least as long as `x`.
///
/// # Safety
/// Requires AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn apply(x: &[f32], y: &mut [f32]) {
    let y = &mut y[..x.len()];
    let (mut inputs, mut outputs) = (x.chunks_exact(8), y.chunks_exact_mut(8));
    for (input, output) in (&mut inputs).zip(&mut outputs) {
        // SAFETY: as in `in_place`.
        unsafe { _mm256_storeu_ps(output.as_mut_ptr(), tanh8(_mm256_loadu_ps(input.as_ptr()))) };
    }
    let tail = outputs.into_remainder();
    tail.copy_from_slice(inputs.remainder());
    // SAFETY: as above.
    unsafe { in_place(tail) };
}
