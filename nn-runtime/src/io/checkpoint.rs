//! Checkpoints: everything a training run needs to go on exactly as if it had never
//! stopped, in one safetensors file written atomically (as weight files are, see
//! [`crate::io::weights`]):
//!
//! - the network's parameters and buffers, under their PyTorch keys (so a checkpoint
//!   also loads as weights, with `load_non_strict`);
//! - the optimizer's state: `optimizer.<tensor>` (SGD's `momentum_buffer`, Adam's
//!   `exp_avg` and `exp_avg_sq`, in the network's element type), its name and step
//!   count in the header;
//! - random streams: the network's own (dropout) as `rng.network`, and any the program
//!   adds (a data loader's) as `rng.<name>`, each the four u64 words of its state;
//! - index lists (`index.<name>`, u64: a data loader's order) and counters (the step,
//!   the epoch) in the header.
//!
//! Header keys: `format` = `nn-checkpoint`, `version` = `1`, `network`, `step`,
//! `optimizer`, `optimizer.steps`, `counter.<name>`.

use crate::error::Error;
use crate::float::Float;
use crate::io::weights::{self, Tensors};
use crate::rng::Rng;
use crate::train::optim::{Optimizer, State};
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What a checkpoint holds besides the network and the optimizer: the step, and the
/// training loop's own streams, index lists and counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    pub step: u64,
    pub streams: BTreeMap<String, [u64; 4]>,
    pub indices: BTreeMap<String, Vec<u64>>,
    pub counters: BTreeMap<String, u64>,
}

impl Checkpoint {
    pub fn new(step: u64) -> Self {
        Checkpoint { step, ..Checkpoint::default() }
    }

    pub fn set_stream(&mut self, name: &str, rng: &Rng) {
        self.streams.insert(name.to_string(), rng.state());
    }

    /// The stream saved as `name`, or an error naming it.
    pub fn stream(&self, name: &str) -> Result<Rng, Error> {
        let state = self.streams.get(name).ok_or_else(|| missing("rng", name))?;
        Rng::from_state(*state).ok_or_else(|| invalid(format!("rng.{name} is the all-zero state")))
    }

    pub fn set_indices(&mut self, name: &str, values: impl IntoIterator<Item = u64>) {
        self.indices.insert(name.to_string(), values.into_iter().collect());
    }

    pub fn indices(&self, name: &str) -> Result<&[u64], Error> {
        self.indices.get(name).map(Vec::as_slice).ok_or_else(|| missing("index", name))
    }

    pub fn set_counter(&mut self, name: &str, value: u64) {
        self.counters.insert(name.to_string(), value);
    }

    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters.get(name).copied()
    }
}

fn missing(kind: &str, name: &str) -> Error {
    invalid(format!("it has no {kind}.{name}"))
}

fn invalid(message: String) -> Error {
    Error::Checkpoint { source: "(as loaded)".to_string(), message }
}

/// The checkpoint's bytes.
pub fn to_bytes<F: Float, O: Optimizer<F> + ?Sized>(
    net: Tensors<&[F]>, rng: &Rng, optimizer: &O, checkpoint: &Checkpoint,
) -> Result<Vec<u8>, String> {
    let name = net.name;
    let mut owned = weights::owned_tensors(net);
    let state = optimizer.state();
    for (key, values) in &state.tensors {
        owned.push((
            format!("optimizer.{key}"),
            weights::element_dtype::<F>(),
            vec![values.len()],
            weights::element_bytes(values),
        ));
    }
    let words = |values: &[u64]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    owned.push(("rng.network".to_string(), Dtype::U64, vec![4], words(&rng.state())));
    for (key, state) in &checkpoint.streams {
        owned.push((format!("rng.{key}"), Dtype::U64, vec![4], words(state)));
    }
    for (key, values) in &checkpoint.indices {
        owned.push((format!("index.{key}"), Dtype::U64, vec![values.len()], words(values)));
    }
    if checkpoint.streams.contains_key("network") {
        return Err("the stream name \"network\" is the network's own (rng.network); pick another".to_string());
    }
    let mut keys: Vec<&str> = owned.iter().map(|(key, ..)| key.as_str()).collect();
    keys.sort_unstable();
    if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(format!("two entries would be stored as {:?}: rename the stream, list or layer", pair[0]));
    }
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), "nn-checkpoint".to_string());
    metadata.insert("version".to_string(), "1".to_string());
    metadata.insert("network".to_string(), name.to_string());
    metadata.insert("step".to_string(), checkpoint.step.to_string());
    metadata.insert("optimizer".to_string(), state.name.clone());
    metadata.insert("optimizer.steps".to_string(), state.steps.to_string());
    for (key, value) in &checkpoint.counters {
        metadata.insert(format!("counter.{key}"), value.to_string());
    }
    weights::serialize_owned(&owned, metadata)
}

/// Writes the checkpoint to `path` atomically: a crash mid-write leaves the previous
/// checkpoint intact.
pub fn save<F: Float, O: Optimizer<F> + ?Sized>(
    net: Tensors<&[F]>, rng: &Rng, optimizer: &O, checkpoint: &Checkpoint, path: &Path,
) -> Result<(), Error> {
    let source = path.display().to_string();
    let bytes = to_bytes(net, rng, optimizer, checkpoint)
        .map_err(|message| Error::Checkpoint { source: source.clone(), message })?;
    weights::write_atomically(path, &bytes, None)
        .map_err(|e| Error::Checkpoint { source, message: format!("cannot write: {e}") })
}

/// Restores a checkpoint's bytes into the network (parameters, buffers, its random
/// stream), the optimizer, and returns the rest. Everything is checked first: on any
/// error nothing changes.
pub fn from_bytes<F: Float, O: Optimizer<F> + ?Sized>(
    net: Tensors<&mut [F]>, rng: &mut Rng, optimizer: &mut O, bytes: &[u8], source: &str,
) -> Result<Checkpoint, Error> {
    let fail = |message: String| Error::Checkpoint { source: source.to_string(), message };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| fail(format!("not a safetensors file: {e}")))?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| fail(format!("not a safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let field = |key: &str| meta.get(key).ok_or_else(|| fail(format!("its header has no {key:?}")));
    let number = |key: &str| -> Result<u64, Error> {
        field(key)?.parse().map_err(|e| fail(format!("its header's {key:?} is not a count: {e}")))
    };
    if field("format")? != "nn-checkpoint" || field("version")? != "1" {
        return Err(fail("it is not a version-1 nn checkpoint (a weight file loads with `load`)".to_string()));
    }
    if field("network")? != net.name {
        return Err(fail(format!("it was written by network {}, not {}", field("network")?, net.name)));
    }
    let params = net.params.len();
    let words = |key: &str| -> Result<Vec<u64>, Error> {
        let view = file.tensor(key).map_err(|e| fail(format!("{key}: {e}")))?;
        if view.dtype() != Dtype::U64 {
            return Err(fail(format!("{key}: element type {:?}, expected U64", view.dtype())));
        }
        Ok(view.data().chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).collect())
    };
    let mut checkpoint = Checkpoint::new(number("step")?);
    let mut state = State { name: field("optimizer")?.clone(), steps: number("optimizer.steps")?, tensors: Vec::new() };
    let mut network_rng = None;
    // The network's own keys first: a layer may be named `rng` or `optimizer`.
    let own: std::collections::HashSet<&str> =
        net.layers.iter().flat_map(|layer| layer.tensors.iter().chain(layer.buffers)).map(|t| t.key).collect();
    let mut names: Vec<String> =
        file.names().into_iter().filter(|key| !own.contains(*key)).map(str::to_string).collect();
    names.sort();
    for key in names {
        if let Some(name) = key.strip_prefix("optimizer.") {
            let view = file.tensor(&key).map_err(|e| fail(format!("{key}: {e}")))?;
            if view.dtype() != weights::element_dtype::<F>() || view.shape() != [params] {
                let expected = format!("{:?} of shape [{params}]", weights::element_dtype::<F>());
                return Err(fail(format!(
                    "{key}: {:?} of shape {:?}, expected {expected}",
                    view.dtype(),
                    view.shape()
                )));
            }
            state.tensors.push((name.to_string(), decode::<F>(view.data())));
        } else if let Some(name) = key.strip_prefix("rng.") {
            let values = words(&key)?;
            let state: [u64; 4] =
                values.try_into().map_err(|_| fail(format!("{key}: a generator's state is 4 words")))?;
            if name == "network" {
                network_rng = Some(Rng::from_state(state).ok_or_else(|| fail(format!("{key} is all zeros")))?);
            } else {
                checkpoint.streams.insert(name.to_string(), state);
            }
        } else if let Some(name) = key.strip_prefix("index.") {
            checkpoint.indices.insert(name.to_string(), words(&key)?);
        }
    }
    for (key, value) in &meta {
        if let Some(name) = key.strip_prefix("counter.") {
            let value = value.parse().map_err(|e| fail(format!("{key}: {e}")))?;
            checkpoint.counters.insert(name.to_string(), value);
        }
    }
    let network_rng = network_rng.ok_or_else(|| fail("it has no rng.network".to_string()))?;
    // The network's tensors, loaded into copies: the network changes only once the
    // optimizer has taken its state too.
    let mut new_params = net.params.to_vec();
    let mut new_buffers = net.buffers.to_vec();
    let copies =
        Tensors { name: net.name, layers: net.layers, params: &mut new_params[..], buffers: &mut new_buffers[..] };
    let report = weights::from_bytes_non_strict(copies, bytes, source)?;
    if !report.missing_keys.is_empty() {
        return Err(fail(format!("it lacks the network's {}", report.missing_keys.join(", "))));
    }
    optimizer.set_state(state).map_err(|message| fail(format!("the optimizer cannot take it: {message}")))?;
    net.params.copy_from_slice(&new_params);
    net.buffers.copy_from_slice(&new_buffers);
    *rng = network_rng;
    Ok(checkpoint)
}

/// Little-endian values of the network's element type.
fn decode<F: Float>(data: &[u8]) -> Vec<F> {
    if F::DTYPE == "F64" {
        data.chunks_exact(8).map(|b| F::from_f64(f64::from_le_bytes(b.try_into().expect("8 bytes")))).collect()
    } else {
        data.chunks_exact(4).map(|b| F::from_f64(f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64)).collect()
    }
}

/// Reads and restores the checkpoint at `path`; see [`from_bytes`].
pub fn load<F: Float, O: Optimizer<F> + ?Sized>(
    net: Tensors<&mut [F]>, rng: &mut Rng, optimizer: &mut O, path: &Path,
) -> Result<Checkpoint, Error> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Checkpoint { source: source.clone(), message: format!("cannot read: {e}") })?;
    from_bytes(net, rng, optimizer, &bytes, &source)
}
