//! A quantized model: calibrated from a trained network and a batch of inputs, held as
//! its three arrays, saved and loaded as safetensors.
//!
//! The file holds three tensors — `weights` (I8), `biases` (I32), `scales` (F32), laid
//! out as [`super`] describes — and the metadata `format = "nn-int8"`, `version = "1"`
//! and `network` (its name); a load checks the name and every length against the
//! network it is for.

use super::{round, Quant, Sizes, Step, StepKind};
use crate::error::Error;
use crate::exec::network::Network;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// The most samples calibration runs at once.
const CHUNK: usize = 256;

/// A network's int8 weights, biases and scales.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Model {
    pub network: String,
    pub weights: Vec<i8>,
    pub biases: Vec<i32>,
    pub scales: Vec<f32>,
}

impl Int8Model {
    /// The bytes of its three arrays: what the model takes in flash.
    pub fn bytes(&self) -> usize {
        self.weights.len() + 4 * (self.biases.len() + self.scales.len())
    }

    /// Writes the model to `path` as safetensors, atomically (a file already there is
    /// replaced whole or not at all).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let destination = format!("the int8 {} to {}", self.network, path.display());
        let weights: Vec<u8> = self.weights.iter().map(|&v| v as u8).collect();
        let biases: Vec<u8> = self.biases.iter().flat_map(|v| v.to_le_bytes()).collect();
        let scales: Vec<u8> = self.scales.iter().flat_map(|v| v.to_le_bytes()).collect();
        let tensors = [
            ("weights", TensorView::new(Dtype::I8, vec![self.weights.len()], &weights)),
            ("biases", TensorView::new(Dtype::I32, vec![self.biases.len()], &biases)),
            ("scales", TensorView::new(Dtype::F32, vec![self.scales.len()], &scales)),
        ];
        let tensors = tensors
            .into_iter()
            .map(|(key, view)| view.map(|v| (key, v)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::WeightsSave { destination: destination.clone(), problem: e.to_string() })?;
        let metadata: HashMap<String, String> = [("format", "nn-int8"), ("version", "1"), ("network", &self.network)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let bytes = safetensors::serialize(tensors, Some(metadata))
            .map_err(|e| Error::WeightsSave { destination: destination.clone(), problem: e.to_string() })?;
        crate::io::weights::write_atomically(path, &bytes, None)
            .map_err(|e| Error::WeightsSave { destination, problem: format!("cannot write: {e}") })
    }

    /// Reads a model [`Int8Model::save`] wrote for `network`, whose arrays have `sizes`;
    /// every mismatch is an error naming it.
    pub fn load(path: impl AsRef<Path>, network: &str, sizes: Sizes) -> Result<Int8Model, Error> {
        let path = path.as_ref();
        let source = format!("{} into the int8 {network}", path.display());
        let fail = |problems: Vec<String>| Error::Weights { source: source.clone(), problems };
        let bytes = std::fs::read(path).map_err(|e| fail(vec![format!("cannot read: {e}")]))?;
        Self::from_bytes(&bytes, network, sizes).map_err(fail)
    }

    fn from_bytes(bytes: &[u8], network: &str, sizes: Sizes) -> Result<Int8Model, Vec<String>> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| vec![format!("not a valid safetensors file: {e}")])?;
        let file = SafeTensors::deserialize(bytes).map_err(|e| vec![format!("not a valid safetensors file: {e}")])?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let mut problems = Vec::new();
        match metadata.get("format").map(String::as_str) {
            Some("nn-int8") => {}
            other => {
                problems.push(format!("not an int8 model of `nn` (its format is {other:?}, expected \"nn-int8\")"))
            }
        }
        match metadata.get("network") {
            Some(name) if name == network => {}
            Some(name) => problems.push(format!("it was quantized for {name:?}, not {network:?}")),
            None => problems.push(format!("it names no network; {network:?} expected")),
        }
        let mut tensor = |key: &str, dtype: Dtype, len: usize| match file.tensor(key) {
            Ok(t) if t.dtype() == dtype && t.shape() == [len] => Some(t.data().to_vec()),
            Ok(t) => {
                problems.push(format!(
                    "{key:?} is {:?} of shape {:?}; the network needs {dtype:?} of shape [{len}]",
                    t.dtype(),
                    t.shape()
                ));
                None
            }
            Err(_) => {
                problems.push(format!("missing key {key:?} ({dtype:?}, shape [{len}])"));
                None
            }
        };
        let weights = tensor("weights", Dtype::I8, sizes.weights);
        let biases = tensor("biases", Dtype::I32, sizes.biases);
        let scales = tensor("scales", Dtype::F32, sizes.scales);
        let (Some(weights), Some(biases), Some(scales), true) = (weights, biases, scales, problems.is_empty()) else {
            return Err(problems);
        };
        let words = |bytes: Vec<u8>| bytes.chunks_exact(4).map(|b| [b[0], b[1], b[2], b[3]]).collect::<Vec<_>>();
        let scales: Vec<f32> = words(scales).into_iter().map(f32::from_le_bytes).collect();
        if let Some(bad) = scales.iter().position(|v| !v.is_finite()) {
            return Err(vec![format!("\"scales\" holds {} at {bad}", scales[bad])]);
        }
        Ok(Int8Model {
            network: network.to_string(),
            weights: weights.into_iter().map(|b| b as i8).collect(),
            biases: words(biases).into_iter().map(i32::from_le_bytes).collect(),
            scales,
        })
    }
}

/// Checks a model's `scales` for a network whose first `slots` pairs are quantizations:
/// each scale finite and positive, each zero point a whole number in −128..=127, every
/// multiplier finite.
pub fn check_scales(scales: &[f32], slots: usize) -> Result<(), String> {
    for (slot, pair) in scales[..(2 * slots).min(scales.len())].chunks_exact(2).enumerate() {
        let (scale, zero) = (pair[0], pair[1]);
        if !(scale.is_finite() && scale > 0.0) {
            return Err(format!("value {slot}'s scale is {scale}, not a positive number"));
        }
        if !(zero.fract() == 0.0 && (-128.0..=127.0).contains(&zero)) {
            return Err(format!("value {slot}'s zero point is {zero}, not a whole number in -128..=127"));
        }
    }
    match scales.iter().skip(2 * slots).position(|m| !m.is_finite()) {
        Some(bad) => Err(format!("multiplier {bad} is {}", scales[2 * slots + bad])),
        None => Ok(()),
    }
}

/// The int8 model of `net` (in eval mode: dropout off, batch norm's running
/// statistics), its activations' ranges measured on `inputs` (min–max, as ONNX
/// Runtime's default calibration), for the plan `steps` the macro laid out with `sizes`.
pub fn calibrate<N: Network<f32>>(
    net: &mut N, inputs: &[f32], steps: &[Step], sizes: Sizes,
) -> Result<Int8Model, Error> {
    N::batch_size_of(inputs)?;
    let slots = sizes.scales.min(2 * (steps.iter().filter_map(|s| s.output_slot).max().unwrap_or(0) + 1)) / 2;
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); slots];
    let refuse = |what: String| Error::Unsupported { network: N::NAME, message: format!("cannot quantize: {what}") };
    let widen = |range: &mut (f32, f32), values: &[f32]| -> Option<usize> {
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            return Some(bad);
        }
        for &v in values {
            *range = (range.0.min(v), range.1.max(v));
        }
        None
    };
    if let Some(bad) = widen(&mut ranges[0], inputs) {
        return Err(refuse(format!("calibration value {bad} (sample {}) is {}", bad / N::INPUT_LEN, inputs[bad])));
    }
    for input in inputs.chunks(CHUNK * N::INPUT_LEN) {
        let samples = input.len() / N::INPUT_LEN;
        net.__parts().workspace.prepare(&N::LAYOUT, samples, N::NAME, true)?;
        let p = net.__parts();
        for segment in 0..N::SEGMENTS {
            N::__forward_in(p.params, p.buffers, p.rng, false, true, p.workspace, input, samples, segment);
        }
        for step in steps.iter().filter(|s| s.kind != StepKind::Carry) {
            if let Some(slot) = step.output_slot {
                let (offset, len) = step.value;
                let values = &p.workspace.activations[offset * samples..(offset + len) * samples];
                if widen(&mut ranges[slot], values).is_some() {
                    return Err(refuse(format!(
                        "value {slot} of the int8 plan is not finite on the calibration inputs"
                    )));
                }
            }
        }
    }
    let mut model = Int8Model {
        network: N::NAME.to_string(),
        weights: vec![0; sizes.weights],
        biases: vec![0; sizes.biases],
        scales: vec![0.0; sizes.scales],
    };
    let mut quants = Vec::with_capacity(slots);
    for (slot, &(min, max)) in ranges.iter().enumerate() {
        if !(min.is_finite() && max.is_finite()) {
            return Err(refuse(format!("value {slot} of the int8 plan has no range (an empty calibration batch?)")));
        }
        let q = Quant::from_range(min, max);
        model.scales[2 * slot] = q.scale;
        model.scales[2 * slot + 1] = q.zero as f32;
        quants.push(q);
    }
    let params = net.params();
    for step in steps {
        let StepKind::Weighted { params: at, outputs, per_output, bias, weights, biases, multipliers } = step.kind
        else {
            continue;
        };
        let x = quants[step.input_slot];
        let w = &params[at..at + outputs * per_output];
        let b = bias.then(|| &params[at + outputs * per_output..at + outputs * per_output + outputs]);
        if let Some(bad) = w.iter().chain(b.unwrap_or(&[])).position(|v| !v.is_finite()) {
            return Err(refuse(format!("parameter {} is not finite", at + bad)));
        }
        for o in 0..outputs {
            let row = &w[o * per_output..(o + 1) * per_output];
            let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if largest > 0.0 && largest.is_finite() { largest / 127.0 } else { 1.0 };
            let inverse = 1.0 / scale;
            let quantized = &mut model.weights[weights + o * per_output..weights + (o + 1) * per_output];
            let mut sum = 0i64;
            for (q, &v) in quantized.iter_mut().zip(row) {
                *q = round(v * inverse).clamp(-127, 127) as i8;
                sum += i64::from(*q);
            }
            let multiplier = x.scale * scale;
            let real_bias = b.map_or(0.0, |b| f64::from(b[o]));
            let folded = (real_bias / f64::from(multiplier)).round() - f64::from(x.zero) * sum as f64;
            // The accumulator adds at most 2¹⁷·127·128 < 2³¹ to it (the macro's limit):
            // past ±2³⁰ the sum could leave `i32`.
            if folded.abs() > f64::from(1 << 30) {
                return Err(refuse(format!(
                    "the bias of output {o} of the layer at parameter {at} is {} times its input's and weights' scales: \
                     too large for int8",
                    real_bias / f64::from(multiplier)
                )));
            }
            model.biases[biases + o] = folded as i32;
            model.scales[multipliers + o] = multiplier;
        }
    }
    Ok(model)
}
