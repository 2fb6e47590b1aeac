//! Our side of the sequence comparison (bench/README.md, "Sequences"): the row-by-row
//! MNIST LSTM (`lstm(28, 128) -> last -> linear(128, 10)`, 28 steps) — a training step
//! (forward, mean softmax cross-entropy, backward through time, SGD lr 0.01) at batch 1,
//! 8, 32 and 128, and inference of 10,240 sequences in batches of 256, as
//! `bench/peers/graph_seq_peers.py lstm` times PyTorch, torch.compile and JAX. Medians
//! over rounds.
//!
//!     NN_THREADS=1 taskset -c 0 cargo run --release --example bench_sequence -- [--rounds 5]

use nn::prelude::*;

#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
#[path = "support/timing.rs"]
mod timing;
use networks::RowLstm;
use timing::{median_seconds, rounds_argument, uniform_samples};

fn main() {
    let rounds = rounds_argument(5);
    let mut sample = uniform_samples();
    // A training sequence costs three forwards (the peers count it the same way).
    let train_gflop = 3.0 * RowLstm::FLOPS as f64 / 1e9;
    let mut net = RowLstm::new(0);
    let mut optimizer = Sgd::new(0.01);
    for batch in [1usize, 8, 32, 128] {
        let x = sample(batch * RowLstm::INPUT_LEN);
        let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        let s = median_seconds(rounds, 1.0, 20, 2, || {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut optimizer).expect("valid batch");
        });
        let rate = batch as f64 / s;
        println!("lstm training batch {batch}: {rate:.0} sequences/s ({:.1} GFLOP/s)", rate * train_gflop);
    }
    net.eval();
    let (total, batch) = (10_240, 256);
    let x = sample(total * RowLstm::INPUT_LEN);
    let s = median_seconds(rounds, 0.0, 1, 1, || {
        for chunk in x.chunks(batch * RowLstm::INPUT_LEN) {
            std::hint::black_box(net.forward(chunk).expect("valid batch"));
        }
    });
    let rate = total as f64 / s;
    println!(
        "lstm inference of {total} in batches of {batch}: {rate:.0} sequences/s ({:.1} GFLOP/s)",
        rate * RowLstm::FLOPS as f64 / 1e9
    );
}
