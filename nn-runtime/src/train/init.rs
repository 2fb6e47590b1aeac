//! Initial weights. Every network starts with PyTorch's default: `nn.Linear` and
//! `nn.Conv2d` draw weights with `kaiming_uniform_(a=√5)` and biases from the same
//! range, which both come to `U(−1/√fan_in, 1/√fan_in)`, fan_in being inputs per output
//! (`in/groups · kh · kw`). [`Init`] re-draws a network's weights with another scheme
//! (Kaiming, Xavier/Glorot), as `torch.nn.init` defines them, optionally zeroing biases
//! (Keras' default).

use crate::float::Float;
use crate::info::LayerInfo;
use crate::rng::Rng;

/// How weight tensors (those of rank 2 and more: linear, convolution and recurrent
/// matrices) are drawn. Fans follow `torch.nn.init._calculate_fan_in_and_fan_out`:
/// `fan_in = shape[1] · receptive`, `fan_out = shape[0] · receptive`, `receptive` the
/// product of the remaining dimensions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scheme {
    /// `kaiming_uniform_(a=0, mode='fan_in', nonlinearity='relu')`: `U(±√(6/fan_in))`.
    KaimingUniform,
    /// `kaiming_normal_(…)` likewise: `N(0, 2/fan_in)`.
    KaimingNormal,
    /// `xavier_uniform_` (Keras' `glorot_uniform`): `U(±√(6/(fan_in + fan_out)))`.
    XavierUniform,
    /// `xavier_normal_`: `N(0, 2/(fan_in + fan_out))`.
    XavierNormal,
}

/// A network's initialization: weights by `scheme`; biases zeroed with `zero_biases`,
/// otherwise left as drawn by PyTorch's default. Batch norm's scale and shift, being of
/// rank 1, keep their 1 and 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Init {
    pub scheme: Scheme,
    pub zero_biases: bool,
}

impl Init {
    /// Keras' default for `Dense` and `Conv2D`: Glorot-uniform weights, zero biases.
    pub fn keras() -> Self {
        Init { scheme: Scheme::XavierUniform, zero_biases: true }
    }
    /// Kaiming (He) uniform weights for ReLU networks, zero biases.
    pub fn kaiming() -> Self {
        Init { scheme: Scheme::KaimingUniform, zero_biases: true }
    }

    /// Re-draws the weights among `params` (laid out as `layers` say) from `rng`.
    pub fn apply<F: Float>(&self, layers: &[LayerInfo], params: &mut [F], rng: &mut Rng) {
        let mut offset = 0;
        for tensor in layers.iter().flat_map(|layer| layer.tensors) {
            let len: usize = tensor.shape.iter().product();
            let values = &mut params[offset..offset + len];
            offset += len;
            if tensor.shape.len() >= 2 {
                let receptive: usize = tensor.shape[2..].iter().product();
                let (fan_in, fan_out) = (tensor.shape[1] * receptive, tensor.shape[0] * receptive);
                self.draw(values, fan_in, fan_out, rng);
            } else if self.zero_biases && tensor.key.rsplit('.').next().is_some_and(|name| name.starts_with("bias")) {
                values.fill(F::ZERO);
            }
        }
    }

    fn draw<F: Float>(&self, values: &mut [F], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let (fan_in, fans) = (fan_in.max(1) as f64, (fan_in + fan_out).max(1) as f64);
        match self.scheme {
            Scheme::KaimingUniform => uniform(values, (6.0 / fan_in).sqrt(), rng),
            Scheme::KaimingNormal => normal(values, (2.0 / fan_in).sqrt(), rng),
            Scheme::XavierUniform => uniform(values, (6.0 / fans).sqrt(), rng),
            Scheme::XavierNormal => normal(values, (2.0 / fans).sqrt(), rng),
        }
    }
}

fn uniform<F: Float>(values: &mut [F], bound: f64, rng: &mut Rng) {
    for v in values {
        *v = F::from_f64(rng.uniform(-bound, bound));
    }
}

/// `N(0, std²)` by Box–Muller, two values per pair of uniforms.
fn normal<F: Float>(values: &mut [F], std: f64, rng: &mut Rng) {
    for pair in values.chunks_mut(2) {
        let u = 1.0 - rng.next_f64(); // in (0, 1]: ln stays finite
        let (radius, angle) = ((-2.0 * u.ln()).sqrt() * std, std::f64::consts::TAU * rng.next_f64());
        pair[0] = F::from_f64(radius * angle.cos());
        if let Some(second) = pair.get_mut(1) {
            *second = F::from_f64(radius * angle.sin());
        }
    }
}

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

    /// Each scheme's spread on a `[200, 50, 3, 3]` weight (fan_in 450, fan_out 1,800),
    /// biases zeroed or kept, batch norm's rank-1 scale untouched.
    #[test]
    #[cfg_attr(miri, ignore = "720,000 draws: too slow under Miri")]
    fn schemes_have_torch_spreads_and_leave_rank_one_tensors() {
        use crate::info::TensorInfo;
        const TENSORS: &[TensorInfo] = &[
            TensorInfo { key: "0.weight", shape: &[200, 50, 3, 3] },
            TensorInfo { key: "0.bias", shape: &[200] },
            TensorInfo { key: "1.weight", shape: &[200] },
        ];
        let layer = LayerInfo {
            key: "0",
            kind: "conv",
            written: "conv(50, 200, 3)",
            output_shape: &[],
            output_axes: "",
            params: 90_400,
            flops: 0,
            tensors: TENSORS,
            buffers: &[],
        };
        let n = 90_000;
        for (scheme, variance) in [
            (Scheme::KaimingUniform, 2.0 / 450.0),
            (Scheme::KaimingNormal, 2.0 / 450.0),
            (Scheme::XavierUniform, 2.0 / 2250.0),
            (Scheme::XavierNormal, 2.0 / 2250.0),
        ] {
            for zero_biases in [false, true] {
                let mut params = vec![0.5f64; 90_400];
                Init { scheme, zero_biases }.apply(&[layer], &mut params, &mut Rng::new(3));
                let w = &params[..n];
                let var = w.iter().map(|v| v * v).sum::<f64>() / n as f64;
                assert!((var / variance - 1.0).abs() < 0.02, "{scheme:?}: {var} vs {variance}");
                let mean = w.iter().sum::<f64>() / n as f64;
                assert!(mean.abs() < 5.0 * (variance / n as f64).sqrt(), "{scheme:?} mean {mean}");
                assert!(params[90_000..90_200].iter().all(|&b| b == if zero_biases { 0.0 } else { 0.5 }));
                assert!(params[90_200..].iter().all(|&s| s == 0.5));
            }
        }
    }
}
