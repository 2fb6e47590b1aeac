//! The public behaviour of generated networks: constants, run-time errors, modes,
//! determinism, batch independence and precision.

use nn::prelude::*;
use nn::Error;

network! {
    /// LeNet-5.
    #[derive(Clone)]
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    pub(crate) Mlp: [784] => hidden: linear(784, 256) -> relu -> linear(256, 128) -> relu -> out: linear(128, 10,)
}

fn sample(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = nn::runtime::rng::Rng::new(seed);
    (0..len).map(|_| rng.uniform(-1.0, 1.0) as f32).collect()
}

#[test]
fn constants_are_known_at_compile_time() {
    const _: () = assert!(LeNet5::PARAMS == 61_706);
    assert_eq!(LeNet5::INPUT_SHAPE, [1, 32, 32]);
    assert_eq!(LeNet5::INPUT_LEN, 1024);
    assert_eq!(LeNet5::OUTPUT_SHAPE, [10]);
    assert_eq!(LeNet5::OUTPUT_LEN, 10);
    // 2·MACs: conv1 235,200 + conv2 480,000 + conv3 96,000 + fc 20,160 + 1,680,
    // plus one per element for the activations (4,704 + 1,600 + 120 + 84) and pooling
    // windows (4,704 + 1,600).
    assert_eq!(LeNet5::FLOPS, 845_852);
    // Every layer's output except `flatten`, which is a view.
    assert_eq!(LeNet5::ACTIVATION_ELEMENTS, 4704 * 2 + 1176 + 1600 * 2 + 400 + 120 * 2 + 84 * 2 + 10);
    assert_eq!(LeNet5::ACTIVATION_BYTES, LeNet5::ACTIVATION_ELEMENTS * 4);
    assert_eq!(Mlp::PARAMS, 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
    let params: Vec<usize> = LeNet5::LAYERS.iter().map(|l| l.params).collect();
    assert_eq!(params, [156, 0, 0, 2416, 0, 0, 48120, 0, 0, 10164, 0, 850]);
    let keys: Vec<&str> = Mlp::LAYERS.iter().flat_map(|l| l.tensors.iter().map(|t| t.key)).collect();
    assert_eq!(keys, ["hidden.weight", "hidden.bias", "2.weight", "2.bias", "out.weight", "out.bias"]);
    assert_eq!(LeNet5::LAYERS[6].tensors[0].shape, &[120, 16, 5, 5]);
}

#[test]
fn summary_lists_every_layer_and_the_totals() {
    let text = LeNet5::summary().to_string();
    for needle in [
        "Model: \"LeNet5\"",
        "0 (conv(1, 6, 5))",
        "[6, 28, 28]",
        "6 (conv(16, 120, 5))",
        "48,120",
        "Total params: 61,706",
        "845,852",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let mlp = Mlp::summary().to_string();
    assert!(mlp.contains("hidden: linear(784, 256)"), "{mlp}");
}

#[test]
fn input_errors_say_what_and_where() {
    let mut net = LeNet5::new(0);
    let err = net.forward(&[0.0; 1000]).unwrap_err();
    assert!(matches!(err, Error::InputLength { found: 1000, sample_len: 1024, .. }));
    assert_eq!(
        err.to_string(),
        "LeNet5: input has 1000 elements, which is not a multiple of one sample's 1024 (shape [1, 32, 32]); \
         pass batch × 1024 elements, laid out NCHW"
    );
    assert_eq!(net.forward(&[]).unwrap_err(), Error::EmptyBatch { network: "LeNet5" });
    let x = sample(2 * 1024, 1);
    let err = net.train_step(&x, &[1, 2, 3], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap_err();
    assert_eq!(err.to_string(), "labels has 3 elements, but a batch of 2 needs 2");
    let err = net.train_step(&x, &[1, 10], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap_err();
    assert!(err.to_string().contains("label 10 at position 1 is out of range"), "{err}");
    let err = net.backward(&x, &[0.0; 5]).unwrap_err();
    assert!(err.to_string().starts_with("output gradient has 5 elements"), "{err}");
}

#[test]
fn a_non_finite_loss_is_an_error_and_leaves_the_model_untouched() {
    let mut net = LeNet5::new(3);
    let before = net.params().to_vec();
    let mut x = sample(1024, 2);
    x[17] = f32::NAN;
    let err = net.train_step(&x, &[4], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap_err();
    assert!(matches!(err, Error::NonFiniteLoss { .. }), "{err}");
    assert!(err.to_string().contains("the step was not applied"), "{err}");
    assert_eq!(net.params(), &before[..]);
}

#[test]
fn same_seed_same_network_and_pytorch_init_bounds() {
    let (a, b, c) = (LeNet5::new(5), LeNet5::new(5), LeNet5::new(6));
    assert_eq!(a.params(), b.params());
    assert_ne!(a.params(), c.params());
    // conv1: fan_in 25 → U(−0.2, 0.2) for weight and bias; linear(120, 84): 1/√120.
    assert!(a.params()[..156].iter().all(|w| w.abs() <= 0.2));
    assert!(a.params()[..150].iter().any(|w| w.abs() > 0.15));
    let fc1 = 156 + 2416 + 48120;
    let bound = 1.0 / 120f32.sqrt();
    assert!(a.params()[fc1..fc1 + 10164].iter().all(|w| w.abs() <= bound));
    // f64 draws the same numbers.
    let d = LeNet5::<f64>::with_seed(5);
    assert!(a.params().iter().zip(d.params()).all(|(x, y)| (*x as f64 - y).abs() < 1e-7));
}

#[test]
fn a_batch_computes_what_its_samples_compute_alone() {
    let mut net = LeNet5::new(9);
    let x = sample(5 * 1024, 4);
    let together = net.forward(&x).unwrap().to_vec();
    for (i, chunk) in x.chunks(1024).enumerate() {
        let alone = net.forward(chunk).unwrap();
        for (a, b) in alone.iter().zip(&together[i * 10..(i + 1) * 10]) {
            assert!((a - b).abs() < 1e-5, "sample {i}: {a} vs {b}");
        }
    }
}

#[test]
fn f32_agrees_with_f64() {
    let mut single = LeNet5::new(11);
    let mut double = LeNet5::<f64>::with_seed(11);
    let x = sample(3 * 1024, 5);
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let labels = [1, 5, 9];
    let l32 = single.loss_and_grads(&x, &labels, &SoftmaxCrossEntropy).unwrap();
    let l64 = double.loss_and_grads(&x64, &labels, &SoftmaxCrossEntropy).unwrap();
    assert!((l32 as f64 - l64).abs() < 1e-5);
    for (g32, g64) in single.grads().iter().zip(double.grads()) {
        assert!((*g32 as f64 - g64).abs() < 1e-4 * (1.0 + g64.abs()));
    }
}

#[test]
fn training_lowers_the_loss_and_modes_switch() {
    let mut net = Mlp::new(0);
    assert!(net.is_training());
    net.eval();
    assert!(!net.is_training());
    net.train();
    let x = sample(16 * 784, 6);
    let labels: Vec<usize> = (0..16).map(|i| (i * 7) % 10).collect();
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    let first = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    let mut last = first;
    for _ in 0..30 {
        last = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    }
    assert!(last < first * 0.1, "loss went from {first} to {last}");
    let eval = net.loss(&x, &labels, &SoftmaxCrossEntropy).unwrap();
    assert!(eval < first);
}

#[test]
fn mean_squared_error_trains_a_regressor() {
    network! { Regressor: [3] => linear(3, 8) -> tanh -> linear(8, 2) }
    let mut net = Regressor::new(1);
    let x = sample(8 * 3, 7);
    let targets: Vec<f32> = x.chunks(3).flat_map(|s| [s[0] - s[1], s[2] * 0.5]).collect();
    let mut sgd = Sgd::new(0.1);
    let first = net.train_step(&x, &targets, &MeanSquaredError, &mut sgd).unwrap();
    let mut last = first;
    for _ in 0..200 {
        last = net.train_step(&x, &targets, &MeanSquaredError, &mut sgd).unwrap();
    }
    assert!(last < first * 0.2, "loss went from {first} to {last}");
}

#[test]
fn clones_are_independent() {
    let a = LeNet5::new(1);
    let mut b = a.clone();
    b.params_mut()[0] += 1.0;
    assert_ne!(a.params()[0], b.params()[0]);
}

#[test]
fn batch_norm_and_dropout_follow_the_mode() {
    network! { Norm: [2] => batchnorm(2, momentum = 0.5) -> dropout(0.5) }
    let mut net = Norm::new(0);
    // Two samples: channel 0 sees 1 and 3 (mean 2, biased var 1, unbiased 2).
    let x = [1.0f32, 10.0, 3.0, 30.0];
    let y = net.forward(&x).unwrap().to_vec();
    let state = net.buffers().to_vec();
    assert_eq!(state[..2], [1.0, 10.0]); // running means: 0.5·0 + 0.5·(2, 20)
    assert_eq!(state[2..4], [1.5, 100.5]); // running vars: 0.5·1 + 0.5·(2, 200)
    assert_eq!(state[4], 1.0); // num_batches_tracked
                               // Train mode: normalized to ±1 (up to eps), then each element dropped or doubled.
    for (v, expected) in y.iter().zip([-1.0, -1.0, 1.0, 1.0]) {
        assert!(*v == 0.0 || (v - 2.0 * expected).abs() < 1e-4, "{y:?}");
    }
    net.eval();
    let y = net.forward(&x).unwrap().to_vec();
    assert_eq!(net.buffers(), &state[..], "eval mode leaves the running statistics alone");
    let expect = (1.0 - 1.0) / (1.5f32 + 1e-5).sqrt();
    assert!((y[0] - expect).abs() < 1e-6 && (y[3] - (30.0 - 10.0) / (100.5f32 + 1e-5).sqrt()).abs() < 1e-5, "{y:?}");
}
