//! Sequence networks (SPEC §6): finite-difference gradient checks of every recurrent
//! cell and variant, `transpose`, `last`, per-step `linear`, `softmax` and `concat`, and
//! the losses' one label per step.

mod common;

use nn::prelude::*;

network! {
    RnnTanh: [T = 5, F = 3] => rnn(3, 4) -> last -> linear(4, 2);
    RnnReluDeep: [T = 4, F = 3] => rnn(3, 4, layers = 2, nonlinearity = relu, bias = false);
    RnnBidirectional: [T = 4, F = 2] => rnn(2, 3, bidirectional = true) -> linear(6, 2);
    Lstm: [T = 6, F = 3] => lstm(3, 4) -> last;
    LstmStackedBidirectional: [T = 4, F = 3] => lstm(3, 3, layers = 2, bidirectional = true) -> tanh;
    LstmNoBias: [T = 3, F = 2] => lstm(2, 3, bias = false) -> lstm(3, 2, bidirectional = true);
    Gru: [T = 5, F = 3] => gru(3, 4) -> last -> linear(4, 3);
    GruStackedBidirectional: [T = 4, F = 2] => gru(2, 3, layers = 3, bidirectional = true, bias = false);
    Transposes: [C = 3, L = 5] => transpose -> lstm(3, 2) -> transpose -> flatten -> linear(10, 2);
    StepwiseHead: [T = 4, F = 3] => gru(3, 4) -> linear(4, 3) -> log_softmax;
    SequenceConcat: [T = 3, F = 2] => concat(lstm(2, 3), gru(2, 2), identity) -> softmax;
    SequenceResidual: [T = 3, F = 4] => residual(rnn(4, 4)) -> last;
}

common::gradient_tests! {
    rnn_tanh: RnnTanh<f64>, batch 3;
    rnn_relu_two_layers_without_bias: RnnReluDeep<f64>, batch 2;
    rnn_bidirectional: RnnBidirectional<f64>, batch 2;
    lstm: Lstm<f64>, batch 3;
    lstm_two_layers_bidirectional: LstmStackedBidirectional<f64>, batch 2;
    lstm_without_bias_then_bidirectional: LstmNoBias<f64>, batch 2;
    gru: Gru<f64>, batch 3;
    gru_three_layers_bidirectional_without_bias: GruStackedBidirectional<f64>, batch 2;
    transpose_between_signal_and_sequence: Transposes<f64>, batch 2;
    linear_and_log_softmax_per_step: StepwiseHead<f64>, batch 2;
    concat_of_sequences_along_features: SequenceConcat<f64>, batch 2;
    residual_over_a_sequence: SequenceResidual<f64>, batch 2;
}

/// More samples than the runtime's chunk (32): chunks accumulate the weight gradients.
#[test]
fn gradients_over_several_chunks() {
    common::check_gradients::<LstmStackedBidirectional<f64>>(70, 60);
    common::check_gradients::<Gru<f64>>(33, 60);
}

/// The shapes and keys PyTorch gives these layers.
#[test]
fn shapes_keys_and_parameter_counts_as_pytorch() {
    assert_eq!(LstmStackedBidirectional::<f32>::OUTPUT_SHAPE, [4, 6]);
    let keys: Vec<(&str, Vec<usize>)> =
        LstmStackedBidirectional::<f32>::LAYERS[0].tensors.iter().map(|t| (t.key, t.shape.to_vec())).collect();
    assert_eq!(
        keys,
        [
            ("0.weight_ih_l0", vec![12, 3]),
            ("0.weight_hh_l0", vec![12, 3]),
            ("0.bias_ih_l0", vec![12]),
            ("0.bias_hh_l0", vec![12]),
            ("0.weight_ih_l0_reverse", vec![12, 3]),
            ("0.weight_hh_l0_reverse", vec![12, 3]),
            ("0.bias_ih_l0_reverse", vec![12]),
            ("0.bias_hh_l0_reverse", vec![12]),
            ("0.weight_ih_l1", vec![12, 6]),
            ("0.weight_hh_l1", vec![12, 3]),
            ("0.bias_ih_l1", vec![12]),
            ("0.bias_hh_l1", vec![12]),
            ("0.weight_ih_l1_reverse", vec![12, 6]),
            ("0.weight_hh_l1_reverse", vec![12, 3]),
            ("0.bias_ih_l1_reverse", vec![12]),
            ("0.bias_hh_l1_reverse", vec![12]),
        ]
    );
    // nn.LSTM(28, 128) + nn.Linear(128, 10): 4·128·(28 + 128 + 2) + 1,290.
    network! { RowLstm: [T = 28, F = 28] => lstm(28, 128) -> last -> linear(128, 10) }
    assert_eq!(RowLstm::<f32>::PARAMS, 82_186);
    assert_eq!(GruStackedBidirectional::<f32>::PARAMS, 2 * (9 * 2 + 9 * 3) + 2 * 2 * (9 * 6 + 9 * 3));
}

/// PyTorch's default initialization: every recurrent tensor in U(−1/√H, 1/√H).
#[test]
fn initialization_is_uniform_in_one_over_root_hidden() {
    let net = LstmStackedBidirectional::<f64>::with_seed(3);
    let bound = 1.0 / 3f64.sqrt();
    assert!(net.params().iter().all(|p| p.abs() <= bound));
    assert!(net.params().iter().any(|p| p.abs() > 0.9 * bound));
}

/// A `[T, C]` output takes one label per step: the loss is the mean over batch × T
/// rows, and a wrong label count says how many a batch needs.
#[test]
fn one_label_per_step() {
    network! { Tagger: [T = 3, F = 2] => lstm(2, 4) -> linear(4, 5) }
    let mut net = Tagger::<f64>::with_seed(1);
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin()).collect();
    let labels = [0, 4, 2, 1, 1, 3];
    let loss = net.loss(&x, &labels[..], &SoftmaxCrossEntropy).unwrap();
    let output = net.forward(&x).unwrap().to_vec();
    let mut expected = 0.0;
    for (row, &label) in output.chunks(5).zip(&labels) {
        let max = row.iter().cloned().fold(f64::MIN, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        expected += sum.ln() + max - row[label];
    }
    assert!((loss - expected / 6.0).abs() < 1e-12, "{loss} vs {}", expected / 6.0);
    let error = net.loss(&x, &labels[..4], &SoftmaxCrossEntropy).unwrap_err().to_string();
    assert_eq!(error, "labels has 4 elements, but a batch of 2 needs 6");
    let out_of_range = net.loss(&x, &[0, 4, 2, 1, 5, 3][..], &SoftmaxCrossEntropy).unwrap_err().to_string();
    assert!(out_of_range.contains("label 5 at position 4"), "{out_of_range}");
}
