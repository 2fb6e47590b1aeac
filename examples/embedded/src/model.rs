//! The model both sides run: LeNet-5 with the weights `examples/lenet5.rs --save` trained
//! and their int8 quantization (`examples/int8.rs --out DIR` writes `DIR/lenet5.int8`),
//! both embedded when this compiles, and 300 held-out MNIST digits with their labels.
//! `no_std`: the board's program (`main.rs`) and the host's check
//! (`examples/embedded_host.rs` in the project) include this same file.

use nn::network;

network! {
    /// LeNet-5 (LeCun et al., 1998), trained on 8,000 MNIST digits (97.65% on the 2,000
    /// held out): `cargo run --release --example lenet5 -- --save examples/embedded/lenet5.safetensors`.
    #[weights("../lenet5.safetensors")]
    #[int8_weights("../lenet5.int8")]
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
}

/// The normalization the weights were trained with, `(pixel / 255 − MEAN) / STD` over
/// the padded 32×32 images, as `lenet5 --save` printed it.
pub const MEAN: f64 = 0.10070238913067295;
pub const STD: f64 = 0.27621098353916473;

/// Each digit's label byte then its 28 × 28 pixel bytes (`tools/embedded_digits.py`).
static DIGITS: &[u8] = include_bytes!("../digits.bin");
const RECORD: usize = 1 + 28 * 28;

/// How many digits there are.
pub const fn digit_count() -> usize {
    DIGITS.len() / RECORD
}

/// Digit `i`'s label and pixels.
fn digit(i: usize) -> (u8, &'static [u8]) {
    let record = &DIGITS[i * RECORD..(i + 1) * RECORD];
    (record[0], &record[1..])
}

/// `pixels` (28 × 28) zero-padded to 32 × 32 and normalized into `input`, as the
/// training set was: `ImageSet::from_idx`, `padded(2)`, `normalize(MEAN, STD)`.
fn prepare(pixels: &[u8], input: &mut [f32; 1024]) {
    let (mean, inv) = (MEAN as f32, (1.0 / STD) as f32);
    input.fill((0.0 - mean) * inv);
    for (row, line) in pixels.chunks_exact(28).enumerate() {
        for (col, &p) in line.iter().enumerate() {
            input[(row + 2) * 32 + col + 2] = (f32::from(p) / 255.0 - mean) * inv;
        }
    }
}

/// Classifies every digit with `forward` (its input prepared in `input`, which the board
/// keeps in a `static`), reporting through `line` one line per digit and a summary with
/// the logits' hash: the lines the board and the host print, which `tools/embedded.sh`
/// compares.
pub fn classify_all(
    input: &mut [f32; 1024], mut forward: impl FnMut(&[f32; 1024]) -> [f32; 10],
    mut line: impl FnMut(core::fmt::Arguments),
) {
    let (mut correct, mut hash) = (0, HASH_START);
    for i in 0..digit_count() {
        let (label, pixels) = digit(i);
        prepare(pixels, input);
        let logits = forward(input);
        let predicted = argmax(&logits);
        hash = fold_bits(hash, &logits);
        correct += usize::from(predicted == usize::from(label));
        line(format_args!("digit {i}: label {label} predicted {predicted}"));
    }
    line(format_args!("{correct} of {} correct; logits hash {hash:016x}", digit_count()));
}

/// The class with the largest logit (the first of equal ones).
fn argmax(logits: &[f32; 10]) -> usize {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best
}

/// FNV-1a over the logits' bits: equal on two machines only where every logit is.
fn fold_bits(hash: u64, logits: &[f32; 10]) -> u64 {
    logits
        .iter()
        .flat_map(|v| v.to_bits().to_le_bytes())
        .fold(hash, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The FNV-1a offset basis, where [`fold_bits`] starts.
const HASH_START: u64 = 0xcbf2_9ce4_8422_2325;
