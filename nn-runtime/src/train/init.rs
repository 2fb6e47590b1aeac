//! PyTorch's default initialization: `nn.Linear` and `nn.Conv2d` draw weights with
//! `kaiming_uniform_(a=√5)` and biases from the same range, which both come to
//! `U(−1/√fan_in, 1/√fan_in)`, fan_in being inputs per output (`in/groups · kh · kw`).

use crate::float::Float;
use crate::rng::Rng;

/// Fills `values` from `U(−1/√fan_in, 1/√fan_in)`.
pub fn pytorch_default<F: Float>(values: &mut [F], fan_in: usize, rng: &mut Rng) {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    for v in values {
        *v = F::from_f64(rng.uniform(-bound, bound));
    }
}

/// Fills `values` with a constant (batch-norm scale 1, shift 0, and the like).
pub fn constant<F: Float>(values: &mut [F], value: f64) {
    values.fill(F::from_f64(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10,000 weights (2,000 under Miri, with a bound as many standard deviations wide).
    #[test]
    fn bound_and_spread_follow_fan_in() {
        let (len, bound) = if cfg!(miri) { (2_000, 0.002) } else { (10_000, 0.001) };
        let mut rng = Rng::new(0);
        let mut w = vec![0.0f64; len];
        pytorch_default(&mut w, 25, &mut rng);
        assert!(w.iter().all(|v| v.abs() <= 0.2));
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        // U(−b, b) has variance b²/3 = 0.04/3
        assert!((var - 0.04 / 3.0).abs() < bound, "{var}");
    }
}
