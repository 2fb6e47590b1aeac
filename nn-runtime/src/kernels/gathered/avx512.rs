//! The f32 AVX-512 kernels behind [`crate::kernels::gathered`]: the AVX2 kernels'
//! loops on 16-lane registers, with twice the accumulators (AVX-512 has 32 registers),
//! and masks for the last partial vector instead of narrower strips. Chosen where the
//! processor runs 512-bit FMAs at full width ([`crate::kernels::simd::tiles`]).
//! `product` and `shifted` add in the same order as the portable loops and give the
//! same bits; `shifted_dots` sums 16 lanes, then across them, so it rounds differently.
//!
//! Every function here is `unsafe` for one reason beyond its target feature: it reads
//! and writes through raw pointers. The callers in [`crate::kernels::gathered`] assert
//! before the call that every offset the walks produce lies inside `x`, that B and C
//! hold the rows and columns addressed; each address formed below is one of those
//! elements, and masked-off lanes are never accessed. Stores go only to C, which does
//! not alias x or B (`&mut` against `&`).

#![cfg(target_arch = "x86_64")]
// Index loops over the register tiles are deliberate: they unroll completely.
#![allow(clippy::needless_range_loop)]

use crate::kernels::simd::avx512::{by_rows, lanes, load_strip, store_tile};
use crate::kernels::view::Walk;
use core::arch::x86_64::*;

/// `C[r, 0..16·NV] (+)= Σ_q x[base[r] + red(q)] · B[q, 0..16·NV]` for MR rows; with
/// `MASKED` the last vector covers only the `mask` columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const MR: usize, const NV: usize, const MASKED: bool>(
    x: *const f32, base: &[usize], red: Walk, b: *const f32, np: usize, c: *mut f32, add: bool, mask: __mmask16,
) {
    // SAFETY (whole body): see the module documentation; `base` holds this tile's row
    // offsets, `b` and `c` point at the strip's first column.
    unsafe {
        let mut rows = [x; MR];
        for r in 0..MR {
            rows[r] = x.add(base[r]);
        }
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        // After the last row `brow` points past B's end: `wrapping_add` may form it.
        let mut brow = b;
        for a0 in 0..red.n[0] {
            for a1 in 0..red.n[1] {
                let mut off = a0 * red.step[0] + a1 * red.step[1];
                for _ in 0..red.n[2] {
                    let bv = load_strip::<NV, MASKED>(brow, mask);
                    for r in 0..MR {
                        let xv = _mm512_set1_ps(*rows[r].add(off));
                        for v in 0..NV {
                            acc[r][v] = _mm512_fmadd_ps(xv, bv[v], acc[r][v]);
                        }
                    }
                    brow = brow.wrapping_add(np);
                    off += red.step[2];
                }
            }
        }
        store_tile::<MR, NV, MASKED>(&acc, c, np, add, mask);
    }
}

/// `C[r, j] (+)= Σ_q x[rows(r) + red(q)] · B[q, j]` (see the AVX2 kernel): tiles of 12
/// rows × 32 columns (24 accumulators), or 14 rows × 16 columns when `np ≤ 16`; a
/// strip of 8 or 24 columns ends in a half-masked vector.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn product(x: *const f32, rows_walk: Walk, red: Walk, b: *const f32, np: usize, c: *mut f32, add: bool) {
    // SAFETY (whole body): every pointer formed addresses a checked element; see the
    // module documentation.
    unsafe {
        let m = rows_walk.len();
        let height = if np <= 16 { 14 } else { 12 };
        let mut base = [0usize; 14];
        let mut offsets = rows_walk.offsets();
        let mut r0 = 0;
        while r0 < m {
            let tile_rows = (m - r0).min(height);
            for (slot, offset) in base[..tile_rows].iter_mut().zip(&mut offsets) {
                *slot = offset;
            }
            let base = &base[..tile_rows];
            let c0 = c.add(r0 * np);
            let mut j = 0;
            while j < np {
                let (bj, cj, left) = (b.add(j), c0.add(j), np - j);
                let mask = lanes(8);
                match left {
                    32.. => {
                        by_rows!(tile_rows, (tile, [2, false], (x, base, red, bj, np, cj, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    24 => {
                        by_rows!(tile_rows, (tile, [2, true], (x, base, red, bj, np, cj, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    16 => {
                        by_rows!(tile_rows, (tile, [1, false], (x, base, red, bj, np, cj, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12 13 14)
                    }
                    _ => {
                        by_rows!(tile_rows, (tile, [1, true], (x, base, red, bj, np, cj, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12 13 14)
                    }
                }
                j += left.min(32);
            }
            r0 += tile_rows;
        }
    }
}

/// `C[r, 0..16·NV] (+)= Σ_q A[r, q] · x[red(q) .. + 16·NV]` for MR rows; with `MASKED`
/// the last vector covers only the `mask` columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn shifted_tile<const MR: usize, const NV: usize, const MASKED: bool>(
    a: *const f32, k: usize, red: Walk, x: *const f32, c: *mut f32, ldc: usize, add: bool, mask: __mmask16,
) {
    // SAFETY (whole body): see the module documentation; `a` points at the tile's first
    // row of A, `x` and `c` at the strip's first column; masked lanes are never touched.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        let mut q = 0;
        for a0 in 0..red.n[0] {
            for a1 in 0..red.n[1] {
                let mut off = a0 * red.step[0] + a1 * red.step[1];
                for _ in 0..red.n[2] {
                    let xv = load_strip::<NV, MASKED>(x.add(off), mask);
                    for r in 0..MR {
                        let weight = _mm512_set1_ps(*a.add(r * k + q));
                        for v in 0..NV {
                            acc[r][v] = _mm512_fmadd_ps(weight, xv[v], acc[r][v]);
                        }
                    }
                    q += 1;
                    off += red.step[2];
                }
            }
        }
        store_tile::<MR, NV, MASKED>(&acc, c, ldc, add, mask);
    }
}

/// One tile of `rows` (at most 6) rows × NV vectors of a shifted product.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn shifted_rows<const NV: usize, const MASKED: bool>(
    rows: usize, a: *const f32, k: usize, red: Walk, x: *const f32, c: *mut f32, ldc: usize, add: bool, mask: __mmask16,
) {
    // SAFETY: forwarded; every row of the tile is inside the checked extents.
    unsafe { by_rows!(rows, (shifted_tile, [NV, MASKED], (a, k, red, x, c, ldc, add, mask)); 1 2 3 4 5 6) }
}

/// `C[r, j] (+)= Σ_q A[r, q] · x[red(q) + j]` (see the AVX2 kernel): tiles of 6 rows ×
/// 64 columns (24 accumulators); the last strip of fewer than 64 columns in one pass
/// of 1–4 vectors, its last one masked.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn shifted(a: *const f32, m: usize, red: Walk, x: *const f32, n: usize, c: *mut f32, ldc: usize, add: bool) {
    // SAFETY (whole body): every pointer formed addresses a checked element; see the
    // module documentation.
    unsafe {
        let k = red.len();
        let mut j = 0;
        while j < n {
            let step = (n - j).min(64);
            let (vectors, tail) = (step.div_ceil(16), step % 16);
            let mask = lanes(if tail == 0 { 16 } else { tail });
            let mut r0 = 0;
            while r0 < m {
                let rows = (m - r0).min(6);
                let (a0, x0, c0) = (a.add(r0 * k), x.add(j), c.add(r0 * ldc + j));
                match (vectors, tail != 0) {
                    (4, false) => shifted_rows::<4, false>(rows, a0, k, red, x0, c0, ldc, add, mask),
                    (4, true) => shifted_rows::<4, true>(rows, a0, k, red, x0, c0, ldc, add, mask),
                    (3, false) => shifted_rows::<3, false>(rows, a0, k, red, x0, c0, ldc, add, mask),
                    (3, true) => shifted_rows::<3, true>(rows, a0, k, red, x0, c0, ldc, add, mask),
                    (2, false) => shifted_rows::<2, false>(rows, a0, k, red, x0, c0, ldc, add, mask),
                    (2, true) => shifted_rows::<2, true>(rows, a0, k, red, x0, c0, ldc, add, mask),
                    (_, false) => shifted_rows::<1, false>(rows, a0, k, red, x0, c0, ldc, add, mask),
                    (_, true) => shifted_rows::<1, true>(rows, a0, k, red, x0, c0, ldc, add, mask),
                }
                r0 += rows;
            }
            j += step;
        }
    }
}

/// `C[r, q] (+)= Σ_{j<n} A[r, j] · x[offsets[q] + j]` for MR rows × NT offsets: 16
/// columns at a time, the last ones masked, summed across lanes at the end.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dots_tile<const MR: usize, const NT: usize>(
    a: *const f32, lda: usize, x: *const f32, offsets: &[usize], n: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY (whole body): see the module documentation; `a` points at the tile's first
    // row, `c` at its first element, and `offsets` holds the tile's NT offsets.
    unsafe {
        let mut windows = [x; NT];
        for t in 0..NT {
            windows[t] = x.add(offsets[t]);
        }
        let mut acc = [[_mm512_setzero_ps(); NT]; MR];
        let mut j = 0;
        while j < n {
            let left = n - j;
            let mask = lanes(left.min(16));
            let mut xv = [_mm512_setzero_ps(); NT];
            for t in 0..NT {
                xv[t] = _mm512_maskz_loadu_ps(mask, windows[t].add(j));
            }
            for r in 0..MR {
                let av = _mm512_maskz_loadu_ps(mask, a.add(r * lda + j));
                for t in 0..NT {
                    acc[r][t] = _mm512_fmadd_ps(av, xv[t], acc[r][t]);
                }
            }
            j += 16;
        }
        for r in 0..MR {
            for t in 0..NT {
                let sum = _mm512_reduce_add_ps(acc[r][t]);
                let out = c.add(r * ldc + t);
                *out = if add { *out + sum } else { sum };
            }
        }
    }
}

/// Row tiles of 4 (and the rest) for NT offsets.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dots_rows<const NT: usize>(
    m: usize, a: *const f32, lda: usize, x: *const f32, offsets: &[usize], n: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY: forwarded; every row and offset is inside the checked extents.
    unsafe {
        let mut r0 = 0;
        while r0 < m {
            let rows = (m - r0).min(4);
            let (a0, c0) = (a.add(r0 * lda), c.add(r0 * ldc));
            by_rows!(rows, (dots_tile, [NT], (a0, lda, x, offsets, n, c0, ldc, add)); 1 2 3 4);
            r0 += rows;
        }
    }
}

/// `C[r, q] (+)= Σ_{j<n} A[r, j] · x[red(q) + j]` (see the AVX2 kernel), in tiles of 4
/// rows × 4 windows: 16 accumulators, 4 windows and a row of A in 32 registers.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn shifted_dots(
    a: *const f32, lda: usize, m: usize, red: Walk, x: *const f32, n: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY (whole body): every pointer formed addresses a checked element; see the
    // module documentation.
    unsafe {
        let mut offsets = red.offsets();
        let mut window = [0usize; 4];
        let mut q0 = 0;
        while q0 < red.len() {
            let count = (red.len() - q0).min(4);
            for (slot, offset) in window[..count].iter_mut().zip(&mut offsets) {
                *slot = offset;
            }
            let c0 = c.add(q0);
            match count {
                4 => dots_rows::<4>(m, a, lda, x, &window, n, c0, ldc, add),
                3 => dots_rows::<3>(m, a, lda, x, &window, n, c0, ldc, add),
                2 => dots_rows::<2>(m, a, lda, x, &window, n, c0, ldc, add),
                _ => dots_rows::<1>(m, a, lda, x, &window, n, c0, ldc, add),
            }
            q0 += count;
        }
    }
}
