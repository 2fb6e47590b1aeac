//! Networks as graphs (SPEC §5): residual, concat, scale, parenthesized chains, blocks
//! and references — their gradients (f64 finite differences), the keys they give
//! tensors, and the parameter counts of the torchvision architectures they express.

mod common;
use common::{check_gradients, check_gradients_in};
use nn::network;
use nn::Network;

network! {
    /// `x + body(x)`, then an activation.
    Residual: [2, 5, 5] => residual(conv(2, 2, 3, padding = 1) -> tanh -> conv(2, 2, 3, padding = 1)) -> tanh;
    /// A projection shortcut, and an activation before the body that reads only its output.
    ResidualShortcut: [2, 6, 6] => conv(2, 2, 1) -> tanh
        -> residual(conv(2, 3, 3, stride = 2, padding = 1) -> tanh, shortcut = conv(2, 3, 1, stride = 2))
        -> flatten -> linear(27, 3);
    /// The network input itself read twice: its gradient is the sum of both.
    ResidualOnInput: [4] => residual(linear(4, 4) -> tanh);
    Concat: [2, 4, 4] => conv(2, 3, 1) -> concat(identity, conv(3, 2, 3, padding = 1) -> relu, maxpool(3, stride = 1, padding = 1))
        -> flatten -> linear(128, 4);
    ConcatFlat: [5] => concat(linear(5, 3), identity, linear(5, 2) -> tanh) -> linear(10, 2);
    /// Squeeze and excitation.
    Scale: [3, 4, 4] => conv(3, 4, 1) -> scale(global_avgpool -> conv(4, 2, 1) -> relu -> conv(2, 4, 1) -> sigmoid)
        -> flatten -> linear(64, 2);
    ScaleFlat: [4] => linear(4, 3) -> scale(linear(3, 3) -> sigmoid);
    /// One value read four times: three `concat` branches and the `residual` shortcut.
    FourUses: [3] => linear(3, 4) -> tanh
        -> residual(concat(identity, tanh, linear(4, 4)) -> linear(12, 4));
    /// A U-Net skip: the encoder's value referred to by name in the decoder.
    Skip: [1, 4, 4] => enc: (conv(1, 2, 3, padding = 1) -> tanh) -> maxpool(2) -> conv(2, 2, 1)
        -> upsample(2) -> concat(identity, enc) -> conv(4, 1, 1);
    Nested: [2, 3, 3] => Outer(2) -> Outer(2) -> flatten -> linear(18, 2);
    WithBatchNorm: [2, 4, 4] => Basic(2) -> Down(2, 3, 2) -> global_avgpool -> flatten -> fc: linear(3, 2);

    block Inner(c) = residual(conv(c, c, 1) -> tanh);
    block Outer(c) = Inner(c) -> concat(Inner(c), identity) -> conv(c * 2, c, 1);

    /// torchvision's BasicBlock, without and with its projection shortcut.
    block Basic(c) = residual(
            conv1: conv(c, c, 3, padding = 1, bias = false) -> bn1: batchnorm(c) -> relu
            -> conv2: conv(c, c, 3, padding = 1, bias = false) -> bn2: batchnorm(c))
        -> relu;
    block Down(cin, cout, stride) = residual(
            conv1: conv(cin, cout, 3, stride = stride, padding = 1, bias = false) -> bn1: batchnorm(cout) -> relu
            -> conv2: conv(cout, cout, 3, padding = 1, bias = false) -> bn2: batchnorm(cout),
            shortcut = downsample: (conv(cin, cout, 1, stride = stride, bias = false) -> batchnorm(cout)))
        -> relu;

    /// torchvision's Bottleneck (expansion 4, stride on the 3×3 as in v1.5), with and
    /// without its projection shortcut.
    block Bottleneck(cin, width, stride) = residual(
            conv1: conv(cin, width, 1, bias = false) -> bn1: batchnorm(width) -> relu
            -> conv2: conv(width, width, 3, stride = stride, padding = 1, bias = false) -> bn2: batchnorm(width) -> relu
            -> conv3: conv(width, width * 4, 1, bias = false) -> bn3: batchnorm(width * 4),
            shortcut = downsample: (conv(cin, width * 4, 1, stride = stride, bias = false) -> batchnorm(width * 4)))
        -> relu;
    block Bottle(width) = residual(
            conv1: conv(width * 4, width, 1, bias = false) -> bn1: batchnorm(width) -> relu
            -> conv2: conv(width, width, 3, padding = 1, bias = false) -> bn2: batchnorm(width) -> relu
            -> conv3: conv(width, width * 4, 1, bias = false) -> bn3: batchnorm(width * 4))
        -> relu;

    pub ResNet18: [3, 224, 224] => conv1: conv(3, 64, 7, stride = 2, padding = 3, bias = false)
        -> bn1: batchnorm(64) -> relu -> maxpool: maxpool(3, stride = 2, padding = 1)
        -> layer1: (Basic(64) -> Basic(64))
        -> layer2: (Down(64, 128, 2) -> Basic(128))
        -> layer3: (Down(128, 256, 2) -> Basic(256))
        -> layer4: (Down(256, 512, 2) -> Basic(512))
        -> avgpool: global_avgpool -> flatten -> fc: linear(512, 1000);

    pub ResNet50: [3, 224, 224] => conv1: conv(3, 64, 7, stride = 2, padding = 3, bias = false)
        -> bn1: batchnorm(64) -> relu -> maxpool: maxpool(3, stride = 2, padding = 1)
        -> layer1: (Bottleneck(64, 64, 1) -> Bottle(64) -> Bottle(64))
        -> layer2: (Bottleneck(256, 128, 2) -> Bottle(128) -> Bottle(128) -> Bottle(128))
        -> layer3: (Bottleneck(512, 256, 2) -> Bottle(256) -> Bottle(256) -> Bottle(256) -> Bottle(256) -> Bottle(256))
        -> layer4: (Bottleneck(1024, 512, 2) -> Bottle(512) -> Bottle(512))
        -> avgpool: global_avgpool -> flatten -> fc: linear(2048, 1000)
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
    residual_without_shortcut: Residual<f64>, batch 2;
    residual_with_shortcut: ResidualShortcut<f64>, batch 2;
    residual_on_the_network_input: ResidualOnInput<f64>, batch 3;
    concat_with_identity_and_pooling: Concat<f64>, batch 2;
    concat_of_features: ConcatFlat<f64>, batch 3;
    scale_squeeze_and_excitation: Scale<f64>, batch 2;
    scale_of_features: ScaleFlat<f64>, batch 2;
    a_value_read_four_times: FourUses<f64>, batch 2;
    reference_to_a_named_value: Skip<f64>, batch 2;
    nested_blocks: Nested<f64>, batch 2;
}

#[test]
fn residual_blocks_with_batch_norm_in_train_and_eval_mode() {
    check_gradients_in::<WithBatchNorm<f64>>(3, 400, true);
    check_gradients_in::<WithBatchNorm<f64>>(3, 400, false);
}

#[test]
fn torchvision_parameter_counts() {
    assert_eq!(ResNet18::PARAMS, 11_689_512);
    assert_eq!(ResNet50::PARAMS, 25_557_032);
}

#[test]
fn keys_follow_the_module_tree() {
    let keys: Vec<&str> = WithBatchNorm::<f32>::LAYERS.iter().flat_map(|l| l.tensors.iter().chain(l.buffers)).map(|t| t.key).collect();
    assert_eq!(
        keys[..7],
        ["0.conv1.weight", "0.bn1.weight", "0.bn1.bias", "0.bn1.running_mean", "0.bn1.running_var", "0.bn1.num_batches_tracked", "0.conv2.weight"]
    );
    assert!(keys.contains(&"1.downsample.0.weight"), "{keys:?}");
    assert!(keys.contains(&"1.downsample.1.running_var"), "{keys:?}");
    assert!(keys.contains(&"fc.bias"), "{keys:?}");
    // Unnamed elements count every element of their level, branches included.
    let keys: Vec<&str> = Concat::<f32>::LAYERS.iter().flat_map(|l| l.tensors).map(|t| t.key).collect();
    assert_eq!(keys, ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]);
}

#[test]
fn summary_shows_the_tree_with_block_totals() {
    let summary = ResNet18::summary().to_string();
    println!("{summary}");
    // layer1: two BasicBlocks of two 3×3 convolutions (64 → 64) and two batch norms.
    let layer1 = summary.lines().find(|l| l.trim_start().starts_with("layer1 ")).expect("a row for layer1");
    assert!(layer1.contains("147,968"), "{layer1}");
    assert!(summary.contains("11,689,512"), "{summary}");
}
