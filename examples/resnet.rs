//! A small ResNet on Fashion-MNIST (SPEC §5's `residual` and blocks): the experiment of
//! `examples/fashion.rs` with `--model resnet`, the same options, data, metrics, plots
//! and saved weights (`target/fashion/fashion_resnet.safetensors`, loadable into the
//! same module tree in PyTorch: bench/peers/fashion_resnet_torch.py).
//!
//!     cargo run --release --example resnet -- [--resnet-epochs N] [--model all]

#[path = "fashion.rs"]
mod fashion;

use clap::Parser;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `--model resnet` unless the caller chose a model.
    let mut argv: Vec<String> = std::env::args().collect();
    if !argv.iter().any(|a| a == "--model" || a.starts_with("--model=")) {
        argv.insert(1, "--model=resnet".to_string());
    }
    fashion::run(fashion::Args::parse_from(argv))
}
