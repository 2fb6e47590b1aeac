//! Trains LeNet-5 (LeCun et al., 1998) on 8,000 MNIST digits and reports the accuracy on
//! 2,000 held-out ones. The 28×28 digits are zero-padded to 32×32, as in the paper.
//!
//!     cargo run --release --example lenet5 [-- --epochs N --batch B --lr LR --data DIR --precision bf16 --save FILE
//!                                              --history FILE.csv --checkpoint FILE --every STEPS]
//!
//! `--precision bf16` trains with bfloat16 products and f32 weights (mixed precision,
//! AVX-512 BF16). Either way the trained network is also tested with bfloat16
//! inference where the processor has it.
//! `--data DIR` reads `mnist10k-{train,test}-{images-idx3,labels-idx1}-ubyte.gz` (or any
//! MNIST-format IDX files with those names) instead of the embedded copy.
//! `--save FILE` writes the trained weights as safetensors (the embedded example's
//! `examples/embedded/lenet5.safetensors` is such a file) and prints the input
//! normalization they expect. `--history FILE.csv` writes the per-epoch history and its
//! curves (`FILE.png`); `--checkpoint FILE` checkpoints every `--every` steps and, run
//! again, resumes from the file to the weights an uninterrupted run reaches.

use clap::{Parser, ValueEnum};
use nn::data::{Batches, ImageSet};
use nn::prelude::*;
use nn::schedule::Cosine;
use std::path::PathBuf;
use std::time::Instant;

#[path = "support/history.rs"]
mod history_plot;

network! {
    /// LeNet-5 (LeCun et al., 1998), with PyTorch's default initialization.
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
}

const FILES: [&str; 4] = [
    "mnist10k-train-images-idx3-ubyte.gz",
    "mnist10k-train-labels-idx1-ubyte.gz",
    "mnist10k-test-images-idx3-ubyte.gz",
    "mnist10k-test-labels-idx1-ubyte.gz",
];

const EMBEDDED: [&[u8]; 4] = [
    include_bytes!("../data/mnist10k/mnist10k-train-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-train-labels-idx1-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-test-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-test-labels-idx1-ubyte.gz"),
];

/// Trains LeNet-5 on 8,000 MNIST digits and tests it on 2,000 others.
#[derive(Parser)]
#[command(version, about)]
struct Options {
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// SGD's learning rate at the start (momentum 0.9, cosine-decayed to zero)
    #[arg(long, default_value_t = 0.03)]
    lr: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder with mnist10k-{train,test}-{images-idx3,labels-idx1}-ubyte.gz instead of
    /// the embedded copy
    #[arg(long)]
    data: Option<String>,
    /// The products' precision in training: f32, or bf16 (mixed precision, AVX-512 BF16)
    #[arg(long, value_enum, default_value_t = Products::F32)]
    precision: Products,
    /// Writes the trained weights as safetensors
    #[arg(long)]
    save: Option<String>,
    /// Writes the int8 model
    #[arg(long)]
    save_int8: Option<String>,
    /// Writes the history as CSV to this file, and its curves as PNG beside it
    #[arg(long)]
    history: Option<PathBuf>,
    /// Checkpoints every this many steps to FILE (see --checkpoint)
    #[arg(long, default_value_t = 100)]
    every: u64,
    /// Checkpoint file: written every --every steps, resumed from when it exists
    #[arg(long)]
    checkpoint: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Products {
    F32,
    Bf16,
}

/// Train and test sets, padded to 32×32 and normalized with the training set's statistics.
/// Also returns the normalization, `(pixel / 255 − mean) / std` with the pixels of the
/// padded 32×32 images.
#[allow(clippy::type_complexity)]
fn load(dir: Option<&str>) -> Result<(ImageSet<f32>, ImageSet<f32>, (f64, f64)), nn::Error> {
    let mut idx = Vec::new();
    for (name, embedded) in FILES.iter().zip(EMBEDDED) {
        idx.push(match dir {
            Some(dir) => nn::idx::read(std::path::Path::new(dir).join(name))?,
            None => nn::idx::parse(embedded, name)?,
        });
    }
    let mut train = ImageSet::from_idx(&idx[0], &idx[1])?.padded(2)?;
    let mut test = ImageSet::from_idx(&idx[2], &idx[3])?.padded(2)?;
    let (mean, std) = train.pixel_stats();
    train.normalize(mean, std);
    test.normalize(mean, std);
    Ok((train, test, (mean, std)))
}

/// Fraction of `set` classified correctly, in eval mode, in batches of 500.
fn accuracy(net: &mut LeNet5, set: &ImageSet<f32>) -> Result<f64, nn::Error> {
    net.eval();
    let mut correct = 0;
    let per = set.sample_len();
    for (images, labels) in set.images.chunks(500 * per).zip(set.labels.chunks(500)) {
        let logits = net.forward(images)?;
        correct += nn::argmax_rows(logits, 10)?.zip(labels).filter(|(p, l)| p == *l).count();
    }
    net.train();
    Ok(correct as f64 / set.len() as f64)
}

fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let (train, test, (mean, std)) = load(options.data.as_deref())?;
    let precision = match options.precision {
        Products::F32 => nn::Precision::F32,
        Products::Bf16 => nn::Precision::Bf16,
    };
    println!("{}", LeNet5::summary());
    println!(
        "training on {} digits, testing on {} | batch {}, SGD lr {} (cosine decay) momentum 0.9, {} epochs, {precision:?} products\n",
        train.len(),
        test.len(),
        options.batch,
        options.lr,
        options.epochs,
    );
    let mut net = LeNet5::new(options.seed);
    net.set_training_precision(precision)?;
    let mut sgd = Sgd::new(options.lr).momentum(0.9);
    let mut batches = Batches::new(train.len(), options.batch, options.seed)?;
    let total_steps = (options.epochs * batches.per_epoch()) as u64;
    let mut fit = Fit::new(options.epochs)
        .schedule(Cosine { t_max: total_steps, eta_min: 0.0 })
        .validation(&test)
        .metric(Accuracy);
    if let Some(path) = &options.checkpoint {
        fit = fit.checkpoint(path, options.every).resume(true);
    }
    let history = fit.run(&mut net, &train, &mut batches, &SoftmaxCrossEntropy, &mut sgd)?;
    let final_accuracy = history.column("val_accuracy").and_then(|a| a.last().copied()).unwrap_or(f64::NAN);
    println!(
        "final test accuracy: {:.2}% on {} held-out digits ({:.1} s)",
        100.0 * final_accuracy,
        test.len(),
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = &options.history {
        history.write_csv(path)?;
        history_plot::register_font()?;
        history_plot::plot(&path.with_extension("png"), &[("LeNet-5", &history)])?;
        println!("history written to {} and its curves to {}", path.display(), path.with_extension("png").display());
    }
    if let Some(path) = &options.save {
        net.save(path)?;
        println!("weights saved to {path}; inputs are normalized as (pixel / 255 - {mean:?}) / {std:?}");
    }
    int8(&mut net, &train, &test, final_accuracy, options.save_int8.as_deref())?;
    // The opt-in bfloat16 inference (AVX-512 BF16) on the same weights and digits.
    match net.set_precision(nn::Precision::Bf16) {
        Ok(()) => {
            let bf16_accuracy = accuracy(&mut net, &test)?;
            println!(
                "bfloat16 inference: test accuracy {:.2}% ({:+.2} points against f32)",
                100.0 * bf16_accuracy,
                100.0 * (bf16_accuracy - final_accuracy)
            );
            net.set_precision(nn::Precision::F32)?;
        }
        Err(e) => println!("bfloat16 inference: not run ({e})"),
    }
    Ok(())
}

/// Post-training int8 quantization, calibrated on the first 1,000 training digits: its
/// accuracy and size against f32 (`examples/int8.rs` times the two).
fn int8(
    net: &mut LeNet5, train: &ImageSet<f32>, test: &ImageSet<f32>, f32_accuracy: f64, save: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let per = test.sample_len();
    let model = net.quantize(&train.images[..1000 * per])?;
    if let Some(path) = save {
        model.save(path)?;
    }
    let int8 = LeNet5Int8::from_model(&model)?;
    let mut memory = Box::new(LeNet5Int8Memory::new());
    let mut correct = 0;
    for (image, &label) in test.images.chunks(per).zip(&test.labels) {
        let logits = int8.forward(&mut memory, image.try_into()?);
        correct += nn::argmax_rows(logits, 10)?.filter(|&p| p == label).count();
    }
    let accuracy = correct as f64 / test.len() as f64;
    let f32_bytes = 4 * (LeNet5::PARAMS + <LeNet5 as Network<f32>>::BUFFERS);
    println!(
        "int8 inference: test accuracy {:.2}% ({:+.2} points against f32); weights {} bytes against {} in f32 \
         ({:.2}× smaller)",
        100.0 * accuracy,
        100.0 * (accuracy - f32_accuracy),
        model.bytes(),
        f32_bytes,
        f32_bytes as f64 / model.bytes() as f64,
    );
    Ok(())
}

fn main() {
    if let Err(e) = run(Options::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
