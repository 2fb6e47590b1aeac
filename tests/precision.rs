//! The opt-in bfloat16 products (`Network::set_precision`, `set_training_precision`):
//! where the processor has AVX-512 BF16, inference outputs stay within bfloat16's
//! rounding of the f32 ones through the product kinds the bfloat16 kernels cover (the
//! direct convolution's gathered product, an im2col convolution's and `linear`'s
//! `gemm`; LeNet-5's first convolution takes the shifted strategy, which stays f32), on
//! one thread and on a split batch, and mixed-precision training tracks f32 training.
//! Elsewhere, and for f64 networks, the setting is refused with the reason and the
//! network keeps f32.

use nn::prelude::*;
use nn::Precision;

network! {
    Mixed: [3, 20, 20] => conv(3, 16, 3, padding = 1) -> tanh -> maxpool(2)
        -> conv(16, 24, 3, stride = 2, padding = 1) -> relu -> conv(24, 8, 5) -> flatten -> linear(8, 10)
}

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
}

fn inputs(len: usize, seed: f32) -> Vec<f32> {
    (0..len).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
}

/// Largest |bf16 − f32| over the outputs, relative to the largest |f32| output.
fn relative_gap(exact: &[f32], rounded: &[f32]) -> f32 {
    let scale = exact.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    exact.iter().zip(rounded).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / scale
}

fn bf16_close_to_f32<N: Network<f32>>(batch: usize) {
    let x = inputs(batch * N::INPUT_LEN, 0.5);
    let mut net = N::with_seed(3);
    net.eval();
    let exact = net.forward(&x).unwrap().to_vec();
    net.set_precision(Precision::Bf16).unwrap();
    assert_eq!(net.precision(), Precision::Bf16);
    let rounded = net.forward(&x).unwrap().to_vec();
    let gap = relative_gap(&exact, &rounded);
    // Operands keep 8 significant bits (relative rounding 2⁻⁹ each): a few layers of
    // products stay within a few percent of the largest output, and differ from f32.
    assert!(gap < 3e-2, "{}: bf16 outputs {gap} away from f32 (relative)", N::NAME);
    assert!(gap > 0.0, "{}: the bf16 kernels did not run", N::NAME);
    net.set_precision(Precision::F32).unwrap();
    assert_eq!(net.forward(&x).unwrap(), &exact[..], "back to f32 gives the f32 bits again");
}

#[test]
fn bf16_inference_is_close_to_f32_or_refused_with_the_reason() {
    if !nn::runtime::kernels::bf16::available() {
        let mut net = LeNet5::<f32>::with_seed(1);
        let err = net.set_precision(Precision::Bf16).unwrap_err().to_string();
        assert!(err.contains("AVX-512 BF16") && err.contains("LeNet5"), "{err}");
        assert_eq!(net.precision(), Precision::F32);
        eprintln!("no AVX512_BF16 here: bfloat16 inference refused as it should be ({err})");
        return;
    }
    for batch in [1, 5, 40] {
        bf16_close_to_f32::<LeNet5<f32>>(batch);
        bf16_close_to_f32::<Mixed<f32>>(batch);
    }
}

/// A training step is the same with or without bfloat16 inference chosen: the
/// precision applies to inference only.
#[test]
fn training_ignores_the_inference_precision() {
    let x = inputs(24 * Mixed::<f32>::INPUT_LEN, 1.5);
    let labels: Vec<usize> = (0..24).map(|i| i % 10).collect();
    let mut plain = Mixed::<f32>::with_seed(5);
    let mut chosen = Mixed::<f32>::with_seed(5);
    if chosen.set_precision(Precision::Bf16).is_err() {
        eprintln!("no AVX512_BF16 here: nothing to compare");
        return;
    }
    for _ in 0..2 {
        let a = plain.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(0.05)).unwrap();
        let b = chosen.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(0.05)).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
    }
    assert_eq!(plain.params(), chosen.params());
}

/// Mixed-precision training (`set_training_precision`): the steps run (the loss moves
/// off the f32 one, so the bfloat16 products ran) and track the f32 steps closely;
/// inference stays f32 unless chosen separately.
#[test]
fn bf16_training_tracks_f32_training() {
    for batch in [6, 24] {
        bf16_training_tracks_f32_training_at(batch);
    }
}

/// One batch size: below 16 the step runs whole, from 16 on as two halves.
fn bf16_training_tracks_f32_training_at(batch: usize) {
    let x = inputs(batch * Mixed::<f32>::INPUT_LEN, 2.5);
    let labels: Vec<usize> = (0..batch).map(|i| (i * 7) % 10).collect();
    let mut plain = Mixed::<f32>::with_seed(9);
    let mut mixed = Mixed::<f32>::with_seed(9);
    if mixed.set_training_precision(Precision::Bf16).is_err() {
        eprintln!("no AVX512_BF16 here: bfloat16 training refused, nothing to compare");
        assert_eq!(mixed.training_precision(), Precision::F32);
        return;
    }
    assert_eq!((mixed.training_precision(), mixed.precision()), (Precision::Bf16, Precision::F32));
    let (mut first_plain, mut first_mixed) = (0.0, 0.0);
    for step in 0..20 {
        let a = plain.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(0.05)).unwrap();
        let b = mixed.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(0.05)).unwrap();
        if step == 0 {
            (first_plain, first_mixed) = (a, b);
        }
        assert!((a - b).abs() < 0.05 * a.abs().max(0.1), "batch {batch}, step {step}: f32 loss {a}, bf16 loss {b}");
    }
    assert_ne!(first_plain.to_bits(), first_mixed.to_bits(), "the bfloat16 products ran");
    let (a, b) = (
        plain.loss(&x, &labels, &SoftmaxCrossEntropy).unwrap(),
        mixed.loss(&x, &labels, &SoftmaxCrossEntropy).unwrap(),
    );
    assert!(a < first_plain && b < first_mixed, "both learned: {first_plain} → {a}, {first_mixed} → {b}");
}

/// bfloat16 products exist for f32 networks: an f64 network refuses them with the reason.
#[test]
fn f64_networks_refuse_bf16() {
    let mut net = Mixed::<f64>::with_seed(1);
    for result in [net.set_precision(Precision::Bf16), net.set_training_precision(Precision::Bf16)] {
        let err = result.unwrap_err().to_string();
        assert!(err.contains("f64") || err.contains("AVX-512 BF16"), "{err}");
    }
    assert_eq!((net.precision(), net.training_precision()), (Precision::F32, Precision::F32));
}
