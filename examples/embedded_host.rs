//! The embedded example's model on the host: the same network, weights, digits and
//! preprocessing (`examples/embedded/src/model.rs`, included here), through the same
//! static inference type, printing the lines the board prints. `tools/embedded.sh` runs
//! it with `NN_SIMD=portable` (the board's kernels) and compares.
//!
//!     NN_SIMD=portable cargo run --release --example embedded_host

#[path = "embedded/src/model.rs"]
mod model;

use model::{LeNet5Inference, LeNet5Memory};

fn main() {
    let net = LeNet5Inference::EMBEDDED;
    let mut memory = Box::new(LeNet5Memory::new());
    let mut input = [0.0; 1024];
    println!(
        "LeNet-5 on a Cortex-M4F: {} bytes of weights in flash, {} bytes of working memory",
        LeNet5Inference::WEIGHT_BYTES,
        LeNet5Inference::MEMORY_BYTES
    );
    let (mut correct, mut hash) = (0, model::HASH_START);
    for i in 0..model::digit_count() {
        let (label, pixels) = model::digit(i);
        model::prepare(pixels, &mut input);
        let logits = net.forward(&mut memory, &input);
        let predicted = model::argmax(logits);
        hash = model::fold_bits(hash, logits);
        correct += usize::from(predicted == usize::from(label));
        println!("digit {i}: label {label} predicted {predicted}");
    }
    println!("{correct} of {} correct; logits hash {hash:016x}", model::digit_count());
}
