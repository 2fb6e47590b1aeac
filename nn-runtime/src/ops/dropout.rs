//! Inverted dropout, as `nn.Dropout(p)`: in training each element is zeroed with
//! probability `p` and the survivors scaled by `1/(1 − p)`; in eval mode it is the identity.

use crate::float::Float;
use crate::rng::Rng;

/// `mask` receives `0` or `1/(1 − p)` per element (kept for backward).
pub fn forward<F: Float, const LEN: usize>(
    batch: usize, x: &[F], y: &mut [F], mask: &mut [F], p: f64, training: bool, rng: &mut Rng,
) {
    let n = batch * LEN;
    if !training || p == 0.0 {
        y[..n].copy_from_slice(&x[..n]);
        return;
    }
    let keep = F::from_f64(1.0 / (1.0 - p));
    for ((o, &i), m) in y[..n].iter_mut().zip(&x[..n]).zip(&mut mask[..n]) {
        *m = if rng.next_f64() < p { F::ZERO } else { keep };
        *o = i * *m;
    }
}

/// Eval mode's forward: the input unchanged (the static inference types run it).
pub fn identity<F: Float, const LEN: usize>(batch: usize, x: &[F], y: &mut [F]) {
    y[..batch * LEN].copy_from_slice(&x[..batch * LEN]);
}

pub fn backward<F: Float, const LEN: usize>(batch: usize, dy: &[F], dx: &mut [F], mask: &[F], p: f64, training: bool) {
    let n = batch * LEN;
    if !training || p == 0.0 {
        dx[..n].copy_from_slice(&dy[..n]);
        return;
    }
    for ((d, &g), &m) in dx[..n].iter_mut().zip(&dy[..n]).zip(&mask[..n]) {
        *d = g * m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100,000 values (5,000 under Miri, with bounds as many standard deviations wide).
    #[test]
    fn drops_about_p_and_keeps_the_mean() {
        const LEN: usize = if cfg!(miri) { 5_000 } else { 100_000 };
        let (zeros_bound, mean_bound) = if cfg!(miri) { (0.03, 0.04) } else { (0.01, 0.02) };
        let x = vec![1.0f64; LEN];
        let (mut y, mut mask) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        forward::<f64, LEN>(1, &x, &mut y, &mut mask, 0.3, true, &mut Rng::new(1));
        let zeros = y.iter().filter(|v| **v == 0.0).count() as f64 / x.len() as f64;
        assert!((zeros - 0.3).abs() < zeros_bound, "{zeros}");
        let mean = y.iter().sum::<f64>() / x.len() as f64;
        assert!((mean - 1.0).abs() < mean_bound, "{mean}");
        forward::<f64, LEN>(1, &x, &mut y, &mut mask, 0.3, false, &mut Rng::new(1));
        assert!(y.iter().all(|v| *v == 1.0));
    }
}
