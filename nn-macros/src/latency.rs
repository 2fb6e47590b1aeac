//! The macro's own cost: expansion time and the size of the generated code, for the
//! networks the README's compile-latency table lists. Run with
//! `cargo test --release -p nn-macros expansion_cost -- --ignored --nocapture`.

use crate::expand;
use std::str::FromStr;
use std::time::Instant;

pub const LENET5: &str = "LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2) -> conv(6, 16, 5) -> tanh \
    -> avgpool(2) -> conv(16, 120, 5) -> tanh -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)";

pub const ALEXNET: &str = "AlexNet: [3, 224, 224] => conv(3, 64, 11, stride = 4, padding = 2) -> relu \
    -> maxpool(3, stride = 2) -> conv(64, 192, 5, padding = 2) -> relu -> maxpool(3, stride = 2) \
    -> conv(192, 384, 3, padding = 1) -> relu -> conv(384, 256, 3, padding = 1) -> relu \
    -> conv(256, 256, 3, padding = 1) -> relu -> maxpool(3, stride = 2) -> flatten -> dropout(0.5) \
    -> linear(9216, 4096) -> relu -> dropout(0.5) -> linear(4096, 4096) -> relu -> linear(4096, 1000)";

pub const VGG16: &str = "Vgg16: [3, 224, 224] => conv(3, 64, 3, padding = 1) -> relu -> conv(64, 64, 3, padding = 1) \
    -> relu -> maxpool(2) -> conv(64, 128, 3, padding = 1) -> relu -> conv(128, 128, 3, padding = 1) -> relu \
    -> maxpool(2) -> conv(128, 256, 3, padding = 1) -> relu -> conv(256, 256, 3, padding = 1) -> relu \
    -> conv(256, 256, 3, padding = 1) -> relu -> maxpool(2) -> conv(256, 512, 3, padding = 1) -> relu \
    -> conv(512, 512, 3, padding = 1) -> relu -> conv(512, 512, 3, padding = 1) -> relu -> maxpool(2) \
    -> conv(512, 512, 3, padding = 1) -> relu -> conv(512, 512, 3, padding = 1) -> relu \
    -> conv(512, 512, 3, padding = 1) -> relu -> maxpool(2) -> flatten -> linear(25088, 4096) -> relu \
    -> dropout(0.5) -> linear(4096, 4096) -> relu -> dropout(0.5) -> linear(4096, 1000)";

#[test]
#[ignore = "a measurement, not a check: run it for the README's table"]
fn expansion_cost() {
    println!("{:<8} {:>14} {:>16}", "network", "expansion µs", "generated lines");
    for (name, source) in [("LeNet-5", LENET5), ("AlexNet", ALEXNET), ("VGG-16", VGG16)] {
        let tokens = proc_macro2::TokenStream::from_str(source).expect("tokenizes");
        let runs = 200;
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(expand(tokens.clone()));
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let file: syn::File = syn::parse2(expand(tokens)).expect("parses");
        let lines = prettyplease::unparse(&file).lines().count();
        println!("{name:<8} {:>14.0} {lines:>16}", times[runs / 2]);
    }
}
