//! MNIST read row by row: each digit is a sequence of 28 steps of 28 pixels. Trains an
//! LSTM (`lstm(28, 128) -> last -> linear(128, 10)`) and, for comparison, a 1-D CNN over
//! the same rows (the 28 pixels of a row as channels, the rows as the length) on the
//! embedded 8,000 digits, and reports the accuracy on the 2,000 held-out ones and the
//! wall time.
//!
//!     cargo run --release --example sequence [-- --model lstm|cnn|both --epochs 20 --seed 1]
//!
//! The schedule is `bench/peers/sequence_torch.py`'s, so the two can be compared: Adam
//! (lr 2e-3, cosine decay per epoch over 20 epochs), batch 32, PyTorch's default
//! initialization, pixels normalized with the training set's mean and deviation.

use clap::{Parser, ValueEnum};
use nn::data::{Batches, ImageSet};
use nn::prelude::*;
use std::time::Instant;

network! {
    /// An LSTM over the rows, classified from its last hidden state.
    pub RowLstm: [T = 28, F = 28] => lstm(28, 128) -> last -> linear(128, 10);
    /// A 1-D CNN over the rows: `transpose` makes the [T = 28, F = 28] sequence a
    /// [C = 28, L = 28] signal, as `x.transpose(1, 2)` before `nn.Conv1d`.
    pub RowCnn: [T = 28, F = 28] => transpose -> conv1d(28, 64, 3, padding = 1) -> relu -> maxpool1d(2)
        -> conv1d(64, 64, 3, padding = 1) -> relu -> maxpool1d(2) -> flatten -> linear(448, 10)
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Model {
    Lstm,
    Cnn,
    Both,
}

#[derive(Parser)]
#[command(about = "MNIST row by row: an LSTM and a 1-D CNN over the 28 rows of each digit")]
struct Args {
    /// Which network to train.
    #[arg(long, value_enum, default_value_t = Model::Both)]
    model: Model,
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Adam's learning rate at the first epoch, decayed to zero by a cosine over the run.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

const EMBEDDED: [(&str, &[u8]); 4] = [
    ("mnist10k-train-images-idx3-ubyte.gz", include_bytes!("../data/mnist10k/mnist10k-train-images-idx3-ubyte.gz")),
    ("mnist10k-train-labels-idx1-ubyte.gz", include_bytes!("../data/mnist10k/mnist10k-train-labels-idx1-ubyte.gz")),
    ("mnist10k-test-images-idx3-ubyte.gz", include_bytes!("../data/mnist10k/mnist10k-test-images-idx3-ubyte.gz")),
    ("mnist10k-test-labels-idx1-ubyte.gz", include_bytes!("../data/mnist10k/mnist10k-test-labels-idx1-ubyte.gz")),
];

/// Train and test digits, 28×28 (row t is step t), normalized with the training set's statistics.
fn load() -> Result<(ImageSet<f32>, ImageSet<f32>), nn::Error> {
    let idx: Vec<_> = EMBEDDED.iter().map(|(name, bytes)| nn::idx::parse(bytes, name)).collect::<Result<_, _>>()?;
    let mut train = ImageSet::from_idx(&idx[0], &idx[1])?;
    let mut test = ImageSet::from_idx(&idx[2], &idx[3])?;
    let (mean, std) = train.pixel_stats();
    train.normalize(mean, std);
    test.normalize(mean, std);
    Ok((train, test))
}

/// Fraction of `set` classified correctly, in eval mode, in batches of 500.
fn accuracy<N: Network<f32>>(net: &mut N, set: &ImageSet<f32>) -> Result<f64, nn::Error> {
    net.set_training(false);
    let mut correct = 0;
    let per = set.sample_len();
    for (images, labels) in set.images.chunks(500 * per).zip(set.labels.chunks(500)) {
        let logits = net.forward(images)?;
        correct += nn::argmax_rows(logits, 10)?.zip(labels).filter(|(p, l)| p == *l).count();
    }
    net.set_training(true);
    Ok(correct as f64 / set.len() as f64)
}

/// Trains `N` from `args.seed`; the final test accuracy and the training seconds.
fn train<N: Network<f32>>(args: &Args, train: &ImageSet<f32>, test: &ImageSet<f32>) -> Result<(f64, f64), nn::Error> {
    println!("{}", N::summary());
    let mut net = N::with_seed(args.seed);
    let mut adam = Adam::new(args.lr);
    let mut batches = Batches::new(train.len(), args.batch, args.seed)?;
    let mut seconds = 0.0;
    let mut final_accuracy = 0.0;
    for epoch in 0..args.epochs {
        adam.lr = args.lr * 0.5 * (1.0 + (std::f64::consts::PI * epoch as f64 / args.epochs as f64).cos());
        batches.shuffle();
        let start = Instant::now();
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        while let Some((images, labels)) = batches.next_batch(train)? {
            let loss = net.train_step(images, labels, &SoftmaxCrossEntropy, &mut adam)?;
            loss_sum += loss as f64 * labels.len() as f64;
            seen += labels.len();
        }
        let elapsed = start.elapsed().as_secs_f64();
        seconds += elapsed;
        final_accuracy = accuracy(&mut net, test)?;
        println!(
            "epoch {:>2}: lr {:.2e}  loss {:.4}  {:.0} sequences/s  test accuracy {:.2}%",
            epoch + 1,
            adam.lr,
            loss_sum / seen as f64,
            seen as f64 / elapsed,
            100.0 * final_accuracy
        );
    }
    Ok((final_accuracy, seconds))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if args.batch == 0 || args.epochs == 0 {
        return Err("--batch and --epochs must be at least 1".into());
    }
    let (train_set, test_set) = load()?;
    println!(
        "MNIST row by row: {} training digits, {} held out | batch {}, Adam lr {} (cosine), {} epochs\n",
        train_set.len(),
        test_set.len(),
        args.batch,
        args.lr,
        args.epochs
    );
    let mut results = Vec::new();
    if args.model != Model::Cnn {
        results.push(("LSTM", train::<RowLstm>(&args, &train_set, &test_set)?));
    }
    if args.model != Model::Lstm {
        results.push(("1-D CNN", train::<RowCnn>(&args, &train_set, &test_set)?));
    }
    println!();
    for (name, (accuracy, seconds)) in results {
        println!(
            "{name}: final test accuracy {:.2}% on {} held-out digits, {seconds:.1} s of training",
            100.0 * accuracy,
            test_set.len()
        );
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
