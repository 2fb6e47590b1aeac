//! Opt-in bfloat16 products ([`Precision::Bf16`]): operands rounded to bfloat16 (8
//! significant bits), multiplied in pairs and accumulated in f32 by AVX-512 BF16's
//! `vdpbf16ps`, which does two multiply-adds per f32 lane where an FMA does one. A
//! network chooses it for inference with `Network::set_precision`; its inference
//! products (the direct convolution's gathered product, and every `gemm` an inference
//! pass makes: `linear`, im2col convolutions) then take these kernels, while a network
//! left at [`Precision::F32`] runs in f32 as before. The shifted convolution strategy
//! (unit-stride layers with few input channels, such as LeNet-5's first) and recurrent
//! layers' steps stay f32.
//!
//! `Network::set_training_precision` does the same for a training step's products,
//! forward and backward (mixed precision: weights, gradients, loss and optimizer stay
//! f32). The choice travels as a per-thread flag ([`with`]) set around one network's
//! passes, so the generated code and the operators stay unchanged. Operands are packed
//! into bfloat16 pairs in per-thread scratch (grown once, then reused): the weights
//! each call (a few thousand values for LeNet-5), the activations once per product.
//! Only processors with AVX512_BF16 run it ([`available`]); elsewhere
//! `set_precision` refuses it rather than emulating it slowly.

// The vector kernels exist for x86-64 only; elsewhere the code that calls them is
// compiled but never reached, and its arguments look unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(unused))]

use crate::float::Float;
use crate::kernels::simd::{self, as_f32, as_f32_mut};
use crate::kernels::view::{clear_rows, extent, Mat, Walk};
use std::cell::{Cell, RefCell};

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod amx;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// The arithmetic of a network's products (inference and training set apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// f32 (or f64) throughout: the default.
    #[default]
    F32,
    /// Products with bfloat16 operands and f32 accumulation; everything between them
    /// (bias, activations, pooling, normalization) stays f32.
    Bf16,
}

/// Whether this processor runs the bfloat16 kernels ([`simd::bf16_available`]).
pub fn available() -> bool {
    simd::bf16_available()
}

/// In a pair of taps' offsets `(lo, hi)`: no second tap (an odd last one, paired with
/// zero). `hi == lo + 1` marks taps adjacent in x, read as one word.
const NO_TAP: usize = usize::MAX;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static PACKED: RefCell<Packed> = RefCell::new(Packed::default());
}

/// Per-thread scratch: operands packed as bfloat16 pairs, and a walk's offsets.
#[derive(Default)]
struct Packed {
    a: Vec<u32>,
    b: Vec<u32>,
    x: Vec<u16>,
    rows: Vec<u16>,
    pairs: Vec<(usize, usize)>,
    tiles_a: Vec<u32>,
    tiles_c: Vec<f32>,
}

/// Runs `f` with this thread's products in `precision` (bfloat16 only where
/// [`available`]), restoring the previous setting afterwards, also on a panic.
pub fn with<R>(precision: Precision, f: impl FnOnce() -> R) -> R {
    let _scope = Scope::enter(precision);
    f()
}

/// This thread's products in a precision until the value is dropped (then, also on a
/// panic, the previous setting again): [`with`] for code that returns early.
pub struct Scope(bool);

impl Scope {
    /// Sets this thread's products to `precision` (bfloat16 only where [`available`]).
    pub fn enter(precision: Precision) -> Scope {
        let on = precision == Precision::Bf16 && available();
        Scope(ACTIVE.with(|a| a.replace(on)))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(self.0));
    }
}

/// Whether this thread's products run in bfloat16 now.
#[inline]
pub fn active() -> bool {
    ACTIVE.with(|a| a.get())
}

/// `value` rounded to the nearest bfloat16, ties to even; NaN stays NaN (quiet), and
/// subnormals become signed zero, as `vdpbf16ps` reads them anyway.
#[inline]
pub fn to_bf16(value: f32) -> u16 {
    let bits = value.to_bits();
    if value.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    if bits & 0x7F80_0000 == 0 {
        return ((bits >> 16) & 0x8000) as u16;
    }
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1));
    (rounded >> 16) as u16
}

/// The f32 a bfloat16 stands for.
#[inline]
pub fn from_bf16(value: u16) -> f32 {
    f32::from_bits((value as u32) << 16)
}

/// The pair (`lo`, `hi`) in one 32-bit word, `lo` in the low half: `vdpbf16ps`'s order.
#[inline]
fn pair(lo: f32, hi: f32) -> u32 {
    to_bf16(lo) as u32 | (to_bf16(hi) as u32) << 16
}

/// `out` = the `m` rows of `k` contiguous values (row stride `ld`) of `values`, as
/// bfloat16 rows of `2·⌈k/2⌉` (a zero after an odd `k`): `⌈k/2⌉` pair words each.
fn convert_rows(out: &mut Vec<u16>, values: &[f32], m: usize, k: usize, ld: usize) {
    let width = k.div_ceil(2) * 2;
    // Every value is written below: only a grown buffer's new part is zeroed first.
    out.truncate(m * width);
    out.resize(m * width, 0);
    for (i, row) in out.chunks_exact_mut(width.max(1)).take(m).enumerate() {
        let src = &values[i * ld..i * ld + k];
        row[width - 1] = 0; // the pair partner of an odd last value (overwritten if k is even)
        #[cfg(target_arch = "x86_64")]
        // SAFETY: only called while `active()`, which implies AVX-512F, BW, VL and BF16;
        // `src` has `k` values and `row` room for `width ≥ k`.
        unsafe {
            avx512::convert(src.as_ptr(), row.as_mut_ptr(), k)
        };
        #[cfg(not(target_arch = "x86_64"))]
        row.iter_mut().zip(src).for_each(|(o, &v)| *o = to_bf16(v));
    }
}

/// Packs the `k × n` matrix `get(p, j)` as `⌈k/2⌉` rows of `ldp` pairs
/// (rows 2p and 2p + 1 of column j in word `[p][j]`), zero past `k` and `n`.
fn pack_pairs_by_column(out: &mut Vec<u32>, k: usize, n: usize, ldp: usize, get: impl Fn(usize, usize) -> f32) {
    out.clear();
    out.resize(k.div_ceil(2) * ldp, 0);
    for (p, row) in out.chunks_exact_mut(ldp).enumerate() {
        for (j, word) in row[..n].iter_mut().enumerate() {
            let hi = if 2 * p + 1 < k { get(2 * p + 1, j) } else { 0.0 };
            *word = pair(get(2 * p, j), hi);
        }
    }
}

/// Packs the `m × k` matrix `get(i, p)` as `m` rows of `⌈k/2⌉` pairs (columns 2p and
/// 2p + 1 in word `[i][p]`), zero past `k`.
fn pack_pairs_by_row(out: &mut Vec<u32>, m: usize, k: usize, get: impl Fn(usize, usize) -> f32) {
    let kp = k.div_ceil(2);
    out.clear();
    out.resize(m * kp, 0);
    for (i, row) in out.chunks_exact_mut(kp.max(1)).take(m).enumerate() {
        for (p, word) in row.iter_mut().enumerate() {
            let hi = if 2 * p + 1 < k { get(i, 2 * p + 1) } else { 0.0 };
            *word = pair(get(i, 2 * p), hi);
        }
    }
}

/// `C (+)= A · B` in bfloat16 for f32 operands, C row-major with row stride `ldc`.
/// Returns `false`, touching nothing, where this thread is not in bfloat16 mode or `F`
/// is not f32. Used by [`crate::kernels::gemm::gemm`] for every product while active.
pub fn gemm<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, add: bool) -> bool {
    if !active() {
        return false;
    }
    let (Some(a32), Some(b32), Some(c32)) = (as_f32(a.data), as_f32(b.data), as_f32_mut(c)) else { return false };
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(c32.len() >= extent(m, n, ldc, 1), "bf16 gemm: C out of bounds");
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        // Nothing to multiply (and A, B may be empty: no pointer into them is formed).
        if !add {
            clear_rows(c32, m, n, ldc);
        }
        return true;
    }
    let kp = k.div_ceil(2);
    let ldp = n.div_ceil(16) * 16;
    PACKED.with(|packed| {
        let packed = &mut *packed.borrow_mut();
        // A as pair words (i, p) at `i · a_row + p · a_pair`, by its layout: rows
        // contiguous (weights, `linear`'s input) convert straight into pairs; columns
        // contiguous (a transposed view) pack two rows of the stored matrix at a time.
        let (a_words, a_row, a_pair): (*const u32, usize, usize) = if a.col_stride == 1 {
            convert_rows(&mut packed.x, a32, m, k, a.row_stride);
            (packed.x.as_ptr().cast(), kp, 1)
        } else if a.row_stride == 1 {
            let ldm = m.div_ceil(16) * 16;
            pack_row_pairs(&mut packed.a, a32, k, m, a.col_stride, ldm);
            (packed.a.as_ptr(), 1, ldm)
        } else {
            pack_pairs_by_row(&mut packed.a, m, k, |i, p| a32[i * a.row_stride + p * a.col_stride]);
            (packed.a.as_ptr(), kp, 1)
        };
        // B as `kp` rows of `ldp` pair words, `[p][j]` = rows 2p and 2p + 1 of column j.
        if b.col_stride == 1 {
            // An im2col product's columns: B's rows contiguous, two at a time.
            pack_row_pairs(&mut packed.b, b32, k, n, b.row_stride, ldp);
        } else if b.row_stride == 1 {
            // `linear`'s Wᵀ: W's rows convert straight into pairs, then transpose.
            convert_rows(&mut packed.rows, b32, n, k, b.col_stride);
            packed.b.clear();
            packed.b.resize(kp * ldp, 0);
            for (j, row) in packed.rows.chunks_exact(2 * kp).enumerate() {
                for (p, pair) in row.chunks_exact(2).enumerate() {
                    packed.b[p * ldp + j] = pair[0] as u32 | (pair[1] as u32) << 16;
                }
            }
        } else {
            pack_pairs_by_column(&mut packed.b, k, n, ldp, |p, j| b32[p * b.row_stride + j * b.col_stride]);
        }
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if simd::amx_chosen() {
            let word = |i: usize, p: usize| {
                // SAFETY: as below: word (i, p), i < m, p < kp, of the packed A.
                unsafe { a_words.add(i * a_row + p * a_pair).read_unaligned() }
            };
            amx_gemm(amx::product, packed, m, kp, n, word, ldp, c32, ldc, add);
            return;
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active()` implies `available()`: AVX-512F, BW, VL and BF16. A's words
        // (i, p), i < m, p < kp, lie in the buffer packed above for its layout (rows of
        // `kp` words, or `kp` rows of `ldm ≥ m`); B holds `kp × ldp` words, `ldp ≥ n` a
        // multiple of 16; the assert above bounds C's `m` rows of `n` at stride `ldc`;
        // `c` is a unique borrow.
        unsafe {
            avx512::nn(m, kp, n, a_words, a_row, a_pair, packed.b.as_ptr(), ldp, c32.as_mut_ptr(), ldc, add)
        };
    });
    true
}

/// The signature of [`amx::product`] (and of the tests' emulation of it).
type TileProduct = unsafe fn(usize, usize, usize, *const u32, *const u32, *mut f32);

/// The product of [`gemm`] on AMX tiles (`product`: [`amx::product`], whose contract
/// the caller meets): A (`word(i, p)`) copied into whole 16 × 16-word tiles, B
/// (`packed.b`, `kp × ldp` words) padded with zero rows to a multiple of 16, C computed
/// into whole tiles, then its `m × n` corner written (or added) into `c`.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[allow(clippy::too_many_arguments)]
fn amx_gemm(
    product: TileProduct, packed: &mut Packed, m: usize, kp: usize, n: usize, word: impl Fn(usize, usize) -> u32,
    ldp: usize, c: &mut [f32], ldc: usize, add: bool,
) {
    let (m16, kp16) = (m.div_ceil(16) * 16, kp.div_ceil(16) * 16);
    packed.tiles_a.clear();
    packed.tiles_a.resize(m16 * kp16, 0);
    for i in 0..m {
        for p in 0..kp {
            packed.tiles_a[i * kp16 + p] = word(i, p);
        }
    }
    packed.b.resize(kp16 * ldp, 0);
    packed.tiles_c.clear();
    packed.tiles_c.resize(m16 * ldp, 0.0);
    // SAFETY: the caller passes `amx::product` only where `simd::amx_usable()`; A is
    // `m16 × kp16` words, B `kp16 × ldp` (`ldp` a multiple of 16), C `m16 × ldp`, all
    // just sized, as its contract asks.
    unsafe { product(m16, kp16, ldp, packed.tiles_a.as_ptr(), packed.b.as_ptr(), packed.tiles_c.as_mut_ptr()) };
    for i in 0..m {
        let (row, out) = (&packed.tiles_c[i * ldp..][..n], &mut c[i * ldc..][..n]);
        for (o, &v) in out.iter_mut().zip(row) {
            *o = if add { *o + v } else { v };
        }
    }
}

/// `out` = rows 2p and 2p + 1 of the `k × n` matrix `values` (rows of stride `ld`) as
/// `⌈k/2⌉` rows of `ldp` pair words (a multiple of 16, at least `n`), zero past `k`
/// and `n`.
fn pack_row_pairs(out: &mut Vec<u32>, values: &[f32], k: usize, n: usize, ld: usize, ldp: usize) {
    debug_assert!(ldp.is_multiple_of(16) && ldp >= n);
    if k == 0 || n == 0 {
        out.clear();
        out.resize(k.div_ceil(2) * ldp, 0);
        return;
    }
    // The kernel writes every word (zero past `n` and `k`): only a grown buffer's new
    // part is zeroed first.
    out.truncate(k.div_ceil(2) * ldp);
    out.resize(k.div_ceil(2) * ldp, 0);
    assert!(values.len() > (k - 1) * ld + n - 1, "bf16: operand out of bounds");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only called while `active()`, which implies AVX-512F, BW, VL and BF16;
    // `values` has `k` rows of `n` at stride `ld` (asserted above) and `out` room for
    // `⌈k/2⌉ × ldp` words.
    unsafe {
        avx512::pack_row_pairs(values.as_ptr(), k, n, ld, out.as_mut_ptr(), ldp)
    };
    #[cfg(not(target_arch = "x86_64"))]
    pack_pairs_by_column(out, k, n, ldp, |p, j| values[p * ld + j]);
}

/// [`crate::kernels::gathered::product`] in bfloat16 for f32: `C[r, j] (+)= Σ_q
/// x[rows(r) + red(q)] · B[q, j]`, C and B with `np` columns. Returns `false` as
/// [`gemm`] does. The caller has checked every offset against `x` and the sizes of B
/// and C.
#[allow(clippy::too_many_arguments)]
pub fn gathered<F: Float>(x: &[F], rows: Walk, red: Walk, b: &[F], np: usize, c: &mut [F], add: bool) -> bool {
    if !active() {
        return false;
    }
    let (Some(x32), Some(b32), Some(c32)) = (as_f32(x), as_f32(b), as_f32_mut(c)) else { return false };
    let (m, k) = (rows.len(), red.len());
    if m == 0 || k == 0 || np == 0 {
        return false; // the f32 entry handles empty products
    }
    let reach = rows.last().saturating_add(red.last());
    assert!(reach < x32.len() && b32.len() >= extent(k, np, np, 1) && c32.len() >= extent(m, np, np, 1));
    let ldp = np.div_ceil(16) * 16;
    PACKED.with(|packed| {
        let packed = &mut *packed.borrow_mut();
        // Only the part of x the walks reach (a group's taps start inside a longer slice).
        convert_rows(&mut packed.x, x32, 1, reach + 1, reach + 1);
        pack_row_pairs(&mut packed.b, b32, k, np, np, ldp);
        // Taps in pairs, in walk order; an odd last one pairs with zero.
        packed.pairs.clear();
        let mut taps = red.offsets();
        while let Some(lo) = taps.next() {
            packed.pairs.push((lo, taps.next().unwrap_or(NO_TAP)));
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active()` implies AVX-512F, BW, VL and BF16. `packed.x` holds x up to
        // `reach`, the largest `rows(r) + red(q)` (asserted inside x above); the pairs hold the
        // walk's offsets (or `NO_TAP`, never read); B holds `⌈k/2⌉ × ldp` words, C
        // `m × np` values; `c` is a unique borrow.
        unsafe {
            avx512::gathered(packed.x.as_ptr(), rows, &packed.pairs, packed.b.as_ptr(), ldp, np, c32.as_mut_ptr(), add)
        };
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f64) -> Vec<f32> {
        (0..n).map(|i| (((i as f64 + seed) * 0.37).sin() * 2.0) as f32).collect()
    }

    #[test]
    fn rounding_to_bf16_is_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3F80);
        assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0, "a tie goes to even");
        assert_eq!(from_bf16(to_bf16(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0, "a tie goes to even");
        assert_eq!(from_bf16(to_bf16(1.0 + 1.5 / 256.0)), 1.0 + 2.0 / 256.0);
        assert_eq!(from_bf16(to_bf16(-3.0)), -3.0);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(f32::INFINITY)), f32::INFINITY);
        assert_eq!(from_bf16(to_bf16(f32::MAX)), f32::INFINITY, "rounds up past the largest bfloat16");
        assert_eq!(to_bf16(1e-40), 0, "subnormals flush to zero");
        assert_eq!(to_bf16(-1e-40), 0x8000);
        for v in values(1000, 0.0) {
            let r = from_bf16(to_bf16(v));
            assert!((r - v).abs() <= v.abs() / 256.0, "{v} → {r}");
        }
    }

    /// Σ |a·b| in f64: the scale of a product's rounding error.
    fn reference(
        m: usize, n: usize, k: usize, a: impl Fn(usize, usize) -> f32, b: impl Fn(usize, usize) -> f32,
    ) -> (Vec<f64>, Vec<f64>) {
        let round = |v: f32| from_bf16(to_bf16(v)) as f64;
        let mut sum = vec![0.0; m * n];
        let mut scale = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let term = round(a(i, p)) * round(b(p, j));
                    sum[i * n + j] += term;
                    scale[i * n + j] += term.abs();
                }
            }
        }
        (sum, scale)
    }

    /// The products equal the same sums over bfloat16-rounded operands, computed in
    /// f64, within f32 accumulation error (k additions of at most half an f32 ulp of
    /// the running magnitude): the pairing, packing and tails are right. Skipped, with
    /// the reason printed, where the processor has no AVX512_BF16.
    #[test]
    fn bf16_products_equal_the_rounded_operands_products() {
        if !available() {
            eprintln!("no AVX512_BF16 here (or NN_SIMD caps below AVX-512): the bfloat16 kernels cannot run");
            return;
        }
        with(Precision::Bf16, || {
            assert!(active());
            // gemm: every row count 1–13, columns with and without a masked tail, odd k.
            for &(m, k, n) in &[(1, 1, 1), (13, 40, 57), (6, 25, 33), (12, 7, 16), (3, 150, 120), (32, 120, 84)] {
                let a = values(m * k, 1.0);
                let b = values(k * n, 2.0);
                for (transposed_a, transposed_b) in [(false, false), (false, true), (true, false), (true, true)] {
                    let view = if transposed_b { Mat::transposed(&b, k, n) } else { Mat::row_major(&b, k, n) };
                    let bt = |p: usize, j: usize| if transposed_b { b[j * k + p] } else { b[p * n + j] };
                    let left = if transposed_a { Mat::transposed(&a, m, k) } else { Mat::row_major(&a, m, k) };
                    let at = |i: usize, p: usize| if transposed_a { a[p * m + i] } else { a[i * k + p] };
                    let (want, scale) = reference(m, n, k, at, bt);
                    for add in [false, true] {
                        let mut c = vec![0.5f32; m * n];
                        assert!(gemm(left, view, &mut c, n, add));
                        for (i, (&got, (&want, &scale))) in c.iter().zip(want.iter().zip(&scale)).enumerate() {
                            let want = want + if add { 0.5 } else { 0.0 };
                            let bound = (k as f64 + 2.0) * f32::EPSILON as f64 * (scale + 0.5);
                            let layout = (transposed_a, transposed_b);
                            assert!(
                                (got as f64 - want).abs() <= bound,
                                "gemm {m}×{k}×{n} {layout:?} [{i}]: {got} vs {want}"
                            );
                        }
                    }
                }
            }
            // gathered: tile heights 1–13 and more, np 8–48, an odd number of taps.
            let red = Walk { n: [3, 5, 3], step: [500, 31, 1] };
            let x = values(4000, 0.5);
            for np in [8, 16, 24, 40, 48] {
                for m in [1, 5, 12, 13, 25] {
                    let rows = Walk { n: [1, 1, m], step: [0, 0, 7] };
                    let b = values(red.len() * np, 2.0);
                    let offsets: Vec<usize> = red.offsets().collect();
                    let (want, scale) = reference(m, np, red.len(), |r, q| x[r * 7 + offsets[q]], |q, j| b[q * np + j]);
                    let mut c = vec![0.25f32; m * np];
                    assert!(gathered(&x, rows, red, &b, np, &mut c, true));
                    for (i, (&got, (&want, &scale))) in c.iter().zip(want.iter().zip(&scale)).enumerate() {
                        let bound = (red.len() as f64 + 2.0) * f32::EPSILON as f64 * (scale + 0.25);
                        assert!((got as f64 - want - 0.25).abs() <= bound, "gathered np {np}, m {m} [{i}]");
                    }
                }
            }
        });
        assert!(!active(), "the setting is restored");
    }

    /// `tdpbf16ps` over whole tiles as Intel's pseudocode defines it (for each row m,
    /// output column n and pair k: C[m][n] += A[m].bf16[2k]·B[k].bf16[2n] +
    /// A[m].bf16[2k+1]·B[k].bf16[2n+1]), with the tile walk of [`amx::product`].
    ///
    /// # Safety
    /// The buffers hold the sizes `amx::product` documents.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    unsafe fn emulated_tiles(m16: usize, kp16: usize, ldp: usize, a: *const u32, b: *const u32, c: *mut f32) {
        // SAFETY: the contract above.
        let (a, b, c) = unsafe {
            (
                std::slice::from_raw_parts(a, m16 * kp16),
                std::slice::from_raw_parts(b, kp16 * ldp),
                std::slice::from_raw_parts_mut(c, m16 * ldp),
            )
        };
        let half = |word: u32, high: bool| from_bf16(if high { (word >> 16) as u16 } else { word as u16 });
        for i in 0..m16 {
            for j in 0..ldp {
                let mut acc = 0.0f32;
                for p in 0..kp16 {
                    let (x, y) = (a[i * kp16 + p], b[p * ldp + j]);
                    acc += half(x, false) * half(y, false) + half(x, true) * half(y, true);
                }
                c[i * ldp + j] = acc;
            }
        }
    }

    /// The AMX path on ragged shapes (m, n, k not multiples of 16), against the sums of
    /// the rounded operands: with the tiles emulated everywhere (the padding into whole
    /// tiles, the operand layouts the instruction reads, the copy back), and with the
    /// real `tdpbf16ps` wherever the processor has AMX (whether or not `NN_AMX` chooses it
    /// for networks), saying so where it has not.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn amx_tiles_equal_the_rounded_operands_products() {
        let mut engines: Vec<(&str, TileProduct)> = vec![("emulated tiles", emulated_tiles)];
        if simd::amx_usable() {
            engines.push(("AMX", amx::product));
        } else {
            eprintln!("no AMX-TILE/AMX-BF16 here (or the kernel refused the tile state): the AMX instructions cannot run, only their emulation");
        }
        let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
            &[(1, 1, 1), (3, 35, 17)]
        } else {
            &[(1, 1, 1), (13, 40, 57), (37, 150, 120), (16, 32, 16)]
        };
        for (name, product) in engines {
            for &(m, k, n) in shapes {
                let a = values(m * k, 1.0);
                let b = values(k * n, 2.0);
                let (want, scale) = reference(m, n, k, |i, p| a[i * k + p], |p, j| b[p * n + j]);
                let (kp, ldp) = (k.div_ceil(2), n.div_ceil(16) * 16);
                let mut packed = Packed::default();
                pack_pairs_by_row(&mut packed.a, m, k, |i, p| a[i * k + p]);
                pack_pairs_by_column(&mut packed.b, k, n, ldp, |p, j| b[p * n + j]);
                let words = packed.a.clone();
                for add in [false, true] {
                    let mut c = vec![0.5f32; m * n];
                    amx_gemm(product, &mut packed, m, kp, n, |i, p| words[i * kp + p], ldp, &mut c, n, add);
                    for (i, (&got, (&want, &scale))) in c.iter().zip(want.iter().zip(&scale)).enumerate() {
                        let want = want + if add { 0.5 } else { 0.0 };
                        let bound = (k as f64 + 2.0) * f32::EPSILON as f64 * (scale + 0.5);
                        assert!((got as f64 - want).abs() <= bound, "{name} {m}×{k}×{n} [{i}]: {got} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn inactive_threads_and_other_types_are_declined() {
        let a = [1.0f32; 4];
        let mut c = [0.0f32; 4];
        assert!(!gemm(Mat::row_major(&a, 2, 2), Mat::row_major(&a, 2, 2), &mut c, 2, false));
        with(Precision::Bf16, || {
            let a = [1.0f64; 4];
            let mut c = [0.0f64; 4];
            assert!(!gemm(Mat::row_major(&a, 2, 2), Mat::row_major(&a, 2, 2), &mut c, 2, false));
        });
        with(Precision::F32, || assert!(!active()));
        assert_eq!(c, [0.0; 4]);
    }
}
