//! The AVX-512 BF16 kernels behind [`crate::kernels::bf16`]: register tiles of 12 rows ×
//! 32 columns (24 f32 accumulators), each step one broadcast bfloat16 pair of the left
//! operand against 16 columns' pairs of the right one (`vdpbf16ps`: two multiply-adds
//! per lane).
//!
//! Every function here is `unsafe` for one reason beyond its target features: it reads
//! and writes through raw pointers. The callers in [`crate::kernels::bf16`] pack the
//! operands into buffers of the sizes documented on each function and assert C's
//! extent before the call; each address formed below is inside those, and masked-off
//! lanes are never accessed. Stores go only to C, a unique borrow.

#![cfg(target_arch = "x86_64")]
// Index loops over the register tiles are deliberate: they unroll completely.
#![allow(clippy::needless_range_loop)]

use super::NO_TAP;
use crate::kernels::simd::avx512::{by_rows, lanes, store_tile};
use crate::kernels::view::Walk;
use core::arch::x86_64::*;

/// 32 bfloat16 values (16 pairs) from 16 packed words.
#[inline(always)]
unsafe fn pairs_at(p: *const u32) -> __m512bh {
    // SAFETY: the caller passes 16 readable words; any 512 bits are 32 valid bfloat16s,
    // and the two types have the same size.
    unsafe { core::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(p.cast())) }
}

/// One pair broadcast to every lane.
///
/// # Safety
/// Requires AVX-512F (inlined into the kernels below, which enable it).
#[inline(always)]
unsafe fn broadcast(word: u32) -> __m512bh {
    // SAFETY: AVX-512F (the contract); register-only; any 512 bits are valid
    // bfloat16s, and the two types have the same size.
    unsafe { core::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(word as i32)) }
}

/// `C[0..MR, 0..16·NV] (+)= Σ_p pair(A[r, p]) · pair(B[p, ..])`, the pair words of A
/// given by `left(r, p)`; with `MASKED` the last vector stores only `mask`'s columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const MR: usize, const NV: usize, const MASKED: bool>(
    kp: usize, left: impl Fn(usize, usize) -> u32, b: *const u32, ldp: usize, c: *mut f32, ldc: usize, add: bool,
    mask: __mmask16,
) {
    // SAFETY (whole body): see the module documentation; `b` and `c` point at the
    // strip's first column, B has `kp` rows of `ldp ≥ 16·NV` words from there.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        for p in 0..kp {
            let row = b.add(p * ldp);
            let mut bv = [broadcast(0); NV];
            for v in 0..NV {
                bv[v] = pairs_at(row.add(16 * v));
            }
            for r in 0..MR {
                let av = broadcast(left(r, p));
                for v in 0..NV {
                    acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
                }
            }
        }
        store_tile::<MR, NV, MASKED>(&acc, c, ldc, add, mask);
    }
}

/// Tiles over C's `m` rows (12 at a time) and `n` columns (32 at a time; the last
/// strip 1 or 2 vectors, the last masked), `left(row, p)` giving A's pair words.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tiles(
    m: usize, kp: usize, n: usize, left: impl Fn(usize, usize, usize) -> u32 + Copy, b: *const u32, ldp: usize,
    c: *mut f32, ldc: usize, add: bool,
) {
    // SAFETY (whole body): every tile lies inside C's `m × n` and B's `kp × ldp`.
    unsafe {
        let mut m0 = 0;
        while m0 < m {
            let rows = (m - m0).min(12);
            let tile_left = move |r: usize, p: usize| left(m0, r, p);
            let mut n0 = 0;
            while n0 < n {
                let step = (n - n0).min(32);
                let (vectors, tail) = (step.div_ceil(16), step % 16);
                let mask = lanes(if tail == 0 { 16 } else { tail });
                let (b0, c0) = (b.add(n0), c.add(m0 * ldc + n0));
                match (vectors, tail != 0) {
                    (2, false) => {
                        by_rows!(rows, (tile, [2, false], (kp, tile_left, b0, ldp, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (2, true) => {
                        by_rows!(rows, (tile, [2, true], (kp, tile_left, b0, ldp, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (_, false) => {
                        by_rows!(rows, (tile, [1, false], (kp, tile_left, b0, ldp, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (_, true) => {
                        by_rows!(rows, (tile, [1, true], (kp, tile_left, b0, ldp, c0, ldc, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                }
                n0 += step;
            }
            m0 += rows;
        }
    }
}

/// `C (+)= A · B`: A's pair word (i, p) at `a[i · a_row + p · a_pair]` (any alignment),
/// B as `kp` rows of `ldp` pair words (`ldp ≥ n`, a multiple of 16, zero past `n`), C
/// `m × n` with rows of stride `ldc`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn nn(
    m: usize, kp: usize, n: usize, a: *const u32, a_row: usize, a_pair: usize, b: *const u32, ldp: usize, c: *mut f32,
    ldc: usize, add: bool,
) {
    // SAFETY: A's words (m0 + r, p) for r < rows ≤ m - m0 and p < kp are inside its
    // buffer (the caller's contract); the rest is forwarded.
    unsafe {
        let word = move |m0: usize, r: usize, p: usize| a.add((m0 + r) * a_row + p * a_pair).read_unaligned();
        tiles(m, kp, n, word, b, ldp, c, ldc, add)
    }
}

/// One step of a gathered tile: every row's pair word (`word(r)`) against B's row.
#[inline(always)]
unsafe fn gathered_step<const MR: usize, const NV: usize>(
    acc: &mut [[__m512; NV]; MR], bv: &[__m512bh; NV], word: impl Fn(usize) -> u32,
) {
    // SAFETY: register-only, given the words.
    unsafe {
        for r in 0..MR {
            let av = broadcast(word(r));
            for v in 0..NV {
                acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
            }
        }
    }
}

/// `C[r, 0..16·NV] (+)= Σ_p pair(x[base[r] + pairs[p]]) · pair(B[p, ..])` for MR rows;
/// with `MASKED` the last vector stores only `mask`'s columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn gathered_tile<const MR: usize, const NV: usize, const MASKED: bool>(
    x: *const u16, base: &[usize], pairs: &[(usize, usize)], b: *const u32, ldp: usize, c: *mut f32, ldc: usize,
    add: bool, mask: __mmask16,
) {
    // SAFETY (whole body): see the module documentation and `gathered`.
    unsafe {
        let mut rows = [x; MR];
        for r in 0..MR {
            rows[r] = x.add(base[r]);
        }
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        for (p, &(lo, hi)) in pairs.iter().enumerate() {
            let row = b.add(p * ldp);
            let mut bv = [broadcast(0); NV];
            for v in 0..NV {
                bv[v] = pairs_at(row.add(16 * v));
            }
            if hi == lo.wrapping_add(1) {
                gathered_step(&mut acc, &bv, |r| rows[r].add(lo).cast::<u32>().read_unaligned());
            } else if hi == NO_TAP {
                gathered_step(&mut acc, &bv, |r| *rows[r].add(lo) as u32);
            } else {
                gathered_step(&mut acc, &bv, |r| *rows[r].add(lo) as u32 | (*rows[r].add(hi) as u32) << 16);
            }
        }
        store_tile::<MR, NV, MASKED>(&acc, c, ldc, add, mask);
    }
}

/// `C[r, j] (+)= Σ_q x[rows(r) + red(q)] · B[q, j]`: x as bfloat16, the taps as pairs
/// of offsets (`(lo, lo + 1)` adjacent, [`NO_TAP`] for an odd last one), B as
/// `pairs.len()` rows of `ldp` pair words (zero past the last tap and past `np`), C
/// `rows.len() × np`. Tiles of 12 rows × 32 columns, the last strip masked.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn gathered(
    x: *const u16, rows_walk: Walk, pairs: &[(usize, usize)], b: *const u32, ldp: usize, np: usize, c: *mut f32,
    add: bool,
) {
    // SAFETY (whole body): every `rows(r)` plus a pair's offsets lies inside x (the
    // caller's assert); the word read at an adjacent pair covers exactly its two taps.
    unsafe {
        let m = rows_walk.len();
        let mut base = [0usize; 12];
        let mut walk = rows_walk.offsets();
        let mut m0 = 0;
        while m0 < m {
            let rows = (m - m0).min(12);
            for (slot, offset) in base[..rows].iter_mut().zip(&mut walk) {
                *slot = offset;
            }
            let base = &base[..rows];
            let c0 = c.add(m0 * np);
            let mut n0 = 0;
            while n0 < np {
                let step = (np - n0).min(32);
                let (vectors, tail) = (step.div_ceil(16), step % 16);
                let mask = lanes(if tail == 0 { 16 } else { tail });
                let (b0, cj) = (b.add(n0), c0.add(n0));
                match (vectors, tail != 0) {
                    (2, false) => {
                        by_rows!(rows, (gathered_tile, [2, false], (x, base, pairs, b0, ldp, cj, np, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (2, true) => {
                        by_rows!(rows, (gathered_tile, [2, true], (x, base, pairs, b0, ldp, cj, np, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (_, false) => {
                        by_rows!(rows, (gathered_tile, [1, false], (x, base, pairs, b0, ldp, cj, np, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                    (_, true) => {
                        by_rows!(rows, (gathered_tile, [1, true], (x, base, pairs, b0, ldp, cj, np, add, mask)); 1 2 3 4 5 6 7 8 9 10 11 12)
                    }
                }
                n0 += step;
            }
            m0 += rows;
        }
    }
}

/// `dst[i] = bf16(src[i])` for `len` values, rounded to nearest even (`vcvtneps2bf16`:
/// subnormals to zero, as [`super::to_bf16`]).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub unsafe fn convert(src: *const f32, dst: *mut u16, len: usize) {
    // SAFETY: `src` has `len` readable values and `dst` room for `len` (the caller's
    // contract); the tail's masked lanes are never accessed.
    unsafe {
        let mut i = 0;
        while i < len {
            let mask = lanes((len - i).min(16));
            let v = _mm512_maskz_loadu_ps(mask, src.add(i));
            let h: __m256i = core::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(v));
            _mm256_mask_storeu_epi16(dst.add(i).cast(), mask, h);
            i += 16;
        }
    }
}

/// Packs rows `2p` and `2p + 1` of the `k × n` matrix `b` (rows of stride `ldb`) as
/// `⌈k/2⌉` rows of `ldp` pair words (`[p][j]` = the two rows' column j), zero past `k`
/// and `n`: both rows converted at once, their bfloat16s interleaved by one permute.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub unsafe fn pack_row_pairs(b: *const f32, k: usize, n: usize, ldb: usize, out: *mut u32, ldp: usize) {
    // SAFETY: `b` has `k` rows of `n` readable values at stride `ldb` and `out` room for
    // `⌈k/2⌉ × ldp` words, `ldp ≥ n` (the caller's contract); masked lanes are never
    // accessed, and the odd last row pairs with zeros instead of a row past the end.
    unsafe {
        // Word j takes element j of the low row (16-bit lane j) and of the high row
        // (lane 16 + j).
        let interleave = _mm512_set_epi16(
            31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17,
            1, 16, 0,
        );
        for p in 0..k.div_ceil(2) {
            let (lo, has_hi) = (b.add(2 * p * ldb), 2 * p + 1 < k);
            let dst = out.add(p * ldp);
            let mut j = 0;
            while j < ldp {
                let mask = if j < n { lanes((n - j).min(16)) } else { 0 };
                // Past column n the mask is empty: the address is formed, never read.
                let low = _mm512_maskz_loadu_ps(mask, lo.wrapping_add(j));
                let high =
                    if has_hi { _mm512_maskz_loadu_ps(mask, lo.wrapping_add(ldb + j)) } else { _mm512_setzero_ps() };
                let both = core::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(high, low));
                _mm512_storeu_si512(dst.add(j).cast(), _mm512_permutexvar_epi16(interleave, both));
                j += 16;
            }
        }
    }
}
