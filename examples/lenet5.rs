//! Trains LeNet-5 (LeCun et al., 1998) on 8,000 MNIST digits and reports the accuracy on
//! 2,000 held-out ones. The 28×28 digits are zero-padded to 32×32, as in the paper.
//!
//!     cargo run --release --example lenet5 [-- --epochs N --batch B --lr LR --data DIR --precision bf16 --save FILE]
//!
//! `--precision bf16` trains with bfloat16 products and f32 weights (mixed precision,
//! AVX-512 BF16). Either way the trained network is also tested with bfloat16
//! inference where the processor has it.
//! `--data DIR` reads `mnist10k-{train,test}-{images-idx3,labels-idx1}-ubyte.gz` (or any
//! MNIST-format IDX files with those names) instead of the embedded copy.
//! `--save FILE` writes the trained weights as safetensors (the embedded example's
//! `examples/embedded/lenet5.safetensors` is such a file) and prints the input
//! normalization they expect.

use indicatif::{ProgressBar, ProgressStyle};
use nn::data::{Batches, ImageSet};
use nn::prelude::*;
use std::time::Instant;

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

struct Options {
    epochs: usize,
    batch: usize,
    lr: f64,
    seed: u64,
    data: Option<String>,
    precision: nn::Precision,
    save: Option<String>,
    save_int8: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        epochs: 12,
        batch: 32,
        lr: 0.03,
        seed: 1,
        data: None,
        precision: nn::Precision::F32,
        save: None,
        save_int8: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--epochs" => options.epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--batch" => options.batch = value()?.parse().map_err(|e| format!("--batch: {e}"))?,
            "--lr" => options.lr = value()?.parse().map_err(|e| format!("--lr: {e}"))?,
            "--seed" => options.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--data" => options.data = Some(value()?),
            "--save" => options.save = Some(value()?),
            "--save-int8" => options.save_int8 = Some(value()?),
            "--precision" => {
                options.precision = match value()?.as_str() {
                    "f32" => nn::Precision::F32,
                    "bf16" => nn::Precision::Bf16,
                    other => return Err(format!("--precision: {other} is not f32 or bf16")),
                }
            }
            "-h" | "--help" => {
                println!(
                    "usage: lenet5 [--epochs N (12)] [--batch B (32)] [--lr LR (0.03)] [--seed S (1)] [--data DIR] [--precision f32|bf16] [--save FILE] [--save-int8 FILE]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}; try --help")),
        }
    }
    if options.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    Ok(options)
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
    println!("{}", LeNet5::summary());
    println!(
        "training on {} digits, testing on {} | batch {}, SGD lr {} (cosine decay) momentum 0.9, {} epochs, {:?} products\n",
        train.len(),
        test.len(),
        options.batch,
        options.lr,
        options.epochs,
        options.precision
    );
    let mut net = LeNet5::new(options.seed);
    net.set_training_precision(options.precision)?;
    let mut sgd = Sgd::new(options.lr).momentum(0.9);
    let mut batches = Batches::new(train.len(), options.batch, options.seed)?;
    let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
        .expect("valid template")
        .progress_chars("=> ");
    let mut final_accuracy = 0.0;
    let total_steps = options.epochs * train.len().div_ceil(options.batch);
    let mut step = 0;
    for epoch in 1..=options.epochs {
        let bar = ProgressBar::new(train.len() as u64).with_style(style.clone()).with_prefix(format!("{epoch:>2}"));
        batches.shuffle();
        let epoch_start = Instant::now();
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        while let Some((images, labels)) = batches.next_batch(&train)? {
            // Cosine decay from the base rate to zero over the whole run.
            let progress = step as f64 / total_steps as f64;
            sgd.lr = options.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            step += 1;
            let loss = net.train_step(images, labels, &SoftmaxCrossEntropy, &mut sgd)?;
            loss_sum += loss as f64 * labels.len() as f64;
            seen += labels.len();
            bar.inc(labels.len() as u64);
            let rate = seen as f64 / epoch_start.elapsed().as_secs_f64();
            bar.set_message(format!("loss {:.4}  {rate:.0} images/s", loss_sum / seen as f64));
        }
        let elapsed = epoch_start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        final_accuracy = accuracy(&mut net, &test)?;
        println!(
            "epoch {epoch:>2}: loss {:.4}  {:.0} images/s  test accuracy {:.2}%",
            loss_sum / seen as f64,
            seen as f64 / elapsed,
            100.0 * final_accuracy
        );
    }
    println!(
        "final test accuracy: {:.2}% on {} held-out digits ({:.1} s)",
        100.0 * final_accuracy,
        test.len(),
        start.elapsed().as_secs_f64()
    );
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
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(options) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
