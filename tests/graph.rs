//! Networks as graphs (SPEC §5): residual, concat, scale, parenthesized chains, blocks
//! and references — their gradients (f64 finite differences), the keys they give
//! tensors, and the parameter counts of the torchvision architectures they express.

mod common;
// The benchmarks' ResNet-18, so the tests below check the network they time.
#[allow(dead_code)]
#[path = "../examples/support/networks.rs"]
mod networks;
use common::check_gradients_in;
use networks::ResNet18;
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
    /// Pre-activation blocks (He et al., 2016): batch norm reads a value the shortcut
    /// reads too, so its input gradient is summed with another.
    PreActivation: [2, 4, 4] => conv(2, 3, 1)
        -> residual(batchnorm(3) -> relu -> conv(3, 3, 3, padding = 1))
        -> concat(identity, batchnorm(3) -> tanh) -> flatten -> linear(96, 2);
    PreActivationFlat: [4] => linear(4, 5) -> residual(batchnorm(5) -> tanh -> linear(5, 5));

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

    pub ResNet50: [3, 224, 224] => conv1: conv(3, 64, 7, stride = 2, padding = 3, bias = false)
        -> bn1: batchnorm(64) -> relu -> maxpool: maxpool(3, stride = 2, padding = 1)
        -> layer1: (Bottleneck(64, 64, 1) -> Bottle(64) -> Bottle(64))
        -> layer2: (Bottleneck(256, 128, 2) -> Bottle(128) -> Bottle(128) -> Bottle(128))
        -> layer3: (Bottleneck(512, 256, 2) -> Bottle(256) -> Bottle(256) -> Bottle(256) -> Bottle(256) -> Bottle(256))
        -> layer4: (Bottleneck(1024, 512, 2) -> Bottle(512) -> Bottle(512))
        -> avgpool: global_avgpool -> flatten -> fc: linear(2048, 1000);

    /// torchvision's BasicConv2d (bias-free conv, batch norm with eps 0.001, ReLU) and
    /// Inception module (its "5×5" branch is a 3×3, as torchvision's is).
    block BasicConv(i, o, k, s, p) = conv: conv(i, o, k, stride = s, padding = p, bias = false)
        -> bn: batchnorm(o, eps = 0.001) -> relu;
    block Inception(i, c1, c3r, c3, c5r, c5, pp) = concat(
        branch1: BasicConv(i, c1, 1, 1, 0),
        branch2: (BasicConv(i, c3r, 1, 1, 0) -> BasicConv(c3r, c3, 3, 1, 1)),
        branch3: (BasicConv(i, c5r, 1, 1, 0) -> BasicConv(c5r, c5, 3, 1, 1)),
        branch4: (maxpool(3, stride = 1, padding = 1, ceil_mode = true) -> BasicConv(i, pp, 1, 1, 0)));

    /// torchvision's `googlenet(aux_logits=False, init_weights=False)`.
    pub GoogLeNet: [3, 224, 224] => conv1: BasicConv(3, 64, 7, 2, 3) -> maxpool1: maxpool(3, stride = 2, ceil_mode = true)
        -> conv2: BasicConv(64, 64, 1, 1, 0) -> conv3: BasicConv(64, 192, 3, 1, 1)
        -> maxpool2: maxpool(3, stride = 2, ceil_mode = true)
        -> inception3a: Inception(192, 64, 96, 128, 16, 32, 32) -> inception3b: Inception(256, 128, 128, 192, 32, 96, 64)
        -> maxpool3: maxpool(3, stride = 2, ceil_mode = true)
        -> inception4a: Inception(480, 192, 96, 208, 16, 48, 64) -> inception4b: Inception(512, 160, 112, 224, 24, 64, 64)
        -> inception4c: Inception(512, 128, 128, 256, 24, 64, 64) -> inception4d: Inception(512, 112, 144, 288, 32, 64, 64)
        -> inception4e: Inception(528, 256, 160, 320, 32, 128, 128)
        -> maxpool4: maxpool(2, stride = 2, ceil_mode = true)
        -> inception5a: Inception(832, 256, 160, 320, 32, 128, 128) -> inception5b: Inception(832, 384, 192, 384, 48, 128, 128)
        -> avgpool: global_avgpool -> flatten -> dropout: dropout(0.2) -> fc: linear(1024, 1000)
}

common::gradient_tests! {
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
fn batch_norm_reading_a_value_read_elsewhere_in_train_and_eval_mode() {
    for training in [true, false] {
        check_gradients_in::<PreActivation<f64>>(3, 400, training);
        check_gradients_in::<PreActivationFlat<f64>>(4, 400, training);
    }
}

#[test]
fn torchvision_parameter_counts() {
    assert_eq!(ResNet18::PARAMS, 11_689_512);
    assert_eq!(ResNet50::PARAMS, 25_557_032);
    assert_eq!(GoogLeNet::PARAMS, 6_624_904);
}

#[test]
fn keys_follow_the_module_tree() {
    let keys: Vec<&str> =
        WithBatchNorm::<f32>::LAYERS.iter().flat_map(|l| l.tensors.iter().chain(l.buffers)).map(|t| t.key).collect();
    assert_eq!(
        keys[..7],
        [
            "0.conv1.weight",
            "0.bn1.weight",
            "0.bn1.bias",
            "0.bn1.running_mean",
            "0.bn1.running_var",
            "0.bn1.num_batches_tracked",
            "0.conv2.weight"
        ]
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

/// A torchvision listing: `(key, shape)` per tensor in state-dict order, and the
/// parameter count from its first line.
fn torchvision_listing(name: &str) -> (usize, Vec<(String, Vec<usize>)>) {
    let path = format!("{}/tests/fixtures/torchvision/{name}.keys", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let params = lines.next().and_then(|l| l.strip_prefix("# params ")).expect("a `# params N` line").parse().unwrap();
    let tensors = lines
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let shape = fields[1].split('x').filter(|d| !d.is_empty()).map(|d| d.parse().unwrap()).collect();
            (fields[0].to_string(), shape)
        })
        .collect();
    (params, tensors)
}

/// Our tensors (parameters and buffers, per layer) as `(key, shape)`, in storage order.
fn our_listing<N: Network<f32>>() -> Vec<(String, Vec<usize>)> {
    N::LAYERS
        .iter()
        .flat_map(|l| l.tensors.iter().chain(l.buffers))
        .map(|t| (t.key.to_string(), t.shape.to_vec()))
        .collect()
}

#[test]
fn keys_and_shapes_equal_torchvision_state_dicts() {
    for (name, ours, params) in [
        ("resnet18", our_listing::<ResNet18>(), ResNet18::PARAMS),
        ("resnet50", our_listing::<ResNet50>(), ResNet50::PARAMS),
        ("googlenet", our_listing::<GoogLeNet>(), GoogLeNet::PARAMS),
    ] {
        let (expected_params, expected) = torchvision_listing(name);
        assert_eq!(params, expected_params, "{name}");
        assert_eq!(ours.len(), expected.len(), "{name}: tensor count");
        for (ours, theirs) in ours.iter().zip(&expected) {
            assert_eq!(ours, theirs, "{name}");
        }
    }
}

/// The ResNet-18 fixture's weight formula (tests/fixtures/torchvision/README.md):
/// tensor `t` among the floating-point tensors, element `i`.
fn formula(key: &str, shape: &[usize], t: usize, i: usize) -> f32 {
    let s = (2.0 * i as f64 + 0.7 * t as f64).sin();
    if key.ends_with("running_var") {
        (0.6 + 0.4 * (s * s)) as f32
    } else if key.ends_with("running_mean") || key.ends_with("bias") {
        (0.1 * s) as f32
    } else if shape.len() >= 2 {
        let fan_in = shape[1..].iter().product::<usize>() as f64;
        (s * (2.0 / fan_in).sqrt()) as f32
    } else {
        (1.0 + 0.2 * s) as f32
    }
}

/// torchvision's ResNet-18, filled from the fixture's formula and written under
/// torchvision's keys by a plain safetensors writer, loads through the public `load`
/// with no renaming and gives PyTorch's eval-mode logits.
#[test]
fn resnet18_loads_torchvision_keys_and_matches_pytorch_logits() {
    use safetensors::tensor::{Dtype, TensorView};
    let (_, listing) = torchvision_listing("resnet18");
    let mut data: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut t = 0;
    for (key, shape) in &listing {
        if key.ends_with("num_batches_tracked") {
            data.push((key.clone(), Dtype::I64, shape.clone(), 1i64.to_le_bytes().to_vec()));
            continue;
        }
        let len: usize = shape.iter().product();
        let bytes = (0..len).flat_map(|i| formula(key, shape, t, i).to_le_bytes()).collect();
        data.push((key.clone(), Dtype::F32, shape.clone(), bytes));
        t += 1;
    }
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(key, dtype, shape, bytes)| (key.clone(), TensorView::new(*dtype, shape.clone(), bytes).unwrap()))
        .collect();
    let path = std::env::temp_dir().join(format!("nn-resnet18-{}.safetensors", std::process::id()));
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let mut net = ResNet18::new(0);
    net.load(&path).expect("torchvision's keys load with no renaming");
    std::fs::remove_file(&path).ok();
    net.eval();

    let input: Vec<f32> = (0..2 * ResNet18::INPUT_LEN)
        .map(|i| {
            let f = i as f64;
            ((0.5 + 1e-5 * f) * (1e-5 * (f * f)).sin()) as f32
        })
        .collect();
    let logits = net.forward(&input).unwrap().to_vec();

    let path = format!("{}/tests/fixtures/torchvision/resnet18_logits.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("f32 ")).collect();
    assert_eq!(rows.len(), 2, "two images of f32 logits in {path}");
    for row in rows {
        let fields: Vec<&str> = row.split_whitespace().collect();
        let image: usize = fields[1].parse().unwrap();
        let expected: Vec<f64> = fields[2..].iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(expected.len(), 1000);
        let ours = &logits[image * 1000..(image + 1) * 1000];
        let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (class, (&a, &b)) in ours.iter().zip(&expected).enumerate() {
            let tolerance = 1e-4 * b.abs().max(1e-2 * scale);
            assert!((a as f64 - b).abs() <= tolerance, "image {image}, class {class}: ours {a}, PyTorch {b}");
        }
    }
}
