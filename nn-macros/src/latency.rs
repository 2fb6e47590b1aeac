//! The macro's own cost: expansion time and the size of the generated code, for the
//! networks the README's compile-latency table lists. Run with
//! `cargo test --release -p nn-macros expansion_cost -- --ignored --nocapture`.
//! And how that cost grows with depth: counted (a test), and timed per phase.

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

/// A chain of `layers` layers: `linear(16, 16) -> relu -> …` (`image` = false), or
/// convolutions, activations and batch norms keeping `[4, 8, 8]`; `last` appended.
fn chain(layers: usize, image: bool, last: &str) -> proc_macro2::TokenStream {
    let (input, cycle): (&str, &[&str]) = if image {
        ("[4, 8, 8]", &["conv(4, 4, 3, padding = 1)", "relu", "batchnorm(4)", "tanh"])
    } else {
        ("[16]", &["linear(16, 16)", "relu"])
    };
    let chain: Vec<&str> = cycle.iter().copied().cycle().take(layers).collect();
    proc_macro2::TokenStream::from_str(&format!("Chain: {input} => {}{last}", chain.join(" -> "))).expect("tokenizes")
}

/// Token trees, groups and their contents alike.
fn count_tokens(tokens: proc_macro2::TokenStream) -> usize {
    tokens
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Group(g) => 1 + count_tokens(g.stream()),
            _ => 1,
        })
        .sum()
}

/// The tokens of the largest function body in the expansion: what rustc and LLVM
/// optimize as one unit.
fn largest_function(expansion: proc_macro2::TokenStream) -> usize {
    use quote::ToTokens;
    let file: syn::File = syn::parse2(expansion).expect("parses");
    let mut items: Vec<syn::Item> = file.items;
    let mut largest = 0;
    while let Some(item) = items.pop() {
        match item {
            syn::Item::Const(c) => {
                if let syn::Expr::Block(block) = *c.expr {
                    items.extend(block.block.stmts.into_iter().filter_map(|s| match s {
                        syn::Stmt::Item(item) => Some(item),
                        _ => None,
                    }));
                }
            }
            syn::Item::Fn(f) => largest = largest.max(count_tokens(f.block.to_token_stream())),
            syn::Item::Impl(imp) => {
                for item in imp.items {
                    if let syn::ImplItem::Fn(f) = item {
                        largest = largest.max(count_tokens(f.block.to_token_stream()));
                    }
                }
            }
            _ => {}
        }
    }
    largest
}

/// A chain of 1,000 layers took 24–40 s to rebuild (release), growing faster than its
/// length: its forward, backward and initialization were each one function, and rustc's
/// MIR optimizations and LLVM take more than linear time in a function's size. They are
/// now split into functions of at most `STEPS_PER_FUNCTION` steps. Counted here, not
/// timed: the expansion grows linearly (each 250 more layers add the same tokens), its
/// largest function does not grow at all, and neither does the description of a layer's
/// input that checking formats for every layer (it listed every shape-preserving layer
/// since the last change of shape, quadratic work in all), seen in an error message.
#[test]
fn expansion_and_checking_grow_linearly_with_depth() {
    for image in [false, true] {
        let sizes: Vec<(usize, usize, usize)> = [250, 500, 1000]
            .into_iter()
            .map(|layers| {
                let expansion = expand(chain(layers, image, ""));
                assert!(!expansion.to_string().contains("compile_error"), "{expansion}");
                // The same chain with a mistake at its end: the message describing the
                // input of the last layer.
                let mistake =
                    expand(chain(layers, image, if image { " -> conv(3, 4, 1)" } else { " -> linear(15, 2)" }));
                (count_tokens(expansion.clone()), largest_function(expansion), mistake.to_string().len())
            })
            .collect();
        let [(t250, f250, m250), (t500, f500, m500), (t1000, f1000, m1000)] = sizes[..] else { unreachable!() };
        println!("image = {image}: tokens {t250} {t500} {t1000}; largest function {f250} {f500} {f1000}");
        // Each 250 layers more add as many tokens (to 1%: the last chunk of steps differs).
        let (first, second) = ((t500 - t250) as f64, (t1000 - t500) as f64 / 2.0);
        assert!((second / first - 1.0).abs() < 0.01, "tokens {t250} → {t500} → {t1000}");
        assert!(f500 == f250 && f1000 == f250, "the largest function grew: {f250} → {f500} → {f1000} tokens");
        // The message only gains digits (the number of layers it went through).
        assert!(m500.abs_diff(m250) <= 2 && m1000.abs_diff(m250) <= 2, "message lengths {m250} {m500} {m1000}");
    }
}

/// Times of the macro's phases on chains of 250 to 4,000 layers, the best of 7 runs:
/// `cargo test --release -p nn-macros chain_phase_times -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn chain_phase_times() {
    println!("{:>7} {:>9} {:>9} {:>9} {:>10}", "layers", "parse ms", "check ms", "codegen ms", "tokens");
    for layers in [250, 500, 1000, 2000, 4000] {
        let tokens = chain(layers, false, "");
        let mut best = [f64::MAX; 3];
        let mut size = 0;
        for _ in 0..7 {
            let start = Instant::now();
            let definitions: crate::parse::Definitions = syn::parse2(tokens.clone()).expect("parses");
            let parsed = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let network = definitions.networks.first().map(|def| crate::check::check(def, &Default::default()));
            let checked = start.elapsed().as_secs_f64();
            let Some(Ok(network)) = network else { panic!("the chain checks") };
            let start = Instant::now();
            let expansion = crate::codegen::generate(&network, &Default::default());
            let generated = start.elapsed().as_secs_f64();
            size = count_tokens(expansion);
            best = [best[0].min(parsed), best[1].min(checked), best[2].min(generated)];
        }
        let [parse, check, codegen] = best.map(|t| t * 1e3);
        println!("{layers:>7} {parse:>9.2} {check:>9.2} {codegen:>10.2} {size:>10}");
    }
}
