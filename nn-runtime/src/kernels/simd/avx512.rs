//! AVX-512 helpers the families' 16-lane kernels share: lane masks, masked loads and
//! stores, and the dispatch from a row count to a tile of that constant height.

#![cfg(target_arch = "x86_64")]

use core::arch::x86_64::*;

/// The first `count` lanes (1–16).
#[inline(always)]
pub(crate) fn lanes(count: usize) -> __mmask16 {
    debug_assert!((1..=16).contains(&count));
    (((1u32 << count) - 1) & 0xFFFF) as __mmask16
}

/// Loads 16 values, or only the `mask` lanes when `MASKED`.
#[inline(always)]
pub(crate) unsafe fn load<const MASKED: bool>(p: *const f32, mask: __mmask16) -> __m512 {
    // SAFETY: the caller passes a pointer whose 16 (or `mask`) lanes are readable.
    unsafe {
        if MASKED {
            _mm512_maskz_loadu_ps(mask, p)
        } else {
            _mm512_loadu_ps(p)
        }
    }
}

/// Stores `value` (plus what is there, with `add`), to the `mask` lanes when `MASKED`.
#[inline(always)]
pub(crate) unsafe fn store<const MASKED: bool>(p: *mut f32, value: __m512, add: bool, mask: __mmask16) {
    // SAFETY: the caller passes a pointer whose 16 (or `mask`) lanes are writable.
    unsafe {
        let value = if add { _mm512_add_ps(load::<MASKED>(p, mask), value) } else { value };
        if MASKED {
            _mm512_mask_storeu_ps(p, mask, value)
        } else {
            _mm512_storeu_ps(p, value)
        }
    }
}

/// One row of NV vectors from `p` (16 values apart), the last only its `mask` lanes
/// when `MASKED`.
#[inline(always)]
pub(crate) unsafe fn load_strip<const NV: usize, const MASKED: bool>(p: *const f32, mask: __mmask16) -> [__m512; NV] {
    // SAFETY: the caller passes a pointer with NV × 16 readable values (the last vector:
    // its `mask` lanes) from it.
    unsafe {
        let mut row = [_mm512_setzero_ps(); NV];
        for (v, slot) in row.iter_mut().enumerate() {
            *slot =
                if MASKED && v == NV - 1 { load::<true>(p.add(16 * v), mask) } else { _mm512_loadu_ps(p.add(16 * v)) };
        }
        row
    }
}

/// Writes (or adds, with `add`) an MR × NV tile of accumulators to C from `c` with rows
/// `ldc` apart, the last vector of each row only its `mask` lanes when `MASKED`.
#[inline(always)]
pub(crate) unsafe fn store_tile<const MR: usize, const NV: usize, const MASKED: bool>(
    acc: &[[__m512; NV]; MR], c: *mut f32, ldc: usize, add: bool, mask: __mmask16,
) {
    // SAFETY: the caller passes a C with MR rows of NV × 16 writable values (the last
    // vector: its `mask` lanes) at stride `ldc`.
    unsafe {
        for (r, row) in acc.iter().enumerate() {
            for (v, &value) in row.iter().enumerate() {
                let out = c.add(r * ldc + 16 * v);
                if MASKED && v == NV - 1 {
                    store::<true>(out, value, add, mask);
                } else {
                    store::<false>(out, value, add, mask);
                }
            }
        }
    }
}

/// A `match` on a run-time row count that calls `tile::<ROWS, …>` for each listed
/// count (a register tile's height must be a constant):
/// `by_rows!(rows, (tile, [NV, MASKED], (args…)); 1 2 3)`.
macro_rules! by_rows {
    ($rows:expr, $call:tt; $($n:literal)*) => {
        match $rows {
            $($n => by_rows!(@call $n, $call),)*
            _ => unreachable!("tile height"),
        }
    };
    (@call $n:literal, ($tile:ident, [$($g:tt)*], ($($arg:tt)*))) => {
        $tile::<$n, $($g)*>($($arg)*)
    };
}
pub(crate) use by_rows;
