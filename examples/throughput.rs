//! Training-step and inference throughput of LeNet-5 on one thread, at several batch
//! sizes: the median of repeated timed runs after a warm-up.
//!
//!     cargo run --release --example throughput

use nn::prelude::*;
use std::time::Instant;

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
}

/// Median seconds per call of `f` over `rounds` rounds of `reps` calls each.
fn median_seconds(rounds: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[rounds / 2]
}

fn main() {
    let mut rng = nn::runtime::rng::Rng::new(0);
    println!("LeNet-5, f32, 1 thread; median of 7 rounds\n");
    println!("{:>6}  {:>22}  {:>22}", "batch", "training step images/s", "inference images/s");
    for batch in [1usize, 8, 32, 128] {
        let x: Vec<f32> = (0..batch * LeNet5::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
        let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        let mut net = LeNet5::new(1);
        let mut sgd = Sgd::new(0.01);
        let reps = (2048 / batch).max(4);
        let train = median_seconds(7, reps, || {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
        });
        let infer = median_seconds(7, reps, || {
            std::hint::black_box(net.forward(&x).unwrap());
        });
        println!("{batch:>6}  {:>22.0}  {:>22.0}", batch as f64 / train, batch as f64 / infer);
    }
}
