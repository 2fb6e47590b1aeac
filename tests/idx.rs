//! The IDX reader on files the test writes itself: plain and gzip, and each failure.

use nn::data::ImageSet;
use nn::idx::{self, Idx};
use std::io::Write;

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
    let plain = idx::to_bytes(&images());
    assert_eq!(&plain[..8], &[0, 0, 0x08, 3, 0, 0, 0, 3]);
    let path = temp_path("images-idx3-ubyte");
    std::fs::write(&path, &plain).unwrap();
    assert_eq!(idx::read(&path).unwrap(), images());

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&idx::to_bytes(&labels())).unwrap();
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
    let padded = set.padded(1);
    assert_eq!(padded.shape, [1, 4, 4]);
    assert_eq!(&padded.images[..8], &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn each_malformed_file_is_an_error_that_says_why() {
    let good = idx::to_bytes(&images());
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
