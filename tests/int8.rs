//! Int8 inference through the public API: a trained network quantized, its outputs
//! beside the f32 network's, its model saved and loaded, and the mistakes a user can
//! make with it refused with errors that say what.

use nn::runtime::rng::Rng;
use nn::Int8Model;
use nn::{network, Network};

network! {
    /// Convolutions with padding, stride, dilation and groups, both poolings, fused and
    /// standalone activations, a view, dropout, and a last layer without activation.
    Small: [2, 12, 12] => conv(2, 6, 3, padding = 1) -> relu -> maxpool(2)
        -> conv(6, 8, 3, stride = 2, padding = 1, groups = 2) -> tanh -> avgpool(3, stride = 1, padding = 1)
        -> conv(8, 4, (3, 2), dilation = (1, 2)) -> elu -> dropout(0.2) -> flatten -> linear(4, 16) -> sigmoid
        -> linear(16, 3);
    /// Ends in an activation on its own: the output is dequantized.
    EndsInActivation: [6] => linear(6, 5) -> relu -> tanh;
    /// End in views after the last weighted layer, which writes `f32` for them.
    EndsInViews: [2, 6, 6] => conv(2, 3, 3, padding = 1) -> relu -> flatten;
    EndsInDropout: [4] => linear(4, 3) -> dropout(0.5);
}

fn inputs(samples: usize, len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..samples * len).map(|_| rng.uniform(-1.0, 1.0) as f32).collect()
}

/// The int8 network tracks the f32 one within a few quantization steps of the output
/// range, and its model survives a save and a load unchanged.
#[test]
fn quantized_outputs_track_f32_and_the_model_round_trips() {
    let mut net = Small::new(3);
    net.eval();
    let calibration = inputs(200, Small::INPUT_LEN, 1);
    let model = net.quantize(&calibration).unwrap();
    assert_eq!(model.weights.len(), SmallInt8::SIZES.weights);
    assert_eq!(model.bytes(), SmallInt8::WEIGHT_BYTES);
    let int8 = SmallInt8::from_model(&model).unwrap();
    let mut memory = Box::new(SmallInt8Memory::new());
    let test = inputs(50, Small::INPUT_LEN, 2);
    let expected = net.forward(&test).unwrap().to_vec();
    let spread = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut worst = 0f32;
    for (x, want) in test.chunks_exact(Small::INPUT_LEN).zip(expected.chunks_exact(3)) {
        let got = int8.forward(&mut memory, x.try_into().unwrap());
        for (g, w) in got.iter().zip(want) {
            worst = worst.max((g - w).abs());
        }
    }
    assert!(worst < 0.05 * spread.max(0.1), "int8 differs from f32 by {worst} (outputs up to {spread})");

    let dir = std::env::temp_dir().join(format!("nn-int8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("small.int8");
    model.save(&path).unwrap();
    assert_eq!(SmallInt8::load(&path).unwrap(), model);
    // The file is for `Small`: another network refuses it, naming why.
    let error = EndsInActivationInt8::load(&path).unwrap_err().to_string();
    assert!(error.contains("quantized for \"Small\"") && error.contains("\"weights\""), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_network_ending_in_an_activation_dequantizes_its_output() {
    let mut net = EndsInActivation::new(0);
    net.eval();
    let model = net.quantize(&inputs(100, 6, 4)).unwrap();
    let int8 = EndsInActivationInt8::from_model(&model).unwrap();
    let mut memory = EndsInActivationInt8Memory::new();
    let x = inputs(1, 6, 5);
    let want = net.forward(&x).unwrap().to_vec();
    let got = int8.forward(&mut memory, x.as_slice().try_into().unwrap());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 0.02, "{got:?} vs {want:?}");
        assert!(*g >= 0.0, "relu then tanh is never negative: {got:?}");
    }
}

#[test]
fn mistakes_are_errors_that_say_what() {
    let mut net = Small::new(0);
    // A calibration batch that is not a whole number of samples.
    let error = net.quantize(&[0.0; 10]).unwrap_err().to_string();
    assert!(error.contains("Small"), "{error}");
    // Non-finite calibration inputs.
    let mut bad = inputs(4, Small::INPUT_LEN, 6);
    bad[7] = f32::NAN;
    assert!(net.quantize(&bad).is_err());
    // A model of other lengths.
    let mut model = net.quantize(&inputs(8, Small::INPUT_LEN, 7)).unwrap();
    model.weights.pop();
    let error = SmallInt8::from_model(&model).err().unwrap().to_string();
    assert!(error.contains("weights hold"), "{error}");
    // Not a model at all.
    let dir = std::env::temp_dir().join(format!("nn-int8-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("junk.int8"), b"not a model").unwrap();
    let error = SmallInt8::load(dir.join("junk.int8")).unwrap_err().to_string();
    assert!(error.contains("not a valid safetensors file"), "{error}");
    assert!(SmallInt8::load(dir.join("missing.int8")).unwrap_err().to_string().contains("cannot read"));
    let _: Int8Model = model;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What follows the last weighted layer is only views: its `f32` output is the network's.
#[test]
fn networks_ending_in_views_keep_the_last_layers_output() {
    let mut views = EndsInViews::new(1);
    views.eval();
    let model = views.quantize(&inputs(50, EndsInViews::INPUT_LEN, 8)).unwrap();
    let int8 = EndsInViewsInt8::from_model(&model).unwrap();
    let mut memory = Box::new(EndsInViewsInt8Memory::new());
    let x = inputs(1, EndsInViews::INPUT_LEN, 9);
    let want = views.forward(&x).unwrap().to_vec();
    let got = int8.forward(&mut memory, x.as_slice().try_into().unwrap());
    let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
    assert!(worst < 0.05, "{worst}: {got:?} vs {want:?}");

    let mut dropout = EndsInDropout::new(2);
    dropout.eval();
    let model = dropout.quantize(&inputs(50, 4, 10)).unwrap();
    let int8 = EndsInDropoutInt8::from_model(&model).unwrap();
    let x = inputs(1, 4, 11);
    let want = dropout.forward(&x).unwrap().to_vec();
    let got = int8.forward(&mut EndsInDropoutInt8Memory::new(), x.as_slice().try_into().unwrap()).to_vec();
    let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
    assert!(worst < 0.05, "{worst}: {got:?} vs {want:?}");
}

/// A model whose quantization is out of range (a hand-edited file) is refused.
#[test]
fn a_model_with_an_impossible_zero_point_is_refused() {
    let mut net = EndsInDropout::new(0);
    net.eval();
    let mut model = net.quantize(&inputs(20, 4, 12)).unwrap();
    model.scales[1] = 300.0;
    let error = EndsInDropoutInt8::from_model(&model).err().unwrap().to_string();
    assert!(error.contains("zero point is 300"), "{error}");
}
