//! The one door to matrix products: small and skinny products go to the packing-free
//! kernels of [`crate::kernels::small_gemm`], everything else to `matrixmultiply`'s cache-blocked
//! GEMM.

use crate::float::Float;
#[cfg(feature = "std")]
use crate::kernels::bf16;
use crate::kernels::view::extent;
pub use crate::kernels::view::Mat;
use crate::kernels::{simd, small_gemm};
#[cfg(feature = "std")]
use std::cell::Cell;

/// Products whose A has at most this many elements go to [`small_gemm::nn`]: A is
/// re-read for every strip of B, so it must stay in cache. A sixteenth of the L2's
/// bytes as elements (65,536 for 1 MiB, the size the routing was measured at).
fn nn_limit() -> usize {
    simd::caches().l2 / 16
}

/// Products whose two operands together have at most this many elements go to
/// [`small_gemm::nt`], which re-reads both: a quarter of the L2's bytes as elements.
fn nt_limit() -> usize {
    simd::caches().l2 / 4
}

#[cfg(feature = "std")]
thread_local! {
    static GEMM_CALLS: Cell<u64> = const { Cell::new(0) };
}

#[cfg(feature = "std")]
/// How many non-empty products this thread has sent to `matrixmultiply`. Each one
/// allocates (and frees) one packing buffer there; the allocation test uses this count
/// to tell those allocations apart from any of ours.
pub fn gemm_calls_on_this_thread() -> u64 {
    GEMM_CALLS.with(|c| c.get())
}

/// `C ← α A B + β C` with C row-major `a.rows × b.cols` (row stride `c_row_stride`).
///
/// Panics if the shapes disagree or a view addresses past its slice: these are bugs in
/// generated code or kernels, never user errors (user input is checked before).
pub fn gemm<F: Float>(alpha: F, a: Mat<'_, F>, b: Mat<'_, F>, beta: F, c: &mut [F], c_row_stride: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions differ");
    assert!(a.data.len() >= extent(m, k, a.row_stride, a.col_stride), "gemm: A out of bounds");
    assert!(b.data.len() >= extent(k, n, b.row_stride, b.col_stride), "gemm: B out of bounds");
    assert!(c.len() >= extent(m, n, c_row_stride, 1), "gemm: C out of bounds");
    if m == 0 || n == 0 {
        return;
    }
    if alpha == F::ONE && (beta == F::ZERO || beta == F::ONE) {
        let add = beta == F::ONE;
        #[cfg(feature = "std")]
        if bf16::gemm(a, b, c, c_row_stride, add) {
            return;
        }
        if b.col_stride == 1 && m * k <= nn_limit() && small_gemm::nn(a, b.data, b.row_stride, n, c, c_row_stride, add)
        {
            return;
        }
        if b.row_stride == 1
            && a.col_stride == 1
            && (m + n) * k <= nt_limit()
            && small_gemm::nt(m, n, k, a.data, a.row_stride, b.data, b.col_stride, c, c_row_stride, add)
        {
            return;
        }
    }
    #[cfg(feature = "std")]
    GEMM_CALLS.with(|calls| calls.set(calls.get() + 1));
    // SAFETY: the three asserts above prove every element addressed by (m, k, n) and the
    // strides lies inside `a.data`, `b.data` and `c`. `c` is a unique borrow, so it
    // cannot alias `a` or `b`, which are shared borrows. Strides are slice offsets and
    // fit in isize because the slices themselves do.
    unsafe {
        F::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.as_mut_ptr(),
            c_row_stride as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &Mat<f64>, b: &Mat<f64>) -> Vec<f64> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    c[i * b.cols + j] +=
                        a.data[i * a.row_stride + p * a.col_stride] * b.data[p * b.row_stride + j * b.col_stride];
                }
            }
        }
        c
    }

    #[test]
    fn matches_naive_product_with_transposed_views_and_beta() {
        let a: Vec<f64> = (0..15).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..20).map(|i| (i as f64).sin()).collect();
        let am = Mat::row_major(&a, 3, 5);
        let bm = Mat::transposed(&b, 5, 4); // b is stored 4×5
        let expected = naive(&am, &bm);
        let mut c = vec![1.0; 12];
        gemm(2.0, am, bm, 0.5, &mut c, 4);
        for (got, want) in c.iter().zip(&expected) {
            assert!((got - (2.0 * want + 0.5)).abs() < 1e-12);
        }
    }

    #[test]
    fn f32_path_agrees() {
        let a: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..6).map(|i| 1.0 - i as f32).collect();
        let mut c = vec![0.0f32; 4];
        gemm(1.0, Mat::row_major(&a, 2, 3), Mat::row_major(&b, 3, 2), 0.0, &mut c, 2);
        assert_eq!(c, vec![-7.0, -10.0, -16.0, -28.0]);
    }

    /// More columns than one of matrixmultiply's column blocks (1,024), as the im2col
    /// product of a large convolution (`conv2d`'s chunked test, too large for Miri):
    /// f64 always goes to matrixmultiply. B read through a transposed view too.
    #[test]
    fn products_wider_than_one_column_block() {
        let (m, k, n) = (3, 2, 1030);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        #[cfg(feature = "std")]
        let calls = gemm_calls_on_this_thread();
        for bm in [Mat::row_major(&b, k, n), Mat::transposed(&b, k, n)] {
            let am = Mat::row_major(&a, m, k);
            let expected = naive(&am, &bm);
            let mut c = vec![0.5; m * n];
            gemm(1.0, am, bm, 1.0, &mut c, n);
            for (got, want) in c.iter().zip(&expected) {
                assert!((got - (want + 0.5)).abs() < 1e-12);
            }
        }
        #[cfg(feature = "std")]
        assert_eq!(gemm_calls_on_this_thread(), calls + 2);
    }

    /// Strides whose extent overflows `usize` must fail the bounds check, not wrap past
    /// it (found in review: the product then read far outside the slice).
    #[test]
    #[should_panic(expected = "out of bounds")]
    fn rejects_views_whose_strides_overflow() {
        let a = [1.0f32];
        let mut c = [0.0f32; 4];
        let huge = Mat::strided(&a, 2, 2, (1 << 63) + (1 << 28), (1 << 63) - (1 << 28));
        gemm(1.0, huge, Mat::row_major(&[1.0f32; 4], 2, 2), 0.0, &mut c, 2);
    }

    /// An empty reduction (k = 0) on every path: C is zeroed (or kept when adding), and
    /// no pointer into the empty operands is formed (Miri checks that).
    #[test]
    fn empty_reductions_zero_or_keep_c() {
        for add in [false, true] {
            let mut c = vec![2.0f32; 6];
            gemm(1.0, Mat::row_major(&[], 2, 0), Mat::row_major(&[], 0, 3), if add { 1.0 } else { 0.0 }, &mut c, 3);
            assert_eq!(c, vec![if add { 2.0 } else { 0.0 }; 6]);
            let mut c = vec![2.0f32; 6];
            let b_t = Mat::transposed(&[], 0, 3);
            gemm(1.0, Mat::row_major(&[], 2, 0), b_t, if add { 1.0 } else { 0.0 }, &mut c, 3);
            assert_eq!(c, vec![if add { 2.0 } else { 0.0 }; 6]);
            #[cfg(feature = "std")]
            crate::kernels::bf16::with(crate::kernels::bf16::Precision::Bf16, || {
                let mut c = vec![2.0f32; 6];
                gemm(1.0, Mat::row_major(&[], 2, 0), b_t, if add { 1.0 } else { 0.0 }, &mut c, 3);
                assert_eq!(c, vec![if add { 2.0 } else { 0.0 }; 6]);
            });
        }
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn rejects_a_view_past_its_slice() {
        let a = vec![0.0f32; 5];
        let mut c = vec![0.0f32; 4];
        gemm(1.0, Mat::row_major(&a, 2, 3), Mat::row_major(&a, 3, 2), 0.0, &mut c, 2);
    }
}
