//! The IDX reader on files the test writes itself: plain and gzip, and each failure;
//! the data helpers (image sets, batches, metrics) on input they cannot use. (How much
//! the reader allocates is measured in `tests/idx_fuzz.rs`, which counts allocations.)

use nn::data::{Batches, ImageSet};
use nn::idx::{self, Idx};
use nn::runtime::io::metrics::Confusion;
use std::io::{Read, Write};

fn images() -> Idx {
    Idx { dims: vec![3, 2, 2], data: vec![0, 255, 51, 102, 1, 2, 3, 4, 9, 8, 7, 6] }
}

fn labels() -> Idx {
    Idx { dims: vec![3], data: vec![7, 0, 9] }
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-idx-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn reads_back_plain_and_gzip_files() {
    let plain = idx::to_bytes(&images()).unwrap();
    assert_eq!(&plain[..8], &[0, 0, 0x08, 3, 0, 0, 0, 3]);
    let path = temp_path("images-idx3-ubyte");
    std::fs::write(&path, &plain).unwrap();
    assert_eq!(idx::read(&path).unwrap(), images());

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&idx::to_bytes(&labels()).unwrap()).unwrap();
    let path = temp_path("labels-idx1-ubyte.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    assert_eq!(idx::read(&path).unwrap(), labels());
}

#[test]
fn builds_a_scaled_image_set() {
    let set = ImageSet::<f32>::from_idx(&images(), &labels()).unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(set.shape, [1, 2, 2]);
    assert_eq!(set.labels, vec![7, 0, 9]);
    assert_eq!(&set.images[..4], &[0.0, 1.0, 0.2, 0.4]);
    let padded = set.padded(1).unwrap();
    assert_eq!(padded.shape, [1, 4, 4]);
    assert_eq!(&padded.images[..8], &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn each_malformed_file_is_an_error_that_says_why() {
    let good = idx::to_bytes(&images()).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0, 0], "too short"),
        (
            {
                let mut b = good.clone();
                b[0] = 7;
                b
            },
            "not an IDX file",
        ),
        (
            {
                let mut b = good.clone();
                b[2] = 0x0D;
                b
            },
            "element type 0x0d",
        ),
        (good[..10].to_vec(), "truncated header"),
        (good[..good.len() - 1].to_vec(), "truncated"),
        (
            {
                let mut b = good.clone();
                b.push(0);
                b
            },
            "trailing bytes",
        ),
        (vec![0x1f, 0x8b, 1, 2, 3], "corrupt gzip"),
    ];
    for (bytes, needle) in cases {
        let err = idx::parse(&bytes, "case.idx").unwrap_err().to_string();
        assert!(err.starts_with("case.idx: "), "{err}");
        assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    }
    let missing = idx::read(temp_path("does-not-exist")).unwrap_err().to_string();
    assert!(missing.contains("does-not-exist"), "{missing}");
}

#[test]
fn mismatched_counts_are_rejected() {
    let two_labels = Idx { dims: vec![2], data: vec![1, 2] };
    let err = ImageSet::<f32>::from_idx(&images(), &two_labels).unwrap_err().to_string();
    assert!(err.contains("3 images but 2 labels"), "{err}");
    let err = ImageSet::<f32>::from_idx(&labels(), &labels()).unwrap_err().to_string();
    assert!(err.contains("3 dimensions"), "{err}");
}

fn gzip(bytes: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn assert_error<T>(result: Result<T, nn::Error>, needles: &[&str]) {
    let Err(err) = result else { panic!("expected an error containing {needles:?}") };
    let err = err.to_string();
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    }
}

#[test]
fn gzip_inside_gzip_is_refused_at_any_depth_without_recursion() {
    let plain = idx::to_bytes(&labels()).unwrap();
    let once = gzip(&plain, flate2::Compression::default());
    assert_eq!(idx::parse(&once, "once.gz").unwrap(), labels());
    let twice = gzip(&once, flate2::Compression::default());
    assert_error(idx::parse(&twice, "twice.gz"), &["twice.gz: ", "nested gzip is not supported"]);
    // 5,000 layers overflowed the stack when each layer recursed.
    let mut deep = plain;
    for _ in 0..5_000 {
        deep = gzip(&deep, flate2::Compression::none());
    }
    assert_error(idx::parse(&deep, "deep.gz"), &["nested gzip is not supported"]);
}

#[test]
fn an_endless_stream_is_read_only_to_the_header_plus_one_byte() {
    let header = [0u8, 0, 8, 1, 0, 0, 0, 3];
    // An endless reader that counts what it hands out.
    struct Counted(u64);
    impl Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(1);
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
    }
    let mut endless = Counted(0);
    assert_error(idx::from_reader((&header[..]).chain(&mut endless), "endless"), &["endless: ", "trailing bytes"]);
    assert_eq!(endless.0, 4, "3 values announced, 3 + 1 read");

    // The same through a file: what follows the announced values is never read.
    let path = temp_path("long-labels-idx1-ubyte");
    let mut file = header.to_vec();
    file.resize(8 + 3 + 1_000_000, 7);
    std::fs::write(&path, &file).unwrap();
    assert_error(idx::read(&path), &["long-labels-idx1-ubyte: ", "need 3 bytes of data", "trailing bytes"]);

    // /dev/zero never ends; its zeros are IDX type 0x00, refused after four bytes.
    #[cfg(unix)]
    assert_error(idx::read("/dev/zero"), &["/dev/zero: ", "element type 0x00"]);
}

#[test]
fn gzip_streams_are_checked_to_their_end_and_nothing_may_follow() {
    let plain = idx::to_bytes(&labels()).unwrap();
    let good = gzip(&plain, flate2::Compression::default());
    // A damaged CRC (the trailer's first 4 bytes) is found by the extra byte's read.
    let mut bad_crc = good.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 0xff;
    assert_error(idx::parse(&bad_crc, "crc.gz"), &["corrupt gzip stream"]);
    let mut trailing = good.clone();
    trailing.push(0);
    assert_error(idx::parse(&trailing, "after.gz"), &["trailing bytes after the gzip stream"]);
    let bomb_body = {
        let mut b = plain.clone();
        b.resize(plain.len() + 10_000_000, 0);
        gzip(&b, flate2::Compression::best())
    };
    assert!(bomb_body.len() < 50_000);
    assert_error(
        idx::parse(&bomb_body, "bomb.gz"),
        &["need 3 bytes of data, decompressed data has more (trailing bytes)"],
    );
}

#[test]
fn to_bytes_refuses_what_idx_cannot_encode() {
    let too_big = Idx { dims: vec![1 << 32, 0], data: vec![] };
    assert_error(idx::to_bytes(&too_big), &["idx::to_bytes: ", "dimension 0 is 4294967296", "4294967295"]);
    let too_many = Idx { dims: vec![1; 256], data: vec![9] };
    assert_error(idx::to_bytes(&too_many), &["256 dimensions", "at most 255"]);
    let at_limit = Idx { dims: vec![1; 255], data: vec![9] };
    assert_eq!(idx::parse(&idx::to_bytes(&at_limit).unwrap(), "255 dims").unwrap(), at_limit);
    let disagree = Idx { dims: vec![3, 2, 2], data: vec![0; 11] };
    assert_error(idx::to_bytes(&disagree), &["dimensions [3, 2, 2] describe 12 values, but the data holds 11"]);
}

#[test]
fn from_idx_checks_the_public_fields_and_refuses_empty_images() {
    let zero_pixels = Idx { dims: vec![3, 0, 5], data: vec![] };
    assert_error(ImageSet::<f32>::from_idx(&zero_pixels, &labels()), &["images of 0×5 pixels"]);
    let zero_width = Idx { dims: vec![3, 5, 0], data: vec![] };
    assert_error(ImageSet::<f32>::from_idx(&zero_width, &labels()), &["images of 5×0 pixels"]);
    let short = Idx { dims: vec![3, 2, 2], data: vec![0; 11] };
    assert_error(ImageSet::<f32>::from_idx(&short, &labels()), &["IDX images: ", "describe 12 values", "holds 11"]);
    let long_labels = Idx { dims: vec![3], data: vec![1, 2, 3, 4] };
    assert_error(ImageSet::<f32>::from_idx(&images(), &long_labels), &["IDX labels: ", "describe 3 values", "holds 4"]);
    let overflow = Idx { dims: vec![usize::MAX, 2, 2], data: vec![] };
    assert_error(ImageSet::<f32>::from_idx(&overflow, &labels()), &["overflow"]);
    // An empty set (no images, each 2×2) is fine.
    let none =
        ImageSet::<f32>::from_idx(&Idx { dims: vec![0, 2, 2], data: vec![] }, &Idx { dims: vec![0], data: vec![] })
            .unwrap();
    assert!(none.padded(2).unwrap().is_empty());
}

#[test]
fn padded_checks_the_set_and_handles_images_without_pixels() {
    let mut set = ImageSet::<f32>::from_idx(&images(), &labels()).unwrap();
    set.images.pop();
    assert_error(set.padded(1), &["image set: ", "3 labels of images shaped [1, 2, 2] need 12 values", "holds 11"]);
    // A hand-made set of images without pixels pads to images of zeros, not a panic.
    let empty = ImageSet::<f32> { images: vec![], labels: vec![0, 1], shape: [1, 0, 0] };
    let padded = empty.padded(1).unwrap();
    assert_eq!((padded.shape, padded.images), ([1, 2, 2], vec![0.0; 8]));
    let huge = ImageSet::<f32> { images: vec![], labels: vec![], shape: [1, 1, 1] };
    assert_error(huge.padded(usize::MAX), &["overflows"]);
}

#[test]
fn batches_refuse_a_set_of_another_size_and_a_zero_batch() {
    let set = ImageSet::<f32>::from_idx(&images(), &labels()).unwrap();
    assert_error(Batches::<f32>::new(3, 0, 1), &["Batches: ", "batch size must be at least 1"]);
    let mut larger = Batches::<f32>::new(10, 4, 1).unwrap();
    larger.shuffle();
    assert_error(larger.next_batch(&set), &["Batches: ", "made for 10 samples, but the set has 3"]);
    let mut smaller = Batches::<f32>::new(2, 4, 1).unwrap();
    smaller.shuffle();
    assert_error(smaller.next_batch(&set), &["made for 2 samples, but the set has 3"]);

    let mut batches = Batches::<f32>::new(3, 2, 1).unwrap();
    batches.shuffle();
    let mut seen = Vec::new();
    while let Some((inputs, labels)) = batches.next_batch(&set).unwrap() {
        assert_eq!(inputs.len(), labels.len() * 4);
        seen.extend_from_slice(labels);
    }
    seen.sort();
    assert_eq!(seen, vec![0, 7, 9]);
    // A set whose fields disagree is refused too.
    let mut broken = set.clone();
    broken.labels.push(1);
    batches.shuffle();
    assert_error(batches.next_batch(&broken), &["image set: "]);
    let mut huge = Batches::<f32>::new(3, usize::MAX, 1).unwrap();
    huge.shuffle();
    assert_eq!(huge.next_batch(&set).unwrap().unwrap().1.len(), 3);
}

#[test]
fn argmax_rows_refuses_zero_classes_and_ragged_rows_and_follows_torch_on_nan() {
    let out = [0.1f32, 0.7, 0.2, 0.5, 0.5, 0.0];
    assert_eq!(nn::argmax_rows(&out, 3).unwrap().collect::<Vec<_>>(), vec![1, 0]);
    assert_error(nn::argmax_rows(&out, 0), &["argmax_rows: ", "0 classes"]);
    assert_error(
        nn::argmax_rows(&out, 4),
        &["6 outputs are not whole rows of 4 classes (1 rows and 2 values left over)"],
    );
    assert_eq!(nn::argmax_rows::<f32>(&[], 10).unwrap().count(), 0);
    // torch.argmax (CPU): NaN is larger than everything, the first NaN wins.
    let nan = f32::NAN;
    let rows = [1.0, nan, 3.0, nan, 5.0, 1.0, 2.0, 9.0, nan, nan, nan, 4.0, nan, nan, nan];
    assert_eq!(nn::argmax_rows(&rows, 3).unwrap().collect::<Vec<_>>(), vec![1, 0, 2, 0, 0]);
    let infinities = [f64::NEG_INFINITY, f64::INFINITY, f64::INFINITY];
    assert_eq!(nn::argmax_rows(&infinities, 3).unwrap().collect::<Vec<_>>(), vec![1]);
}

#[test]
fn confusion_refuses_classes_out_of_range() {
    let mut m = Confusion::new(3);
    m.add(2, 1).unwrap();
    assert_error(m.add(0, 3), &["Confusion::add: ", "predicted class 3 is out of range: the matrix has 3 classes"]);
    assert_error(m.add(3, 0), &["true class 3 is out of range"]);
    assert_error(m.add(usize::MAX, usize::MAX), &[&format!("true class {}", usize::MAX)]);
    assert_eq!(m.counts(), &[0, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert_eq!((m.classes(), m.total()), (3, 1));
    let mut none = Confusion::new(0);
    assert_error(none.add(0, 0), &["the matrix has 0 classes"]);
}
