//! The embedded example's model on the host: the same network, weights, digits and
//! preprocessing (`examples/embedded/src/model.rs`, included here), through the same
//! static inference type (or, with `int8`, the same int8 type), printing the lines the
//! board prints. `tools/embedded.sh` runs it with `NN_SIMD=portable` (the board's
//! kernels) and compares.
//!
//!     NN_SIMD=portable cargo run --release --example embedded_host [-- int8]

#[path = "embedded/src/model.rs"]
mod model;

use model::{LeNet5Inference, LeNet5Int8, LeNet5Int8Memory, LeNet5Memory};

fn main() {
    let int8 = std::env::args().nth(1).as_deref() == Some("int8");
    let (f32_net, int8_net) = (LeNet5Inference::EMBEDDED, LeNet5Int8::EMBEDDED);
    let (mut memory, mut int8_memory) = (Box::new(LeNet5Memory::new()), Box::new(LeNet5Int8Memory::new()));
    let mut input = [0.0; 1024];
    let (weights, working) = if int8 {
        (LeNet5Int8::WEIGHT_BYTES, LeNet5Int8::MEMORY_BYTES)
    } else {
        (LeNet5Inference::WEIGHT_BYTES, LeNet5Inference::MEMORY_BYTES)
    };
    println!(
        "LeNet-5 ({}) on a Cortex-M4F: {weights} bytes of weights in flash, {working} bytes of working memory",
        if int8 { "int8" } else { "f32" }
    );
    let forward = |input: &[f32; 1024]| {
        if int8 {
            *int8_net.forward(&mut int8_memory, input)
        } else {
            *f32_net.forward(&mut memory, input)
        }
    };
    model::classify_all(&mut input, forward, |line| println!("{line}"));
}
