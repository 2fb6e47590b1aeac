//! Weights in safetensors, laid out and named as PyTorch's `nn.Sequential` does
//! (`<index or name>.weight`, `.bias`, `.running_mean`, `.running_var`,
//! `.num_batches_tracked`), so a PyTorch state dict loads with no renaming and ours
//! loads into PyTorch with `load_state_dict(strict=True)`.
//!
//! Loading checks every tensor before changing anything, as `strict=True` does: missing,
//! unexpected, wrongly shaped and wrongly typed tensors are all reported in one error,
//! and the network is left as it was. Saving writes a temporary file beside the target
//! and renames it over the target, so a crash mid-save leaves the old file intact.

use crate::error::Error;
use crate::float::Float;
use crate::info::LayerInfo;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Where a tensor lives in a network: parameters or buffers, and the range there.
struct Slot {
    key: &'static str,
    shape: &'static [usize],
    buffer: bool,
    range: std::ops::Range<usize>,
}

/// Every tensor of the network `layers` describe, in storage order.
fn slots(layers: &[LayerInfo]) -> Vec<Slot> {
    let (mut params, mut buffers) = (0, 0);
    let mut slots = Vec::new();
    for layer in layers {
        for (tensors, buffer, offset) in [(layer.tensors, false, &mut params), (layer.buffers, true, &mut buffers)] {
            for t in tensors {
                let len: usize = t.shape.iter().product();
                slots.push(Slot { key: t.key, shape: t.shape, buffer, range: *offset..*offset + len });
                *offset += len;
            }
        }
    }
    slots
}

/// PyTorch stores the batch counter as a 64-bit integer.
fn is_counter(key: &str) -> bool {
    key.ends_with("num_batches_tracked")
}

/// A network's tensors as weight files see them: its name (for errors), its layer
/// table, and where its parameters and buffers are stored.
pub struct Tensors<P> {
    pub name: &'static str,
    pub layers: &'static [LayerInfo],
    pub params: P,
    pub buffers: P,
}

/// The network's tensors as safetensors bytes.
pub fn to_bytes<F: Float>(net: Tensors<&[F]>) -> Result<Vec<u8>, Error> {
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for slot in slots(net.layers) {
        let values = if slot.buffer { &net.buffers[slot.range.clone()] } else { &net.params[slot.range.clone()] };
        let (dtype, bytes): (Dtype, Vec<u8>) = if is_counter(slot.key) {
            (Dtype::I64, values.iter().flat_map(|v| (v.to_f64().round() as i64).to_le_bytes()).collect())
        } else if F::DTYPE == "F64" {
            (Dtype::F64, values.iter().flat_map(|v| v.to_f64().to_le_bytes()).collect())
        } else {
            (Dtype::F32, values.iter().flat_map(|v| (v.to_f64() as f32).to_le_bytes()).collect())
        };
        owned.push((slot.key.to_string(), dtype, slot.shape.to_vec(), bytes));
    }
    let views = owned
        .iter()
        .map(|(key, dtype, shape, bytes)| TensorView::new(*dtype, shape.clone(), bytes).map(|v| (key.as_str(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Weights { source: net.name.into(), problems: vec![format!("cannot serialize: {e}")] })?;
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Weights { source: net.name.into(), problems: vec![format!("cannot serialize: {e}")] })
}

/// Decodes one tensor's values, converting f32 ↔ f64 (as PyTorch's `copy_` does) and
/// integer counters; any other element type is an error.
fn decode<F: Float>(key: &str, view: &TensorView<'_>) -> Result<Vec<F>, String> {
    let data = view.data();
    let values: Vec<F> = match view.dtype() {
        Dtype::F32 if !is_counter(key) => {
            data.chunks_exact(4).map(|b| F::from_f64(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)).collect()
        }
        Dtype::F64 if !is_counter(key) => data
            .chunks_exact(8)
            .map(|b| F::from_f64(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])))
            .collect(),
        Dtype::I64 if is_counter(key) => data
            .chunks_exact(8)
            .map(|b| F::from_f64(i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f64))
            .collect(),
        other => {
            let expected = if is_counter(key) { "I64" } else { "F32 or F64" };
            return Err(format!("{key}: element type {other:?}, expected {expected}"));
        }
    };
    Ok(values)
}

/// Loads safetensors bytes into `net`; `source` names them in errors. Nothing changes
/// unless every tensor checks out.
pub fn from_bytes<F: Float>(net: Tensors<&mut [F]>, bytes: &[u8], source: &str) -> Result<(), Error> {
    let fail = |problems: Vec<String>| Error::Weights { source: format!("{source} into {}", net.name), problems };
    let file = SafeTensors::deserialize(bytes).map_err(|e| fail(vec![format!("not a valid safetensors file: {e}")]))?;
    let mut problems = Vec::new();
    let mut decoded = Vec::new();
    let slots = slots(net.layers);
    for slot in &slots {
        match file.tensor(slot.key) {
            Err(_) => problems.push(format!("missing key {:?} (shape {:?})", slot.key, slot.shape)),
            Ok(view) if view.shape() != slot.shape => problems.push(format!(
                "size mismatch for {:?}: the file has shape {:?}, the network expects {:?}",
                slot.key,
                view.shape(),
                slot.shape
            )),
            Ok(view) => match decode::<F>(slot.key, &view) {
                Ok(values) => decoded.push((slot, values)),
                Err(problem) => problems.push(problem),
            },
        }
    }
    let mut unexpected: Vec<&str> = file.names().into_iter().filter(|n| !slots.iter().any(|s| s.key == *n)).collect();
    unexpected.sort_unstable();
    problems.extend(unexpected.into_iter().map(|n| format!("unexpected key {n:?}")));
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    for (slot, values) in decoded {
        let target =
            if slot.buffer { &mut net.buffers[slot.range.clone()] } else { &mut net.params[slot.range.clone()] };
        target.copy_from_slice(&values);
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced,
/// then renamed over `path`. `crash_after` (tests only) stops after that many bytes, as
/// a crash would.
fn write_atomically(path: &Path, bytes: &[u8], crash_after: Option<usize>) -> std::io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        match crash_after {
            Some(n) => {
                file.write_all(&bytes[..n.min(bytes.len())])?;
                return Err(std::io::Error::other("simulated crash"));
            }
            None => file.write_all(bytes)?,
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() && crash_after.is_none() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Saves the network's parameters and buffers to `path`.
pub fn save<F: Float>(net: Tensors<&[F]>, path: &Path) -> Result<(), Error> {
    let bytes = to_bytes(net)?;
    write_atomically(path, &bytes, None)
        .map_err(|e| Error::Weights { source: path.display().to_string(), problems: vec![format!("cannot save: {e}")] })
}

/// Loads `path` into `net`; see [`from_bytes`].
pub fn load<F: Float>(net: Tensors<&mut [F]>, path: &Path) -> Result<(), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Weights {
        source: path.display().to_string(),
        problems: vec![format!("cannot read: {e}")],
    })?;
    from_bytes(net, &bytes, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_mid_save_leaves_the_old_file_intact() {
        let dir = std::env::temp_dir().join(format!("nn-weights-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        write_atomically(&path, b"old contents", None).unwrap();
        let err = write_atomically(&path, b"new contents that never finish", Some(7)).unwrap_err();
        assert_eq!(err.to_string(), "simulated crash");
        assert_eq!(std::fs::read(&path).unwrap(), b"old contents");
        write_atomically(&path, b"new contents", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"));
        assert_eq!(leftovers.count(), 0, "the finished save renamed its temporary file away");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
