//! Inference of 10,000 images in batches of 256, repeated, for profilers:
//!
//!     cargo build --release --example profile_infer
//!     perf record -g target/release/examples/profile_infer lenet5|kerasnet 20

use nn::prelude::*;

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    KerasNet: [1, 28, 28] => conv(1, 8, 7, stride = 2) -> conv(8, 16, 5, stride = 2) -> conv(16, 32, 3)
        -> global_avgpool -> flatten -> linear(32, 10)
}

fn run<N: Network<f32>>(passes: usize) {
    let mut rng = nn::runtime::rng::Rng::new(0);
    let images: Vec<f32> = (0..10_000 * N::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    let mut net = N::with_seed(0);
    net.eval();
    for _ in 0..passes {
        for chunk in images.chunks(256 * N::INPUT_LEN) {
            std::hint::black_box(net.forward(chunk).expect("valid batch"));
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "lenet5".into());
    let passes = args.next().and_then(|v| v.parse().ok()).unwrap_or(20);
    match which.as_str() {
        "kerasnet" => run::<KerasNet>(passes),
        _ => run::<LeNet5>(passes),
    }
}
