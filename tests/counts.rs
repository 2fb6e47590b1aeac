//! Parameter counts and shapes of well-known networks, read from the generated
//! constants alone: nothing here allocates a network.

use nn::network;

network! {
    /// The course notes' Keras network.
    Keras: [1, 28, 28] => conv(1, 8, 7, stride = 2) -> conv(8, 16, 5, stride = 2) -> conv(16, 32, 3)
        -> global_avgpool -> flatten -> linear(32, 10);
    KerasSeparable: [1, 28, 28] => separable_conv(1, 8, 7, stride = 2) -> separable_conv(8, 16, 5, stride = 2)
        -> separable_conv(16, 32, 3) -> global_avgpool -> flatten -> linear(32, 10);
    /// torchvision's AlexNet (its adaptive average pool is the identity at 224×224).
    AlexNet: [3, 224, 224] => conv(3, 64, 11, stride = 4, padding = 2) -> relu -> maxpool(3, stride = 2)
        -> conv(64, 192, 5, padding = 2) -> relu -> maxpool(3, stride = 2)
        -> conv(192, 384, 3, padding = 1) -> relu -> conv(384, 256, 3, padding = 1) -> relu
        -> conv(256, 256, 3, padding = 1) -> relu -> maxpool(3, stride = 2)
        -> flatten -> dropout(0.5) -> linear(9216, 4096) -> relu -> dropout(0.5) -> linear(4096, 4096) -> relu
        -> linear(4096, 1000);
    /// torchvision's VGG-16 (configuration D, without batch norm).
    Vgg16: [3, 224, 224] => conv(3, 64, 3, padding = 1) -> relu -> conv(64, 64, 3, padding = 1) -> relu -> maxpool(2)
        -> conv(64, 128, 3, padding = 1) -> relu -> conv(128, 128, 3, padding = 1) -> relu -> maxpool(2)
        -> conv(128, 256, 3, padding = 1) -> relu -> conv(256, 256, 3, padding = 1) -> relu
        -> conv(256, 256, 3, padding = 1) -> relu -> maxpool(2)
        -> conv(256, 512, 3, padding = 1) -> relu -> conv(512, 512, 3, padding = 1) -> relu
        -> conv(512, 512, 3, padding = 1) -> relu -> maxpool(2)
        -> conv(512, 512, 3, padding = 1) -> relu -> conv(512, 512, 3, padding = 1) -> relu
        -> conv(512, 512, 3, padding = 1) -> relu -> maxpool(2)
        -> flatten -> linear(25088, 4096) -> relu -> dropout(0.5) -> linear(4096, 4096) -> relu -> dropout(0.5)
        -> linear(4096, 1000);
    /// The notes' exercise: an MLP on a 4032×3024 RGB photograph.
    PhotoMlp: [3, 3024, 4032] => flatten -> linear(36578304, 1000) -> relu -> linear(1000, 10);
    BatchNormNet: [3, 8, 8] => conv(3, 4, 3, bias = false) -> batchnorm(4) -> prelu(4) -> flatten
        -> linear(144, 10) -> batchnorm(10)
}

fn layer_params(layers: &[nn::LayerInfo]) -> Vec<usize> {
    layers.iter().map(|l| l.params).collect()
}

#[test]
fn keras_network() {
    assert_eq!(Keras::PARAMS, 8_586);
    assert_eq!(layer_params(Keras::LAYERS), [400, 3_216, 4_640, 0, 0, 330]);
    let shapes: Vec<&[usize]> = Keras::LAYERS.iter().map(|l| l.output_shape).collect();
    assert_eq!(shapes[..3], [&[8, 11, 11][..], &[16, 4, 4], &[32, 2, 2]]);
    assert_eq!(shapes[3], &[32, 1, 1]);
    let summary = Keras::summary().to_string();
    for row in [
        "0 (conv(1, 8, 7, stride = 2))",
        "[8, 11, 11]",
        "3,216",
        "[16, 4, 4]",
        "4,640",
        "[32, 2, 2]",
        "3 (global_avgpool)",
        "330",
        "Total params: 8,586",
    ] {
        assert!(summary.contains(row), "missing {row:?} in\n{summary}");
    }
}

#[test]
fn keras_network_with_separable_convolutions() {
    assert_eq!(KerasSeparable::PARAMS, 1_427);
    assert_eq!(layer_params(KerasSeparable::LAYERS), [65, 344, 688, 0, 0, 330]);
    let keys: Vec<&str> = KerasSeparable::LAYERS[0].tensors.iter().map(|t| t.key).collect();
    assert_eq!(keys, ["0.depthwise.weight", "0.pointwise.weight", "0.pointwise.bias"]);
    let summary = KerasSeparable::summary().to_string();
    assert!(summary.contains("Total params: 1,427"), "{summary}");
    assert!(summary.contains("688"), "{summary}");
}

#[test]
fn torchvision_alexnet_and_vgg16() {
    assert_eq!(AlexNet::PARAMS, 61_100_840);
    assert_eq!(AlexNet::LAYERS[12].output_shape, &[256, 6, 6]);
    assert_eq!(Vgg16::PARAMS, 138_357_544);
    assert_eq!(Vgg16::LAYERS[30].output_shape, &[512, 7, 7]);
    // The well-known ~15.5 GMACs of VGG-16 forward.
    assert!((30_900_000_000..31_100_000_000).contains(&Vgg16::FLOPS), "{}", Vgg16::FLOPS);
}

#[test]
fn the_photograph_mlp_is_counted_not_allocated() {
    assert_eq!(PhotoMlp::INPUT_LEN, 36_578_304);
    assert_eq!(PhotoMlp::PARAMS, 36_578_315_010);
    assert!(PhotoMlp::summary().to_string().contains("36,578,305,000"));
}

#[test]
fn batch_norm_counts_parameters_not_buffers() {
    // As PyTorch: weight and bias are parameters; running statistics are buffers.
    assert_eq!(layer_params(BatchNormNet::LAYERS), [108, 8, 4, 0, 1_450, 20]);
    let buffers: Vec<&str> = BatchNormNet::LAYERS[1].buffers.iter().map(|t| t.key).collect();
    assert_eq!(buffers, ["1.running_mean", "1.running_var", "1.num_batches_tracked"]);
    assert_eq!(<BatchNormNet as nn::Network<f32>>::BUFFERS, 4 + 4 + 1 + 10 + 10 + 1);
}
