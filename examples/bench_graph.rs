//! Our side of the graph-network comparison (bench/README.md, "Graph networks"):
//! ResNet-18 inference at 224×224, batch 1 and 8 (eval mode), and a training step of
//! the small Fashion-MNIST ResNet at batch 32 (forward, mean softmax cross-entropy,
//! backward, SGD lr 0.01 momentum 0.9). Medians over rounds, as `bench` measures.
//!
//!     NN_THREADS=1 taskset -c 0 cargo run --release --example bench_graph -- [--rounds 5]

use nn::prelude::*;

#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
#[path = "support/timing.rs"]
mod timing;
use networks::{ResNet18, SmallResNet};
use timing::{median_seconds, rounds_argument, uniform_samples};

fn main() {
    let rounds = rounds_argument(5);
    let mut sample = uniform_samples();

    let mut resnet = ResNet18::new(0);
    resnet.eval();
    let gflop = ResNet18::FLOPS as f64 / 1e9;
    for batch in [1usize, 8] {
        let x = sample(batch * ResNet18::INPUT_LEN);
        let s = median_seconds(rounds, 1.0, 3, 2, || {
            std::hint::black_box(resnet.forward(&x).expect("valid batch"));
        });
        let rate = batch as f64 / s;
        println!("resnet18 inference batch {batch}: {rate:.2} images/s ({:.1} GFLOP/s)", rate * gflop);
    }

    let mut small = SmallResNet::new(0);
    let mut optimizer = Sgd::new(0.01).momentum(0.9);
    let batch = 32;
    let x = sample(batch * SmallResNet::INPUT_LEN);
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let s = median_seconds(rounds, 1.0, 20, 2, || {
        small.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut optimizer).expect("valid batch");
    });
    let rate = batch as f64 / s;
    println!(
        "small resnet training batch {batch}: {rate:.1} images/s ({:.1} GFLOP/s, 3x forward FLOPs)",
        rate * 3.0 * SmallResNet::FLOPS as f64 / 1e9
    );
}
