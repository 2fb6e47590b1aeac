//! Moving a sequence's values: `transpose` between `[T, F]` and `[C, L]`, and `last`
//! (`out[:, -1, :]`).

use crate::float::Float;

/// Each sample's `R × C` matrix into a `C × R` one.
pub fn transpose<F: Float, const R: usize, const C: usize>(batch: usize, x: &[F], y: &mut [F]) {
    assert!(x.len() >= batch * R * C && y.len() >= batch * R * C, "transpose: buffers too short for {batch} samples");
    for (x, y) in x.chunks_exact(R * C).zip(y.chunks_exact_mut(R * C)).take(batch) {
        for (r, row) in x.chunks_exact(C).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                y[c * R + r] = v;
            }
        }
    }
}

/// The last of each sample's `T` rows of `FEATURES`.
pub fn last_forward<F: Float, const T: usize, const FEATURES: usize>(batch: usize, x: &[F], y: &mut [F]) {
    assert!(x.len() >= batch * T * FEATURES && y.len() >= batch * FEATURES, "last: buffers too short");
    for (x, y) in x.chunks_exact(T * FEATURES).zip(y.chunks_exact_mut(FEATURES)).take(batch) {
        y.copy_from_slice(&x[(T - 1) * FEATURES..]);
    }
}

/// `last`'s input gradient: `dy` at the last step, zero before it.
pub fn last_backward<F: Float, const T: usize, const FEATURES: usize>(batch: usize, dy: &[F], dx: &mut [F]) {
    assert!(dx.len() >= batch * T * FEATURES && dy.len() >= batch * FEATURES, "last: buffers too short");
    for (dx, dy) in dx.chunks_exact_mut(T * FEATURES).zip(dy.chunks_exact(FEATURES)).take(batch) {
        let (before, last) = dx.split_at_mut((T - 1) * FEATURES);
        before.fill(F::ZERO);
        last.copy_from_slice(dy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_each_samples_axes_and_back() {
        let x: Vec<f64> = (0..12).map(f64::from).collect();
        let mut y = vec![0.0; 12];
        transpose::<f64, 2, 3>(2, &x, &mut y);
        assert_eq!(y, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0, 6.0, 9.0, 7.0, 10.0, 8.0, 11.0]);
        let mut back = vec![0.0; 12];
        transpose::<f64, 3, 2>(2, &y, &mut back);
        assert_eq!(back, x);
    }

    #[test]
    fn last_reads_and_writes_only_the_last_step() {
        let x: Vec<f64> = (0..12).map(f64::from).collect();
        let mut y = vec![0.0; 4];
        last_forward::<f64, 3, 2>(2, &x, &mut y);
        assert_eq!(y, [4.0, 5.0, 10.0, 11.0]);
        let mut dx = vec![7.0; 12];
        last_backward::<f64, 3, 2>(2, &[1.0, 2.0, 3.0, 4.0], &mut dx);
        assert_eq!(dx, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 4.0]);
    }
}
