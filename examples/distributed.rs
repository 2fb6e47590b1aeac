//! Trains LeNet-5 data-parallel over MPI: every process runs its share of each batch's
//! chunks and the gradients are added in chunk order, so the final weights — and the
//! test accuracy printed at the end — are the same for any number of processes and
//! threads (docs/scaling.md).
//!
//!     bash tools/mpi.sh --install        # MPICH and libclang, once
//!     cargo build --release --features mpi --example distributed
//!     mpiexec -n 2 target/release/examples/distributed [--epochs 3] [--batch 128]
//!
//! Options: `--net lenet5|lenet5-bn` (the second with batch norm after each convolution),
//! `--steps K` (stop after K steps), `--reduction exact|allreduce`, `--checkpoint FILE
//! --every K` (rank 0 writes a checkpoint every K steps), `--resume` (start from the
//! checkpoint), and, to test failures, `--die-at STEP --die-rank R` (rank R kills itself
//! at that step). It prints a fingerprint of the final weights (FNV-1a of their bits).

use clap::Parser;
use nn::data::{Batches, ImageSet};
use nn::prelude::*;
use nn::runtime::io::checkpoint::Checkpoint;
use nn::{Distributed, Reduction};
use std::time::Instant;

network! {
    /// LeNet-5 (LeCun et al., 1998), with PyTorch's default initialization.
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    /// LeNet-5 with batch norm after each convolution: its statistics span all processes.
    pub LeNet5Bn: [1, 32, 32] => conv(1, 6, 5) -> batchnorm(6) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> batchnorm(16) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
}

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "lenet5")]
    net: String,
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many steps (0: run every epoch).
    #[arg(long, default_value_t = 0)]
    steps: u64,
    #[arg(long, default_value = "exact")]
    reduction: String,
    #[arg(long)]
    checkpoint: Option<String>,
    #[arg(long, default_value_t = 0)]
    every: u64,
    #[arg(long)]
    resume: bool,
    #[arg(long)]
    die_at: Option<u64>,
    #[arg(long, default_value_t = 1)]
    die_rank: usize,
}

const EMBEDDED: [&[u8]; 4] = [
    include_bytes!("../data/mnist10k/mnist10k-train-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-train-labels-idx1-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-test-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-test-labels-idx1-ubyte.gz"),
];

fn load() -> Result<(ImageSet<f32>, ImageSet<f32>), nn::Error> {
    let idx: Vec<_> = EMBEDDED.iter().map(|bytes| nn::idx::parse(bytes, "embedded MNIST")).collect::<Result<_, _>>()?;
    let mut train = ImageSet::from_idx(&idx[0], &idx[1])?.padded(2)?;
    let mut test = ImageSet::from_idx(&idx[2], &idx[3])?.padded(2)?;
    let (mean, std) = train.pixel_stats();
    train.normalize(mean, std);
    test.normalize(mean, std);
    Ok((train, test))
}

/// FNV-1a over the bits of `values`.
fn fingerprint(values: &[f32]) -> u64 {
    values
        .iter()
        .flat_map(|v| v.to_bits().to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn run<N: Network<f32>>(args: &Args, dist: &Distributed) -> Result<(), Box<dyn std::error::Error>> {
    let (train, test) = load()?;
    let mut net = N::with_seed(args.seed);
    let mut sgd = Sgd::new(args.lr).momentum(0.9);
    let mut batches = Batches::new(train.len(), args.batch, args.seed)?;
    let mut step = 0u64;
    let mut epoch = 0usize;
    if args.resume {
        let path = args.checkpoint.as_deref().ok_or("--resume needs --checkpoint FILE")?;
        let checkpoint = net.load_checkpoint(path, &mut sgd)?;
        batches.restore("batches", &checkpoint)?;
        step = checkpoint.step;
        epoch = checkpoint.counter("epoch").unwrap_or(0) as usize;
    }
    dist.broadcast(&mut net);
    if dist.is_root() {
        println!(
            "{} on {} processes × {} threads, batch {} ({} chunks), step {step}",
            N::NAME,
            dist.size(),
            nn::runtime::exec::threads::count(),
            args.batch,
            nn::runtime::exec::chunks::count(args.batch, N::FLOPS, N::PARAMS, 4)
        );
    }
    let (start, first_step) = (Instant::now(), step);
    'training: while epoch < args.epochs {
        if !batches.in_epoch() {
            batches.shuffle();
        }
        while let Some((images, labels)) = batches.next_batch(&train)? {
            if args.die_at == Some(step) && dist.rank() == args.die_rank {
                // A crash: nothing is flushed or finalized.
                let pid = std::process::id().to_string();
                std::process::Command::new("kill").args(["-9", &pid]).status()?;
            }
            let loss = dist.train_step(&mut net, images, labels, &SoftmaxCrossEntropy, &mut sgd)?;
            step += 1;
            if let (Some(path), true) = (&args.checkpoint, args.every > 0 && step.is_multiple_of(args.every)) {
                if dist.is_root() {
                    let mut checkpoint = Checkpoint::new(step);
                    checkpoint.set_counter("epoch", epoch as u64);
                    batches.save("batches", &mut checkpoint);
                    net.save_checkpoint(path, &sgd, &checkpoint)?;
                }
                dist.barrier();
            }
            if dist.is_root() && step.is_multiple_of(20) {
                println!("step {step}: loss {loss:.4}");
            }
            if args.steps > 0 && step >= args.steps {
                break 'training;
            }
        }
        epoch += 1;
    }
    if dist.is_root() {
        let seconds = start.elapsed().as_secs_f64();
        net.eval();
        let mut correct = 0;
        let per = test.sample_len();
        for (images, labels) in test.images.chunks(500 * per).zip(test.labels.chunks(500)) {
            let logits = net.forward(images)?;
            correct += nn::argmax_rows(logits, 10)?.zip(labels).filter(|(p, l)| p == *l).count();
        }
        let images = (step - first_step) as f64 * args.batch as f64;
        println!("trained {step} steps in {seconds:.2} s ({:.0} images/s)", images / seconds);
        println!("final test accuracy: {:.2}%", 100.0 * correct as f64 / test.len() as f64);
        println!("weights fingerprint: {:016x}", fingerprint(net.params()));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let reduction = match args.reduction.as_str() {
        "exact" => Reduction::Exact,
        "allreduce" => Reduction::AllReduce,
        other => return Err(format!("--reduction: {other} is not exact or allreduce").into()),
    };
    let dist = Distributed::init()?.with_reduction(reduction);
    let result = match args.net.as_str() {
        "lenet5" => run::<LeNet5>(&args, &dist),
        "lenet5-bn" => run::<LeNet5Bn>(&args, &dist),
        other => Err(format!("--net: {other} is not lenet5 or lenet5-bn").into()),
    };
    // An error this process alone met (a checkpoint it could not write) ends the whole
    // job: returning would leave the others waiting in their next exchange.
    if let Err(error) = result {
        eprintln!("rank {}: error: {error}", dist.rank());
        dist.abort(1);
    }
    Ok(())
}
