//! LeNet-5 in int8 against f32 (issue 16): the weights `examples/lenet5.rs --save` trained
//! (`examples/embedded/lenet5.safetensors`), quantized after training with the first
//! 1,000 training digits as calibration, then the accuracy on the 2,000 held-out digits,
//! the model's size and the time per digit (one at a time, as on a device) and per
//! batch of 256 (the f32 network's own batched inference) for both. `bench/int8.sh`
//! runs it beside ONNX Runtime quantizing the same network with its own tools.
//!
//!     cargo run --release --example int8 [-- --rounds N --out DIR]
//!
//! With `--out DIR` it also writes what ONNX Runtime needs to do the same: the
//! normalized calibration and test digits (`calibration.f32`, `test.f32`, little-endian
//! `f32`), the test labels (`test.labels`, bytes) and the int8 model (`lenet5.int8`).

use nn::data::ImageSet;
use nn::prelude::*;
use std::time::Instant;

#[allow(dead_code)]
#[path = "support/networks.rs"]
mod networks;
#[allow(dead_code)]
#[path = "support/timing.rs"]
mod timing;
use networks::{LeNet5, LeNet5Inference, LeNet5Int8, LeNet5Int8Memory, LeNet5Memory};

const DATA: [&[u8]; 4] = [
    include_bytes!("../data/mnist10k/mnist10k-train-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-train-labels-idx1-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-test-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist10k/mnist10k-test-labels-idx1-ubyte.gz"),
];

/// Train and test digits as `examples/lenet5.rs` prepares them.
fn digits() -> Result<(ImageSet<f32>, ImageSet<f32>), nn::Error> {
    let idx: Vec<_> = DATA.iter().map(|bytes| nn::idx::parse(bytes, "mnist10k")).collect::<Result<_, _>>()?;
    let mut train = ImageSet::from_idx(&idx[0], &idx[1])?.padded(2)?;
    let mut test = ImageSet::from_idx(&idx[2], &idx[3])?.padded(2)?;
    let (mean, std) = train.pixel_stats();
    train.normalize(mean, std);
    test.normalize(mean, std);
    Ok((train, test))
}

fn argmax(logits: &[f32]) -> usize {
    (0..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best })
}

fn write_f32(path: std::path::PathBuf, values: &[f32]) -> std::io::Result<()> {
    std::fs::write(path, values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds = timing::rounds_argument(5);
    let args: Vec<String> = std::env::args().collect();
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).map(std::path::PathBuf::from);
    let (train, test) = digits()?;
    let per = LeNet5::INPUT_LEN;
    let mut net = LeNet5::new(0);
    net.load(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embedded/lenet5.safetensors"))?;
    net.eval();
    let calibration = &train.images[..1000 * per];
    let start = Instant::now();
    let model = net.quantize(calibration)?;
    let quantize_s = start.elapsed().as_secs_f64();
    let int8 = LeNet5Int8::from_model(&model)?;
    let weights: Vec<f32> = net.params().iter().chain(net.buffers()).copied().collect();
    let f32_static = LeNet5Inference::new(weights.as_slice().try_into()?);
    let (mut memory, mut memory_f32) = (Box::new(LeNet5Int8Memory::new()), Box::new(LeNet5Memory::new()));

    let (mut correct_int8, mut correct_f32, mut agree) = (0, 0, 0);
    for (image, &label) in test.images.chunks(per).zip(&test.labels) {
        let image: &[f32; 1024] = image.try_into()?;
        let a = argmax(int8.forward(&mut memory, image));
        let b = argmax(f32_static.forward(&mut memory_f32, image));
        correct_int8 += usize::from(a == label);
        correct_f32 += usize::from(b == label);
        agree += usize::from(a == b);
    }
    let n = test.len() as f64;
    let one_at_a_time = |f: &mut dyn FnMut(&[f32; 1024])| {
        timing::median_seconds(rounds, 0.3, 1, 1, || {
            for image in test.images.chunks_exact(per) {
                f(image.try_into().expect("one digit"));
            }
        }) / n
    };
    let int8_s = one_at_a_time(&mut |image| {
        std::hint::black_box(int8.forward(&mut memory, image));
    });
    let f32_s = one_at_a_time(&mut |image| {
        std::hint::black_box(f32_static.forward(&mut memory_f32, image));
    });
    let batched_s = timing::median_seconds(rounds, 0.3, 1, 1, || {
        for batch in test.images.chunks(256 * per) {
            std::hint::black_box(net.forward(batch).expect("a valid batch"));
        }
    }) / n;

    println!(
        "LeNet-5, {} held-out digits, calibration: the first 1,000 training digits ({quantize_s:.2} s)",
        test.len()
    );
    println!("| | accuracy | weights (bytes) | µs per digit, one at a time | µs per digit, batches of 256 |");
    println!("|---|---|---|---|---|");
    println!(
        "| nn f32 | {:.2}% | {} | {:.2} | {:.2} |",
        100.0 * correct_f32 as f64 / n,
        4 * weights.len(),
        1e6 * f32_s,
        1e6 * batched_s
    );
    println!(
        "| nn int8 | {:.2}% | {} ({} of them the int8 weights) | {:.2} | — |",
        100.0 * correct_int8 as f64 / n,
        model.bytes(),
        model.weights.len(),
        1e6 * int8_s
    );
    println!("int8 and f32 agree on {agree} of {} digits", test.len());
    println!(
        "RESULT {{\"f32_accuracy\": {}, \"int8_accuracy\": {}, \"f32_bytes\": {}, \"int8_bytes\": {}, \"int8_weight_bytes\": {}, \
         \"f32_us\": {}, \"int8_us\": {}, \"f32_batched_us\": {}}}",
        correct_f32 as f64 / n,
        correct_int8 as f64 / n,
        4 * weights.len(),
        model.bytes(),
        model.weights.len(),
        1e6 * f32_s,
        1e6 * int8_s,
        1e6 * batched_s
    );
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir)?;
        write_f32(dir.join("calibration.f32"), calibration)?;
        write_f32(dir.join("test.f32"), &test.images)?;
        std::fs::write(dir.join("test.labels"), test.labels.iter().map(|&l| l as u8).collect::<Vec<u8>>())?;
        model.save(dir.join("lenet5.int8"))?;
    }
    Ok(())
}
