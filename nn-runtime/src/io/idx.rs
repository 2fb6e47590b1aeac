//! The IDX format MNIST and Fashion-MNIST ship in: a big-endian header
//! (`0, 0, type, ndim`, then `ndim` u32 sizes) and the raw values; gzip-compressed or not.

use crate::error::Error;
use std::io::Read;
use std::path::Path;

/// An IDX array of unsigned bytes (type code 0x08), the only type MNIST-style data uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

impl Idx {
    /// Number of items along the first axis (images, labels).
    pub fn len(&self) -> usize {
        self.dims.first().copied().unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Parses IDX bytes (gzip-compressed or plain). `source` names them in errors.
pub fn parse(bytes: &[u8], source: &str) -> Result<Idx, Error> {
    let err = |message: String| Error::Data { source: source.to_string(), message };
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut plain)
            .map_err(|e| err(format!("corrupt gzip stream: {e}")))?;
        return parse(&plain, source);
    }
    if bytes.len() < 4 {
        return Err(err(format!("too short for an IDX header ({} bytes)", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(err(format!("not an IDX file: magic starts {:02x} {:02x}, expected 00 00", bytes[0], bytes[1])));
    }
    if bytes[2] != 0x08 {
        return Err(err(format!("IDX element type 0x{:02x} is not supported (only 0x08, unsigned bytes)", bytes[2])));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(err(format!("truncated header: {ndim} dimensions need {header} bytes, file has {}", bytes.len())));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("dimensions {dims:?} overflow")))?;
    let body = &bytes[header..];
    if body.len() != count {
        return Err(err(format!(
            "dimensions {dims:?} need {count} bytes of data, file has {} ({})",
            body.len(),
            if body.len() < count { "truncated" } else { "trailing bytes" }
        )));
    }
    Ok(Idx { dims, data: body.to_vec() })
}

/// Reads and parses an IDX file (`.gz` or plain).
pub fn read(path: impl AsRef<Path>) -> Result<Idx, Error> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| Error::Data { source: path.display().to_string(), message: e.to_string() })?;
    parse(&bytes, &path.display().to_string())
}

/// Serializes to plain IDX bytes (used by tests and tools).
pub fn to_bytes(idx: &Idx) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, idx.dims.len() as u8];
    for &d in &idx.dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(&idx.data);
    out
}
