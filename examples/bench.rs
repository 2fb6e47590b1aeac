//! Our side of the peer comparison (`bench/run.sh`), measured as `bench/peers` measures
//! PyTorch, JAX and ONNX Runtime: on LeNet-5, the
//! notes' Keras network and a 784-256-128-10 MLP, a training step (forward, mean softmax
//! cross-entropy, backward, SGD lr 0.01) at batch 1, 8, 32 and 128, and inference of
//! 10,000 images in batches of 256 (eval mode). Each figure is the median over rounds of
//! batch / step time, after warm-up steps.
//!
//!     cargo run --release --example bench -- [--rounds 3] [--json FILE] [--nets lenet5,mlp]
//!
//! It prints first the processor and the kernels chosen for it
//! (`nn::runtime::kernels::simd::selection()`). `--precision bf16` runs the inference
//! figures in bfloat16 (AVX-512 BF16 only); training is always f32.
//!
//! With `--scaling` it measures instead 2 threads against 1 on the same work, rounds
//! interleaved (run it unpinned, on a machine with two cores free).

use nn::prelude::*;
use std::fmt::Write as _;
use std::time::Instant;

// Each example uses part of the shared networks.
#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
#[allow(dead_code)]
#[path = "support/timing.rs"]
mod timing;
use networks::{KerasNet, LeNet5, Mlp};
use timing::median_seconds;

const TRAIN_BATCHES: [usize; 4] = [1, 8, 32, 128];

/// Training images/s per batch size and inference images/s for one network.
fn measure<N: Network<f32>>(rounds: usize, precision: nn::Precision) -> (Vec<(usize, f64)>, f64) {
    let mut rng = nn::runtime::rng::Rng::new(0);
    let mut sample = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect() };
    let mut train = Vec::new();
    for batch in TRAIN_BATCHES {
        let x = sample(batch * N::INPUT_LEN);
        let labels: Vec<usize> = (0..batch).map(|i| i % N::OUTPUT_LEN).collect();
        let mut net = N::with_seed(0);
        let mut sgd = Sgd::new(0.01);
        let seconds = median_seconds(rounds, 0.3, 20, 5, || {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).expect("finite loss");
        });
        train.push((batch, batch as f64 / seconds));
    }
    let images = sample(10_000 * N::INPUT_LEN);
    let mut net = N::with_seed(0);
    net.eval();
    net.set_precision(precision).expect("--precision bf16 needs AVX-512 BF16");
    let seconds = median_seconds(rounds, 0.3, 20, 5, || {
        for chunk in images.chunks(256 * N::INPUT_LEN) {
            std::hint::black_box(net.forward(chunk).expect("valid batch"));
        }
    });
    (train, 10_000.0 / seconds)
}

/// Two threads against one on the same work, their rounds interleaved (one round on
/// one thread, the next on two, …) so that the VM's slow stretches weigh on both alike:
/// training steps at batch 32 and 128, and inference, for one network.
fn scaling<N: Network<f32>>(name: &str, rounds: usize) {
    let mut rng = nn::runtime::rng::Rng::new(0);
    let mut sample = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect() };
    let mut cells = Vec::new();
    for batch in [32, 128] {
        let x = sample(batch * N::INPUT_LEN);
        let labels: Vec<usize> = (0..batch).map(|i| i % N::OUTPUT_LEN).collect();
        let mut net = N::with_seed(0);
        let mut sgd = Sgd::new(0.01);
        let (one, two) = interleaved(rounds, |threads| {
            nn::runtime::exec::threads::set(threads);
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).expect("finite loss");
        });
        cells.push(format!(
            "train b{batch}: {:.0} → {:.0} images/s ({:.2}×)",
            batch as f64 / one,
            batch as f64 / two,
            one / two
        ));
    }
    let images = sample(10_000 * N::INPUT_LEN);
    let mut net = N::with_seed(0);
    net.eval();
    let (one, two) = interleaved(rounds, |threads| {
        nn::runtime::exec::threads::set(threads);
        for chunk in images.chunks(256 * N::INPUT_LEN) {
            std::hint::black_box(net.forward(chunk).expect("valid batch"));
        }
    });
    cells.push(format!("infer: {:.0} → {:.0} images/s ({:.2}×)", 10_000.0 / one, 10_000.0 / two, one / two));
    println!("{name:<9} {}", cells.join("; "));
}

/// Median seconds per call with 1 and with 2 threads, rounds alternating.
fn interleaved(rounds: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let mut times = [Vec::new(), Vec::new()];
    for threads in [1, 2] {
        for _ in 0..5 {
            f(threads);
        }
    }
    for _ in 0..rounds {
        for (threads, times) in [1, 2].into_iter().zip(&mut times) {
            let (start, mut calls) = (Instant::now(), 0u32);
            while calls < 20 || start.elapsed().as_secs_f64() < 0.3 {
                f(threads);
                calls += 1;
            }
            times.push(start.elapsed().as_secs_f64() / calls as f64);
        }
    }
    let [one, two] = times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    });
    (one, two)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut rounds, mut json, mut thread_scaling) = (3usize, None, false);
    let mut nets = String::from("lenet5,kerasnet,mlp");
    let mut precision = nn::Precision::F32;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds N"),
            "--json" => json = args.next(),
            "--nets" => nets = args.next().expect("--nets lenet5,kerasnet,mlp"),
            "--scaling" => thread_scaling = true,
            "--precision" => {
                precision = match args.next().as_deref() {
                    Some("bf16") => nn::Precision::Bf16,
                    Some("f32") => nn::Precision::F32,
                    _ => panic!("--precision f32|bf16"),
                }
            }
            _ => panic!("usage: bench [--rounds N] [--json FILE] [--nets LIST] [--precision f32|bf16] [--scaling]"),
        }
    }
    println!("{}\n", nn::runtime::kernels::simd::selection());
    let wanted = |name: &str| nets.split(',').any(|n| n.trim() == name);
    if thread_scaling {
        println!("nn, f32, 1 → 2 threads, rounds interleaved, median of {rounds} (images/s)\n");
        if wanted("lenet5") {
            scaling::<LeNet5>("lenet5", rounds);
        }
        if wanted("kerasnet") {
            scaling::<KerasNet>("kerasnet", rounds);
        }
        if wanted("mlp") {
            scaling::<Mlp>("mlp", rounds);
        }
        return;
    }
    let mut results = Vec::new();
    if wanted("lenet5") {
        results.push(("lenet5", measure::<LeNet5>(rounds, precision)));
    }
    if wanted("kerasnet") {
        results.push(("kerasnet", measure::<KerasNet>(rounds, precision)));
    }
    if wanted("mlp") {
        results.push(("mlp", measure::<Mlp>(rounds, precision)));
    }
    let threads = nn::runtime::exec::threads::count();
    println!("nn, f32, {threads} thread(s), median of {rounds} rounds (images/s)\n");
    println!("{:<9} {:>9} {:>9} {:>9} {:>9} {:>14}", "network", "train b1", "b8", "b32", "b128", "infer 10k/256");
    let mut out = String::from("[");
    for (i, (name, (train, infer))) in results.iter().enumerate() {
        let cells: Vec<String> = train.iter().map(|(_, v)| format!("{v:>9.0}")).collect();
        println!("{name:<9} {} {infer:>14.0}", cells.join(" "));
        let train_json: Vec<String> = train
            .iter()
            .map(|(batch, v)| format!("\"{batch}\": {{\"images_per_s\": {{\"median\": {v:.1}}}}}"))
            .collect();
        let _ = write!(
            out,
            "{}{{\"peer\": \"nn\", \"net\": \"{name}\", \"threads\": {threads}, \"train\": {{{}}}, \"infer\": {{\"images_per_s\": {{\"median\": {infer:.1}}}}}}}",
            if i > 0 { ", " } else { "" },
            train_json.join(", ")
        );
    }
    out.push(']');
    if let Some(path) = json {
        std::fs::write(&path, out).expect("writable --json path");
    }
}
