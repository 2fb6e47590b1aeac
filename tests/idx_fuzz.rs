//! The IDX reader under attack: random bytes, valid files with damaged bodies, cut short
//! or extended, gzip-wrapped (damaged or not, nested up to four layers) and
//! decompression bombs. Every case must return (never panic), agree with a plain
//! reference parser where one applies, and stay within bounded memory: the reader may
//! hold at most what the header announces plus one byte (and no more than twice the data
//! that actually arrives), plus a fixed overhead for the decoder, measured by a counting
//! global allocator on the parsing thread.
//!
//! Fast by default (`NN_FUZZ_CASES`, 5,000 cases); the full run is
//! `NN_FUZZ_CASES=1000000 cargo test --release --test idx_fuzz`.

use nn::idx::{self, Idx};
use proptest::prelude::*;
use std::io::{Read, Write};
use std::sync::OnceLock;

#[path = "common/peak.rs"]
mod peak;
use peak::peak;

/// What a plain parse may hold besides the announced body: the header, the dims, an
/// error message, and the body buffer's first 8 KiB (reserved before the data arrives;
/// it grows by doubling only as data does arrive).
const PLAIN_OVERHEAD: usize = 16 * 1024;
/// Plus a gzip decoder: its state, window and tables, and an 8 KiB input buffer (about
/// 96 KiB in all, measured).
const GZIP_OVERHEAD: usize = 128 * 1024;

/// The most the reader may hold for `plain` (the decompressed bytes): the values its
/// header announces plus one, and never more than twice what arrives (the buffer
/// doubles as data comes in). A header cut short announces nothing, so only what
/// arrives bounds it.
fn allowed(plain: &[u8], gzipped: bool) -> usize {
    let announced = (plain.len() >= 4).then(|| {
        let ndim = plain[3] as usize;
        let sizes = plain.get(4..4 + 4 * ndim)?;
        sizes.chunks_exact(4).try_fold(1usize, |n, b| n.checked_mul(u32::from_be_bytes(b.try_into().unwrap()) as usize))
    });
    let arrives = 2 * plain.len() + 1;
    let body = match announced.flatten() {
        Some(count) => count.saturating_add(1).min(arrives),
        None => arrives,
    };
    body + if gzipped { GZIP_OVERHEAD } else { PLAIN_OVERHEAD }
}

/// The reference: the obvious slice parser for plain (not gzip) bytes.
fn reference(bytes: &[u8]) -> Option<Idx> {
    let (head, rest) = bytes.split_at_checked(4)?;
    if head[..3] != [0, 0, 8] {
        return None;
    }
    let (sizes, body) = rest.split_at_checked(4 * head[3] as usize)?;
    let dims: Vec<usize> = sizes.chunks_exact(4).map(|b| u32::from_be_bytes(b.try_into().unwrap()) as usize).collect();
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
    (body.len() == count).then(|| Idx { dims, data: body.to_vec() })
}

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// What the reference decoder makes of gzip bytes, up to `cap` bytes: the first
/// member's decompressed bytes, as far as they decode.
fn gunzip_prefix(bytes: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(bytes).take(cap as u64);
    let mut chunk = [0u8; 4096];
    loop {
        match decoder.read(&mut chunk) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The decompressed bytes as far as the bound needs them: the header, then up to the
/// announced values plus two (so a bomb is not inflated by the test either).
fn decompressed(bytes: &[u8]) -> Vec<u8> {
    let head = gunzip_prefix(bytes, 4 + 4 * 255);
    let header = 4 + 4 * head.get(3).copied().unwrap_or(0) as usize;
    let announced = head
        .get(4..header)
        .and_then(|s| {
            s.chunks_exact(4).try_fold(1usize, |n, b| n.checked_mul(u32::from_be_bytes(b.try_into().unwrap()) as usize))
        })
        .unwrap_or(0);
    gunzip_prefix(bytes, header + announced.min(16 << 20) + 2)
}

/// Parses `bytes` and checks the outcome: no panic (the harness would report one),
/// bounded memory, a result that agrees with its dimensions, and with the reference
/// where the input is plain.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (result, held) = peak(|| idx::parse(bytes, "fuzz"));
    let gzipped = bytes.starts_with(&[0x1f, 0x8b]);
    let plain = if gzipped { decompressed(bytes) } else { bytes.to_vec() };
    let bound = allowed(&plain, gzipped);
    prop_assert!(held <= bound, "held {held} bytes, allowed {bound} ({} input bytes)", bytes.len());
    match &result {
        Ok(idx) => {
            prop_assert_eq!(idx.check("fuzz").ok(), Some(idx.data.len()));
            prop_assert_eq!(&idx::to_bytes(idx).unwrap()[..], &plain[..]);
        }
        Err(e) => prop_assert!(e.to_string().starts_with("fuzz: "), "{}", e),
    }
    if !gzipped {
        prop_assert_eq!(result.ok(), reference(bytes));
    }
    Ok(())
}

fn fuzz_cases() -> u32 {
    std::env::var("NN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000)
}

/// A valid IDX file: up to 4 dimensions of up to 7 (one of up to 600).
fn valid_file() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(0usize..8, 0..4), 0usize..600, any::<u64>()).prop_map(|(mut dims, first, seed)| {
        dims.insert(0, first);
        if dims.iter().product::<usize>() > 4096 {
            dims.truncate(1);
        }
        let count: usize = dims.iter().product();
        let data = (0..count).map(|i| (seed.rotate_left(i as u32 % 64) as u8) ^ (i as u8)).collect();
        idx::to_bytes(&Idx { dims, data }).unwrap()
    })
}

/// Damage: bytes overwritten, the end cut or extended, the header's sizes rewritten.
#[derive(Debug, Clone)]
struct Damage {
    edits: Vec<(prop::sample::Index, u8)>,
    cut: Option<prop::sample::Index>,
    tail: Vec<u8>,
    size: Option<(prop::sample::Index, u32)>,
}

fn damage() -> impl Strategy<Value = Damage> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        prop::option::weighted(0.3, any::<prop::sample::Index>()),
        prop::collection::vec(any::<u8>(), 0..3),
        prop::option::weighted(
            0.3,
            (any::<prop::sample::Index>(), prop_oneof![Just(0u32), Just(1), 0u32..2000, Just(u32::MAX), any::<u32>()]),
        ),
    )
        .prop_map(|(edits, cut, tail, size)| Damage { edits, cut, tail, size })
}

fn apply(mut bytes: Vec<u8>, damage: &Damage) -> Vec<u8> {
    if let Some((axis, value)) = damage.size {
        let ndim = bytes.get(3).copied().unwrap_or(0) as usize;
        if ndim > 0 && bytes.len() >= 4 + 4 * ndim {
            let at = 4 + 4 * axis.index(ndim);
            bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
        }
    }
    if !bytes.is_empty() {
        for (at, value) in &damage.edits {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
    }
    if let Some(at) = &damage.cut {
        bytes.truncate(at.index(bytes.len() + 1));
    }
    bytes.extend_from_slice(&damage.tail);
    bytes
}

/// Decompression bombs: a small header followed by 4 MiB of zeros, compressed to a few
/// kilobytes; built once.
fn bombs() -> &'static [Vec<u8>] {
    static BOMBS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BOMBS.get_or_init(|| {
        [vec![0u8, 0, 8, 1, 0, 0, 0, 10], vec![0, 0, 8, 2, 0, 0, 1, 0, 0, 0, 1, 0], vec![0, 0, 8, 0]]
            .into_iter()
            .map(|header| {
                let mut plain = header;
                plain.resize(plain.len() + (4 << 20), 0);
                gzip(&plain, 9)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// One run over every kind of input, so `NN_FUZZ_CASES` counts them all.
    #[test]
    fn the_idx_reader_never_panics_and_holds_at_most_the_header_plus_one(
        kind in 0u8..6,
        random in prop::collection::vec(any::<u8>(), 0..700),
        file in valid_file(),
        body_damage in damage(),
        gzip_damage in damage(),
        layers in 1usize..5,
        damaged in any::<bool>(),
        level in 0u32..10,
        bomb in any::<prop::sample::Index>(),
    ) {
        let bytes = match kind {
            // Random bytes, sometimes behind a plausible IDX magic or a gzip magic.
            0 => {
                match random.first().copied().unwrap_or(0) % 3 {
                    0 => [&[0, 0, 8], &random[..]].concat(),
                    1 => [&[0x1f, 0x8b], &random[..]].concat(),
                    _ => random,
                }
            }
            // A valid file, damaged.
            1 => apply(file, &body_damage),
            // A valid or damaged file, gzip-compressed.
            2 => gzip(&apply(file, &body_damage), level),
            // Compressed, then the gzip stream damaged.
            3 => apply(gzip(&apply(file, &body_damage), level), &gzip_damage),
            // Gzip inside gzip, 2 to 5 layers, sometimes damaged.
            4 => {
                let mut b = gzip(&file, level);
                for _ in 0..layers {
                    b = gzip(&b, level);
                }
                if damaged { apply(b, &gzip_damage) } else { b }
            }
            // A decompression bomb, perhaps with a byte changed.
            _ => apply(bomb.get(bombs()).clone(), &Damage { cut: None, tail: vec![], size: None, ..gzip_damage }),
        };
        check(&bytes)?;
        if kind == 4 && !damaged {
            let err = idx::parse(&bytes, "fuzz").unwrap_err().to_string();
            prop_assert!(err.contains("nested gzip is not supported"), "{}", err);
        }
    }
}

#[test]
fn a_gzip_bomb_is_inflated_only_to_its_header_plus_one_byte() {
    // 16 MiB of zeros after a header announcing 10 values, about 16 KiB compressed.
    let mut plain = vec![0u8, 0, 8, 1, 0, 0, 0, 10];
    plain.resize(plain.len() + (16 << 20), 0);
    let bomb = gzip(&plain, 9);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let (result, held) = peak(|| idx::parse(&bomb, "bomb.gz"));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("trailing bytes"), "{err}");
    assert!(held <= GZIP_OVERHEAD, "held {held} bytes for a header announcing 10");
}

#[test]
fn a_long_file_is_read_only_to_its_header_plus_one_byte() {
    let dir = std::env::temp_dir().join(format!("nn-idx-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A header announcing 3 values, then 16 MiB.
    let path = dir.join("long-idx1-ubyte");
    let mut bytes = vec![0u8, 0, 8, 1, 0, 0, 0, 3];
    bytes.resize(bytes.len() + (16 << 20), 1);
    std::fs::write(&path, &bytes).unwrap();
    let (result, held) = peak(|| idx::read(&path));
    assert!(result.unwrap_err().to_string().contains("trailing bytes"));
    assert!(held <= PLAIN_OVERHEAD, "held {held} bytes for a header announcing 3");

    // A valid file of 1 MB is held once: its values (plus the extra byte's room), not
    // the whole file and then a copy.
    let mut valid = vec![0u8, 0, 8, 1, 0, 0x10, 0, 0];
    valid.resize(valid.len() + (1 << 20), 5);
    std::fs::write(&path, &valid).unwrap();
    let (result, held) = peak(|| idx::read(&path));
    assert_eq!(result.unwrap().data.len(), 1 << 20);
    assert!(held <= (1 << 20) + 1 + PLAIN_OVERHEAD, "held {held} bytes for 1 MiB of values");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_counter_sees_our_own_allocations() {
    let ((), held) = peak(|| {
        let v = std::hint::black_box(vec![1u8; 1000]);
        drop(v);
        std::hint::black_box(vec![1u8; 10]);
    });
    assert_eq!(held, 1000);
}
