//! A batch runs in chunks fixed by the batch size and the network, on as many threads as
//! allowed: the results must be bit-identical for every thread count (1, 2, 3, 4 and
//! 7, over-subscribing a 2-core machine), with and without batch norm, and equal the
//! whole batch computed as one chunk up to rounding. (One test function: the thread
//! count and chunk size are process-wide.)

use nn::prelude::*;
use nn::runtime::exec::{chunks, threads};

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    Regressor: [6] => linear(6, 8) -> dropout(0.3) -> elu -> linear(8, 3);
    Normed: [6] => linear(6, 8) -> batchnorm(8) -> relu -> linear(8, 8) -> batchnorm(8) -> linear(8, 3);
    /// Batch norm on images, between convolutions, with dropout after it.
    ConvNormed: [2, 8, 8] => conv(2, 4, 3, padding = 1) -> batchnorm(4) -> relu
        -> residual(conv(4, 4, 3, padding = 1) -> batchnorm(4) -> tanh)
        -> maxpool(2) -> dropout(0.2) -> flatten -> linear(64, 5);
    /// A graph without batch norm.
    Graph: [2, 6, 6] => conv(2, 4, 3, padding = 1) -> relu
        -> residual(conv(4, 4, 3, padding = 1) -> tanh, shortcut = conv(4, 4, 1))
        -> concat(identity, maxpool(3, stride = 1, padding = 1)) -> flatten -> linear(288, 5);
    /// A sequence network, one label per step.
    Tagger: [T = 5, F = 3] => lstm(3, 6, bidirectional = true) -> gru(12, 4) -> linear(4, 3)
}

const THREADS: [usize; 5] = [1, 2, 3, 4, 7];

fn sample(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = nn::runtime::rng::Rng::new(seed);
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn labels(count: usize, classes: usize) -> Vec<usize> {
    (0..count).map(|i| (i * 7) % classes).collect()
}

/// Everything a training run leaves: each step's loss, the parameters, the buffers and
/// the last gradients.
type Run = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// Four Adam steps on the same batch, in train mode, from `seed`.
fn train<N: Network<f64>>(seed: u64, x: &[f64], labels: &[usize]) -> Run {
    let mut net = N::with_seed(seed);
    let mut adam = Adam::new(0.01);
    let losses = (0..4).map(|_| net.train_step(x, labels, &SoftmaxCrossEntropy, &mut adam).unwrap()).collect();
    (losses, net.params().to_vec(), net.buffers().to_vec(), net.grads().to_vec())
}

fn close(a: &[f64], b: &[f64], tolerance: f64) -> bool {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance * scale)
}

/// In chunks of `samples`: bit-identical on every thread count; and, without dropout
/// (whose masks come from each chunk's stream), close to the whole batch as one chunk.
fn chunked_training_is_thread_count_independent<N: Network<f64>>(
    seed: u64, batch: usize, samples: usize, classes: usize, compare_whole: bool,
) {
    let x = sample(batch * N::INPUT_LEN, seed + 100);
    let labels = labels(batch * N::LOSS_ROWS, classes);
    chunks::set_samples(samples);
    assert!(chunks::count(batch, N::FLOPS, N::PARAMS, 8) > 2, "{}: several chunks", N::NAME);
    let runs: Vec<Run> = THREADS
        .iter()
        .map(|&t| {
            threads::set(t);
            train::<N>(seed, &x, &labels)
        })
        .collect();
    for (run, t) in runs.iter().zip(THREADS).skip(1) {
        assert!(run == &runs[0], "{}: {t} threads differ from 1", N::NAME);
    }
    if compare_whole {
        chunks::set_samples(batch);
        threads::set(2);
        let whole = train::<N>(seed, &x, &labels);
        assert!(close(&runs[0].0, &whole.0, 1e-10), "{}: losses {:?} vs {:?}", N::NAME, runs[0].0, whole.0);
        assert!(close(&runs[0].1, &whole.1, 1e-9), "{}: parameters", N::NAME);
        assert!(close(&runs[0].2, &whole.2, 1e-9), "{}: buffers", N::NAME);
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    chunked_training_is_thread_count_independent::<LeNet5<f64>>(5, 21, 4, 10, true);
    chunked_training_is_thread_count_independent::<Regressor<f64>>(7, 32, 5, 3, false);
    chunked_training_is_thread_count_independent::<Normed<f64>>(1, 29, 4, 3, true);
    chunked_training_is_thread_count_independent::<ConvNormed<f64>>(3, 23, 3, 5, false);
    chunked_training_is_thread_count_independent::<Graph<f64>>(9, 19, 3, 5, true);
    chunked_training_is_thread_count_independent::<Tagger<f64>>(2, 37, 6, 3, true);

    // A train-mode forward with batch norm in chunks normalizes with the whole batch's
    // statistics and updates the running ones as the whole batch does.
    let x = sample(29 * Normed::INPUT_LEN, 11);
    let mut forwards = Vec::new();
    for samples in [4, 29] {
        chunks::set_samples(samples);
        let mut net = Normed::<f64>::with_seed(4);
        let output = net.forward(&x).unwrap().to_vec();
        forwards.push((output, net.buffers().to_vec()));
    }
    assert!(close(&forwards[0].0, &forwards[1].0, 1e-12), "outputs from chunks");
    assert!(close(&forwards[0].1, &forwards[1].1, 1e-12), "running statistics from chunks");

    // Inference in chunks: every sample's output is exactly what it is alone, for any
    // thread count, in eval mode with batch norm too.
    chunks::set_samples(4);
    let images = sample(37 * 1024, 4).iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let mut lenet = LeNet5::<f32>::with_seed(3);
    lenet.eval();
    let mut conv = ConvNormed::<f32>::with_seed(3);
    conv.eval();
    let pictures = sample(37 * 128, 5).iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let mut outputs = Vec::new();
    for t in THREADS {
        threads::set(t);
        outputs.push((lenet.forward(&images).unwrap().to_vec(), conv.forward(&pictures).unwrap().to_vec()));
    }
    assert!(outputs.iter().all(|o| o == &outputs[0]));
    for (i, image) in images.chunks(1024).enumerate() {
        assert_eq!(lenet.forward(image).unwrap(), &outputs[0].0[i * 10..(i + 1) * 10], "sample {i}");
    }
    for (i, picture) in pictures.chunks(128).enumerate() {
        assert_eq!(conv.forward(picture).unwrap(), &outputs[0].1[i * 5..(i + 1) * 5], "sample {i}");
    }

    // With the planned chunks (no override), LeNet-5 at batch 128 runs in several, and
    // f32 training is bit-identical on every thread count too.
    chunks::set_samples(0);
    assert!(chunks::count(128, LeNet5::<f32>::FLOPS, LeNet5::<f32>::PARAMS, 4) >= 4);
    let x: Vec<f32> = sample(128 * 1024, 8).iter().map(|&v| v as f32).collect();
    let labels = labels(128, 10);
    let mut runs = Vec::new();
    for t in THREADS {
        threads::set(t);
        let mut net = LeNet5::<f32>::with_seed(1);
        let mut sgd = Sgd::new(0.05).momentum(0.9);
        for _ in 0..2 {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
        }
        runs.push(net.params().to_vec());
    }
    assert!(runs.iter().all(|r| r == &runs[0]));
}
