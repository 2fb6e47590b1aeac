//! A loop of training steps at a fixed batch, for profilers:
//!
//!     cargo build --release --example profile_step
//!     perf record -g target/release/examples/profile_step 32 2000 [lenet5|kerasnet|smallresnet|rowlstm] [bf16]
//!
//! `bf16` trains with bfloat16 products (`set_training_precision`, AVX-512 BF16).

use nn::prelude::*;

// Each example uses part of the shared networks.
#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
use networks::{KerasNet, LeNet5, RowLstm, SmallResNet};

fn run<N: Network<f32>>(batch: usize, steps: usize, precision: nn::Precision) {
    let mut rng = nn::runtime::rng::Rng::new(0);
    let x: Vec<f32> = (0..batch * N::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut net = N::with_seed(1);
    net.set_training_precision(precision).expect("bf16 needs AVX-512 BF16");
    let mut sgd = Sgd::new(0.01);
    for _ in 0..steps {
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut number =
        |default| args.next().map_or(default, |a| a.parse::<usize>().expect("usage: profile_step BATCH STEPS [NET]"));
    let (batch, steps) = (number(32), number(1000));
    let bf16 = std::env::args().nth(4).as_deref() == Some("bf16");
    let precision = if bf16 { nn::Precision::Bf16 } else { nn::Precision::F32 };
    match std::env::args().nth(3).as_deref() {
        Some("kerasnet") => run::<KerasNet>(batch, steps, precision),
        Some("smallresnet") => run::<SmallResNet>(batch, steps, precision),
        Some("rowlstm") => run::<RowLstm>(batch, steps, precision),
        _ => run::<LeNet5>(batch, steps, precision),
    }
}
