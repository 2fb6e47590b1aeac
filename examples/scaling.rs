//! Training steps on several threads against one, and what cutting a batch into
//! chunks costs one thread (bench/README.md, "Threads"):
//!
//!     cargo run --release --example scaling -- [--net lenet5] [--batch 128] [--threads 1,2]
//!         [--chunks 128,32,16,8] [--rounds 7]
//!
//! `--threads`: median seconds per training step (SGD, softmax cross-entropy) for each
//! thread count, rounds interleaved so that the machine's slow stretches weigh on all
//! alike; the chunks are the planned ones. `--chunks`: on one thread, each chunk size
//! (samples per chunk; the batch size is the whole batch as one chunk), interleaved
//! likewise. It prints the processor first.

use clap::Parser;
use nn::prelude::*;
use nn::runtime::exec::{chunks, threads};
use std::time::Instant;

#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
use networks::{KerasNet, LeNet5, Mlp, SmallResNet};

#[derive(Parser)]
struct Args {
    /// lenet5, kerasnet, mlp or smallresnet.
    #[arg(long, default_value = "lenet5")]
    net: String,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Thread counts to compare.
    #[arg(long, value_delimiter = ',')]
    threads: Vec<usize>,
    /// Samples per chunk to compare on one thread.
    #[arg(long, value_delimiter = ',')]
    chunks: Vec<usize>,
    #[arg(long, default_value_t = 7)]
    rounds: usize,
}

/// Median seconds per step for each setting, rounds interleaved.
fn interleaved(rounds: usize, settings: usize, mut step: impl FnMut(usize)) -> Vec<f64> {
    for s in 0..settings {
        for _ in 0..3 {
            step(s);
        }
    }
    let mut times = vec![Vec::new(); settings];
    for _ in 0..rounds {
        for (s, times) in times.iter_mut().enumerate() {
            let (start, mut calls) = (Instant::now(), 0u32);
            while calls < 5 || start.elapsed().as_secs_f64() < 0.25 {
                step(s);
                calls += 1;
            }
            times.push(start.elapsed().as_secs_f64() / calls as f64);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect()
}

fn run<N: Network<f32>>(args: &Args) {
    let mut rng = nn::runtime::rng::Rng::new(0);
    let x: Vec<f32> = (0..args.batch * N::INPUT_LEN).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    let labels: Vec<usize> = (0..args.batch).map(|i| i % N::OUTPUT_LEN).collect();
    let mut net = N::with_seed(0);
    let mut sgd = Sgd::new(0.01);
    let planned = chunks::count(args.batch, N::FLOPS, N::PARAMS, 4);
    println!("{}, batch {}: {planned} planned chunks", N::NAME, args.batch);
    if !args.threads.is_empty() {
        let times = interleaved(args.rounds, args.threads.len(), |s| {
            threads::set(args.threads[s]);
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).expect("finite loss");
        });
        for (&t, &seconds) in args.threads.iter().zip(&times) {
            let speedup = times[0] / seconds;
            println!(
                "  {t:>2} threads: {:>8.0} images/s  {:>7.3} ms/step  {speedup:.2}× ({:.0}% efficiency)",
                args.batch as f64 / seconds,
                seconds * 1e3,
                100.0 * speedup / t as f64 * args.threads[0] as f64
            );
        }
    }
    if !args.chunks.is_empty() {
        threads::set(1);
        let times = interleaved(args.rounds, args.chunks.len(), |s| {
            chunks::set_samples(args.chunks[s]);
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).expect("finite loss");
        });
        chunks::set_samples(0);
        for (&samples, &seconds) in args.chunks.iter().zip(&times) {
            println!(
                "  1 thread, chunks of {samples:>3}: {:>8.0} images/s  {:>7.3} ms/step  {:+.1}% against the first",
                args.batch as f64 / seconds,
                seconds * 1e3,
                100.0 * (seconds / times[0] - 1.0)
            );
        }
    }
}

fn main() {
    let args = Args::parse();
    println!("{}", nn::runtime::kernels::simd::selection());
    match args.net.as_str() {
        "lenet5" => run::<LeNet5>(&args),
        "kerasnet" => run::<KerasNet>(&args),
        "mlp" => run::<Mlp>(&args),
        "smallresnet" => run::<SmallResNet>(&args),
        other => eprintln!("unknown network {other}: lenet5, kerasnet, mlp or smallresnet"),
    }
}
