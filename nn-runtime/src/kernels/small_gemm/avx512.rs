//! The f32 AVX-512 kernels behind [`crate::kernels::small_gemm`]: the AVX2 kernels'
//! loops on 16-lane registers with twice the accumulators, and masks for the last
//! partial vector instead of narrower strips and scalar loops. Chosen where the
//! processor runs 512-bit FMAs at full width ([`crate::kernels::simd::tiles`]). `nn`
//! adds in the same order as the AVX2 kernel and gives the same bits; `nt` sums 16
//! lanes, then across them, so it rounds differently.
//!
//! Every function here is `unsafe` for one reason beyond its target feature: it reads
//! and writes through raw pointers. The only callers, [`crate::kernels::small_gemm::nn`]
//! and [`crate::kernels::small_gemm::nt`], assert before the call that every element the
//! dimensions and strides address lies inside the slices the pointers come from; each
//! offset below is one of those elements, and masked-off lanes are never accessed.
//! Stores go only to C, which does not alias A or B (`&mut` against `&`).

#![cfg(target_arch = "x86_64")]
// Index loops over the register tiles are deliberate: they unroll completely.
#![allow(clippy::needless_range_loop)]

use crate::kernels::simd::avx512::{by_rows, lanes, load_strip, store_tile};
use core::arch::x86_64::*;

/// `C[0..MR, 0..16·NV] (+)= A[0..MR, 0..k] · B[0..k, 0..16·NV]`; with `MASKED` the last
/// vector covers only the `mask` columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn nn_tile<const MR: usize, const NV: usize, const MASKED: bool>(
    k: usize, a: *const f32, rsa: usize, csa: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, add: bool,
    mask: __mmask16,
) {
    // SAFETY (whole body): see the module documentation; the caller passes pointers to
    // the tile's first elements and the tile lies inside the checked extents.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        for p in 0..k {
            let row = b.add(p * ldb);
            let bv = load_strip::<NV, MASKED>(row, mask);
            for r in 0..MR {
                let x = _mm512_set1_ps(*a.add(r * rsa + p * csa));
                for v in 0..NV {
                    acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
                }
            }
        }
        store_tile::<MR, NV, MASKED>(&acc, c, ldc, add, mask);
    }
}

/// `C (+)= A · B`, A `m × k` with strides (rsa, csa), B `k × n` with rows of stride
/// `ldb`, C `m × n` with rows of stride `ldc`: tiles of 12 rows × 32 columns (24
/// accumulators); the last strip of fewer than 32 columns as 1 or 2 vectors, the last
/// one masked.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn nn(
    m: usize, k: usize, n: usize, a: *const f32, rsa: usize, csa: usize, b: *const f32, ldb: usize, c: *mut f32,
    ldc: usize, add: bool,
) {
    // SAFETY (whole body): every pointer formed addresses an element (i, p) of A with
    // i < m, p < k, (p, j) of B with j < n, or (i, j) of C; see the module docs.
    unsafe {
        let mut n0 = 0;
        while n0 < n {
            let step = (n - n0).min(32);
            let (vectors, tail) = (step.div_ceil(16), step % 16);
            let mask = lanes(if tail == 0 { 16 } else { tail });
            let mut m0 = 0;
            while m0 < m {
                let rows = (m - m0).min(12);
                let (a0, b0, c0) = (a.add(m0 * rsa), b.add(n0), c.add(m0 * ldc + n0));
                match (vectors, tail != 0) {
                    (2, false) => {
                        by_rows!(rows, (nn_tile, [2, false], (k, a0, rsa, csa, b0, ldb, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (2, true) => {
                        by_rows!(rows, (nn_tile, [2, true], (k, a0, rsa, csa, b0, ldb, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (_, false) => {
                        by_rows!(rows, (nn_tile, [1, false], (k, a0, rsa, csa, b0, ldb, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (_, true) => {
                        by_rows!(rows, (nn_tile, [1, true], (k, a0, rsa, csa, b0, ldb, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                }
                m0 += rows;
            }
            n0 += step;
        }
    }
}

/// `C[i, j] (+)= Σ_p A[i, p] · B[j, p]` for rows `i0..i0 + MR`, `j0..j0 + NR`: 16 values
/// of k at a time, the last ones masked, summed across lanes at the end.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn nt_tile<const MR: usize, const NR: usize>(
    k: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY (whole body): see the module documentation.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); NR]; MR];
        let mut p = 0;
        while p < k {
            let mask = lanes((k - p).min(16));
            let mut xs = [_mm512_setzero_ps(); MR];
            for r in 0..MR {
                xs[r] = _mm512_maskz_loadu_ps(mask, a.add(r * lda + p));
            }
            for s in 0..NR {
                let y = _mm512_maskz_loadu_ps(mask, b.add(s * ldb + p));
                for r in 0..MR {
                    acc[r][s] = _mm512_fmadd_ps(xs[r], y, acc[r][s]);
                }
            }
            p += 16;
        }
        for r in 0..MR {
            for s in 0..NR {
                let sum = _mm512_reduce_add_ps(acc[r][s]);
                let out = c.add(r * ldc + s);
                *out = if add { *out + sum } else { sum };
            }
        }
    }
}

/// `C (+)= A · Bᵀ`, A `m × k` (row stride `lda`), B `n × k` (row stride `ldb`): tiles of
/// 4 × 4 dot products (16 accumulators, 4 rows of A and one of B in registers).
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn nt(
    m: usize, n: usize, k: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize,
    add: bool,
) {
    // SAFETY (whole body): tiles cover rows < m of A and C and rows < n of B only.
    unsafe {
        let mut i0 = 0;
        while i0 < m {
            let rows = (m - i0).min(4);
            let mut j0 = 0;
            while j0 < n {
                let cols = (n - j0).min(4);
                let (a0, b0, c0) = (a.add(i0 * lda), b.add(j0 * ldb), c.add(i0 * ldc + j0));
                match cols {
                    4 => by_rows!(rows, (nt_tile, [4], (k, a0, lda, b0, ldb, c0, ldc, add)); 1 2 3 4),
                    3 => by_rows!(rows, (nt_tile, [3], (k, a0, lda, b0, ldb, c0, ldc, add)); 1 2 3 4),
                    2 => by_rows!(rows, (nt_tile, [2], (k, a0, lda, b0, ldb, c0, ldc, add)); 1 2 3 4),
                    _ => by_rows!(rows, (nt_tile, [1], (k, a0, lda, b0, ldb, c0, ldc, add)); 1 2 3 4),
                }
                j0 += cols;
            }
            i0 += rows;
        }
    }
}
