//! The static inference type (`<Net>Inference`, issue 16) computes what the network's own
//! eval-mode forward computes, bit for bit, for every kind of layer and graph: it runs
//! the same kernels over the same liveness plan, with its weights borrowed and its
//! memory one caller-placed array.

#[allow(dead_code)]
#[path = "../examples/support/networks.rs"]
mod networks;

use networks::{LeNet5, LeNet5Inference, LeNet5Memory, SmallResNet, SmallResNetInference, SmallResNetMemory};
use nn::runtime::rng::Rng;
use nn::{network, Network};

network! {
    Mixed: [2, 9, 9] => conv(2, 4, 3, padding = 1) -> batchnorm(4) -> relu -> maxpool(2)
        -> separable_conv(4, 6, 3, padding = 1) -> dropout(0.3) -> conv_transpose(6, 3, 2, stride = 2)
        -> global_avgpool -> flatten -> linear(3, 5) -> batchnorm(5) -> dropout(0.5) -> softmax;
    Graph: [2, 6, 6] => enc: (conv(2, 4, 3, padding = 1) -> tanh) -> maxpool(2)
        -> residual(conv(4, 4, 3, padding = 1) -> relu, shortcut = conv(4, 4, 1))
        -> scale(global_avgpool -> conv(4, 2, 1) -> relu -> conv(2, 4, 1) -> sigmoid)
        -> upsample(2) -> concat(identity, enc) -> conv(8, 3, 1) -> flatten -> linear(108, 4);
    Sequence: [T = 5, F = 3] => lstm(3, 4, layers = 2, bidirectional = true) -> gru(8, 3) -> last -> linear(3, 2);
    Signal: [C = 3, L = 16] => conv1d(3, 4, 3, padding = same) -> batchnorm(4) -> elu -> maxpool1d(2)
        -> flatten -> linear(32, 3) -> log_softmax;
    /// 40 steps: the static forward is split into several functions too.
    Deep: [3] => linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh
        -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh
        -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh
        -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh
        -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh -> linear(3, 3) -> tanh
}

network! {
    /// The parity suite's networks, their weights the state dicts PyTorch saved
    /// (`tools/parity_fixtures.py`): F32 tensors in PyTorch's key order, batch norm's
    /// counters I64.
    #[weights("fixtures/parity/normnet_pytorch_state_dict.safetensors")]
    EmbeddedNormnet: [4, 8, 8] => conv(4, 8, 3, groups = 4, bias = false) -> batchnorm(8) -> prelu(8)
        -> separable_conv(8, 6, 3, padding = 1) -> leaky_relu(alpha = 0.1) -> elu(alpha = 0.5) -> global_avgpool
        -> flatten -> dropout(0.0) -> linear(6, 5, bias = false) -> batchnorm(5);
    #[weights("fixtures/parity/graphnet_pytorch_state_dict.safetensors")]
    EmbeddedGraphnet: [3, 8, 8] => stem: conv(3, 4, 3, padding = 1) -> relu -> block1: Res(4)
        -> concat(identity, b1: (conv(4, 4, 1) -> tanh), b2: (maxpool(3, stride = 1, padding = 1) -> conv(4, 2, 3, padding = 1)))
        -> scale(global_avgpool -> conv(10, 3, 1) -> relu -> conv(3, 10, 1) -> sigmoid)
        -> down: residual(conv(10, 6, 3, stride = 2, padding = 1, bias = false) -> batchnorm(6) -> relu -> conv(6, 6, 3, padding = 1),
            shortcut = proj: conv(10, 6, 1, stride = 2))
        -> relu -> global_avgpool -> flatten -> fc: linear(6, 5);
    #[weights("fixtures/parity/lstmnet_pytorch_state_dict.safetensors")]
    EmbeddedLstmnet: [T = 5, F = 4] => lstm(4, 6, layers = 2, bidirectional = true) -> linear(12, 3);

    block Res(c) = residual(conv1: conv(c, c, 3, padding = 1, bias = false) -> bn1: batchnorm(c) -> relu
        -> conv2: conv(c, c, 3, padding = 1)) -> relu;
}

/// `#[weights(..)]` embeds what `load` reads from the same file, value for value, and
/// the static type with those weights computes what the loaded network computes.
macro_rules! embedded_equal_to_loaded {
    ($test:ident, $net:ident, $inference:ident, $memory:ident, $file:literal) => {
        #[test]
        fn $test() {
            let mut net = $net::new(0);
            net.load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parity/", $file)).unwrap();
            net.set_training(false);
            let loaded: Vec<u32> = net.params().iter().chain(net.buffers()).map(|v| v.to_bits()).collect();
            let embedded: Vec<u32> = $inference::EMBEDDED.weights().iter().map(|v| v.to_bits()).collect();
            assert_eq!(embedded, loaded);
            let mut memory = Box::new($memory::new());
            let x = random($net::INPUT_LEN, &mut Rng::new(3));
            let expected: Vec<u32> = net.forward(&x).unwrap().iter().map(|v| v.to_bits()).collect();
            let output = $inference::EMBEDDED.forward(&mut memory, x.as_slice().try_into().unwrap());
            assert_eq!(output.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), expected);
        }
    };
}

embedded_equal_to_loaded!(
    embedded_batch_norm_counters_and_grouped_convolutions,
    EmbeddedNormnet,
    EmbeddedNormnetInference,
    EmbeddedNormnetMemory,
    "normnet_pytorch_state_dict.safetensors"
);
embedded_equal_to_loaded!(
    embedded_named_layers_blocks_and_branches,
    EmbeddedGraphnet,
    EmbeddedGraphnetInference,
    EmbeddedGraphnetMemory,
    "graphnet_pytorch_state_dict.safetensors"
);
embedded_equal_to_loaded!(
    embedded_recurrent_layers,
    EmbeddedLstmnet,
    EmbeddedLstmnetInference,
    EmbeddedLstmnetMemory,
    "lstmnet_pytorch_state_dict.safetensors"
);

fn random(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0) as f32).collect()
}

/// A network whose batch-norm statistics moved away from their start (forwards in train
/// mode), then switched to eval mode; its weights as the static type takes them.
fn trained<N: Network<f32>>(seed: u64) -> (N, Vec<f32>) {
    let mut net = N::with_seed(seed);
    let mut rng = Rng::new(seed + 1);
    for _ in 0..3 {
        let batch = random(4 * N::INPUT_LEN, &mut rng);
        net.forward(&batch).unwrap();
    }
    net.set_training(false);
    let weights = net.params().iter().chain(net.buffers()).copied().collect();
    (net, weights)
}

macro_rules! equal_to_eval {
    ($test:ident, $net:ident, $inference:ident, $memory:ident) => {
        #[test]
        fn $test() {
            let (mut net, weights) = trained::<$net>(7);
            let weights: &[f32; $inference::WEIGHTS] = weights.as_slice().try_into().unwrap();
            let static_net = $inference::new(weights);
            assert_eq!($inference::WEIGHTS, $net::<f32>::PARAMS + <$net as Network<f32>>::BUFFERS);
            assert_eq!($inference::MEMORY_BYTES, $memory::LEN * 4);
            // Boxed: the memory of a large network does not belong on a test thread's stack.
            let mut memory = Box::new($memory::new());
            let mut rng = Rng::new(11);
            for _ in 0..3 {
                let x = random($net::INPUT_LEN, &mut rng);
                let expected = net.forward(&x).unwrap().to_vec();
                let output = static_net.forward(&mut memory, x.as_slice().try_into().unwrap());
                let (expected, output): (Vec<u32>, Vec<u32>) =
                    (expected.iter().map(|v| v.to_bits()).collect(), output.iter().map(|v| v.to_bits()).collect());
                assert_eq!(output, expected, "{}", stringify!($net));
            }
        }
    };
}

equal_to_eval!(lenet5, LeNet5, LeNet5Inference, LeNet5Memory);
equal_to_eval!(batch_norm_dropout_separable_transposed, Mixed, MixedInference, MixedMemory);
equal_to_eval!(residual_scale_concat_and_references, Graph, GraphInference, GraphMemory);
equal_to_eval!(recurrent_layers, Sequence, SequenceInference, SequenceMemory);
equal_to_eval!(one_dimensional_signals, Signal, SignalInference, SignalMemory);
equal_to_eval!(forward_split_into_functions, Deep, DeepInference, DeepMemory);
equal_to_eval!(resnet_blocks_with_batch_norm, SmallResNet, SmallResNetInference, SmallResNetMemory);

/// Working memory is planned by liveness: LeNet-5 needs the two largest neighbouring
/// values and the convolution's scratch, far less than training keeps.
#[test]
fn working_memory_is_the_liveness_plan_not_every_activation() {
    let training_bytes = LeNet5::ACTIVATION_BYTES;
    assert!(LeNet5Memory::BYTES < training_bytes, "{} vs {training_bytes}", LeNet5Memory::BYTES);
    assert_eq!(LeNet5Inference::WEIGHT_BYTES, 61_706 * 4);
}

/// A `static` holds the memory (all zeros: `.bss`, no flash), and `new` is `const`.
#[test]
fn memory_and_network_can_be_statics() {
    static WEIGHTS: [f32; DeepInference::WEIGHTS] = [0.5; DeepInference::WEIGHTS];
    static NET: DeepInference<'static> = DeepInference::new(&WEIGHTS);
    static MEMORY: std::sync::Mutex<DeepMemory> = std::sync::Mutex::new(DeepMemory::new());
    let mut memory = MEMORY.lock().unwrap();
    let output = NET.forward(&mut memory, &[1.0, -1.0, 0.25]);
    assert!(output.iter().all(|v| v.is_finite()));
}
