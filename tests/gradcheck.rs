//! Finite-difference gradient checks in f64: every layer kind, alone and in the
//! variants its arguments allow, and the whole LeNet-5.

mod common;
use common::check_gradients;
use nn::network;

network! {
    Linear: [7] => linear(7, 5);
    LinearNoBias: [6] => linear(6, 4, bias = false);
    Conv: [2, 6, 6] => conv(2, 3, 3);
    ConvStridedPadded: [2, 7, 6] => conv(2, 4, (3, 2), stride = (2, 1), padding = (1, 2));
    ConvDilatedGrouped: [4, 9, 8] => conv(4, 6, 3, dilation = (2, 1), groups = 2, padding = 1);
    ConvDepthwise: [3, 5, 5] => conv(3, 3, 3, groups = 3, bias = false);
    ConvPointwise: [3, 4, 4] => conv(3, 5, 1);
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
    Mixed: [3, 12, 12] => c1: conv(3, 4, 3, padding = 1) -> relu -> maxpool(2) -> conv(4, 6, 3)
        -> sigmoid -> avgpool(2) -> flatten -> linear(24, 8) -> relu -> linear(8, 5) -> log_softmax
}

macro_rules! gradient_tests {
    ($($test:ident: $net:ty, batch $batch:expr;)*) => {$(
        #[test]
        fn $test() {
            check_gradients::<$net>($batch, 400);
        }
    )*};
}

gradient_tests! {
    linear: Linear<f64>, batch 3;
    linear_without_bias: LinearNoBias<f64>, batch 2;
    conv: Conv<f64>, batch 2;
    conv_strided_padded_pairs: ConvStridedPadded<f64>, batch 2;
    conv_dilated_grouped: ConvDilatedGrouped<f64>, batch 2;
    conv_depthwise_without_bias: ConvDepthwise<f64>, batch 2;
    conv_pointwise: ConvPointwise<f64>, batch 2;
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
}

/// The whole LeNet-5: every parameter tensor (up to 60 entries each, ends included),
/// 60 input entries, and random directions through all 61,706 parameters and the input.
#[test]
fn lenet5_whole_network() {
    check_gradients::<LeNet5<f64>>(2, 60);
}
