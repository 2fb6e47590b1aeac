//! The f32 AVX2+FMA kernels behind [`crate::kernels::small_gemm`], written with explicit vector
//! instructions (generic code compiled for AVX2 did not keep its accumulators in registers).
//!
//! Every function here is `unsafe` for one reason beyond its target feature: it reads
//! and writes through raw pointers. The only callers, [`crate::kernels::small_gemm::nn`] and
//! [`crate::kernels::small_gemm::nt`], assert before the call
//! that every element the dimensions and strides address lies inside the slices the
//! pointers come from; each offset below is one of those
//! elements. Stores go only to C, which does not alias A or B (`&mut` against `&`).

#![cfg(target_arch = "x86_64")]
// Index loops over the register tiles are deliberate: they unroll completely.
#![allow(clippy::needless_range_loop)]

use crate::float::Float;
use crate::kernels::simd::avx2::horizontal_sum;
use core::arch::x86_64::*;

/// `C[0..MR, 0..8·NV] (+)= A[0..MR, 0..k] · B[0..k, 0..8·NV]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn nn_tile<const MR: usize, const NV: usize>(
    k: usize, a: *const f32, rsa: usize, csa: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY (whole body): see the module documentation; the caller passes pointers to
    // the tile's first elements and the tile lies inside the checked extents.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); NV]; MR];
        for p in 0..k {
            let row = b.add(p * ldb);
            let mut bv = [_mm256_setzero_ps(); NV];
            for (v, slot) in bv.iter_mut().enumerate() {
                *slot = _mm256_loadu_ps(row.add(8 * v));
            }
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_ps(*a.add(r * rsa + p * csa));
                for v in 0..NV {
                    acc_row[v] = _mm256_fmadd_ps(x, bv[v], acc_row[v]);
                }
            }
        }
        for (r, acc_row) in acc.iter().enumerate() {
            for (v, &sum) in acc_row.iter().enumerate() {
                let out = c.add(r * ldc + 8 * v);
                let value = if add { _mm256_add_ps(_mm256_loadu_ps(out), sum) } else { sum };
                _mm256_storeu_ps(out, value);
            }
        }
    }
}

/// Rows `m0..m0 + rows` (at most 6) of an `nn` product over 8·NV columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn nn_rows<const NV: usize>(
    rows: usize, k: usize, a: *const f32, rsa: usize, csa: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize,
    add: bool,
) {
    // SAFETY: forwarded; `rows` of the tile are inside the checked extents.
    unsafe {
        match rows {
            6 => nn_tile::<6, NV>(k, a, rsa, csa, b, ldb, c, ldc, add),
            5 => nn_tile::<5, NV>(k, a, rsa, csa, b, ldb, c, ldc, add),
            4 => nn_tile::<4, NV>(k, a, rsa, csa, b, ldb, c, ldc, add),
            3 => nn_tile::<3, NV>(k, a, rsa, csa, b, ldb, c, ldc, add),
            2 => nn_tile::<2, NV>(k, a, rsa, csa, b, ldb, c, ldc, add),
            _ => nn_tile::<1, NV>(k, a, rsa, csa, b, ldb, c, ldc, add),
        }
    }
}

/// `C (+)= A · B`, A `m × k` with strides (rsa, csa), B `k × n` with rows of stride
/// `ldb`, C `m × n` with rows of stride `ldc`.
#[target_feature(enable = "avx2,fma")]
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
            let width = n - n0;
            let mut m0 = 0;
            while m0 < m {
                let rows = (m - m0).min(6);
                let (a0, c0) = (a.add(m0 * rsa), c.add(m0 * ldc + n0));
                if width >= 16 {
                    nn_rows::<2>(rows, k, a0, rsa, csa, b.add(n0), ldb, c0, ldc, add);
                } else if width >= 8 {
                    nn_rows::<1>(rows, k, a0, rsa, csa, b.add(n0), ldb, c0, ldc, add);
                } else {
                    for r in 0..rows {
                        for j in 0..width {
                            let mut sum = 0.0f32;
                            for p in 0..k {
                                sum = Float::mul_add(*a0.add(r * rsa + p * csa), *b.add(p * ldb + n0 + j), sum);
                            }
                            let out = c0.add(r * ldc + j);
                            *out = if add { *out + sum } else { sum };
                        }
                    }
                }
                m0 += rows;
            }
            n0 += if width >= 16 {
                16
            } else if width >= 8 {
                8
            } else {
                width
            };
        }
    }
}

/// `C[i, j] (+)= Σ_p A[i, p] · B[j, p]` for rows `i0..i0 + MR`, `j0..j0 + NR`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn nt_tile<const MR: usize, const NR: usize>(
    k: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY (whole body): see the module documentation.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); NR]; MR];
        let whole = k / 8 * 8;
        let mut p = 0;
        while p < whole {
            let mut xs = [_mm256_setzero_ps(); MR];
            for (r, x) in xs.iter_mut().enumerate() {
                *x = _mm256_loadu_ps(a.add(r * lda + p));
            }
            for s in 0..NR {
                let y = _mm256_loadu_ps(b.add(s * ldb + p));
                for r in 0..MR {
                    acc[r][s] = _mm256_fmadd_ps(xs[r], y, acc[r][s]);
                }
            }
            p += 8;
        }
        for r in 0..MR {
            for s in 0..NR {
                let mut sum = horizontal_sum(acc[r][s]);
                for q in whole..k {
                    sum = Float::mul_add(*a.add(r * lda + q), *b.add(s * ldb + q), sum);
                }
                let out = c.add(r * ldc + s);
                *out = if add { *out + sum } else { sum };
            }
        }
    }
}

/// `C (+)= A · Bᵀ`, A `m × k` (row stride `lda`), B `n × k` (row stride `ldb`).
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn nt(
    m: usize, n: usize, k: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize,
    add: bool,
) {
    // SAFETY (whole body): tiles cover rows < m of A and C and rows < n of B only.
    unsafe {
        let mut i0 = 0;
        while i0 < m {
            let rows = if m - i0 >= 2 { 2 } else { 1 };
            let mut j0 = 0;
            while j0 < n {
                let cols = if n - j0 >= 4 { 4 } else { 1 };
                let (a0, b0, c0) = (a.add(i0 * lda), b.add(j0 * ldb), c.add(i0 * ldc + j0));
                match (rows, cols) {
                    (2, 4) => nt_tile::<2, 4>(k, a0, lda, b0, ldb, c0, ldc, add),
                    (1, 4) => nt_tile::<1, 4>(k, a0, lda, b0, ldb, c0, ldc, add),
                    (2, _) => nt_tile::<2, 1>(k, a0, lda, b0, ldb, c0, ldc, add),
                    _ => nt_tile::<1, 1>(k, a0, lda, b0, ldb, c0, ldc, add),
                }
                j0 += cols;
            }
            i0 += rows;
        }
    }
}
