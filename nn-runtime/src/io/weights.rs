//! Weights in safetensors, laid out and named as PyTorch's `nn.Sequential` does
//! (`<index or name>.weight`, `.bias`, `.running_mean`, `.running_var`,
//! `.num_batches_tracked`), so a PyTorch state dict loads with no renaming and ours
//! loads into PyTorch with `load_state_dict(strict=True)`.
//!
//! # Loading
//!
//! Loading checks every tensor before changing anything, as `strict=True` does: missing,
//! unexpected, wrongly shaped and wrongly typed tensors are all reported in one error,
//! and the network is left as it was, bit for bit.
//!
//! Reading is bounded, whatever the file is (`/dev/zero`, a FIFO, a huge file): first
//! the 8-byte header length, refused above the format's 100,000,000 bytes; then the
//! header, which must describe exactly the network's tensors; only then the tensor data
//! the header declares, plus one byte to tell that nothing follows it. So a load reads
//! at most the header and what the network's values take (8 bytes a value at most)
//! plus one byte, and an endless or oversized file is an error once that much is read.
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
use safetensors::tensor::{Dtype, Metadata, SafeTensors, TensorView};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
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
        .map_err(|e| format!("cannot serialize: {e}"))?;
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
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

/// Decodes one tensor's values, of a type [`accepts`] took.
fn decode<F: Float>(key: &str, view: &TensorView<'_>) -> Result<Vec<F>, String> {
    accepts(key, view.dtype())?;
    let data = view.data();
    Ok(match view.dtype() {
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

/// Everything wrong with a file's tensors (name → element type and shape) for the
/// network: missing, wrongly shaped, wrongly typed and unexpected ones, in that order
/// for each of the network's tensors, then the unexpected ones sorted.
fn problems(slots: &[Slot], file: &HashMap<&str, (Dtype, &[usize])>) -> Vec<String> {
    let mut problems = Vec::new();
    for slot in slots {
        match file.get(slot.key) {
            None => problems.push(format!("missing key {:?} (shape {:?})", slot.key, slot.shape)),
            Some((_, shape)) if *shape != slot.shape => problems.push(format!(
                "size mismatch for {:?}: the file has shape {:?}, the network expects {:?}",
                slot.key, shape, slot.shape
            )),
            Some((dtype, _)) => problems.extend(accepts(slot.key, *dtype).err()),
        }
    }
    let mut unexpected: Vec<&str> = file.keys().copied().filter(|n| !slots.iter().any(|s| s.key == *n)).collect();
    unexpected.sort_unstable();
    problems.extend(unexpected.into_iter().map(|n| format!("unexpected key {n:?}")));
    problems
}

/// The longest header the safetensors format allows (its reader refuses longer ones).
const MAX_HEADER: u64 = 100_000_000;

/// Appends at most `limit` more bytes of `reader` to `bytes`.
fn read_at_most(reader: &mut impl Read, bytes: &mut Vec<u8>, limit: u64) -> Result<(), Vec<String>> {
    reader.take(limit).read_to_end(bytes).map(drop).map_err(|e| vec![format!("cannot read: {e}")])
}

/// Reads one safetensors file for the network `slots` describe, never more than its
/// header declares plus one byte: the 8-byte header length (at most [`MAX_HEADER`]),
/// the header, checked against the network before any tensor data is read (so the data
/// it declares is the network's size), then that data and one byte more to tell that
/// nothing follows. Returns the whole file, or every problem found.
fn read_bounded(reader: &mut impl Read, slots: &[Slot]) -> Result<Vec<u8>, Vec<String>> {
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
    let metadata: Metadata =
        serde_json::from_slice(&bytes[8..]).map_err(|e| invalid(format!("its header does not parse: {e}")))?;
    let infos = metadata.tensors();
    let file = infos.iter().map(|(key, info)| (key.as_str(), (info.dtype, &info.shape[..]))).collect();
    let problems = problems(slots, &file);
    if !problems.is_empty() {
        return Err(problems);
    }
    // The header lists exactly the network's tensors, in types of at most 8 bytes, and
    // the format ties each tensor's bytes to its shape and type: this is bounded by the
    // network's size.
    let data = metadata.data_len();
    read_at_most(reader, &mut bytes, data as u64 + 1)?;
    let read = bytes.len() - 8 - header;
    if read < data {
        return Err(invalid(format!("it ends {read} bytes into the {data} bytes of tensor data its header declares")));
    }
    if read > data {
        return Err(invalid(format!("there is more after the {data} bytes of tensor data its header declares")));
    }
    Ok(bytes)
}

/// Loads one safetensors file from `reader` into `net`; `source` names it in errors.
/// Nothing changes unless every tensor checks out.
fn load_from<F: Float>(net: Tensors<&mut [F]>, reader: &mut impl Read, source: &str) -> Result<(), Error> {
    let fail = |problems: Vec<String>| Error::Weights { source: format!("{source} into {}", net.name), problems };
    let slots = slots(net.layers);
    let bytes = read_bounded(reader, &slots).map_err(fail)?;
    let file =
        SafeTensors::deserialize(&bytes).map_err(|e| fail(vec![format!("not a valid safetensors file: {e}")]))?;
    let mut decoded = Vec::with_capacity(slots.len());
    for slot in &slots {
        let view = file.tensor(slot.key).map_err(|e| fail(vec![format!("{}: {e}", slot.key)]))?;
        decoded.push((slot, decode::<F>(slot.key, &view).map_err(|problem| fail(vec![problem]))?));
    }
    for (slot, values) in decoded {
        let target =
            if slot.buffer { &mut net.buffers[slot.range.clone()] } else { &mut net.params[slot.range.clone()] };
        target.copy_from_slice(&values);
    }
    Ok(())
}

/// Loads safetensors bytes into `net`; `source` names them in errors. Nothing changes
/// unless every tensor checks out.
pub fn from_bytes<F: Float>(net: Tensors<&mut [F]>, bytes: &[u8], source: &str) -> Result<(), Error> {
    load_from(net, &mut &bytes[..], source)
}

/// Loads `path` into `net`, reading no more than its header declares plus one byte;
/// see the module's documentation.
pub fn load<F: Float>(net: Tensors<&mut [F]>, path: &Path) -> Result<(), Error> {
    let source = path.display().to_string();
    match fs::File::open(path) {
        Ok(mut file) => load_from(net, &mut file, &source),
        Err(e) => Err(Error::Weights {
            source: format!("{source} into {}", net.name),
            problems: vec![format!("cannot read: {e}")],
        }),
    }
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
fn write_atomically(path: &Path, bytes: &[u8], crash_after: Option<usize>) -> io::Result<()> {
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

    #[test]
    fn reads_stop_at_what_the_header_declares_plus_one_byte() {
        /// A reader that counts what is taken from it and never ends.
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
        let layers: &[LayerInfo] = &[];
        let file = safetensors::serialize(Vec::<(&str, TensorView)>::new(), None).unwrap();
        let mut reader = Endless { prefix: &file, taken: 0 };
        let err = read_bounded(&mut reader, &slots(layers)).unwrap_err();
        assert_eq!(
            err,
            ["not a valid safetensors file: there is more after the 0 bytes of tensor data its header declares"]
        );
        assert_eq!(reader.taken, file.len() + 1);
    }
}
