//! The IDX format MNIST and Fashion-MNIST ship in: a big-endian header
//! (`0, 0, type, ndim`, then `ndim` u32 sizes) and the raw values; gzip-compressed or not.
//!
//! # Bounded reads
//!
//! Every reader in this crate follows one rule: **read at most what the header (or the
//! network) says, plus one byte.** The header is read first (from the decompressed
//! stream, for a gzip file), then exactly the bytes it announces are asked for, plus one:
//! that extra byte tells a file that ends where it should from one with trailing data,
//! an endless stream (`/dev/zero`, a FIFO) or a decompression bomb, and nothing past it
//! is ever read, inflated or kept. Memory grows with the bytes that actually arrive, never
//! with what a header merely claims, so a 16-byte file announcing gigabytes costs
//! kilobytes. [`read_at_most`] and [`read_extent`] are that rule as functions, for any
//! [`Read`]; new readers (checkpoints, CSV, images) use them rather than `read_to_end`.
//!
//! Gzip is decompressed one layer deep: data that is gzip again once decompressed is an
//! error ("nested gzip is not supported"). No tool writes IDX that way, and refusing it
//! keeps the reader's work proportional to one stream (no recursion, no per-layer buffers).

use crate::error::Error;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// An IDX array of unsigned bytes (type code 0x08), the only type MNIST-style data uses.
///
/// The fields are public; [`Idx::check`] tells whether `dims` and `data` agree, and every
/// function here that takes an `Idx` checks it before trusting it.
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

    /// The number of values `dims` describe, checked against `data`'s length; `what`
    /// names the array in the error ("images", "labels", a file name).
    pub fn check(&self, what: &str) -> Result<usize, Error> {
        let err = |message: String| Error::Data { source: what.to_string(), message };
        let count = element_count(&self.dims).ok_or_else(|| err(format!("dimensions {:?} overflow", self.dims)))?;
        if count != self.data.len() {
            return Err(err(format!(
                "dimensions {:?} describe {count} values, but the data holds {}",
                self.dims,
                self.data.len()
            )));
        }
        Ok(count)
    }
}

fn element_count(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most dimensions an IDX header can state (its count is one byte).
pub const MAX_DIMS: usize = u8::MAX as usize;

/// Reads from `reader` until it ends or `limit` bytes have arrived, whichever comes
/// first, and never asks it for more than `limit` bytes.
///
/// The buffer grows with what arrives (doubling from 8 KiB, capped at `limit`): it never
/// exceeds `limit`, nor twice what arrived (or 8 KiB), so a large `limit` costs nothing
/// until the data is there. An allocation that fails is an
/// [`io::ErrorKind::OutOfMemory`] error, not an abort. See the [module
/// documentation](self) for the rule this serves; [`read_extent`] applies it.
pub fn read_at_most<R: Read>(reader: R, limit: usize) -> io::Result<Vec<u8>> {
    const FIRST: usize = 8 * 1024;
    let mut reader = reader.take(limit as u64);
    let (mut buf, mut filled) = (Vec::new(), 0usize);
    while filled < limit {
        if filled == buf.len() {
            let grow = filled.max(FIRST).min(limit - filled);
            buf.try_reserve_exact(grow).map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
            buf.resize(filled + grow, 0);
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// What [`read_extent`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extent {
    /// Exactly the expected bytes, and then the end of the stream.
    Exact(Vec<u8>),
    /// The stream ended after `found` of the expected bytes.
    Truncated { found: usize },
    /// The stream holds more than expected (at least one more byte; nothing past that
    /// one byte was read).
    Trailing,
}

/// Reads the `len` bytes a header (or a network) announced and checks that the stream
/// ends there, reading at most `len + 1` bytes: the rule of the [module
/// documentation](self).
pub fn read_extent<R: Read>(reader: R, len: usize) -> io::Result<Extent> {
    let limit = len.checked_add(1).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "length overflows"))?;
    let bytes = read_at_most(reader, limit)?;
    Ok(match bytes.len() {
        n if n == len => Extent::Exact(bytes),
        n if n < len => Extent::Truncated { found: n },
        _ => Extent::Trailing,
    })
}

/// Parses IDX bytes (gzip-compressed or plain). `source` names them in errors.
pub fn parse(bytes: &[u8], source: &str) -> Result<Idx, Error> {
    from_reader(bytes, source)
}

/// Reads and parses an IDX file (`.gz` or plain), reading at most what its header says
/// plus one byte: an endless file (`/dev/zero`, a FIFO) or a decompression bomb is an
/// error after that much, not a process out of memory.
pub fn read(path: impl AsRef<Path>) -> Result<Idx, Error> {
    let path = path.as_ref();
    let source = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::Data { source: source.clone(), message: e.to_string() })?;
    from_reader(BufReader::new(file), &source)
}

/// Parses IDX data (gzip-compressed or plain) from any reader, reading at most what the
/// header says plus one byte (and, for gzip, at most one byte past the gzip stream).
/// `source` names the data in errors.
pub fn from_reader<R: Read>(mut reader: R, source: &str) -> Result<Idx, Error> {
    let err = |message: String| Error::Data { source: source.to_string(), message };
    let magic = read_at_most(&mut reader, GZIP_MAGIC.len()).map_err(|e| err(format!("read failed: {e}")))?;
    let gzipped = magic == GZIP_MAGIC;
    let stream = io::Cursor::new(magic).chain(reader);
    if !gzipped {
        return parse_plain(stream, "file", &|e| err(format!("read failed: {e}")), &err);
    }
    let mut gz = flate2::bufread::GzDecoder::new(BufReader::new(stream));
    let idx = parse_plain(&mut gz, "decompressed data", &|e| err(format!("corrupt gzip stream: {e}")), &err)?;
    // Reading the body's extra byte ran the decoder to the end of the gzip stream (and
    // checked its CRC); one more byte of the file tells whether anything follows it.
    let after = read_at_most(gz.into_inner(), 1).map_err(|e| err(format!("read failed: {e}")))?;
    if !after.is_empty() {
        return Err(err("trailing bytes after the gzip stream (only one gzip member is read)".into()));
    }
    Ok(idx)
}

/// The header, then exactly the body it announces: at most header + body + 1 bytes.
fn parse_plain<R: Read>(
    mut r: R, what: &str, io_err: &dyn Fn(io::Error) -> Error, err: &dyn Fn(String) -> Error,
) -> Result<Idx, Error> {
    let head = read_at_most(&mut r, 4).map_err(io_err)?;
    if head.starts_with(&GZIP_MAGIC) {
        return Err(err("nested gzip is not supported: the decompressed data is gzip-compressed again".into()));
    }
    if head.len() < 4 {
        return Err(err(format!("too short for an IDX header ({} bytes)", head.len())));
    }
    if head[0] != 0 || head[1] != 0 {
        return Err(err(format!("not an IDX file: magic starts {:02x} {:02x}, expected 00 00", head[0], head[1])));
    }
    if head[2] != 0x08 {
        return Err(err(format!("IDX element type 0x{:02x} is not supported (only 0x08, unsigned bytes)", head[2])));
    }
    let ndim = head[3] as usize;
    let sizes = read_at_most(&mut r, 4 * ndim).map_err(io_err)?;
    if sizes.len() < 4 * ndim {
        return Err(err(format!(
            "truncated header: {ndim} dimensions need {} bytes, {what} has {}",
            4 + 4 * ndim,
            4 + sizes.len()
        )));
    }
    let dims: Vec<usize> =
        sizes.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let count = element_count(&dims)
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| err(format!("dimensions {dims:?} hold more values than memory can address")))?;
    match read_extent(&mut r, count).map_err(io_err)? {
        Extent::Exact(data) => Ok(Idx { dims, data }),
        Extent::Truncated { found } => {
            Err(err(format!("dimensions {dims:?} need {count} bytes of data, {what} has {found} (truncated)")))
        }
        Extent::Trailing => {
            Err(err(format!("dimensions {dims:?} need {count} bytes of data, {what} has more (trailing bytes)")))
        }
    }
}

/// Serializes to plain IDX bytes (used by tests and tools). An array whose `dims` and
/// `data` disagree, with more than [`MAX_DIMS`] dimensions, or with a size above
/// `u32::MAX` (IDX stores each in 4 bytes) is an error, never a file that says something
/// else.
pub fn to_bytes(idx: &Idx) -> Result<Vec<u8>, Error> {
    let err = |message: String| Error::Data { source: "idx::to_bytes".into(), message };
    idx.check("idx::to_bytes")?;
    if idx.dims.len() > MAX_DIMS {
        return Err(err(format!("{} dimensions; IDX stores at most {MAX_DIMS}", idx.dims.len())));
    }
    let mut out = vec![0, 0, 0x08, idx.dims.len() as u8];
    for (axis, &d) in idx.dims.iter().enumerate() {
        let d = u32::try_from(d)
            .map_err(|_| err(format!("dimension {axis} is {d}, more than IDX's 4-byte sizes hold ({})", u32::MAX)))?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(&idx.data);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, to exercise short reads.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    /// Under Miri (tools/miri.sh) smaller sizes, which still grow the buffer more than
    /// once and stop at the limit.
    #[test]
    fn bounded_reads_stop_at_the_limit_and_keep_no_more_capacity() {
        let (limit, trickled) = if cfg!(miri) { (30_000, 9_000) } else { (100_000, 20_000) };
        let bytes = read_at_most(io::repeat(7), limit).unwrap();
        assert_eq!(bytes.len(), limit);
        assert!(bytes.capacity() <= limit, "{}", bytes.capacity());
        assert_eq!(read_at_most(&[1u8, 2, 3][..], 10).unwrap(), vec![1, 2, 3]);
        assert_eq!(read_at_most(io::repeat(1), 0).unwrap(), Vec::<u8>::new());
        assert_eq!(read_at_most(Trickle(&vec![5; trickled]), 30_000).unwrap(), vec![5; trickled]);

        assert_eq!(read_extent(&[1u8, 2][..], 2).unwrap(), Extent::Exact(vec![1, 2]));
        assert_eq!(read_extent(&[1u8][..], 2).unwrap(), Extent::Truncated { found: 1 });
        assert_eq!(read_extent(io::repeat(0), 2).unwrap(), Extent::Trailing);
        assert_eq!(read_extent(io::repeat(0), usize::MAX).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_header_claiming_gigabytes_costs_only_what_arrives() {
        // 2^32 − 1 bytes announced, 3 present.
        let bytes = [0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        let err = parse(&bytes, "big").unwrap_err().to_string();
        assert!(err.contains("has 3 (truncated)"), "{err}");
        let err = from_reader(Trickle(&bytes), "big").unwrap_err().to_string();
        assert!(err.contains("has 3 (truncated)"), "{err}");
    }
}
