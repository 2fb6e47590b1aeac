//! Parity with PyTorch. `tools/pytorch_reference.py` built these networks as
//! `nn.Sequential`s (the graph network as a module tree with the same keys) (together they use every layer the compiler has; pooling's `padding =
//! same`, which PyTorch lacks, aside) and recorded, in f64 and f32, train and eval mode:
//! the output, the loss, every parameter gradient, the input gradient, the buffers after
//! the forward pass, and the parameters after one SGD (momentum, weight decay) and one
//! Adam step. Here the same networks, written with `network!`, start from PyTorch's
//! initial weights through the public `load` and must agree to a relative 1e-9 in f64 and
//! 1e-4 in f32.
//!
//! Sequences too: an input `[T, F]` is PyTorch's batch-first `(batch, T, F)` and `[C, L]`
//! `nn.Conv1d`'s `(batch, C, L)`; `rnn`, `lstm` and `gru` (stacked, bidirectional, relu,
//! without biases) are `nn.RNN`, `nn.LSTM` and `nn.GRU` with `batch_first=True`, keyed as
//! PyTorch keys them (`0.weight_ih_l0`, `1.weight_hh_l1_reverse`), and `Lstmnet`, whose
//! output is a sequence of scores, takes a label per time step (batch-major, then time).

use nn::prelude::*;
use nn::{Float, Loss};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::path::PathBuf;

network! {
    Convnet: [3, 12, 12] => conv(3, 4, 3, stride = 2, padding = 1) -> relu -> maxpool(2, stride = 1, padding = 1)
        -> conv(4, 6, (3, 2), dilation = (1, 2), groups = 2) -> tanh -> avgpool(2, stride = 1, padding = 1)
        -> flatten -> linear(216, 10) -> sigmoid -> linear(10, 7);
    Normnet: [4, 8, 8] => conv(4, 8, 3, groups = 4, bias = false) -> batchnorm(8) -> prelu(8)
        -> separable_conv(8, 6, 3, padding = 1) -> leaky_relu(alpha = 0.1) -> elu(alpha = 0.5) -> global_avgpool
        -> flatten -> dropout(0.0) -> linear(6, 5, bias = false) -> batchnorm(5);
    Decoder: [3, 4, 4] => conv_transpose(3, 4, 3, stride = 2, padding = 1, output_padding = 1) -> softplus
        -> upsample(2) -> conv_transpose(4, 2, (2, 3), dilation = (2, 1), groups = 2, bias = false) -> abs
        -> global_maxpool -> identity -> flatten -> softmax;
    Mlp: [20] => linear(20, 16) -> batchnorm(16) -> relu -> dropout(0.5) -> linear(16, 8, bias = false) -> log_softmax;
    Mobile: [3, 11, 11] => conv(3, 6, (4, 3), padding = same, dilation = (1, 2)) -> relu6
        -> maxpool(2, stride = 2, padding = 1, ceil_mode = true) -> conv(6, 8, 2, padding = same) -> hardswish
        -> avgpool(3, stride = 2, padding = 1, ceil_mode = true) -> hardsigmoid
        -> maxpool(3, stride = 2, ceil_mode = true) -> flatten -> linear(32, 5);
    Graphnet: [3, 8, 8] => stem: conv(3, 4, 3, padding = 1) -> relu -> block1: Res(4)
        -> concat(identity, b1: (conv(4, 4, 1) -> tanh), b2: (maxpool(3, stride = 1, padding = 1) -> conv(4, 2, 3, padding = 1)))
        -> scale(global_avgpool -> conv(10, 3, 1) -> relu -> conv(3, 10, 1) -> sigmoid)
        -> down: residual(conv(10, 6, 3, stride = 2, padding = 1, bias = false) -> batchnorm(6) -> relu -> conv(6, 6, 3, padding = 1),
            shortcut = proj: conv(10, 6, 1, stride = 2))
        -> relu -> global_avgpool -> flatten -> fc: linear(6, 5);
    Rnnnet: [T = 5, F = 4] => rnn(4, 6) -> rnn(6, 3, nonlinearity = relu, layers = 2, bidirectional = true)
        -> last -> linear(6, 3);
    Lstmnet: [T = 5, F = 4] => lstm(4, 6, layers = 2, bidirectional = true) -> linear(12, 3);
    Grunet: [T = 5, F = 4] => gru(4, 5, bias = false) -> tanh -> gru(5, 4, layers = 2, bidirectional = true)
        -> last -> linear(8, 3);

    Conv1dnet: [C = 3, L = 16] => conv1d(3, 4, 3, stride = 2, padding = 1) -> relu
        -> maxpool1d(2, stride = 1, padding = 1) -> conv1d(4, 6, 3, dilation = 2, groups = 2) -> tanh
        -> avgpool1d(2) -> transpose -> lstm(6, 4) -> last -> linear(4, 3);
    block Res(c) = residual(conv1: conv(c, c, 3, padding = 1, bias = false) -> bn1: batchnorm(c) -> relu
        -> conv2: conv(c, c, 3, padding = 1)) -> relu
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; regenerate with tools/pytorch_reference.py", path.display()))
}

fn values<F: Float>(file: &SafeTensors, key: &str) -> Vec<F> {
    let view = file.tensor(key).unwrap_or_else(|_| panic!("fixture has no {key}"));
    let data = view.data();
    match view.dtype() {
        Dtype::F64 => data.chunks_exact(8).map(|b| F::from_f64(f64::from_le_bytes(b.try_into().unwrap()))).collect(),
        Dtype::F32 => {
            data.chunks_exact(4).map(|b| F::from_f64(f32::from_le_bytes(b.try_into().unwrap()) as f64)).collect()
        }
        Dtype::I64 => {
            data.chunks_exact(8).map(|b| F::from_f64(i64::from_le_bytes(b.try_into().unwrap()) as f64)).collect()
        }
        other => panic!("{key}: unexpected {other:?}"),
    }
}

/// The `init/` tensors as a state dict of their own, as PyTorch would save it.
fn initial_state(file: &SafeTensors) -> Vec<u8> {
    let tensors: Vec<(String, TensorView)> =
        file.tensors().into_iter().filter_map(|(k, v)| k.strip_prefix("init/").map(|k| (k.to_string(), v))).collect();
    safetensors::serialize(tensors, None).unwrap()
}

/// `|ours − theirs| ≤ tol · max(|theirs|, 1% of the tensor's largest magnitude, 1e-3)`:
/// relative, with floors so that entries that are mathematically zero (a bias before a
/// batch norm has zero gradient) compare their rounding noise against a sensible scale.
fn assert_close<F: Float>(what: &str, ours: &[F], theirs: &[F], tol: f64) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
    let scale = theirs.iter().map(|v| v.to_f64().abs()).fold(0.0, f64::max) * 1e-2;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let (a, b) = (a.to_f64(), b.to_f64());
        let bound = tol * b.abs().max(scale).max(1e-3);
        assert!((a - b).abs() <= bound, "{what}[{i}]: ours {a}, PyTorch {b} (difference {:e})", (a - b).abs());
    }
}

/// Compares per-tensor slices of `ours` (laid out as `params`) with `<prefix>/<key>`.
fn assert_params<F: Float, N: Network<F>>(prefix: &str, ours: &[F], file: &SafeTensors, tol: f64) {
    let mut offset = 0;
    for layer in N::LAYERS {
        for tensor in layer.tensors {
            let len: usize = tensor.shape.iter().product();
            let key = format!("{prefix}/{}", tensor.key);
            assert_close(&key, &ours[offset..offset + len], &values::<F>(file, &key), tol);
            offset += len;
        }
    }
}

fn assert_buffers<F: Float, N: Network<F>>(net: &N, file: &SafeTensors, tol: f64) {
    let mut offset = 0;
    for layer in N::LAYERS {
        for buffer in layer.buffers {
            let len: usize = buffer.shape.iter().product();
            let key = format!("buffers_after/{}", buffer.key);
            assert_close(&key, &net.buffers()[offset..offset + len], &values::<F>(file, &key), tol);
            offset += len;
        }
    }
}

fn check<F: Float, N: Network<F>, L: Loss<F, Target = [T]>, T: Clone>(
    name: &str, tag: &str, mode: &str, loss: L, target: Vec<T>,
) {
    let tol = if tag == "f64" { 1e-9 } else { 1e-4 };
    let bytes = fixture(&format!("{name}_{tag}_{mode}.safetensors"));
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let init = initial_state(&file);
    let fresh = || {
        let mut net = N::with_seed(99);
        net.load_safetensors(&init, "PyTorch's initial state").unwrap();
        net.set_training(mode == "train");
        net
    };
    let x: Vec<F> = values(&file, "input");
    let batch = x.len() / N::INPUT_LEN;

    let mut net = fresh();
    let output = net.forward(&x).unwrap().to_vec();
    assert_close("output", &output, &values::<F>(&file, "output"), tol);
    assert_buffers(&net, &file, tol);

    let mut net = fresh();
    let value = net.loss_and_grads(&x, &target[..], &loss).unwrap();
    assert_close("loss", &[value], &values::<F>(&file, "loss"), tol);
    assert_params::<F, N>("grad", net.grads(), &file, tol);

    let mut output_grad = vec![F::ZERO; output.len()];
    loss.evaluate(&output, N::LOSS_SHAPE, &target[..], batch * N::LOSS_ROWS, Some(&mut output_grad)).unwrap();
    let mut net = fresh();
    let input_grad = net.backward(&x, &output_grad).unwrap().to_vec();
    assert_close("input_grad", &input_grad, &values::<F>(&file, "input_grad"), tol);

    let mut net = fresh();
    net.train_step(&x, &target[..], &loss, &mut Sgd::new(0.1).momentum(0.9).weight_decay(1e-3)).unwrap();
    assert_params::<F, N>("sgd", net.params(), &file, tol);

    let mut net = fresh();
    net.train_step(&x, &target[..], &loss, &mut Adam::new(1e-2)).unwrap();
    assert_params::<F, N>("adam", net.params(), &file, tol);
}

fn labels(name: &str, tag: &str, mode: &str) -> Vec<usize> {
    let bytes = fixture(&format!("{name}_{tag}_{mode}.safetensors"));
    let file = SafeTensors::deserialize(&bytes).unwrap();
    values::<f64>(&file, "target").into_iter().map(|v| v as usize).collect()
}

fn targets<F: Float>(name: &str, tag: &str, mode: &str) -> Vec<F> {
    let bytes = fixture(&format!("{name}_{tag}_{mode}.safetensors"));
    values(&SafeTensors::deserialize(&bytes).unwrap(), "target")
}

macro_rules! parity {
    ($($test:ident: $net:ident, $name:literal, $mode:literal, $kind:ident;)*) => {$(
        #[test]
        fn $test() {
            parity!(@run $net, $name, "f64", f64, $mode, $kind);
            parity!(@run $net, $name, "f32", f32, $mode, $kind);
        }
    )*};
    (@run $net:ident, $name:literal, $tag:literal, $f:ty, $mode:literal, labels) => {
        check::<$f, $net<$f>, _, _>($name, $tag, $mode, SoftmaxCrossEntropy, labels($name, $tag, $mode))
    };
    (@run $net:ident, $name:literal, $tag:literal, $f:ty, $mode:literal, mse) => {
        check::<$f, $net<$f>, _, _>($name, $tag, $mode, MeanSquaredError, targets::<$f>($name, $tag, $mode))
    };
    (@run $net:ident, $name:literal, $tag:literal, $f:ty, $mode:literal, bce) => {
        check::<$f, $net<$f>, _, _>($name, $tag, $mode, BinaryCrossEntropyWithLogits, targets::<$f>($name, $tag, $mode))
    };
}

parity! {
    convnet_train: Convnet, "convnet", "train", labels;
    convnet_eval: Convnet, "convnet", "eval", labels;
    normnet_train: Normnet, "normnet", "train", labels;
    normnet_eval: Normnet, "normnet", "eval", labels;
    decoder_train: Decoder, "decoder", "train", mse;
    decoder_eval: Decoder, "decoder", "eval", mse;
    mlp_eval: Mlp, "mlp", "eval", bce;
    mobile_train: Mobile, "mobile", "train", labels;
    mobile_eval: Mobile, "mobile", "eval", labels;
    graphnet_train: Graphnet, "graphnet", "train", labels;
    graphnet_eval: Graphnet, "graphnet", "eval", labels;
    rnnnet_train: Rnnnet, "rnnnet", "train", labels;
    rnnnet_eval: Rnnnet, "rnnnet", "eval", labels;
    lstmnet_train: Lstmnet, "lstmnet", "train", labels;
    lstmnet_eval: Lstmnet, "lstmnet", "eval", labels;
    grunet_train: Grunet, "grunet", "train", labels;
    grunet_eval: Grunet, "grunet", "eval", labels;
    conv1dnet_train: Conv1dnet, "conv1dnet", "train", labels;
    conv1dnet_eval: Conv1dnet, "conv1dnet", "eval", labels;
}

/// A state dict PyTorch saved with `safetensors.torch.save_file` loads as it is.
#[test]
fn pytorch_state_dicts_load_without_renaming() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity");
    Convnet::new(0).load(dir.join("convnet_pytorch_state_dict.safetensors")).unwrap();
    Normnet::new(0).load(dir.join("normnet_pytorch_state_dict.safetensors")).unwrap();
    Decoder::new(0).load(dir.join("decoder_pytorch_state_dict.safetensors")).unwrap();
    Mobile::new(0).load(dir.join("mobile_pytorch_state_dict.safetensors")).unwrap();
    Graphnet::new(0).load(dir.join("graphnet_pytorch_state_dict.safetensors")).unwrap();
    Rnnnet::new(0).load(dir.join("rnnnet_pytorch_state_dict.safetensors")).unwrap();
    Lstmnet::new(0).load(dir.join("lstmnet_pytorch_state_dict.safetensors")).unwrap();
    Grunet::new(0).load(dir.join("grunet_pytorch_state_dict.safetensors")).unwrap();
    Conv1dnet::new(0).load(dir.join("conv1dnet_pytorch_state_dict.safetensors")).unwrap();
    let mut mlp = Mlp::<f64>::with_seed(0);
    mlp.load(dir.join("mlp_pytorch_state_dict.safetensors")).unwrap();
    assert_eq!(mlp.buffers()[32], 3.0, "num_batches_tracked, an int64 in PyTorch");
}
