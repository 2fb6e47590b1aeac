//! Finite-difference gradient checks in f64: every layer kind, alone and in the
//! variants its arguments allow, and the whole LeNet-5.

mod common;
use common::{check_gradients, check_gradients_in};
use nn::network;
use nn::Network;

network! {
    Linear: [7] => linear(7, 5);
    LinearNoBias: [6] => linear(6, 4, bias = false);
    Conv: [2, 6, 6] => conv(2, 3, 3);
    ConvStridedPadded: [2, 7, 6] => conv(2, 4, (3, 2), stride = (2, 1), padding = (1, 2));
    ConvDilatedGrouped: [4, 9, 8] => conv(4, 6, 3, dilation = (2, 1), groups = 2, padding = 1);
    ConvDepthwise: [3, 5, 5] => conv(3, 3, 3, groups = 3, bias = false);
    ConvPointwise: [3, 4, 4] => conv(3, 5, 1);
    // The direct strategy (8 channels per group) with stride, padding, dilation, groups
    // and fused relu / sigmoid epilogues; the shifted one (unit stride, 5 channels) with
    // padding and a fused tanh.
    ConvDirect: [3, 9, 8] => conv(3, 8, 3, stride = 2, padding = 1) -> relu
        -> conv(8, 16, (2, 3), dilation = (2, 1), groups = 2) -> sigmoid;
    ConvShifted: [2, 6, 12] => conv(2, 5, 3, padding = 1) -> tanh;
    ConvDense: [3, 4, 5] => conv(3, 6, (4, 5)) -> conv(6, 2, 1, bias = false);
    MaxPool: [2, 6, 6] => maxpool(2);
    MaxPoolStridedPadded: [2, 7, 7] => maxpool(3, stride = 2, padding = 1);
    AvgPool: [2, 6, 6] => avgpool(2);
    AvgPoolStridedPadded: [2, 7, 5] => avgpool((3, 2), stride = (2, 1), padding = (1, 0));
    FlattenView: [2, 3, 3] => conv(2, 2, 1) -> flatten -> linear(18, 3);
    FlattenFirst: [2, 3, 3] => flatten -> linear(18, 3);
    Relu: [3, 4, 4] => relu;
    Tanh: [3, 4, 4] => tanh;
    Sigmoid: [5] => linear(5, 6) -> logistic;
    Softmax: [6] => softmax;
    SoftmaxSpatial: [3, 2, 2] => softmax;
    LogSoftmax: [6] => linear(6, 6) -> log_softmax;
    LogSoftmaxSpatial: [4, 2, 3] => log_softmax;
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    Abs: [2, 3, 3] => abs;
    Softplus: [7] => linear(7, 7) -> softplus;
    LeakyRelu: [2, 3, 3] => leaky_relu(alpha = 0.2);
    LeakyReluDefault: [9] => leaky_relu;
    Elu: [2, 3, 3] => elu(0.7);
    Identity: [2, 3, 3] => conv(2, 2, 1) -> identity -> flatten -> identity -> linear(18, 2);
    IdentityFirst: [5] => identity;
    Prelu: [3, 4, 4] => prelu(3);
    PreluFlat: [4] => linear(4, 5) -> prelu(5);
    GlobalAvgPool: [3, 4, 5] => global_avgpool;
    GlobalMaxPool: [3, 4, 5] => global_maxpool;
    Upsample: [2, 3, 2] => upsample(2);
    UpsamplePair: [2, 2, 3] => conv(2, 2, 1) -> upsample((3, 2));
    BatchNorm2d: [3, 4, 4] => batchnorm(3);
    BatchNorm1d: [5] => linear(5, 6) -> batchnorm(6, eps = 1e-3, momentum = 0.2);
    Dropout: [4, 3, 3] => dropout(0.5);
    SeparableConv: [3, 7, 6] => separable_conv(3, 4, 3, stride = (2, 1), padding = 1);
    SeparableConvFirstAfterActivation: [2, 5, 5] => relu -> separable_conv(2, 3, (3, 1));
    ConvTranspose: [3, 4, 4] => conv_transpose(3, 2, 3, stride = 2, padding = 1, output_padding = 1);
    ConvTransposeGroupedDilated: [4, 3, 5] => conv_transpose(4, 6, (2, 3), dilation = (2, 1), groups = 2, bias = false);
    Mixed: [3, 12, 12] => c1: conv(3, 4, 3, padding = 1) -> relu -> maxpool(2) -> conv(4, 6, 3)
        -> sigmoid -> avgpool(2) -> flatten -> linear(24, 8) -> relu -> linear(8, 5) -> log_softmax;
    Relu6: [3, 4, 4] => relu6;
    Hardswish: [3, 4, 4] => hardswish;
    Hardsigmoid: [2, 3, 3] => hardsigmoid;
    // relu6 fused into the direct strategy's epilogue with a ceil-mode pooling after it,
    // and into that pooling's backward; hardswish and hardsigmoid unfused after convolutions.
    ConvRelu6CeilPool: [3, 9, 8] => conv(3, 8, 3, padding = same) -> relu6 -> maxpool(2, ceil_mode = true);
    ConvHardActivations: [2, 6, 5] => conv(2, 3, 3, padding = 1) -> hardswish -> conv(3, 2, 1) -> hardsigmoid;
    // `padding = same` with an odd total (one more row or column after), through each
    // strategy: direct (8 channels), shifted (unit stride, 5 channels), im2col (a
    // narrow, heavily padded input).
    ConvSameDirect: [2, 7, 6] => conv(2, 8, (4, 2), padding = same, dilation = (1, 2));
    ConvSameShifted: [2, 6, 12] => conv(2, 5, (2, 3), padding = same);
    ConvSameIm2col: [2, 5, 4] => conv(2, 3, 4, padding = same, bias = false);
    ConvValid: [2, 6, 5] => conv(2, 3, 3, stride = 2, padding = valid);
    SeparableConvSame: [2, 6, 5] => separable_conv(2, 3, (2, 3), padding = same);
    ConvTransposeValid: [2, 3, 3] => conv_transpose(2, 3, 3, stride = 2, padding = valid);
    // Ceil mode: windows clipped to the input (and, for averages, divided by the part
    // inside the padded input); one where the decrement rule drops the last window.
    MaxPoolCeil: [2, 6, 5] => maxpool(3, stride = 2, padding = 1, ceil_mode = true);
    MaxPoolCeilDecrement: [2, 3, 3] => maxpool(2, stride = 2, padding = 1, ceil_mode = true);
    AvgPoolCeil: [2, 6, 5] => avgpool((3, 2), stride = 2, padding = 1, ceil_mode = true);
    AvgPoolCeilUnpadded: [2, 5, 7] => avgpool(2, ceil_mode = true);
    PoolSame: [2, 5, 6] => avgpool((2, 3), stride = 1, padding = same) -> maxpool(4, stride = 1, padding = same);
    // The 1-D layers run as their 2-D counterparts on a unit-height image: each
    // convolution strategy with a 1×k kernel (im2col strided, shifted at unit stride with
    // 5 channels, direct with 8 per group, dense when the kernel covers the signal), with
    // dilation, groups, no bias, `same` padding (odd totals: one more after) and fused
    // activations and poolings; the poolings' padding and ceil mode.
    Conv1d: [C = 3, L = 16] => conv1d(3, 4, 3);
    Conv1dStridedPadded: [C = 3, L = 17] => conv1d(3, 4, 3, stride = 2, padding = 1);
    Conv1dDilatedGrouped: [C = 4, L = 16] => conv1d(4, 6, 3, dilation = 2, groups = 2, padding = 1);
    Conv1dShiftedNoBias: [C = 3, L = 16] => conv1d(3, 5, 3, padding = 1, bias = false) -> tanh;
    Conv1dDirect: [C = 3, L = 20] => conv1d(3, 8, 5, stride = 2, padding = 2) -> relu
        -> conv1d(8, 16, 3, dilation = 2, groups = 2, bias = false) -> sigmoid;
    Conv1dDense: [C = 3, L = 5] => conv1d(3, 6, 5) -> conv1d(6, 2, 1, bias = false);
    Conv1dSameDirect: [C = 2, L = 11] => conv1d(2, 8, 4, padding = same);
    Conv1dSameShifted: [C = 2, L = 16] => conv1d(2, 5, 4, padding = same, dilation = 1);
    Conv1dSameIm2col: [C = 2, L = 4] => conv1d(2, 3, 4, padding = same, dilation = 1, bias = false);
    Conv1dSameDilated: [C = 3, L = 9] => conv1d(3, 4, 3, padding = same, dilation = 3, groups = 1);
    Conv1dFusedMaxPool: [C = 3, L = 16] => conv1d(3, 8, 3, padding = 1) -> relu -> maxpool1d(2);
    Conv1dFusedAvgPool: [C = 2, L = 16] => conv1d(2, 5, 3, padding = 1) -> tanh
        -> avgpool1d(3, stride = 2, padding = 1, ceil_mode = true);
    MaxPool1d: [C = 2, L = 9] => maxpool1d(2);
    MaxPool1dStridedPadded: [C = 2, L = 9] => maxpool1d(3, stride = 2, padding = 1);
    MaxPool1dCeil: [C = 2, L = 10] => maxpool1d(3, stride = 2, padding = 1, ceil_mode = true);
    MaxPool1dCeilDecrement: [C = 2, L = 3] => maxpool1d(2, stride = 2, padding = 1, ceil_mode = true);
    AvgPool1d: [C = 2, L = 9] => avgpool1d(2);
    AvgPool1dStridedPadded: [C = 2, L = 9] => avgpool1d(3, stride = 2, padding = 1);
    AvgPool1dCeil: [C = 2, L = 10] => avgpool1d(3, stride = 2, padding = 1, ceil_mode = true);
    AvgPool1dCeilUnpadded: [C = 2, L = 7] => avgpool1d(2, ceil_mode = true);
    Pool1dSame: [C = 2, L = 7] => avgpool1d(2, stride = 1, padding = same) -> maxpool1d(3, stride = 1, padding = same);
    // A sequence through the 1-D layers and back: per-step linear on the result, and
    // flattened into a classifier.
    SequenceConv1d: [T = 12, F = 3] => transpose -> conv1d(3, 4, 3, padding = 1) -> relu -> maxpool1d(2)
        -> transpose -> linear(4, 5);
    SignalClassifier: [C = 2, L = 12] => conv1d(2, 4, 5) -> relu -> avgpool1d(2) -> flatten -> linear(16, 3)
}

common::gradient_tests! {
    linear: Linear<f64>, batch 3;
    linear_without_bias: LinearNoBias<f64>, batch 2;
    conv: Conv<f64>, batch 2;
    conv_strided_padded_pairs: ConvStridedPadded<f64>, batch 2;
    conv_dilated_grouped: ConvDilatedGrouped<f64>, batch 2;
    conv_depthwise_without_bias: ConvDepthwise<f64>, batch 2;
    conv_pointwise: ConvPointwise<f64>, batch 2;
    conv_direct_strategy_with_fused_activations: ConvDirect<f64>, batch 2;
    conv_shifted_strategy_with_fused_tanh: ConvShifted<f64>, batch 2;
    conv_covering_the_input_runs_as_linear: ConvDense<f64>, batch 3;
    maxpool: MaxPool<f64>, batch 2;
    maxpool_strided_padded: MaxPoolStridedPadded<f64>, batch 2;
    avgpool: AvgPool<f64>, batch 2;
    avgpool_strided_padded: AvgPoolStridedPadded<f64>, batch 2;
    flatten_as_a_view: FlattenView<f64>, batch 2;
    flatten_first: FlattenFirst<f64>, batch 2;
    relu: Relu<f64>, batch 2;
    tanh: Tanh<f64>, batch 2;
    sigmoid: Sigmoid<f64>, batch 2;
    softmax: Softmax<f64>, batch 3;
    softmax_over_channels: SoftmaxSpatial<f64>, batch 2;
    log_softmax: LogSoftmax<f64>, batch 3;
    log_softmax_over_channels: LogSoftmaxSpatial<f64>, batch 2;
    mixed_network: Mixed<f64>, batch 3;
    abs: Abs<f64>, batch 2;
    softplus: Softplus<f64>, batch 2;
    leaky_relu: LeakyRelu<f64>, batch 2;
    leaky_relu_default_alpha: LeakyReluDefault<f64>, batch 2;
    elu: Elu<f64>, batch 2;
    identity_as_a_view: Identity<f64>, batch 2;
    identity_first: IdentityFirst<f64>, batch 2;
    prelu: Prelu<f64>, batch 2;
    prelu_on_features: PreluFlat<f64>, batch 3;
    global_avgpool: GlobalAvgPool<f64>, batch 2;
    global_maxpool: GlobalMaxPool<f64>, batch 2;
    upsample: Upsample<f64>, batch 2;
    upsample_pair: UpsamplePair<f64>, batch 2;
    batchnorm_2d_train: BatchNorm2d<f64>, batch 3;
    batchnorm_1d_train: BatchNorm1d<f64>, batch 4;
    separable_conv: SeparableConv<f64>, batch 2;
    separable_conv_after_activation: SeparableConvFirstAfterActivation<f64>, batch 2;
    conv_transpose: ConvTranspose<f64>, batch 2;
    conv_transpose_grouped_dilated: ConvTransposeGroupedDilated<f64>, batch 2;
    conv_same_direct_asymmetric: ConvSameDirect<f64>, batch 2;
    conv_same_shifted_asymmetric: ConvSameShifted<f64>, batch 2;
    conv_same_im2col_asymmetric: ConvSameIm2col<f64>, batch 2;
    conv_valid: ConvValid<f64>, batch 2;
    separable_conv_same: SeparableConvSame<f64>, batch 2;
    conv_transpose_valid: ConvTransposeValid<f64>, batch 2;
    maxpool_ceil_mode: MaxPoolCeil<f64>, batch 2;
    maxpool_ceil_mode_decrement: MaxPoolCeilDecrement<f64>, batch 2;
    avgpool_ceil_mode: AvgPoolCeil<f64>, batch 2;
    avgpool_ceil_mode_unpadded: AvgPoolCeilUnpadded<f64>, batch 2;
    pooling_with_same_padding: PoolSame<f64>, batch 2;
    conv1d: Conv1d<f64>, batch 2;
    conv1d_strided_padded: Conv1dStridedPadded<f64>, batch 2;
    conv1d_dilated_grouped: Conv1dDilatedGrouped<f64>, batch 2;
    conv1d_shifted_strategy_without_bias: Conv1dShiftedNoBias<f64>, batch 2;
    conv1d_direct_strategy_with_fused_activations: Conv1dDirect<f64>, batch 2;
    conv1d_covering_the_signal_runs_as_linear: Conv1dDense<f64>, batch 3;
    conv1d_same_direct_asymmetric: Conv1dSameDirect<f64>, batch 2;
    conv1d_same_shifted_asymmetric: Conv1dSameShifted<f64>, batch 2;
    conv1d_same_im2col_asymmetric: Conv1dSameIm2col<f64>, batch 2;
    conv1d_same_dilated: Conv1dSameDilated<f64>, batch 2;
    conv1d_with_fused_relu_and_maxpool1d: Conv1dFusedMaxPool<f64>, batch 2;
    conv1d_with_fused_tanh_and_avgpool1d: Conv1dFusedAvgPool<f64>, batch 2;
    maxpool1d: MaxPool1d<f64>, batch 2;
    maxpool1d_strided_padded: MaxPool1dStridedPadded<f64>, batch 2;
    maxpool1d_ceil_mode: MaxPool1dCeil<f64>, batch 2;
    maxpool1d_ceil_mode_decrement: MaxPool1dCeilDecrement<f64>, batch 2;
    avgpool1d: AvgPool1d<f64>, batch 2;
    avgpool1d_strided_padded: AvgPool1dStridedPadded<f64>, batch 2;
    avgpool1d_ceil_mode: AvgPool1dCeil<f64>, batch 2;
    avgpool1d_ceil_mode_unpadded: AvgPool1dCeilUnpadded<f64>, batch 2;
    pooling1d_with_same_padding: Pool1dSame<f64>, batch 2;
    sequence_through_conv1d_and_back: SequenceConv1d<f64>, batch 2;
    signal_classifier: SignalClassifier<f64>, batch 3;
}

/// The piecewise activations on inputs in (−8, 8), so every piece is crossed (relu6's 0
/// and 6, hardswish's and hardsigmoid's ±3): alone, fused into a convolution's epilogue
/// and its pooling's backward (relu6), and after convolutions.
#[test]
fn piecewise_activations() {
    common::check_gradients_scaled::<Relu6<f64>>(2, 400, true, 8.0);
    common::check_gradients_scaled::<Hardswish<f64>>(2, 400, true, 8.0);
    common::check_gradients_scaled::<Hardsigmoid<f64>>(2, 400, true, 8.0);
    common::check_gradients_scaled::<ConvRelu6CeilPool<f64>>(2, 400, true, 4.0);
    common::check_gradients_scaled::<ConvHardActivations<f64>>(2, 400, true, 8.0);
    // The inputs the check draws (its generator's first values: these have no
    // parameters to perturb first) do reach every piece.
    let x: Vec<f64> = common::random_vec(2 * 48, &mut nn::runtime::rng::Rng::new(42)).iter().map(|v| v * 8.0).collect();
    let y = Relu6::<f64>::with_seed(0).forward(&x).unwrap().to_vec();
    assert!(y.contains(&0.0) && y.contains(&6.0) && y.iter().any(|&v| v > 0.0 && v < 6.0));
    let y = Hardsigmoid::<f64>::with_seed(0).forward(&x[..36]).unwrap().to_vec();
    assert!(y.contains(&0.0) && y.contains(&1.0) && y.iter().any(|&v| v > 0.0 && v < 1.0));
}

#[test]
fn batchnorm_eval_mode() {
    check_gradients_in::<BatchNorm2d<f64>>(2, 400, false);
    check_gradients_in::<BatchNorm1d<f64>>(3, 400, false);
}

/// In eval mode dropout is the identity, and its gradient too.
#[test]
fn dropout_eval_mode() {
    check_gradients_in::<Dropout<f64>>(2, 400, false);
}

/// In train mode the mask is random per forward, so finite differences cannot see it;
/// instead the gradient must route `dy` through exactly the kept elements, scaled.
#[test]
fn dropout_train_mode_routes_through_the_mask() {
    let mut net = Dropout::<f64>::with_seed(3);
    let x: Vec<f64> = (0..2 * 36).map(|i| 1.0 + i as f64).collect();
    let dy: Vec<f64> = (0..2 * 36).map(|i| (i as f64).cos()).collect();
    let dx = net.backward(&x, &dy).unwrap().to_vec();
    let y = net.forward(&x).unwrap().to_vec(); // a fresh mask; only its statistics matter
    let dropped = y.iter().filter(|v| **v == 0.0).count();
    assert!((10..=62).contains(&dropped), "{dropped} of 72 dropped at p = 0.5");
    for (i, (&g, &d)) in dx.iter().zip(&dy).enumerate() {
        assert!(g == 0.0 || (g - 2.0 * d).abs() < 1e-12, "element {i}: {g} vs 2·{d}");
    }
    assert!(dx.contains(&0.0) && dx.iter().any(|g| *g != 0.0));
}

/// The whole LeNet-5: every parameter tensor (up to 60 entries each, ends included),
/// 60 input entries, and random directions through all 61,706 parameters and the input.
#[test]
fn lenet5_whole_network() {
    check_gradients::<LeNet5<f64>>(2, 60);
}
