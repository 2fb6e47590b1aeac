//! Inference of 10,000 images in batches of 256, repeated, for profilers (ResNet-18:
//! batches of 8 at 224×224, `passes` of them):
//!
//!     cargo build --release --example profile_infer
//!     perf record -g target/release/examples/profile_infer lenet5|kerasnet|rowlstm|resnet18 20 [bf16]
//!     perf record -g target/release/examples/profile_infer lenet5-int8 20     # one image at a time

use nn::prelude::*;

// Each example uses part of the shared networks.
#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
use networks::{KerasNet, LeNet5, LeNet5Int8, LeNet5Int8Memory, ResNet18, RowLstm};

fn run<N: Network<f32>>(passes: usize, precision: nn::Precision) {
    let mut rng = nn::runtime::rng::Rng::new(0);
    let images: Vec<f32> = (0..10_000 * N::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    let mut net = N::with_seed(0);
    net.eval();
    net.set_precision(precision).expect("bf16 needs AVX-512 BF16");
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
    let precision = if args.next().as_deref() == Some("bf16") { nn::Precision::Bf16 } else { nn::Precision::F32 };
    match which.as_str() {
        "kerasnet" => run::<KerasNet>(passes, precision),
        "rowlstm" => run::<RowLstm>(passes, precision),
        "resnet18" => {
            let mut rng = nn::runtime::rng::Rng::new(0);
            let images: Vec<f32> = (0..8 * ResNet18::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
            let mut net = ResNet18::new(0);
            net.eval();
            net.set_precision(precision).expect("bf16 needs AVX-512 BF16");
            for _ in 0..passes {
                std::hint::black_box(net.forward(&images).expect("valid batch"));
            }
        }
        "lenet5-int8" => {
            let mut rng = nn::runtime::rng::Rng::new(0);
            let images: Vec<f32> = (0..10_000 * LeNet5::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
            let model = LeNet5::new(0).quantize(&images[..500 * LeNet5::INPUT_LEN]).expect("calibrates");
            let net = LeNet5Int8::from_model(&model).expect("fits");
            let mut memory = Box::new(LeNet5Int8Memory::new());
            for _ in 0..passes {
                for image in images.chunks_exact(LeNet5::INPUT_LEN) {
                    std::hint::black_box(net.forward(&mut memory, image.try_into().expect("one image")));
                }
            }
        }
        _ => run::<LeNet5>(passes, precision),
    }
}
