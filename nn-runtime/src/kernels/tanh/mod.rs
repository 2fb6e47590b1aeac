//! `tanh` for f32 slices: one rational function (the 13/6 minimax approximation Eigen
//! uses, written once in [`crate::float::rational_tanh`]) evaluated by three kernels:
//! the scalar function (the portable loop vectorizes it; libm's `tanhf` is a call per
//! element), `avx2` (8 lanes, a Newton-refined reciprocal instead of the division) and
//! `avx512` (16 lanes, a true division). Each is tested against f64's `tanh` below.

use crate::float::rational_tanh::scalar;
use crate::kernels::simd::{self, Level};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// `y[i] = tanh(x[i])` for `i < x.len()` (`y` at least as long) on the best kernel
/// [`simd::level`] allows. Every kernel gives a value the same result wherever it
/// sits in the slice.
pub fn apply(x: &[f32], y: &mut [f32]) {
    // SAFETY: `simd::level` never exceeds what the processor runs.
    unsafe { apply_on(simd::level(), x, y) }
}

/// `values[i] = tanh(values[i])`, as [`apply`].
pub fn in_place(values: &mut [f32]) {
    // SAFETY: `simd::level` never exceeds what the processor runs.
    unsafe { in_place_on(simd::level(), values) }
}

/// [`apply`] on the kernels of `level`, which must be at most what the processor runs.
pub fn apply_at(level: Level, x: &[f32], y: &mut [f32]) {
    assert!(level <= simd::detect(), "tanh: {level:?} kernels on a processor without them");
    // SAFETY: asserted just above.
    unsafe { apply_on(level, x, y) }
}

/// [`in_place`] on the kernels of `level`, which must be at most what the processor runs.
pub fn in_place_at(level: Level, values: &mut [f32]) {
    assert!(level <= simd::detect(), "tanh: {level:?} kernels on a processor without them");
    // SAFETY: asserted just above.
    unsafe { in_place_on(level, values) }
}

/// [`apply`] on the kernels of `level`, unchecked: the safe entries check once, not on
/// every plane an epilogue activates.
///
/// # Safety
/// `level` is at most [`simd::detect`].
#[inline]
unsafe fn apply_on(level: Level, x: &[f32], y: &mut [f32]) {
    debug_assert!(level <= simd::detect());
    let y = &mut y[..x.len()];
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX-512F (this function's contract); both slices hold
        // `x.len()` values and `y` is a unique borrow.
        Level::Avx512 => unsafe { avx512::apply(x.as_ptr(), y.as_mut_ptr(), x.len()) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX2 and FMA (this function's contract), the one requirement.
        Level::Avx2 => unsafe { avx2::apply(x, y) },
        _ => y.iter_mut().zip(x).for_each(|(o, &v)| *o = scalar(v)),
    }
}

/// [`in_place`] on the kernels of `level`, unchecked as [`apply_on`].
///
/// # Safety
/// `level` is at most [`simd::detect`].
#[inline]
unsafe fn in_place_on(level: Level, values: &mut [f32]) {
    debug_assert!(level <= simd::detect());
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => {
            let (len, values) = (values.len(), values.as_mut_ptr());
            // SAFETY: the processor has AVX-512F (this function's contract); the one pointer
            // comes from a unique slice of `len` values, read and written in place.
            unsafe { avx512::apply(values, values, len) }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX2 and FMA (this function's contract), the one requirement.
        Level::Avx2 => unsafe { avx2::in_place(values) },
        _ => values.iter_mut().for_each(|v| *v = scalar(*v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points of [-12, 12] the error is measured at, and their spacing: every 1.7e-4,
    /// or under Miri (tools/miri.sh) every 0.024 (62 vectors of 16, a tail of 9).
    const POINTS: (usize, f32) = if cfg!(miri) { (1_001, 0.024) } else { (141_177, 1.7e-4) };

    /// Worst error in ULP of `kernel` against f64's tanh over [-12, 12].
    fn worst_ulp(kernel: impl Fn(&[f32], &mut [f32])) -> f64 {
        let (points, step) = POINTS;
        let xs: Vec<f32> = (0..points).map(|i| -12.0 + i as f32 * step).collect();
        let mut ys = vec![0.0f32; xs.len()];
        kernel(&xs, &mut ys);
        let mut worst = 0.0f64;
        for (&x, &y) in xs.iter().zip(&ys) {
            let exact = (x as f64).tanh();
            let ulp = (exact as f32).abs().max(f32::MIN_POSITIVE) as f64 * f32::EPSILON as f64;
            worst = worst.max((y as f64 - exact).abs() / ulp);
        }
        worst
    }

    #[test]
    fn scalar_is_within_four_ulp_everywhere() {
        let worst = worst_ulp(|x, y| y.iter_mut().zip(x).for_each(|(o, &v)| *o = scalar(v)));
        assert!(worst <= 4.0, "worst error {worst} ULP");
        assert_eq!(scalar(100.0), 1.0);
        assert_eq!(scalar(-100.0), -1.0);
        assert_eq!(scalar(1e-6), 1e-6);
        assert!(scalar(f32::NAN).is_nan());
    }

    /// Every level this processor runs: within 6 ULP, out of place = in place, a
    /// value's result independent of its position (vector body or tail), and the edges
    /// ±∞, NaN, tiny values and ±0.
    #[test]
    fn every_level_is_within_six_ulp_and_position_independent() {
        for level in simd::levels_here() {
            let worst = worst_ulp(|x, y| apply_at(level, x, y));
            assert!(worst <= 6.0, "{level:?}: worst error {worst} ULP");
            let (len, step) = if cfg!(miri) { (200, 0.09) } else { (1_000, 0.018) };
            let xs: Vec<f32> = (0..len).map(|i| -9.0 + i as f32 * step).collect();
            let mut ys = vec![0.0f32; xs.len()];
            apply_at(level, &xs, &mut ys);
            let mut same = xs.clone();
            in_place_at(level, &mut same);
            assert_eq!(ys, same, "{level:?}: in place");
            for shift in 1..16 {
                let mut moved = xs[shift..shift + 101].to_vec();
                in_place_at(level, &mut moved);
                assert_eq!(moved, ys[shift..shift + 101], "{level:?}: shifted by {shift}");
            }
            let mut edges = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-6, -1e-6, 0.0, -0.0, 100.0, -100.0];
            in_place_at(level, &mut edges[..8]);
            in_place_at(level, &mut edges[8..]);
            assert_eq!(&edges[..2], &[1.0, -1.0], "{level:?}");
            assert!(edges[2].is_nan(), "{level:?}");
            assert_eq!(&edges[3..7], &[1e-6, -1e-6, 0.0, -0.0], "{level:?}");
            assert_eq!(&edges[7..], &[1.0, -1.0], "{level:?}");
            assert!(edges[5].is_sign_positive() && edges[6].is_sign_negative(), "{level:?}");
        }
    }
}
