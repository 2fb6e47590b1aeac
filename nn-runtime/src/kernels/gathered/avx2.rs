//! The f32 AVX2+FMA kernel behind [`crate::kernels::gathered`], written with explicit vector
//! instructions like [`crate::kernels::small_gemm::avx2`].
//!
//! Every function here is `unsafe` for one reason beyond its target feature: it reads
//! and writes through raw pointers. The only caller, [`crate::kernels::gathered::product`],
//! asserts before the call that every offset the two walks produce, summed, lies inside
//! `x`, that B holds `red.len()` rows of `np` values and C `rows.len()` rows; each
//! address formed below is one of those elements. Stores go only to C, which does not
//! alias x or B (`&mut` against `&`).

#![cfg(target_arch = "x86_64")]
// Index loops over the register tiles are deliberate: they unroll completely.
#![allow(clippy::needless_range_loop)]

use crate::float::Float;
use crate::kernels::simd::avx2::horizontal_sum;
use crate::kernels::view::Walk;
use core::arch::x86_64::*;

/// `C[r, 0..8·NV] (+)= Σ_q x[base[r] + red(q)] · B[q, 0..8·NV]` for one tile of MR rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const MR: usize, const NV: usize>(
    x: *const f32, base: &[usize], red: Walk, b: *const f32, np: usize, c: *mut f32, add: bool,
) {
    // SAFETY (whole body): see the module documentation; `base` holds this tile's row
    // offsets, `b` and `c` point at the strip's first column.
    unsafe {
        let mut rows = [x; MR];
        for r in 0..MR {
            rows[r] = x.add(base[r]);
        }
        let mut acc = [[_mm256_setzero_ps(); NV]; MR];
        // After the last row `brow` points past B's end (the strip need not start at
        // column 0): `wrapping_add` may form such a pointer, `add` may not.
        let mut brow = b;
        for a0 in 0..red.n[0] {
            for a1 in 0..red.n[1] {
                let mut off = a0 * red.step[0] + a1 * red.step[1];
                for _ in 0..red.n[2] {
                    let mut bv = [_mm256_setzero_ps(); NV];
                    for v in 0..NV {
                        bv[v] = _mm256_loadu_ps(brow.add(8 * v));
                    }
                    for r in 0..MR {
                        let xv = _mm256_broadcast_ss(&*rows[r].add(off));
                        for v in 0..NV {
                            acc[r][v] = _mm256_fmadd_ps(xv, bv[v], acc[r][v]);
                        }
                    }
                    brow = brow.wrapping_add(np);
                    off += red.step[2];
                }
            }
        }
        for r in 0..MR {
            for v in 0..NV {
                let out = c.add(r * np + 8 * v);
                let value = if add { _mm256_add_ps(_mm256_loadu_ps(out), acc[r][v]) } else { acc[r][v] };
                _mm256_storeu_ps(out, value);
            }
        }
    }
}

/// One tile of `base.len()` rows (at most `MAX`), dispatched to the kernel of that height.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn rows<const NV: usize>(
    x: *const f32, base: &[usize], red: Walk, b: *const f32, np: usize, c: *mut f32, add: bool,
) {
    // SAFETY: forwarded; every row of the tile is inside the checked extents.
    unsafe {
        match base.len() {
            8 => tile::<8, NV>(x, base, red, b, np, c, add),
            7 => tile::<7, NV>(x, base, red, b, np, c, add),
            6 => tile::<6, NV>(x, base, red, b, np, c, add),
            5 => tile::<5, NV>(x, base, red, b, np, c, add),
            4 => tile::<4, NV>(x, base, red, b, np, c, add),
            3 => tile::<3, NV>(x, base, red, b, np, c, add),
            2 => tile::<2, NV>(x, base, red, b, np, c, add),
            _ => tile::<1, NV>(x, base, red, b, np, c, add),
        }
    }
}

/// `C[r, j] (+)= Σ_q x[rows(r) + red(q)] · B[q, j]` for C `rows.len() × np`, B
/// `red.len() × np`, both row-major; `np` is a multiple of 8.
///
/// Register tiles: 8 rows × 8 columns when `np` is 8 (eight accumulators cover the FMA
/// latency), otherwise 6 rows × 16 columns, with an 8-column strip last if needed.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn product(x: *const f32, rows_walk: Walk, red: Walk, b: *const f32, np: usize, c: *mut f32, add: bool) {
    // SAFETY (whole body): every pointer formed addresses a checked element; see the
    // module documentation.
    unsafe {
        let m = rows_walk.len();
        let height = if np == 8 { 8 } else { 6 };
        let mut base = [0usize; 8];
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
                if np - j >= 16 {
                    rows::<2>(x, base, red, b.add(j), np, c0.add(j), add);
                    j += 16;
                } else {
                    rows::<1>(x, base, red, b.add(j), np, c0.add(j), add);
                    j += 8;
                }
            }
            r0 += tile_rows;
        }
    }
}

/// `C[r, 0..8·NV] (+)= Σ_q A[r, q] · x[red(q) .. + 8·NV]` for one tile of MR rows; with
/// `MASKED` (and NV = 1), only the lanes `mask` selects are read and written.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn shifted_tile<const MR: usize, const NV: usize, const MASKED: bool>(
    a: *const f32, k: usize, red: Walk, x: *const f32, c: *mut f32, ldc: usize, add: bool, mask: __m256i,
) {
    // SAFETY (whole body): see the module documentation; `a` points at the tile's first
    // row of A, `x` and `c` at the strip's first column; masked lanes are never touched.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); NV]; MR];
        let mut q = 0;
        for a0 in 0..red.n[0] {
            for a1 in 0..red.n[1] {
                let mut off = a0 * red.step[0] + a1 * red.step[1];
                for _ in 0..red.n[2] {
                    let mut xv = [_mm256_setzero_ps(); NV];
                    for v in 0..NV {
                        xv[v] = if MASKED {
                            _mm256_maskload_ps(x.add(off + 8 * v), mask)
                        } else {
                            _mm256_loadu_ps(x.add(off + 8 * v))
                        };
                    }
                    for r in 0..MR {
                        let weight = _mm256_broadcast_ss(&*a.add(r * k + q));
                        for v in 0..NV {
                            acc[r][v] = _mm256_fmadd_ps(weight, xv[v], acc[r][v]);
                        }
                    }
                    q += 1;
                    off += red.step[2];
                }
            }
        }
        for r in 0..MR {
            for v in 0..NV {
                let out = c.add(r * ldc + 8 * v);
                if MASKED {
                    let old = if add { _mm256_maskload_ps(out, mask) } else { _mm256_setzero_ps() };
                    _mm256_maskstore_ps(out, mask, _mm256_add_ps(old, acc[r][v]));
                } else {
                    let value = if add { _mm256_add_ps(_mm256_loadu_ps(out), acc[r][v]) } else { acc[r][v] };
                    _mm256_storeu_ps(out, value);
                }
            }
        }
    }
}

/// One tile of `rows` (at most 6) rows of a shifted product.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn shifted_rows<const NV: usize, const MASKED: bool>(
    rows: usize, a: *const f32, k: usize, red: Walk, x: *const f32, c: *mut f32, ldc: usize, add: bool, mask: __m256i,
) {
    // SAFETY: forwarded; every row of the tile is inside the checked extents.
    unsafe {
        match rows {
            6 => shifted_tile::<6, NV, MASKED>(a, k, red, x, c, ldc, add, mask),
            5 => shifted_tile::<5, NV, MASKED>(a, k, red, x, c, ldc, add, mask),
            4 => shifted_tile::<4, NV, MASKED>(a, k, red, x, c, ldc, add, mask),
            3 => shifted_tile::<3, NV, MASKED>(a, k, red, x, c, ldc, add, mask),
            2 => shifted_tile::<2, NV, MASKED>(a, k, red, x, c, ldc, add, mask),
            _ => shifted_tile::<1, NV, MASKED>(a, k, red, x, c, ldc, add, mask),
        }
    }
}

/// `C[r, j] (+)= Σ_q A[r, q] · x[red(q) + j]` for A `m × k` row-major (`k = red.len()`),
/// C `m × n` with rows of stride `ldc`: every product row reads a window of x shifted
/// by its tap's offset. Register tiles of 6 rows × 16 columns, then 8, then a masked
/// strip of fewer than 8.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn shifted(a: *const f32, m: usize, red: Walk, x: *const f32, n: usize, c: *mut f32, ldc: usize, add: bool) {
    // SAFETY (whole body): every pointer formed addresses a checked element; see the
    // module documentation.
    unsafe {
        let k = red.len();
        let mut j = 0;
        while j < n {
            let width = n - j;
            let step = if width >= 16 { 16 } else { width.min(8) };
            // Lane i is selected when its sign bit is set: i < step.
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(step as i32), lanes);
            let mut r0 = 0;
            while r0 < m {
                let rows = (m - r0).min(6);
                let (a0, c0) = (a.add(r0 * k), c.add(r0 * ldc + j));
                match step {
                    16 => shifted_rows::<2, false>(rows, a0, k, red, x.add(j), c0, ldc, add, mask),
                    8 => shifted_rows::<1, false>(rows, a0, k, red, x.add(j), c0, ldc, add, mask),
                    _ => shifted_rows::<1, true>(rows, a0, k, red, x.add(j), c0, ldc, add, mask),
                }
                r0 += rows;
            }
            j += step;
        }
    }
}

/// `C[r, q] (+)= Σ_{j<n} A[r, j] · x[offsets[q] + j]` for one tile of MR rows × NT
/// offsets: 8 columns at a time in vector accumulators, summed across lanes at the end.
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
        let mut acc = [[_mm256_setzero_ps(); NT]; MR];
        let mut j = 0;
        while j + 8 <= n {
            let mut xv = [_mm256_setzero_ps(); NT];
            for t in 0..NT {
                xv[t] = _mm256_loadu_ps(windows[t].add(j));
            }
            for r in 0..MR {
                let av = _mm256_loadu_ps(a.add(r * lda + j));
                for t in 0..NT {
                    acc[r][t] = _mm256_fmadd_ps(av, xv[t], acc[r][t]);
                }
            }
            j += 8;
        }
        for r in 0..MR {
            for t in 0..NT {
                let mut sum = horizontal_sum(acc[r][t]);
                for jj in j..n {
                    sum = Float::mul_add(*a.add(r * lda + jj), *windows[t].add(jj), sum);
                }
                let out = c.add(r * ldc + t);
                *out = if add { *out + sum } else { sum };
            }
        }
    }
}

/// Row tiles of 3 (and the rest) for NT offsets.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dots_rows<const NT: usize>(
    m: usize, a: *const f32, lda: usize, x: *const f32, offsets: &[usize], n: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY: forwarded; every row and offset is inside the checked extents.
    unsafe {
        let mut r0 = 0;
        while r0 < m {
            let rows = (m - r0).min(3);
            let (a0, c0) = (a.add(r0 * lda), c.add(r0 * ldc));
            match rows {
                3 => dots_tile::<3, NT>(a0, lda, x, offsets, n, c0, ldc, add),
                2 => dots_tile::<2, NT>(a0, lda, x, offsets, n, c0, ldc, add),
                _ => dots_tile::<1, NT>(a0, lda, x, offsets, n, c0, ldc, add),
            }
            r0 += rows;
        }
    }
}

/// `C[r, q] (+)= Σ_{j<n} A[r, j] · x[red(q) + j]` for A `m × n` with rows of stride
/// `lda`, C `m × red.len()` with rows of stride `ldc`: dot products of A's rows with
/// windows of x at the walk's offsets, in tiles of 3 rows × 3 windows: 9 accumulators,
/// 3 windows and a row fit AVX2's 16 registers (3 × 4 spilled, and ran at half speed).
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn shifted_dots(
    a: *const f32, lda: usize, m: usize, red: Walk, x: *const f32, n: usize, c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY (whole body): every pointer formed addresses a checked element; see the
    // module documentation.
    unsafe {
        let mut offsets = red.offsets();
        let mut window = [0usize; 3];
        let mut q0 = 0;
        while q0 < red.len() {
            let count = (red.len() - q0).min(3);
            for (slot, offset) in window[..count].iter_mut().zip(&mut offsets) {
                *slot = offset;
            }
            let c0 = c.add(q0);
            match count {
                3 => dots_rows::<3>(m, a, lda, x, &window, n, c0, ldc, add),
                2 => dots_rows::<2>(m, a, lda, x, &window, n, c0, ldc, add),
                _ => dots_rows::<1>(m, a, lda, x, &window, n, c0, ldc, add),
            }
            q0 += count;
        }
    }
}
