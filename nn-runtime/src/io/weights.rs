//! Weights in safetensors, laid out and named as PyTorch's `nn.Sequential` does
//! (`<index or name>.weight`, `.bias`, `.running_mean`, `.running_var`,
//! `.num_batches_tracked`), so a PyTorch state dict loads with no renaming and ours
//! loads into PyTorch with `load_state_dict(strict=True)`.
//!
//! # Loading
//!
//! A strict load (`load`, `load_safetensors`) checks every tensor before changing
//! anything, as `strict=True` does: missing, unexpected, wrongly shaped and wrongly
//! typed tensors are all reported in one error, and the network is left as it was, bit
//! for bit.
//!
//! A non-strict load (`load_non_strict`, `load_safetensors_non_strict`) is
//! `strict=False`: it loads every tensor whose key the network has, and returns the
//! network's keys the file lacks (their tensors keep their values) and the file's keys
//! the network lacks, as a [`LoadReport`]. A tensor whose key matches with a wrong shape
//! or element type is still an error, as in PyTorch, and then nothing changes. The file
//! must still be a whole, valid safetensors file, unexpected tensors included.
//!
//! Reading is bounded, whatever the file is (`/dev/zero`, a FIFO, a huge file): first
//! the 8-byte header length, refused above the format's 100,000,000 bytes; then the
//! header, checked against the network before any tensor data is read; only then the
//! tensor data the header declares, tensor after tensor, plus one byte to tell that
//! nothing follows. An endless or oversized file is an error once that much is read.
//!
//! - Strict, the header must describe exactly the network's tensors, so a load reads at
//!   most the header and what the network's values take (8 bytes a value at most) plus
//!   one byte.
//! - Non-strict, the file may be larger than the network (a whole backbone's weights
//!   for a network that uses part of it), so what is read is bounded by the header's
//!   declared extents instead: at most 8 bytes, the header (at most 100,000,000 bytes),
//!   the data the header declares (each tensor's extent is checked against its shape and
//!   type, and the tensors must lie end to end) and one byte. What is *held* stays
//!   bounded by the network: the header, the tensors that load (the network's shapes, 8
//!   bytes a value at most) and their decoded values; an unexpected tensor's bytes go
//!   through a fixed buffer on the stack and are dropped. A stream that never ends
//!   (a FIFO) after a header declaring huge unexpected tensors is read that far before
//!   the load can tell it is not one whole file.
//!
//! # Saving
//!
//! A save writes a temporary file beside the target, syncs it and renames it over the
//! target. What it guarantees:
//!
//! - The file at the path is always one complete save, the old one or a new one, never
//!   a mix; a crash mid-save leaves the old file intact.
//! - A save that returns `Ok` was complete at the path, its data synced, when it
//!   returned (a later save, from another thread or process, may have replaced it
//!   since: when saves to one path overlap, the last to rename wins).
//! - Each save has its own temporary file, `.<file name>.<process id>-<n>.tmp` with `n`
//!   counting the process's saves, created exclusively, so concurrent saves never write
//!   into each other's files.
//! - A symbolic link (or a chain of them) is followed: the save replaces the file it
//!   points to, in that file's directory, and the link stays a link. A link whose target
//!   does not exist yet creates it, as `std::fs::write` would.
//! - The replaced file's permissions are kept (on Unix, its mode, set before any byte is
//!   written); a new file gets the default mode, as `std::fs::write` gives it. A
//!   read-only file is not replaced (an error, as writing it would be), nor anything that
//!   is not a regular file.
//! - A crash (a kill, a power cut) mid-save can leave its temporary file behind. Each
//!   save holds an exclusive lock on its temporary file until it is renamed, and every
//!   successful save removes the temporary files of its target that nobody holds
//!   locked: those of crashed saves. A file system without locks keeps them.
//!
//! Not kept: the file's owner and group (a save by another user makes the file theirs),
//! extended attributes and ACLs, and other hard links to it (they keep the old data).
//! No dependency offers better: `tempfile`'s `NamedTempFile::persist` and `atomicwrites`
//! also rename over the link and leave their temporary files after a crash, and
//! `tempfile` creates files with mode 0600.

use crate::error::Error;
use crate::float::Float;
use crate::info::LayerInfo;
use safetensors::tensor::{Dtype, Metadata, TensorView};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
    let destination = format!("{} to safetensors bytes", net.name);
    serialize(net).map_err(|problem| Error::WeightsSave { destination, problem })
}

fn serialize<F: Float>(net: Tensors<&[F]>) -> Result<Vec<u8>, String> {
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
    serialize_owned(&owned_tensors(net), metadata)
}

/// A tensor ready to serialize: key, element type, shape, little-endian bytes.
pub(crate) type Owned = (String, Dtype, Vec<usize>, Vec<u8>);

/// The network's tensors as weight files hold them.
pub(crate) fn owned_tensors<F: Float>(net: Tensors<&[F]>) -> Vec<Owned> {
    let mut owned = Vec::new();
    for slot in slots(net.layers) {
        let values = if slot.buffer { &net.buffers[slot.range.clone()] } else { &net.params[slot.range.clone()] };
        let (dtype, bytes): (Dtype, Vec<u8>) = if is_counter(slot.key) {
            (Dtype::I64, values.iter().flat_map(|v| (v.to_f64().round() as i64).to_le_bytes()).collect())
        } else {
            (element_dtype::<F>(), element_bytes(values))
        };
        owned.push((slot.key.to_string(), dtype, slot.shape.to_vec(), bytes));
    }
    owned
}

/// The safetensors element type of `F`.
pub(crate) fn element_dtype<F: Float>() -> Dtype {
    if F::DTYPE == "F64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

/// `values` as little-endian bytes of [`element_dtype`].
pub(crate) fn element_bytes<F: Float>(values: &[F]) -> Vec<u8> {
    if F::DTYPE == "F64" {
        values.iter().flat_map(|v| v.to_f64().to_le_bytes()).collect()
    } else {
        values.iter().flat_map(|v| (v.to_f64() as f32).to_le_bytes()).collect()
    }
}

/// Serializes tensors with `metadata` in the header.
pub(crate) fn serialize_owned(owned: &[Owned], metadata: HashMap<String, String>) -> Result<Vec<u8>, String> {
    let views = owned
        .iter()
        .map(|(key, dtype, shape, bytes)| TensorView::new(*dtype, shape.clone(), bytes).map(|v| (key.as_str(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot serialize: {e}"))?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| format!("cannot serialize: {e}"))
}

/// Whether a tensor of element type `dtype` can load into `key`: f32 or f64 values
/// (converted as PyTorch's `copy_` does), 64-bit integer batch counters.
fn accepts(key: &str, dtype: Dtype) -> Result<(), String> {
    match dtype {
        Dtype::F32 | Dtype::F64 if !is_counter(key) => Ok(()),
        Dtype::I64 if is_counter(key) => Ok(()),
        other => {
            let expected = if is_counter(key) { "I64" } else { "F32 or F64" };
            Err(format!("{key}: element type {other:?}, expected {expected}"))
        }
    }
}

/// Decodes one tensor's little-endian `data`, of a type [`accepts`] took.
fn decode<F: Float>(key: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<F>, String> {
    accepts(key, dtype)?;
    Ok(match dtype {
        Dtype::F32 => {
            data.chunks_exact(4).map(|b| F::from_f64(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)).collect()
        }
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| F::from_f64(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])))
            .collect(),
        _ => data
            .chunks_exact(8)
            .map(|b| F::from_f64(i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f64))
            .collect(),
    })
}

/// Whether a load requires the file's tensors to be exactly the network's
/// (`load_state_dict(strict=True)`) or loads those both have (`strict=False`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strictness {
    Strict,
    NonStrict,
}

/// What a non-strict load left out, under PyTorch's names (`load_state_dict(strict=False)`
/// returns the same two lists). Both empty means every tensor matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The network's tensors the file does not have, in the network's storage order;
    /// they keep the values they had.
    pub missing_keys: Vec<String>,
    /// The file's tensors the network does not have, sorted; their data is read past,
    /// never held.
    pub unexpected_keys: Vec<String>,
}

impl LoadReport {
    /// Whether the file held exactly the network's tensors, as a strict load requires.
    pub fn all_matched(&self) -> bool {
        self.missing_keys.is_empty() && self.unexpected_keys.is_empty()
    }
}

impl fmt::Display for LoadReport {
    /// `all keys matched`, or a line for the missing keys and one for the unexpected
    /// ones (each only when there are some).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.all_matched() {
            return write!(f, "all keys matched");
        }
        let mut lines = Vec::new();
        for (keys, what) in [
            (&self.missing_keys, "missing (the network's, not in the file; left as they were)"),
            (&self.unexpected_keys, "unexpected (in the file, not the network's; not loaded)"),
        ] {
            if !keys.is_empty() {
                let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
                let noun = if keys.len() == 1 { "key" } else { "keys" };
                lines.push(format!("{} {noun} {what}: {}", keys.len(), keys.join(", ")));
            }
        }
        write!(f, "{}", lines.join("\n"))
    }
}

/// The network's tensors by key (a key the network has twice, which the macro never
/// emits, loads into both).
fn slots_by_key(slots: &[Slot]) -> HashMap<&'static str, Vec<usize>> {
    let mut by_key: HashMap<&'static str, Vec<usize>> = HashMap::new();
    for (i, slot) in slots.iter().enumerate() {
        by_key.entry(slot.key).or_default().push(i);
    }
    by_key
}

/// Everything that refuses a file's tensors (name → element type and shape) for the
/// network, and what does not match. Strict: missing, wrongly shaped, wrongly typed and
/// unexpected tensors are all problems, in that order for each of the network's
/// tensors, then the unexpected ones sorted. Non-strict: only wrongly shaped and wrongly
/// typed ones are (as in PyTorch); the missing and unexpected ones are the report.
fn check(
    slots: &[Slot], by_key: &HashMap<&str, Vec<usize>>, file: &HashMap<&str, (Dtype, &[usize])>, strictness: Strictness,
) -> (Vec<String>, LoadReport) {
    let strict = strictness == Strictness::Strict;
    let mut problems = Vec::new();
    let mut report = LoadReport::default();
    for slot in slots {
        match file.get(slot.key) {
            None if strict => problems.push(format!("missing key {:?} (shape {:?})", slot.key, slot.shape)),
            None => report.missing_keys.push(slot.key.to_string()),
            Some((_, shape)) if *shape != slot.shape => problems.push(format!(
                "size mismatch for {:?}: the file has shape {:?}, the network expects {:?}{}",
                slot.key,
                shape,
                slot.shape,
                if strict {
                    ""
                } else {
                    " (a non-strict load refuses this too, as PyTorch does: leave the tensor out of the file, or \
                     give the layer another name)"
                }
            )),
            Some((dtype, _)) => problems.extend(accepts(slot.key, *dtype).err()),
        }
    }
    let mut unexpected: Vec<&str> = file.keys().copied().filter(|key| !by_key.contains_key(key)).collect();
    unexpected.sort_unstable();
    if strict {
        problems.extend(unexpected.into_iter().map(|key| format!("unexpected key {key:?}")));
    } else {
        report.unexpected_keys = unexpected.into_iter().map(str::to_string).collect();
    }
    (problems, report)
}

/// The longest header the safetensors format allows (its reader refuses longer ones).
const MAX_HEADER: u64 = 100_000_000;

/// Appends at most `limit` more bytes of `reader` to `bytes`.
fn read_at_most(reader: &mut impl Read, bytes: &mut Vec<u8>, limit: u64) -> Result<(), Vec<String>> {
    reader.take(limit).read_to_end(bytes).map(drop).map_err(|e| vec![format!("cannot read: {e}")])
}

/// Reads and drops at most `len` bytes of `reader`, through a fixed buffer on the stack;
/// returns how many there were.
fn skip(reader: &mut impl Read, len: u64) -> Result<u64, Vec<String>> {
    io::copy(&mut reader.take(len), &mut io::sink()).map_err(|e| vec![format!("cannot read: {e}")])
}

/// Each loaded tensor's values, by its index among the network's tensors.
type Decoded<F> = Vec<(usize, Vec<F>)>;

/// Reads one safetensors file for the network `slots` describe, bounded by what its
/// header declares: the 8-byte header length (at most [`MAX_HEADER`]), the header,
/// checked against the network before any tensor data is read, then the tensor data the
/// header declares, tensor after tensor in file order, and one byte more to tell that
/// nothing follows. A tensor that loads is held and decoded (its shape is the network's,
/// its elements at most 8 bytes); any other (an unexpected one, which only a non-strict
/// load reads past) is read through a fixed buffer and dropped. Returns the loaded
/// values and what did not match, or every problem found.
fn read_tensors<F: Float>(
    reader: &mut impl Read, slots: &[Slot], strictness: Strictness,
) -> Result<(Decoded<F>, LoadReport), Vec<String>> {
    let invalid = |why: String| vec![format!("not a valid safetensors file: {why}")];
    let mut bytes = Vec::new();
    read_at_most(reader, &mut bytes, 8)?;
    let Ok(length) = <[u8; 8]>::try_from(&bytes[..]) else {
        return Err(invalid(format!("it ends after {} bytes, inside the 8-byte header length", bytes.len())));
    };
    let header = u64::from_le_bytes(length);
    if header > MAX_HEADER {
        return Err(invalid(format!("its header length, {header} bytes, is over the format's {MAX_HEADER}")));
    }
    read_at_most(reader, &mut bytes, header)?;
    let header = header as usize;
    if bytes.len() < 8 + header {
        return Err(invalid(format!("it ends {} bytes into its {header}-byte header", bytes.len() - 8)));
    }
    // Parsing checks what the format requires: the tensors' data lie end to end from
    // offset 0, each exactly as long as its shape and element type make it.
    let metadata: Metadata =
        serde_json::from_slice(&bytes[8..]).map_err(|e| invalid(format!("its header does not parse: {e}")))?;
    drop(bytes);
    let infos = metadata.tensors();
    let file = infos.iter().map(|(key, info)| (key.as_str(), (info.dtype, &info.shape[..]))).collect();
    let by_key = slots_by_key(slots);
    let (problems, report) = check(slots, &by_key, &file, strictness);
    if !problems.is_empty() {
        return Err(problems);
    }
    // What follows is bounded by the header: strict, it lists exactly the network's
    // tensors, so the data is the network's size; non-strict, the unexpected tensors'
    // declared extents add to what is read, never to what is held.
    let data = metadata.data_len();
    let short =
        |read: usize| invalid(format!("it ends {read} bytes into the {data} bytes of tensor data its header declares"));
    let (mut read, mut decoded, mut held) = (0, Vec::new(), Vec::new());
    for key in metadata.offset_keys() {
        let Some(info) = metadata.info(&key) else { continue };
        let len = info.data_offsets.1 - info.data_offsets.0;
        match by_key.get(key.as_str()) {
            Some(targets) => {
                held.clear();
                held.try_reserve_exact(len)
                    .map_err(|_| vec![format!("{key}: cannot allocate {len} bytes to read it")])?;
                read_at_most(reader, &mut held, len as u64)?;
                read += held.len();
                if held.len() < len {
                    return Err(short(read));
                }
                let values = decode::<F>(&key, info.dtype, &held).map_err(|problem| vec![problem])?;
                if let Some((&last, others)) = targets.split_last() {
                    decoded.extend(others.iter().map(|&i| (i, values.clone())));
                    decoded.push((last, values));
                }
            }
            None => {
                let skipped = skip(reader, len as u64)? as usize;
                read += skipped;
                if skipped < len {
                    return Err(short(read));
                }
            }
        }
    }
    let mut after = Vec::new();
    read_at_most(reader, &mut after, 1)?;
    if !after.is_empty() {
        return Err(invalid(format!("there is more after the {data} bytes of tensor data its header declares")));
    }
    Ok((decoded, report))
}

/// Loads one safetensors file from `reader` into `net`; `source` names it in errors.
/// Nothing changes unless every tensor checks out and the whole file has been read.
fn load_from<F: Float>(
    net: Tensors<&mut [F]>, reader: &mut impl Read, source: &str, strictness: Strictness,
) -> Result<LoadReport, Error> {
    let fail = |problems: Vec<String>| Error::Weights { source: format!("{source} into {}", net.name), problems };
    let slots = slots(net.layers);
    let (decoded, report) = read_tensors::<F>(reader, &slots, strictness).map_err(fail)?;
    for (i, values) in decoded {
        let slot = &slots[i];
        let target =
            if slot.buffer { &mut net.buffers[slot.range.clone()] } else { &mut net.params[slot.range.clone()] };
        target.copy_from_slice(&values);
    }
    Ok(report)
}

/// Loads `path` into `net` (see [`load_from`]).
fn load_path<F: Float>(net: Tensors<&mut [F]>, path: &Path, strictness: Strictness) -> Result<LoadReport, Error> {
    let source = path.display().to_string();
    match fs::File::open(path) {
        Ok(mut file) => load_from(net, &mut file, &source, strictness),
        Err(e) => Err(Error::Weights {
            source: format!("{source} into {}", net.name),
            problems: vec![format!("cannot read: {e}")],
        }),
    }
}

/// Loads safetensors bytes into `net`; `source` names them in errors. Nothing changes
/// unless every tensor checks out.
pub fn from_bytes<F: Float>(net: Tensors<&mut [F]>, bytes: &[u8], source: &str) -> Result<(), Error> {
    load_from(net, &mut &bytes[..], source, Strictness::Strict).map(drop)
}

/// Loads `path` into `net`, reading no more than its header declares plus one byte;
/// see the module's documentation.
pub fn load<F: Float>(net: Tensors<&mut [F]>, path: &Path) -> Result<(), Error> {
    load_path(net, path, Strictness::Strict).map(drop)
}

/// [`from_bytes`], non-strict: loads the tensors both have; see the module's
/// documentation.
pub fn from_bytes_non_strict<F: Float>(
    net: Tensors<&mut [F]>, bytes: &[u8], source: &str,
) -> Result<LoadReport, Error> {
    load_from(net, &mut &bytes[..], source, Strictness::NonStrict)
}

/// [`load`], non-strict: loads the tensors both have; see the module's documentation.
pub fn load_non_strict<F: Float>(net: Tensors<&mut [F]>, path: &Path) -> Result<LoadReport, Error> {
    load_path(net, path, Strictness::NonStrict)
}

/// Saves so far in this process: with the process id, each a temporary name of its own.
static SAVES: AtomicU64 = AtomicU64::new(0);

/// The file `path` names, following symbolic links (at most 40, as Linux does), so
/// that a save replaces the file a link points to and keeps the link.
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..=40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)?;
                // Relative to the link's directory; `join` keeps an absolute target as it is.
                path = path.parent().map_or_else(|| target.clone(), |dir| dir.join(&target));
            }
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// The directory `file` is in.
fn directory(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Whether `name` is a temporary name a save to `file_name` gives:
/// `.<file_name>.<digits>-<digits>.tmp`.
fn is_temp_name(name: &OsStr, file_name: &OsStr) -> bool {
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let middle = name
        .as_encoded_bytes()
        .strip_prefix(b".")
        .and_then(|rest| rest.strip_prefix(file_name.as_encoded_bytes()))
        .and_then(|rest| rest.strip_prefix(b"."))
        .and_then(|rest| rest.strip_suffix(b".tmp"));
    let Some(middle) = middle else { return false };
    let mut parts = middle.split(|b| *b == b'-');
    matches!((parts.next(), parts.next(), parts.next()), (Some(pid), Some(n), None) if digits(pid) && digits(n))
}

/// Creates a new temporary file beside `target`, named by [`is_temp_name`]'s rule,
/// locked, with the permissions of the file it will replace (if any).
fn create_temp(target: &Path, file_name: &OsStr, existing: Option<&fs::Metadata>) -> io::Result<(PathBuf, fs::File)> {
    let mut last = io::Error::other("no temporary file could be created");
    for _ in 0..16 {
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}-{}.tmp", std::process::id(), SAVES.fetch_add(1, Ordering::Relaxed)));
        let temp = target.with_file_name(name);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(existing) = existing {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            // No wider than the file it replaces, even for the moment before the exact
            // mode is set.
            options.mode(existing.permissions().mode() & 0o777);
        }
        let file = match options.open(&temp) {
            Ok(file) => file,
            // A name a crashed process with a recycled id left: take the next.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                last = e;
                continue;
            }
            Err(e) => return Err(e),
        };
        // Held until the file is renamed: another save's cleanup removes only temporary
        // files nobody holds locked. One that took this file for a crashed save's before
        // the lock was taken has removed it: start again with a new name.
        if file.lock().is_ok() && fs::symlink_metadata(&temp).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
            continue;
        }
        #[cfg(unix)]
        if let Some(existing) = existing {
            // The exact mode, which the process's umask may have narrowed at creation.
            if let Err(e) = file.set_permissions(existing.permissions()) {
                let _ = fs::remove_file(&temp);
                return Err(e);
            }
        }
        #[cfg(not(unix))]
        let _ = existing;
        return Ok((temp, file));
    }
    Err(last)
}

/// Removes the temporary files of saves to `target` that crashed: those nobody holds
/// locked (a live save holds its own until it renames it). Best effort: what cannot be
/// opened, locked or removed stays.
fn remove_orphans(target: &Path, file_name: &OsStr) {
    let Ok(entries) = fs::read_dir(directory(target)) else { return };
    for entry in entries.flatten() {
        if !is_temp_name(&entry.file_name(), file_name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = fs::File::open(&path).or_else(|_| fs::OpenOptions::new().write(true).open(&path)) else {
            continue;
        };
        // If a live save renamed this file away between the open and the lock, the lock
        // is on the target now, and the name is gone: the removal fails and harms nothing.
        if file.try_lock().is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Writes `bytes` to `path` atomically; see the module's documentation. `crash_after`
/// (tests only) stops after that many bytes and leaves the temporary file, as a crash
/// would.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], crash_after: Option<usize>) -> io::Result<()> {
    let target = follow_links(path)?;
    let file_name = target.file_name().ok_or_else(|| io::Error::other("the path names no file"))?.to_owned();
    let existing = match fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = &existing {
        if !meta.is_file() {
            return Err(io::Error::other("it is not a regular file; a save replaces only files"));
        }
        if meta.permissions().readonly() {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "the file is read-only"));
        }
    }
    let (temp, mut file) = create_temp(&target, &file_name, existing.as_ref())?;
    let result = (|| {
        match crash_after {
            Some(n) => {
                file.write_all(&bytes[..n.min(bytes.len())])?;
                return Err(io::Error::other("simulated crash"));
            }
            None => file.write_all(bytes)?,
        }
        file.sync_all()?;
        fs::rename(&temp, &target)
    })();
    if result.is_err() && crash_after.is_none() {
        let _ = fs::remove_file(&temp);
    }
    // Releases the lock, only now that the temporary name is gone.
    drop(file);
    result?;
    // Makes the rename itself durable, where the system can sync a directory.
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(directory(&target)) {
        let _ = dir.sync_all();
    }
    remove_orphans(&target, &file_name);
    Ok(())
}

/// Saves the network's parameters and buffers to `path`; see the module's
/// documentation for what a save guarantees.
pub fn save<F: Float>(net: Tensors<&[F]>, path: &Path) -> Result<(), Error> {
    let destination = format!("{} to {}", net.name, path.display());
    let bytes = serialize(net).map_err(|problem| Error::WeightsSave { destination: destination.clone(), problem })?;
    write_atomically(path, &bytes, None)
        .map_err(|e| Error::WeightsSave { destination, problem: format!("cannot write: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "Miri does not support fsync (File::sync_all); file handling is safe code")]
    fn a_crash_mid_save_leaves_the_old_file_intact_and_the_next_save_cleans_up() {
        let dir = std::env::temp_dir().join(format!("nn-weights-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        let temporaries = || {
            fs::read_dir(&dir)
                .unwrap()
                .filter(|e| is_temp_name(&e.as_ref().unwrap().file_name(), OsStr::new("model.safetensors")))
                .count()
        };
        write_atomically(&path, b"old contents", None).unwrap();
        for crashes in 1..=2 {
            let err = write_atomically(&path, b"new contents that never finish", Some(7)).unwrap_err();
            assert_eq!(err.to_string(), "simulated crash");
            assert_eq!(fs::read(&path).unwrap(), b"old contents");
            assert_eq!(temporaries(), crashes, "each crash leaves its temporary file");
        }
        write_atomically(&path, b"new contents", None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        assert_eq!(temporaries(), 0, "the finished save removed the crashed saves' files and renamed its own");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_names_match_only_their_own_file() {
        let file = OsStr::new("model.safetensors");
        for (name, ok) in [
            (".model.safetensors.12-0.tmp", true),
            (".model.safetensors.4194304-18446744073709551615.tmp", true),
            (".model.safetensors.12.tmp", false),
            (".model.safetensors.12-.tmp", false),
            (".model.safetensors.-3.tmp", false),
            (".model.safetensors.1-2-3.tmp", false),
            (".model.safetensors.a-2.tmp", false),
            (".model.safetensors.1-2.tmp.bak", false),
            ("model.safetensors.1-2.tmp", false),
            (".model.safetensors.x.1-2.tmp", false),
            (".other.1-2.tmp", false),
        ] {
            assert_eq!(is_temp_name(OsStr::new(name), file), ok, "{name}");
        }
    }

    /// A reader that yields `prefix`, then zeros for as long as anyone reads, counting
    /// what is taken from it.
    struct Endless<'a> {
        prefix: &'a [u8],
        taken: usize,
    }

    impl Read for Endless<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len();
            for (i, b) in buf.iter_mut().enumerate() {
                *b = self.prefix.get(self.taken + i).copied().unwrap_or(0);
            }
            self.taken += n;
            Ok(n)
        }
    }

    #[test]
    fn reads_stop_at_what_the_header_declares_plus_one_byte() {
        let layers: &[LayerInfo] = &[];
        let file = safetensors::serialize(Vec::<(&str, TensorView)>::new(), None).unwrap();
        let mut reader = Endless { prefix: &file, taken: 0 };
        let err = read_tensors::<f32>(&mut reader, &slots(layers), Strictness::Strict).unwrap_err();
        assert_eq!(
            err,
            ["not a valid safetensors file: there is more after the 0 bytes of tensor data its header declares"]
        );
        assert_eq!(reader.taken, file.len() + 1);
    }

    /// One layer as the macro would describe it: a weight of two values and a batch
    /// counter.
    static ONE: &[LayerInfo] = &[LayerInfo {
        key: "0",
        kind: "test",
        written: "test",
        output_axes: "",
        output_shape: &[2],
        params: 2,
        flops: 0,
        tensors: &[crate::info::TensorInfo { key: "0.weight", shape: &[2] }],
        buffers: &[crate::info::TensorInfo { key: "0.num_batches_tracked", shape: &[] }],
    }];

    /// A safetensors file of (key, type, shape) tensors: `0.weight` as f32 of shape [2]
    /// holds 1.5 and -2, every other tensor zeros.
    fn file(tensors: &[(&str, Dtype, &[usize])]) -> Vec<u8> {
        let data: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(key, dtype, shape)| match (*key, dtype, shape) {
                ("0.weight", Dtype::F32, [2]) => [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect(),
                _ => vec![0; shape.iter().product::<usize>() * dtype.bitsize() / 8],
            })
            .collect();
        let views: Vec<(&str, TensorView)> = tensors
            .iter()
            .zip(&data)
            .map(|((key, dtype, shape), bytes)| (*key, TensorView::new(*dtype, shape.to_vec(), bytes).unwrap()))
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    /// Non-strict, the data of tensors the network lacks is read past (the header's
    /// declared extent bounds it) and the load stops one byte after it; the tensors the
    /// network has are loaded, and the report names the rest.
    #[test]
    fn a_non_strict_read_goes_past_unexpected_tensors_and_stops_after_the_declared_data() {
        let bytes = file(&[("0.weight", Dtype::F32, &[2]), ("extra", Dtype::F32, &[3000]), ("z", Dtype::F64, &[1])]);
        let (decoded, report) = read_tensors::<f64>(&mut &bytes[..], &slots(ONE), Strictness::NonStrict).unwrap();
        assert_eq!(decoded, [(0, vec![1.5, -2.0])]);
        assert_eq!(report.missing_keys, ["0.num_batches_tracked"]);
        assert_eq!(report.unexpected_keys, ["extra", "z"]);
        let mut reader = Endless { prefix: &bytes, taken: 0 };
        let err = read_tensors::<f64>(&mut reader, &slots(ONE), Strictness::NonStrict).unwrap_err();
        assert_eq!(
            err,
            ["not a valid safetensors file: there is more after the 12016 bytes of tensor data its header declares"]
        );
        assert_eq!(reader.taken, bytes.len() + 1);
        for cut in [bytes.len() - 1, bytes.len() - 9, bytes.len() - 100] {
            let err = read_tensors::<f64>(&mut &bytes[..cut], &slots(ONE), Strictness::NonStrict).unwrap_err();
            let read = 12016 - (bytes.len() - cut);
            assert_eq!(
                err,
                [format!(
                    "not a valid safetensors file: it ends {read} bytes into the 12016 bytes of tensor data its \
                     header declares"
                )]
            );
        }
    }

    /// Strict, every difference is a problem; non-strict, only a matching key with the
    /// wrong shape or type is, and the missing and unexpected keys are the report.
    #[test]
    fn non_strict_refuses_only_wrong_shapes_and_types() {
        let bytes = file(&[
            ("0.weight", Dtype::F32, &[3]),
            ("0.num_batches_tracked", Dtype::F32, &[]),
            ("x", Dtype::F32, &[1]),
        ]);
        let slots = slots(ONE);
        let strict = read_tensors::<f32>(&mut &bytes[..], &slots, Strictness::Strict).unwrap_err();
        assert_eq!(
            strict,
            [
                "size mismatch for \"0.weight\": the file has shape [3], the network expects [2]",
                "0.num_batches_tracked: element type F32, expected I64",
                "unexpected key \"x\"",
            ]
        );
        let non_strict = read_tensors::<f32>(&mut &bytes[..], &slots, Strictness::NonStrict).unwrap_err();
        assert_eq!(
            non_strict,
            [
                "size mismatch for \"0.weight\": the file has shape [3], the network expects [2] (a non-strict load \
                 refuses this too, as PyTorch does: leave the tensor out of the file, or give the layer another name)",
                "0.num_batches_tracked: element type F32, expected I64",
            ]
        );
        let empty = file(&[]);
        assert_eq!(
            read_tensors::<f32>(&mut &empty[..], &slots, Strictness::Strict).unwrap_err(),
            ["missing key \"0.weight\" (shape [2])", "missing key \"0.num_batches_tracked\" (shape [])"]
        );
        let (decoded, report) = read_tensors::<f32>(&mut &empty[..], &slots, Strictness::NonStrict).unwrap();
        assert!(decoded.is_empty());
        assert_eq!(report.missing_keys, ["0.weight", "0.num_batches_tracked"]);
    }

    #[test]
    fn load_reports_print_what_did_not_match() {
        let mut report = LoadReport::default();
        assert!(report.all_matched());
        assert_eq!(report.to_string(), "all keys matched");
        report.missing_keys = vec!["head.weight".into(), "head.bias".into()];
        assert_eq!(
            report.to_string(),
            "2 keys missing (the network's, not in the file; left as they were): \"head.weight\", \"head.bias\""
        );
        report.unexpected_keys = vec!["fc.weight".into()];
        assert!(!report.all_matched());
        assert_eq!(
            report.to_string(),
            "2 keys missing (the network's, not in the file; left as they were): \"head.weight\", \"head.bias\"\n\
             1 key unexpected (in the file, not the network's; not loaded): \"fc.weight\""
        );
    }
}
