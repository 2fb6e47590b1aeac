//! Products whose left operand is gathered from an image instead of stored:
//! `C[r, j] (+)= Σ_q x[rows(r) + red(q)] · B[q, j]`, where `rows` and `red` are walks of
//! offsets into `x`. With rows = output pixels and red = kernel taps this is a
//! convolution's forward pass (B the weights, one column per output channel); with the
//! two swapped it is the weight gradient (B the output gradient, transposed). No column
//! matrix is ever written: each x value is broadcast straight from the image into a
//! register tile that holds 6 (or 8) rows by 16 (or 8) output channels.
//!
//! B and C have `np` columns, a multiple of 8 (callers pad the channel count), so every
//! column strip is whole vectors. f32 runs the register tiles [`simd::tiles`] picks
//! (`avx2`: 8 lanes; `avx512`: 16 lanes, where 512-bit FMAs run at full width);
//! everything else the portable loop below, which adds in the same order with the same
//! fused multiply-adds, so all of them agree bit for bit.

// The vector kernels exist for x86-64 only; elsewhere the code that calls them is
// compiled but never reached, and its arguments look unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(unused))]

use crate::float::Float;
use crate::kernels::simd::{self, as_f32, as_f32_mut, Level};
use crate::kernels::view::extent;
pub use crate::kernels::view::Walk;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

/// `C (+)= gather(x; rows, red) · B`, C `rows.len() × np`, B `red.len() × np`, both
/// row-major. Panics if an offset falls outside `x` or `np` is not a multiple of 8:
/// bugs in the caller, never user errors.
pub fn product<F: Float>(x: &[F], rows: Walk, red: Walk, b: &[F], np: usize, c: &mut [F], add: bool) {
    product_at(simd::tiles(), x, rows, red, b, np, c, add)
}

/// [`product`] on the kernels of `level` (at most what the processor runs).
#[allow(clippy::too_many_arguments)]
fn product_at<F: Float>(level: Level, x: &[F], rows: Walk, red: Walk, b: &[F], np: usize, c: &mut [F], add: bool) {
    assert!(level <= simd::detect(), "gathered: {level:?} kernels on a processor without them");
    assert_eq!(np % 8, 0, "gathered: np must be a multiple of 8");
    let (m, k) = (rows.len(), red.len());
    if m == 0 || np == 0 {
        return;
    }
    assert!(c.len() >= extent(m, np, np, 1), "gathered: C out of bounds");
    if k == 0 {
        if !add {
            c[..m * np].fill(F::ZERO);
        }
        return;
    }
    assert!(rows.last().saturating_add(red.last()) < x.len(), "gathered: x out of bounds");
    assert!(b.len() >= extent(k, np, np, 1), "gathered: B out of bounds");
    #[cfg(feature = "std")]
    if crate::kernels::bf16::gathered(x, rows, red, b, np, c, add) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2 {
        if let (Some(x32), Some(b32), Some(c32)) = (as_f32(x), as_f32(b), as_f32_mut(c)) {
            let (x, b, c) = (x32.as_ptr(), b32.as_ptr(), c32.as_mut_ptr());
            // SAFETY: the processor has the level's features (asserted above), the
            // kernels' one target requirement; the asserts above prove that every offset
            // the walks form lies in `x`, that B has `k` rows and C `m` rows of `np`
            // values; `c` is a unique borrow, so C aliases neither x nor B.
            unsafe {
                if level == Level::Avx512 {
                    avx512::product(x, rows, red, b, np, c, add)
                } else {
                    avx2::product(x, rows, red, b, np, c, add)
                }
            };
            return;
        }
    }
    portable(x, rows, red, b, np, c, add);
}

/// The reference loop: per output row, the taps in walk order, fused multiply-adds.
fn portable<F: Float>(x: &[F], rows: Walk, red: Walk, b: &[F], np: usize, c: &mut [F], add: bool) {
    for (r, base) in rows.offsets().enumerate() {
        let out = &mut c[r * np..(r + 1) * np];
        if !add {
            out.fill(F::ZERO);
        }
        // Accumulate from zero, then add C, as the vector kernel does.
        let mut acc = [F::ZERO; 8];
        for strip in 0..np / 8 {
            acc.fill(F::ZERO);
            for (q, offset) in red.offsets().enumerate() {
                let v = x[base + offset];
                let brow = &b[q * np + strip * 8..][..8];
                for (a, &w) in acc.iter_mut().zip(brow) {
                    *a = v.mul_add(w, *a);
                }
            }
            for (o, a) in out[strip * 8..][..8].iter_mut().zip(acc) {
                *o += a;
            }
        }
    }
}

/// `C[r, j] (+)= Σ_q A[r, q] · x[red(q) + j]`: A `m × red.len()` row-major, C `m × n`
/// with rows of stride `ldc`. Each reduction step reads `n` consecutive values of x
/// from its own offset; with red = kernel taps and j = output positions of a
/// unit-stride convolution (rows of the input's full width), that is the convolution
/// with the weights broadcast and the image streamed, no column matrix.
#[allow(clippy::too_many_arguments)]
pub fn shifted<F: Float>(a: &[F], m: usize, red: Walk, x: &[F], n: usize, c: &mut [F], ldc: usize, add: bool) {
    shifted_at(simd::tiles(), a, m, red, x, n, c, ldc, add)
}

/// [`shifted`] on the kernels of `level` (at most what the processor runs).
#[allow(clippy::too_many_arguments)]
fn shifted_at<F: Float>(
    level: Level, a: &[F], m: usize, red: Walk, x: &[F], n: usize, c: &mut [F], ldc: usize, add: bool,
) {
    assert!(level <= simd::detect(), "shifted: {level:?} kernels on a processor without them");
    let k = red.len();
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= extent(m, n, ldc, 1) && ldc >= n, "shifted: C out of bounds");
    if k == 0 {
        if !add {
            c.chunks_mut(ldc).take(m).for_each(|row| row[..n].fill(F::ZERO));
        }
        return;
    }
    assert!(a.len() >= extent(m, k, k, 1), "shifted: A out of bounds");
    assert!(red.last().saturating_add(n) <= x.len(), "shifted: x out of bounds");
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2 {
        if let (Some(a32), Some(x32), Some(c32)) = (as_f32(a), as_f32(x), as_f32_mut(c)) {
            let (a, x, c) = (a32.as_ptr(), x32.as_ptr(), c32.as_mut_ptr());
            // SAFETY: the processor has the level's features (asserted above); the
            // asserts above prove that A has `m` rows of `k`, that every offset plus
            // `n - 1` lies in `x`, and that C has `m` rows of stride `ldc ≥ n`; `c` is a
            // unique borrow.
            unsafe {
                if level == Level::Avx512 {
                    avx512::shifted(a, m, red, x, n, c, ldc, add)
                } else {
                    avx2::shifted(a, m, red, x, n, c, ldc, add)
                }
            };
            return;
        }
    }
    for r in 0..m {
        for j in 0..n {
            let sum = red.offsets().enumerate().fold(F::ZERO, |sum, (q, off)| a[r * k + q].mul_add(x[off + j], sum));
            let out = &mut c[r * ldc + j];
            *out = if add { *out + sum } else { sum };
        }
    }
}

/// `C[r, q] (+)= Σ_{j<n} A[r, j] · x[red(q) + j]`: A `m × n` with rows of stride `lda`,
/// C `m × red.len()` with rows of stride `ldc`. The transpose of [`shifted`]'s product
/// with respect to its weights: with A an output gradient over full-width rows (zero in
/// the columns past each row's end) it is a unit-stride convolution's weight gradient.
#[allow(clippy::too_many_arguments)]
pub fn shifted_dots<F: Float>(
    a: &[F], lda: usize, m: usize, red: Walk, x: &[F], n: usize, c: &mut [F], ldc: usize, add: bool,
) {
    shifted_dots_at(simd::tiles(), a, lda, m, red, x, n, c, ldc, add)
}

/// [`shifted_dots`] on the kernels of `level` (at most what the processor runs).
#[allow(clippy::too_many_arguments)]
fn shifted_dots_at<F: Float>(
    level: Level, a: &[F], lda: usize, m: usize, red: Walk, x: &[F], n: usize, c: &mut [F], ldc: usize, add: bool,
) {
    assert!(level <= simd::detect(), "shifted_dots: {level:?} kernels on a processor without them");
    let k = red.len();
    if m == 0 || k == 0 {
        return;
    }
    assert!(ldc >= k && c.len() >= extent(m, k, ldc, 1), "shifted_dots: C out of bounds");
    if n == 0 {
        if !add {
            c.chunks_mut(ldc).take(m).for_each(|row| row[..k].fill(F::ZERO));
        }
        return;
    }
    assert!(lda >= n && a.len() >= extent(m, n, lda, 1), "shifted_dots: A out of bounds");
    assert!(red.last().saturating_add(n) <= x.len(), "shifted_dots: x out of bounds");
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2 {
        if let (Some(a32), Some(x32), Some(c32)) = (as_f32(a), as_f32(x), as_f32_mut(c)) {
            let (a, x, c) = (a32.as_ptr(), x32.as_ptr(), c32.as_mut_ptr());
            // SAFETY: the processor has the level's features (asserted above); the
            // asserts above prove that A has `m` rows of `n` values at stride `lda`,
            // that every offset plus `n - 1` lies in `x`, and that C has `m` rows of `k`
            // at stride `ldc`; `c` is a unique borrow.
            unsafe {
                if level == Level::Avx512 {
                    avx512::shifted_dots(a, lda, m, red, x, n, c, ldc, add)
                } else {
                    avx2::shifted_dots(a, lda, m, red, x, n, c, ldc, add)
                }
            };
            return;
        }
    }
    for r in 0..m {
        let row = &a[r * lda..][..n];
        for (q, off) in red.offsets().enumerate() {
            let sum = row.iter().zip(&x[off..off + n]).fold(F::ZERO, |s, (&a, &b)| a.mul_add(b, s));
            let out = &mut c[r * ldc + q];
            *out = if add { *out + sum } else { sum };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's definition, by division: the reference for [`Walk::offsets`].
    fn offset(walk: Walk, q: usize) -> usize {
        let (n, step) = (walk.n, walk.step);
        (q / (n[1] * n[2])) * step[0] + (q / n[2] % n[1]) * step[1] + (q % n[2]) * step[2]
    }

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
    }

    #[test]
    fn walk_offsets_follow_three_nested_loops() {
        let walk = Walk { n: [2, 3, 4], step: [100, 10, 1] };
        assert_eq!(walk.offsets().collect::<Vec<_>>(), (0..walk.len()).map(|q| offset(walk, q)).collect::<Vec<_>>());
        let expected: Vec<usize> =
            (0..2).flat_map(|a| (0..3).flat_map(move |b| (0..4).map(move |c| a * 100 + b * 10 + c))).collect();
        assert_eq!((0..walk.len()).map(|q| offset(walk, q)).collect::<Vec<_>>(), expected);
        assert_eq!(walk.last(), 123);
    }

    fn levels() -> Vec<Level> {
        simd::levels_here()
    }

    /// Every tile height (1–8 rows and more for 8 lanes, 1–14 and more for 16) and strip
    /// mix (8 to 64 columns: whole and half-masked 16-lane vectors), overwrite
    /// and add: the vector kernel (when this machine has one) equals the portable loop
    /// bit for bit, and the portable loop equals the definition in f64. B is exactly
    /// `red.len() × np`, so a pointer past its end is out of bounds for Miri.
    ///
    /// Under Miri (tools/miri.sh) fewer taps and shapes, still every tile height (8-row
    /// tiles for np = 8, 6-row ones otherwise, 1 to 6 rows left over) and every strip
    /// mix (16-column strips, an 8-column strip alone or after them), and without the
    /// check against the definition (which runs no unsafe code).
    #[test]
    fn vector_kernels_equal_portable_loop_and_definition() {
        let (nps, max_m, red, x_len): (&[usize], usize, Walk, usize) = if cfg!(miri) {
            (&[8, 24, 40], 9, Walk { n: [2, 1, 2], step: [500, 31, 3] }, 1000)
        } else {
            (&[8, 16, 24, 32, 40, 48, 64], 15, Walk { n: [3, 5, 4], step: [500, 31, 3] }, 4000)
        };
        let x = values(x_len, 0.5);
        for &np in nps {
            for m in 1..=max_m {
                let rows = Walk { n: [1, m.div_ceil(3), 3.min(m)], step: [0, 97, 2] };
                let rows = if rows.len() == m { rows } else { Walk { n: [1, 1, m], step: [0, 0, 5] } };
                let b = values(red.len() * np, 2.0);
                let start = values(m * np, 9.0);
                for add in [false, true] {
                    let mut slow = start.clone();
                    portable(&x, rows, red, &b, np, &mut slow, add);
                    for level in levels() {
                        let mut fast = start.clone();
                        product_at(level, &x, rows, red, &b, np, &mut fast, add);
                        assert_eq!(fast, slow, "{level:?}: np {np}, m {m}, add {add}");
                    }
                    if cfg!(miri) {
                        continue;
                    }
                    for r in 0..m {
                        for j in 0..np {
                            let mut want = if add { start[r * np + j] as f64 } else { 0.0 };
                            for q in 0..red.len() {
                                want += x[offset(rows, r) + offset(red, q)] as f64 * b[q * np + j] as f64;
                            }
                            assert!((slow[r * np + j] as f64 - want).abs() < 1e-4, "np {np}, m {m}");
                        }
                    }
                }
            }
        }
    }

    /// Every tile height (1–6 rows) and column mix (8 lanes: 16s, an 8, a masked tail;
    /// 16 lanes: 1–4 vectors, the last whole or masked), overwrite and add: f32 on each
    /// level this machine runs equals the portable f32 loop bit for bit and the
    /// portable loop run in f64 closely, and columns past `n` are left alone.
    /// Under Miri fewer taps and widths, still every strip kind: a masked tail alone
    /// (7) or after a 16 and an 8 (29), a 16 alone.
    #[test]
    fn shifted_vector_kernels_equal_portable_loop_and_definition() {
        let (red, widths, x_len): (Walk, &[usize], usize) = if cfg!(miri) {
            (Walk { n: [2, 1, 2], step: [60, 40, 1] }, &[7, 16, 29], 100)
        } else {
            (Walk { n: [2, 3, 5], step: [900, 40, 1] }, &[1, 7, 8, 13, 16, 29, 32, 40, 48, 60, 64, 71, 150], 3000)
        };
        let x = values(x_len, 0.5);
        for m in 1..=7usize {
            let a = values(m * red.len(), 4.0);
            for &n in widths {
                let ldc = n + 3;
                let start = values(m * ldc, 9.0);
                for add in [false, true] {
                    let vector: Vec<Vec<f32>> = levels()
                        .into_iter()
                        .map(|level| {
                            let mut out = start.clone();
                            shifted_at(level, &a, m, red, &x, n, &mut out, ldc, add);
                            out
                        })
                        .collect();
                    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                    let a64: Vec<f64> = a.iter().map(|&v| v as f64).collect();
                    let mut slow = start.iter().map(|&v| v as f64).collect::<Vec<_>>();
                    shifted(&a64, m, red, &x64, n, &mut slow, ldc, add);
                    for fast in &vector {
                        assert_eq!(
                            fast, &vector[0],
                            "m {m}, n {n}, add {add}: a vector kernel differs from the portable loop"
                        );
                        for r in 0..m {
                            for j in 0..ldc {
                                let (got, want) = (fast[r * ldc + j] as f64, slow[r * ldc + j]);
                                if j >= n {
                                    assert_eq!(got, start[r * ldc + j] as f64, "padding columns untouched");
                                } else {
                                    assert!((got - want).abs() < 1e-5, "m {m}, n {n}, add {add}: {got} vs {want}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every tile shape (8 lanes: 1–3 rows, 1–3 windows from 18, 4 = 3 + 1, 5 = 3 + 2
    /// and 7 taps; 16 lanes: 1–4 rows and windows, 18 = 4·4 + 2, 7 = 4 + 3, 5 = 4 + 1)
    /// and column count (vector body and tail), overwrite and add, on every level this
    /// machine runs, against the portable loop in f64 (under Miri fewer rows, widths and
    /// taps, every 8-lane shape still).
    #[test]
    fn shifted_dots_equal_the_definition() {
        let (reds, max_m, widths, x_len): (&[Walk], usize, &[usize], usize) = if cfg!(miri) {
            (&[Walk { n: [1, 2, 2], step: [0, 40, 1] }, Walk { n: [1, 1, 5], step: [0, 0, 1] }], 5, &[1, 8, 13], 100)
        } else {
            (
                &[
                    Walk { n: [2, 3, 3], step: [900, 40, 1] },
                    Walk { n: [1, 2, 2], step: [0, 40, 1] },
                    Walk { n: [1, 1, 5], step: [0, 0, 1] },
                    Walk { n: [1, 1, 7], step: [0, 0, 1] },
                ],
                7,
                &[1, 8, 13, 40, 61],
                3000,
            )
        };
        let x = values(x_len, 0.5);
        for &red in reds {
            for m in 1..=max_m {
                for &n in widths {
                    let lda = n + 2;
                    let a = values(m * lda, 4.0);
                    let ldc = red.len() + 1;
                    let start = values(m * ldc, 9.0);
                    for add in [false, true] {
                        let widen = |v: &[f32]| v.iter().map(|&v| v as f64).collect::<Vec<f64>>();
                        let mut slow = widen(&start);
                        shifted_dots(&widen(&a), lda, m, red, &widen(&x), n, &mut slow, ldc, add);
                        for level in levels() {
                            let mut fast = start.clone();
                            shifted_dots_at(level, &a, lda, m, red, &x, n, &mut fast, ldc, add);
                            for (i, (&got, &want)) in fast.iter().zip(&slow).enumerate() {
                                if i % ldc == red.len() {
                                    assert_eq!(got as f64, want, "padding column untouched");
                                }
                                let close = (got as f64 - want).abs() < 1e-4;
                                assert!(close, "{level:?}: m {m}, n {n}, add {add}: {got} vs {want}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Issue 12, item 1, as reported: with `np` = 24 the last strip (8 columns) starts
    /// at column 16, so after B's last row the kernel's row pointer lies past B's end.
    /// B is exactly 2 × 24 here; Miri (tools/miri.sh, AVX2 configuration) rejects
    /// pointer arithmetic that leaves the allocation. On every level, and through the
    /// public entry exactly as reported.
    #[test]
    fn a_strip_that_does_not_start_at_column_0_stays_inside_b() {
        let rows = Walk { n: [1, 1, 1], step: [0, 0, 0] };
        let red = Walk { n: [1, 1, 2], step: [0, 0, 1] };
        for level in levels() {
            let mut c = [0.0f32; 24];
            product_at(level, &[1.0; 2], rows, red, &[1.0; 48], 24, &mut c, false);
            assert_eq!(c, [2.0; 24], "{level:?}");
        }
        let mut c = [0.0f32; 24];
        product(&[1.0; 2], rows, red, &[1.0; 48], 24, &mut c, false);
        assert_eq!(c, [2.0; 24]);
    }

    #[test]
    #[should_panic(expected = "x out of bounds")]
    fn offsets_past_the_image_are_refused() {
        let x = vec![0.0f32; 10];
        let mut c = vec![0.0f32; 8];
        let b = vec![0.0f32; 16];
        product(
            &x,
            Walk { n: [1, 1, 1], step: [0, 0, 0] },
            Walk { n: [1, 1, 2], step: [0, 0, 10] },
            &b,
            8,
            &mut c,
            false,
        );
    }
}
