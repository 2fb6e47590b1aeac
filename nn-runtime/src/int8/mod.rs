//! Int8 inference (issue 16): post-training quantization as ONNX Runtime and TensorFlow
//! Lite define it — weights symmetric per output channel, activations asymmetric per
//! tensor (a scale and a zero point), products accumulated in `i32`, and each layer's
//! epilogue turning its accumulators back into int8 (its activation applied on the
//! way). The generated `<Net>Int8` types run [`ops`]; [`model`] calibrates a trained
//! network and holds, saves and loads the result.
//!
//! A quantized model is three arrays, in the order of the network's steps:
//! - `weights` (`i8`): each conv or linear layer's weights, PyTorch's layout;
//! - `biases` (`i32`): per output channel, `round(b / (s_x·s_w)) − z_x·Σ w_q`, so the
//!   accumulator needs no zero-point correction of its own;
//! - `scales` (`f32`): `(scale, zero point)` for each quantized value (the input first),
//!   then each weighted layer's per-channel multipliers `s_x·s_w`.

pub mod ops;

#[cfg(feature = "std")]
pub mod model;

/// An int8 value's quantization: `real = scale · (q − zero)`, `q` in −128..=127.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quant {
    pub scale: f32,
    pub zero: i32,
}

/// Adding and subtracting 1.5·2²³ rounds an `f32` of magnitude below 2²² to the nearest
/// integer, ties to even, in the processor's default rounding: no `libm`, and the same
/// on every IEEE machine.
pub(crate) const ROUNDER: f32 = 12_582_912.0;

/// `x` rounded to the nearest integer (ties to even), saturated to ±512 (NaN to −512):
/// enough for any int8 result, which is clamped after.
#[inline(always)]
#[allow(clippy::manual_clamp)] // max and min send NaN to a bound, which `clamp` keeps
pub fn round(x: f32) -> i32 {
    let x = x.max(-512.0).min(512.0);
    ((x + ROUNDER) - ROUNDER) as i32
}

impl Quant {
    /// Quantization slot `slot` of a model's `scales`.
    #[inline]
    pub fn at(scales: &[f32], slot: usize) -> Quant {
        Quant { scale: scales[2 * slot], zero: scales[2 * slot + 1] as i32 }
    }

    /// The quantization covering `[min, max]` (widened to hold 0, which must be exact:
    /// padding and ReLU produce it) with all 256 levels.
    pub fn from_range(min: f32, max: f32) -> Quant {
        let (min, max) = (min.min(0.0), max.max(0.0));
        let span = max - min;
        if span.is_nan() || span <= f32::MIN_POSITIVE || !span.is_finite() {
            return Quant { scale: 1.0, zero: 0 };
        }
        let scale = span / 255.0;
        let zero = (-128 - round(min / scale)).clamp(-128, 127);
        Quant { scale, zero }
    }

    /// A real value quantized with `inverse` = `1 / scale`.
    #[inline(always)]
    pub fn quantize_with(self, x: f32, inverse: f32) -> i8 {
        (round(x * inverse) + self.zero).clamp(-128, 127) as i8
    }

    /// A real value quantized.
    #[inline]
    pub fn quantize(self, x: f32) -> i8 {
        self.quantize_with(x, 1.0 / self.scale)
    }

    /// The real value `q` stands for.
    #[inline(always)]
    pub fn dequantize(self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero) as f32
    }
}

/// One step of a network's int8 plan, as the macro lays it out; calibration reads it
/// to know which values to measure and which weights to quantize where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    /// The quantization slot of the step's input.
    pub input_slot: usize,
    /// The slot of its output: the input's for pooling and views, a new one otherwise;
    /// `None` for the network's last weighted layer, which writes `f32`.
    pub output_slot: Option<usize>,
    /// Per sample `offset..offset + len` of the step's output (after its fused
    /// activation) in the training layout's activations, where calibration reads it.
    pub value: (usize, usize),
}

/// What a step computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// A convolution or a linear layer: `outputs` channels of `per_output` weights each,
    /// at `params..` in the network's parameters (a bias after them where `bias`), and at
    /// `weights..`, `biases..` and `multipliers..` in the quantized model.
    Weighted {
        params: usize,
        outputs: usize,
        per_output: usize,
        bias: bool,
        weights: usize,
        biases: usize,
        multipliers: usize,
    },
    /// Pooling or a view: the input's quantization carries over.
    Carry,
    /// An activation on its own: a new quantization for its output.
    Activation,
}

/// The element counts of a quantized model's three arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub weights: usize,
    pub biases: usize,
    pub scales: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_ties_to_even_and_saturates() {
        assert_eq!([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999998, -2.6].map(round), [0, 2, 2, 0, -2, 2, -3]);
        assert_eq!([1e9, -1e9, f32::INFINITY, f32::NEG_INFINITY].map(round), [512, -512, 512, -512]);
        assert_eq!(round(f32::NAN), -512);
    }

    #[test]
    fn a_range_uses_every_level_and_holds_zero_exactly() {
        let q = Quant::from_range(-1.0, 3.0);
        assert_eq!((q.quantize(-1.0), q.quantize(3.0)), (-128, 127));
        assert_eq!(q.dequantize(q.quantize(0.0)), 0.0);
        // A range on one side of zero is widened to reach it.
        let q = Quant::from_range(0.5, 2.0);
        assert_eq!((q.quantize(0.0), q.quantize(2.0)), (-128, 127));
        // A constant value: any scale represents it; nothing divides by zero.
        assert_eq!(Quant::from_range(0.0, 0.0), Quant { scale: 1.0, zero: 0 });
        for x in [-0.7f32, 0.1, 1.3, 2.9] {
            let q = Quant::from_range(-1.0, 3.0);
            assert!((q.dequantize(q.quantize(x)) - x).abs() <= q.scale / 2.0 + 1e-6);
        }
    }
}
