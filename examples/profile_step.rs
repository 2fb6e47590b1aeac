//! A loop of LeNet-5 training steps at a fixed batch, for profilers:
//!
//!     cargo build --release --example profile_step
//!     perf record -g target/release/examples/profile_step 32 2000

use nn::prelude::*;

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("usage: profile_step BATCH STEPS"));
    let batch = args.next().unwrap_or(32);
    let steps = args.next().unwrap_or(1000);
    let mut rng = nn::runtime::rng::Rng::new(0);
    let x: Vec<f32> = (0..batch * LeNet5::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut net = LeNet5::new(1);
    let mut sgd = Sgd::new(0.01);
    for _ in 0..steps {
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    }
}
