//! Weight files: round trips, PyTorch's key names and layouts, every load error, and a
//! fuzzed loader that never panics.

use nn::prelude::*;
use nn::Error;
use proptest::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

network! {
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    Normed: [2, 4, 4] => c1: conv(2, 3, 3, bias = false) -> batchnorm(3) -> relu -> flatten -> fc: linear(12, 2)
        -> separable_test: identity;
    Tiny: [3] => linear(3, 2) -> batchnorm(2)
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-weights-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn round_trip_with_pytorch_keys() {
    let path = temp("lenet.safetensors");
    let a = LeNet5::new(1);
    a.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "11.bias",
            "11.weight",
            "3.bias",
            "3.weight",
            "6.bias",
            "6.weight",
            "9.bias",
            "9.weight"
        ]
    );
    assert_eq!(file.tensor("6.weight").unwrap().shape(), &[120, 16, 5, 5]);
    assert_eq!(file.tensor("0.weight").unwrap().dtype(), Dtype::F32);
    let mut b = LeNet5::new(2);
    assert_ne!(a.params(), b.params());
    b.load(&path).unwrap();
    assert_eq!(a.params(), b.params());
    // The same file into an f64 network, converted as PyTorch's copy_ would.
    let mut c = LeNet5::<f64>::with_seed(3);
    c.load(&path).unwrap();
    assert!(a.params().iter().zip(c.params()).all(|(x, y)| *x as f64 == *y));
}

#[test]
fn batch_norm_buffers_and_names_round_trip() {
    let path = temp("normed.safetensors");
    let mut a = Normed::new(1);
    a.train_step(&[0.5; 64], &[1, 0], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    a.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let counter = file.tensor("1.num_batches_tracked").unwrap();
    assert_eq!((counter.dtype(), counter.shape()), (Dtype::I64, &[][..]));
    assert_eq!(counter.data(), 1i64.to_le_bytes());
    assert!(file.tensor("c1.weight").is_ok() && file.tensor("fc.bias").is_ok());
    assert!(file.tensor("c1.bias").is_err(), "bias = false stores no bias");
    let mut b = Normed::new(9);
    b.load(&path).unwrap();
    assert_eq!(a.params(), b.params());
    assert_eq!(a.buffers(), b.buffers());
}

/// Writes a safetensors file of the given (key, dtype, shape, bytes) tensors.
fn write(path: &std::path::Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(&str, TensorView)> =
        tensors.iter().map(|(k, d, s, b)| (*k, TensorView::new(*d, s.clone(), b).unwrap())).collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn good_tiny() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    vec![
        ("0.weight", Dtype::F32, vec![2, 3], f32s(&[1.0; 6])),
        ("0.bias", Dtype::F32, vec![2], f32s(&[2.0; 2])),
        ("1.weight", Dtype::F32, vec![2], f32s(&[3.0; 2])),
        ("1.bias", Dtype::F32, vec![2], f32s(&[4.0; 2])),
        ("1.running_mean", Dtype::F32, vec![2], f32s(&[5.0; 2])),
        ("1.running_var", Dtype::F32, vec![2], f32s(&[6.0; 2])),
        ("1.num_batches_tracked", Dtype::I64, vec![], 7i64.to_le_bytes().to_vec()),
    ]
}

#[test]
fn a_well_formed_file_loads_everything() {
    let path = temp("tiny.safetensors");
    write(&path, &good_tiny());
    let mut net = Tiny::new(0);
    net.load(&path).unwrap();
    assert_eq!(net.params(), &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
    assert_eq!(net.buffers(), &[5.0, 5.0, 6.0, 6.0, 7.0]);
}

#[test]
fn every_kind_of_mismatch_is_reported_and_nothing_changes() {
    let path = temp("bad.safetensors");
    let mut tensors = good_tiny();
    tensors.retain(|t| t.0 != "0.bias"); // missing
    tensors[0].2 = vec![3, 2]; // wrong shape
    tensors[1].1 = Dtype::I32; // wrong type (4-byte elements, so the file is still valid)
    tensors.push(("2.weight", Dtype::F32, vec![1], f32s(&[0.0]))); // unexpected
    write(&path, &tensors);
    let mut net = Tiny::new(0);
    let before = (net.params().to_vec(), net.buffers().to_vec());
    let err = net.load(&path).unwrap_err();
    let Error::Weights { problems, .. } = &err else { panic!("{err}") };
    assert_eq!(problems.len(), 4, "{err}");
    let text = err.to_string();
    for needle in [
        "size mismatch for \"0.weight\": the file has shape [3, 2], the network expects [2, 3]",
        "missing key \"0.bias\" (shape [2])",
        "1.weight: element type I32, expected F32 or F64",
        "unexpected key \"2.weight\"",
        "into Tiny",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert_eq!((net.params().to_vec(), net.buffers().to_vec()), before);
}

#[test]
fn truncated_corrupt_and_absent_files_are_errors() {
    let path = temp("tiny2.safetensors");
    write(&path, &good_tiny());
    let bytes = std::fs::read(&path).unwrap();
    let mut net = Tiny::new(0);
    for (name, data) in
        [("truncated", bytes[..bytes.len() - 3].to_vec()), ("garbage", b"not a safetensors file".to_vec())]
    {
        let p = temp(name);
        std::fs::write(&p, data).unwrap();
        let err = net.load(&p).unwrap_err().to_string();
        assert!(err.contains("not a valid safetensors file"), "{name}: {err}");
    }
    let err = net.load(temp("absent")).unwrap_err().to_string();
    assert!(err.contains("cannot read"), "{err}");
    let err = net.save(temp("no-such-dir").join("x.safetensors")).unwrap_err().to_string();
    assert!(err.contains("cannot save"), "{err}");
}

fn fuzz_cases() -> u32 {
    std::env::var("NN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Damaged files (bytes flipped, cut short, spliced) are errors, never panics, and
    /// a failed load leaves the network as it was.
    #[test]
    fn damaged_files_never_panic_the_loader(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
        header_noise in prop::collection::vec(any::<u8>(), 0..3),
    ) {
        let tensors = good_tiny();
        let views: Vec<(&str, TensorView)> =
            tensors.iter().map(|(k, d, s, b)| (*k, TensorView::new(*d, s.clone(), b).unwrap())).collect();
        let mut bytes = safetensors::serialize(views, None).unwrap();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        let at = 8.min(bytes.len());
        bytes.splice(at..at, header_noise);
        let mut net = Tiny::new(0);
        let before = net.params().to_vec();
        if net.load_safetensors(&bytes, "fuzz").is_err() {
            prop_assert_eq!(net.params(), &before[..]);
        }
    }
}
