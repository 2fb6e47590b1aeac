//! Packing-free GEMM kernels for the small and skinny products small CNNs are made of.
//!
//! `matrixmultiply` packs both operands into panels before every product, which pays off
//! for large squares but costs as much as the arithmetic when one side is a handful of
//! rows (LeNet-5's first convolution is `[6 × 25] · [25 × 3,136]` per chunk; profiled,
//! packing took as long as the multiply kernel). These kernels read the operands in place:
//!
//! - [`nn`]: `C = A · B` with B's rows contiguous. A 6×16 register tile of C, B's
//!   16-column strip streamed row by row (it stays in L1 across all of A's rows), each
//!   A element broadcast.
//! - [`nt`]: `C = A · Bᵀ` with A's and B's rows contiguous: every output is a dot
//!   product of two rows; a 2×4 tile of them accumulates 8 lanes at a time.
//!
//! They exist for f32 in 8-lane (AVX2 and FMA) and 16-lane (AVX-512) register tiles,
//! the ones [`simd::tiles`] picks; for
//! other element types and processors [`crate::kernels::gemm::gemm`] uses `matrixmultiply`,
//! which has its own run-time-selected SSE2/AVX/FMA/AVX-512 kernels. Measured against
//! it on LeNet-5's products: `cargo run --release -p nn-runtime --example gemm_shapes`.

// The vector kernels exist for x86-64 only; elsewhere the code that calls them is
// compiled but never reached, and its arguments look unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(unused))]

use crate::float::Float;
use crate::kernels::simd::{self, as_f32, as_f32_mut, Level};
use crate::kernels::view::{clear_rows, extent, Mat};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Whether the vector kernels run: the processor has AVX2 and FMA at least and
/// `NN_SIMD` does not ask for the portable code (see [`crate::kernels::simd`]).
pub fn available() -> bool {
    simd::tiles() >= Level::Avx2
}

/// `C (+)= A · B` for B with contiguous rows of stride `ldb` and `n` columns, C rows of
/// stride `ldc`. Returns `false`, touching nothing, where no vector kernel applies.
#[allow(clippy::too_many_arguments)]
pub fn nn<F: Float>(a: Mat<'_, F>, b: &[F], ldb: usize, n: usize, c: &mut [F], ldc: usize, add: bool) -> bool {
    nn_at(simd::tiles(), a, b, ldb, n, c, ldc, add)
}

/// [`nn`] on the tiles of `level` (at most what the processor runs).
#[allow(clippy::too_many_arguments)]
fn nn_at<F: Float>(
    level: Level, a: Mat<'_, F>, b: &[F], ldb: usize, n: usize, c: &mut [F], ldc: usize, add: bool,
) -> bool {
    assert!(level <= simd::detect(), "nn: {level:?} kernels on a processor without them");
    if level < Level::Avx2 {
        return false;
    }
    let (Some(a32), Some(b32), Some(c32)) = (as_f32(a.data), as_f32(b), as_f32_mut(c)) else { return false };
    let (m, k) = (a.rows, a.cols);
    if m == 0 || n == 0 {
        return true;
    }
    assert!(a32.len() >= extent(m, k, a.row_stride, a.col_stride), "nn: A out of bounds");
    assert!(b32.len() >= extent(k, n, ldb, 1), "nn: B out of bounds");
    assert!(c32.len() >= extent(m, n, ldc, 1), "nn: C out of bounds");
    if k == 0 {
        // Nothing to multiply (and A or B may be empty: no pointer into them is formed).
        if !add {
            clear_rows(c32, m, n, ldc);
        }
        return true;
    }
    let (rsa, csa, a32, b32, c32) = (a.row_stride, a.col_stride, a32.as_ptr(), b32.as_ptr(), c32.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has the level's features (asserted above), the one
    // requirement of the `#[target_feature]` kernels, and the asserts above prove that
    // every element they address lies inside the three slices; `c` is a unique borrow,
    // so C aliases neither A nor B.
    unsafe {
        if level == Level::Avx512 {
            avx512::nn(m, k, n, a32, rsa, csa, b32, ldb, c32, ldc, add)
        } else {
            avx2::nn(m, k, n, a32, rsa, csa, b32, ldb, c32, ldc, add)
        }
    };
    true
}

/// `C (+)= A · Bᵀ` for A (`m × k`, row stride `lda`) and B (`n × k`, row stride `ldb`).
/// Returns `false`, touching nothing, where no vector kernel applies.
#[allow(clippy::too_many_arguments)]
pub fn nt<F: Float>(
    m: usize, n: usize, k: usize, a: &[F], lda: usize, b: &[F], ldb: usize, c: &mut [F], ldc: usize, add: bool,
) -> bool {
    nt_at(simd::tiles(), m, n, k, a, lda, b, ldb, c, ldc, add)
}

/// [`nt`] on the tiles of `level` (at most what the processor runs).
#[allow(clippy::too_many_arguments)]
fn nt_at<F: Float>(
    level: Level, m: usize, n: usize, k: usize, a: &[F], lda: usize, b: &[F], ldb: usize, c: &mut [F], ldc: usize,
    add: bool,
) -> bool {
    assert!(level <= simd::detect(), "nt: {level:?} kernels on a processor without them");
    if level < Level::Avx2 {
        return false;
    }
    let (Some(a32), Some(b32), Some(c32)) = (as_f32(a), as_f32(b), as_f32_mut(c)) else { return false };
    if m == 0 || n == 0 {
        return true;
    }
    assert!(a32.len() >= extent(m, k, lda, 1), "nt: A out of bounds");
    assert!(b32.len() >= extent(n, k, ldb, 1), "nt: B out of bounds");
    assert!(c32.len() >= extent(m, n, ldc, 1), "nt: C out of bounds");
    if k == 0 {
        if !add {
            clear_rows(c32, m, n, ldc);
        }
        return true;
    }
    let (a32, b32, c32) = (a32.as_ptr(), b32.as_ptr(), c32.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `nn_at`: the level's features are present, and the asserts bound
    // every address the kernels form.
    unsafe {
        if level == Level::Avx512 {
            avx512::nt(m, n, k, a32, lda, b32, ldb, c32, ldc, add)
        } else {
            avx2::nt(m, n, k, a32, lda, b32, ldb, c32, ldc, add)
        }
    };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + seed) * 0.37).sin()).collect()
    }

    fn naive(
        m: usize, n: usize, k: usize, a: impl Fn(usize, usize) -> f64, b: impl Fn(usize, usize) -> f64,
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a(i, p) * b(p, j)).sum();
            }
        }
        c
    }

    /// The vector kernels of every level this machine runs on tile-aligned and ragged
    /// shapes (every row count 1–13, so 8-lane 6-row and 16-lane 12-row tiles with
    /// every remainder; column strips of 16, 8 and scalar for 8 lanes, 32, 16 and masked
    /// for 16), row-major and transposed A, overwriting and accumulating, against the
    /// scalar product computed in f64; `nn`'s 16-lane tiles also equal its 8-lane ones
    /// bit for bit (same order of operations). Under Miri (tools/miri.sh) the small
    /// shapes only, which still cover every 8-lane tile: `nn`'s 1–6 rows and its 16-,
    /// 8- and scalar column strips, `nt`'s 2- and 1-row, 4- and 1-column tiles with and
    /// without a tail of k.
    #[test]
    fn vector_kernels_match_the_scalar_reference() {
        let levels: Vec<Level> = simd::levels_here().into_iter().filter(|&l| l >= Level::Avx2).collect();
        if levels.is_empty() {
            eprintln!("no AVX2+FMA here: the vector kernels are not used, nothing to check");
            return;
        }
        let large = [(6, 25, 3136), (16, 150, 600), (150, 16, 600), (13, 40, 57)];
        let small = [(7, 3, 17), (1, 1, 1), (13, 40, 9), (5, 33, 23), (4, 9, 12), (2, 8, 24), (3, 16, 6)];
        let large: &[_] = if cfg!(miri) { &[] } else { &large };
        for &(m, k, n) in large.iter().chain(&small) {
            let a = values(m * k, 1.0);
            let b = values(k * n, 2.0);
            let (a32, b32): (Vec<f32>, Vec<f32>) =
                (a.iter().map(|&v| v as f32).collect(), b.iter().map(|&v| v as f32).collect());
            let tolerance = |want: f64| 1e-5 * (1.0 + want.abs()) * (k as f64).sqrt();
            for transposed in [false, true] {
                let at = |i: usize, p: usize| if transposed { a[p * m + i] } else { a[i * k + p] };
                let want = naive(m, n, k, at, |p, j| b[p * n + j]);
                let view = if transposed { Mat::transposed(&a32, m, k) } else { Mat::row_major(&a32, m, k) };
                let mut first: Option<Vec<f32>> = None;
                for &level in &levels {
                    let mut c = vec![1.0f32; m * n];
                    assert!(nn_at(level, view, &b32, n, n, &mut c, n, true));
                    for (got, want) in c.iter().zip(&want) {
                        assert!(
                            (*got as f64 - (want + 1.0)).abs() < tolerance(*want),
                            "{level:?} nn {m}×{k}×{n}, A transposed: {transposed}"
                        );
                    }
                    assert!(nn_at(level, view, &b32, n, n, &mut c, n, false));
                    assert!(c.iter().zip(&want).all(|(g, w)| (*g as f64 - w).abs() < tolerance(*w)));
                    match &first {
                        Some(first) => assert_eq!(&c, first, "{level:?} nn {m}×{k}×{n}: not the 8-lane bits"),
                        None => first = Some(c),
                    }
                }
            }
            // nt: B stored n × k.
            let want = naive(m, n, k, |i, p| a[i * k + p], |p, j| b[j * k + p]);
            for &level in &levels {
                let mut c = vec![0.5f32; m * n];
                assert!(nt_at(level, m, n, k, &a32, k, &b32, k, &mut c, n, true));
                for (got, want) in c.iter().zip(&want) {
                    assert!((*got as f64 - (want + 0.5)).abs() < tolerance(*want), "{level:?} nt {m}×{n}×{k}");
                }
            }
        }
    }

    #[test]
    fn other_element_types_are_declined() {
        let a = [1.0f64; 4];
        let mut c = [0.0f64; 4];
        assert!(!nn(Mat::row_major(&a, 2, 2), &a, 2, 2, &mut c, 2, false));
        assert!(!nt(2, 2, 2, &a, 2, &a, 2, &mut c, 2, false));
        assert_eq!(c, [0.0; 4]);
    }
}
