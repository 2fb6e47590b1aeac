//! AVX2 helpers the families' AVX2 kernels share.

use core::arch::x86_64::*;

/// Sum of the 8 lanes.
#[inline(always)]
pub(crate) unsafe fn horizontal_sum(v: __m256) -> f32 {
    // SAFETY: register-only operations.
    unsafe {
        let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)))
    }
}
