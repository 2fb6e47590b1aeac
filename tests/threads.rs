//! Batches of 16 or more samples run as two halves, on two threads when allowed. The
//! result must not depend on the thread count, and must equal the whole-batch
//! computation up to rounding. (One test function: the thread count is process-wide.)

use nn::prelude::*;
use nn::runtime::exec::threads;

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    Regressor: [6] => linear(6, 8) -> dropout(0.3) -> elu -> linear(8, 3);
    Normed: [6] => linear(6, 8) -> batchnorm(8) -> linear(8, 3);
    /// A graph without batch norm: splits like a chain.
    Graph: [2, 6, 6] => conv(2, 4, 3, padding = 1) -> relu
        -> residual(conv(4, 4, 3, padding = 1) -> tanh, shortcut = conv(4, 4, 1))
        -> concat(identity, maxpool(3, stride = 1, padding = 1)) -> flatten -> linear(288, 5);
    /// A sequence network, one label per step: splits like a chain.
    Tagger: [T = 5, F = 3] => lstm(3, 6, bidirectional = true) -> gru(12, 4) -> linear(4, 3)
}

fn sample(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = nn::runtime::rng::Rng::new(seed);
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Loss and gradients of the whole batch, without splitting: forward, the loss's own
/// output gradient, and the vector-Jacobian product.
fn whole_batch<N: Network<f64>, L: Loss<f64, Target = [T]>, T>(
    net: &mut N, x: &[f64], target: &[T], loss: &L,
) -> (f64, Vec<f64>) {
    let batch = x.len() / N::INPUT_LEN;
    let output = net.forward(x).unwrap().to_vec();
    let mut grad = vec![0.0; output.len()];
    let value = loss.evaluate(&output, N::LOSS_SHAPE, target, batch * N::LOSS_ROWS, Some(&mut grad)).unwrap();
    net.backward(x, &grad).unwrap();
    (value, net.grads().to_vec())
}

/// On 1 and 2 threads, a split batch's loss, gradients and outputs are bit-identical,
/// and the loss and gradients those of the whole batch.
fn splits_as_the_whole_batch<N: Network<f64>>(seed: u64, x: &[f64], labels: &[usize]) {
    let runs: Vec<_> = [1, 2]
        .into_iter()
        .map(|t| {
            threads::set(t);
            let mut net = N::with_seed(seed);
            let value = net.loss_and_grads(x, labels, &SoftmaxCrossEntropy).unwrap();
            (value, net.grads().to_vec(), net.forward(x).unwrap().to_vec())
        })
        .collect();
    assert_eq!(runs[0], runs[1], "{}: 1 and 2 threads give bit-identical results", N::NAME);
    let (value, grads) = whole_batch(&mut N::with_seed(seed), x, labels, &SoftmaxCrossEntropy);
    assert!((runs[0].0 - value).abs() < 1e-12, "{}: {} vs {value}", N::NAME, runs[0].0);
    assert!(close(&runs[0].1, &grads), "{}", N::NAME);
}

fn close(a: &[f64], b: &[f64]) -> bool {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * scale.max(1.0))
}

#[test]
fn split_batches_are_thread_count_independent_and_match_the_whole_batch() {
    // LeNet-5, cross-entropy, batch 21 (halves of 10 and 11).
    let x = sample(21 * 1024, 1);
    let labels: Vec<usize> = (0..21).map(|i| (i * 3) % 10).collect();
    let mut runs = Vec::new();
    for t in [1, 2] {
        threads::set(t);
        let mut net = LeNet5::<f64>::with_seed(5);
        let value = net.loss_and_grads(&x, &labels, &SoftmaxCrossEntropy).unwrap();
        runs.push((value, net.grads().to_vec()));
    }
    assert_eq!(runs[0], runs[1], "1 and 2 threads give bit-identical results");
    let (value, grads) = whole_batch(&mut LeNet5::<f64>::with_seed(5), &x, &labels, &SoftmaxCrossEntropy);
    assert!((runs[0].0 - value).abs() < 1e-12, "{} vs {value}", runs[0].0);
    assert!(close(&runs[0].1, &grads));

    // Dropout draws from each half's own stream: still thread-count independent.
    let x = sample(32 * 6, 2);
    let targets = sample(32 * 3, 3);
    let mut runs = Vec::new();
    for t in [1, 2] {
        threads::set(t);
        let mut net = Regressor::<f64>::with_seed(7);
        let mut sgd = Sgd::new(0.05);
        for _ in 0..3 {
            net.train_step(&x, &targets, &MeanSquaredError, &mut sgd).unwrap();
        }
        runs.push(net.params().to_vec());
    }
    assert_eq!(runs[0], runs[1]);

    // In eval mode (no dropout) the split equals the whole batch.
    threads::set(2);
    let mut net = Regressor::<f64>::with_seed(7);
    net.eval();
    let value = net.loss_and_grads(&x, &targets, &MeanSquaredError).unwrap();
    let split_grads = net.grads().to_vec();
    let (whole_value, whole_grads) = whole_batch(&mut net, &x, &targets, &MeanSquaredError);
    assert!((value - whole_value).abs() < 1e-12);
    assert!(close(&split_grads, &whole_grads));

    // Inference splits too: every sample's output is exactly what it is alone, for any
    // thread count.
    let images = sample(37 * 1024, 4).iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let mut lenet = LeNet5::<f32>::with_seed(3);
    lenet.eval();
    let mut outputs = Vec::new();
    for t in [1, 2] {
        threads::set(t);
        outputs.push(lenet.forward(&images).unwrap().to_vec());
    }
    assert_eq!(outputs[0], outputs[1]);
    for (i, chunk) in images.chunks(1024).enumerate() {
        assert_eq!(lenet.forward(chunk).unwrap(), &outputs[0][i * 10..(i + 1) * 10], "sample {i}");
    }

    // A graph splits as a chain does, and its inference too; so does a sequence
    // network, with one label per step.
    let labels = |count: usize, classes: usize| -> Vec<usize> { (0..count).map(|i| i % classes).collect() };
    splits_as_the_whole_batch::<Graph<f64>>(9, &sample(19 * Graph::INPUT_LEN, 5), &labels(19, 5));
    splits_as_the_whole_batch::<Tagger<f64>>(2, &sample(37 * Tagger::INPUT_LEN, 6), &labels(37 * 5, 3));

    // Batch norm never splits: its statistics need the whole batch.
    const { assert!(!<Normed<f64> as Network<f64>>::SPLITTABLE) };
    let mut net = Normed::<f64>::with_seed(1);
    let value = net.loss_and_grads(&x, &targets, &MeanSquaredError).unwrap();
    let grads = net.grads().to_vec();
    let mut other = Normed::<f64>::with_seed(1);
    threads::set(1);
    assert_eq!(other.loss_and_grads(&x, &targets, &MeanSquaredError).unwrap(), value);
    assert_eq!(other.grads(), &grads[..]);
}
