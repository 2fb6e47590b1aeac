//! One network whose convolutions take every strategy the macro chooses from (direct
//! with padding and dilation, shifted with padding, direct strided and grouped, direct
//! over a full-height kernel) with relu, sigmoid and tanh fused into their epilogues:
//! in f32 it runs the AVX2 kernels (where the processor has them), in f64 the portable
//! loops; outputs, loss and every parameter gradient must agree. A second network
//! fuses pooling into each strategy's epilogue, a third does so with `padding = same`,
//! relu6 and ceil-mode pooling, a fourth with the 1-D layers.

use nn::prelude::*;

network! {
    Odd: [3, 17, 23] => conv(3, 16, (3, 5), padding = (2, 1), dilation = (1, 2)) -> relu
        -> conv(16, 6, 3, padding = 1) -> sigmoid -> conv(6, 24, (1, 3), stride = (1, 2), groups = 3) -> tanh
        -> conv(24, 8, (19, 1)) -> flatten -> linear(64, 4)
}
#[test]
fn f32_vector_kernels_match_f64_portable_loops_through_every_strategy() {
    let x: Vec<f64> = (0..3 * 3 * 17 * 23).map(|i| ((i as f64) * 0.37).sin()).collect();
    let mut a = Odd::<f64>::with_seed(1);
    let mut b = Odd::<f32>::with_seed(1);
    let ya = a.forward(&x).unwrap().to_vec();
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let yb = b.forward(&x32).unwrap().to_vec();
    for (p, q) in ya.iter().zip(&yb) {
        assert!((p - *q as f64).abs() < 1e-4, "{p} {q}");
    }
    let labels = [0usize, 1, 3];
    let la = a.loss_and_grads(&x, &labels[..], &SoftmaxCrossEntropy).unwrap();
    let lb = b.loss_and_grads(&x32, &labels[..], &SoftmaxCrossEntropy).unwrap();
    assert!((la - lb as f64).abs() < 1e-4);
    for (p, q) in a.grads().iter().zip(b.grads()) {
        assert!((p - *q as f64).abs() < 1e-3 * (1.0 + p.abs()), "{p} {q}");
    }
}

network! {
    // Pooling fused into each strategy's epilogue: padded max pooling after direct +
    // tanh, average pooling after shifted + relu, a global pooling straight after a
    // convolution.
    Pooled: [3, 20, 20] => conv(3, 16, 3, padding = 1) -> tanh -> maxpool(3, stride = 2, padding = 1)
        -> conv(16, 6, 3) -> relu -> avgpool(2)
        -> conv(6, 8, 3) -> global_avgpool -> flatten -> linear(8, 3)
}

network! {
    // The same with the new layers: relu6 fused into a direct convolution with `same`
    // padding and a ceil-mode max pooling after it; an asymmetric `same` shifted
    // convolution, hardswish (not fusable) and a ceil-mode average pooling whose last
    // windows run past the input.
    Mobile: [3, 19, 19] => conv(3, 16, 3, padding = same) -> relu6 -> maxpool(3, stride = 2, padding = 1, ceil_mode = true)
        -> conv(16, 6, (2, 3), padding = same) -> hardswish -> avgpool(3, stride = 2, ceil_mode = true)
        -> conv(6, 8, 2, padding = same) -> hardsigmoid -> global_maxpool -> flatten -> linear(8, 3)
}

network! {
    // The 1-D layers, which run as the 2-D ones on unit-height images: a strided, dilated
    // direct convolution with relu and a padded max pooling fused into its epilogue; a
    // shifted one with tanh and a ceil-mode average pooling; a strided im2col one; one
    // covering the whole signal (dense).
    Signal: [C = 3, L = 40] => conv1d(3, 16, 5, stride = 2, padding = 4, dilation = 2) -> relu
        -> maxpool1d(3, stride = 2, padding = 1) -> conv1d(16, 5, 3, padding = 1) -> tanh
        -> avgpool1d(2, ceil_mode = true) -> conv1d(5, 6, 3, stride = 2) -> sigmoid -> conv1d(6, 8, 2)
        -> flatten -> linear(8, 3)
}

/// Inference writes only the pooled planes, training also the planes before pooling:
/// both give the same outputs, bit for bit, and the vector kernels agree with the
/// portable ones.
fn fused_pooling_agrees<A: Network<f64>, B: Network<f32>>() {
    let x: Vec<f64> = (0..5 * A::INPUT_LEN).map(|i| ((i as f64) * 0.73).sin()).collect();
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let labels = [0usize, 1, 2, 1, 0];
    let mut a = A::with_seed(3);
    let mut b = B::with_seed(3);
    let ya = a.forward(&x).unwrap().to_vec();
    let yb = b.forward(&x32).unwrap().to_vec();
    for (p, q) in ya.iter().zip(&yb) {
        assert!((p - *q as f64).abs() < 1e-4, "{p} {q}");
    }
    let inference = a.loss(&x, &labels[..], &SoftmaxCrossEntropy).unwrap();
    let training = a.loss_and_grads(&x, &labels[..], &SoftmaxCrossEntropy).unwrap();
    assert_eq!(inference, training);
    let inference = b.loss(&x32, &labels[..], &SoftmaxCrossEntropy).unwrap();
    let training = b.loss_and_grads(&x32, &labels[..], &SoftmaxCrossEntropy).unwrap();
    assert_eq!(inference, training);
    for (p, q) in a.grads().iter().zip(b.grads()) {
        assert!((p - *q as f64).abs() < 1e-3 * (1.0 + p.abs()), "{p} {q}");
    }
}

#[test]
fn fused_pooling_gives_the_same_outputs_in_inference_and_training() {
    fused_pooling_agrees::<Pooled<f64>, Pooled<f32>>();
}

#[test]
fn same_padding_relu6_and_ceil_mode_pooling_in_inference_and_training() {
    fused_pooling_agrees::<Mobile<f64>, Mobile<f32>>();
}

#[test]
fn one_dimensional_layers_through_every_strategy_in_inference_and_training() {
    fused_pooling_agrees::<Signal<f64>, Signal<f32>>();
}
