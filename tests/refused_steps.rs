//! A training step that is refused leaves the network exactly as it was: parameters,
//! gradients, batch norm's running statistics and the dropout stream, bit for bit, on
//! the whole-batch path and the chunked one. Errors name the position in the whole batch.

use nn::prelude::*;
use nn::Error;

network! {
    #[derive(Clone)]
    Mlp: [16] => linear(16, 32) -> relu -> dropout(0.3) -> linear(32, 4);
    #[derive(Clone)]
    ConvNet: [1, 8, 8] => conv(1, 4, 3, padding = 1) -> relu -> maxpool(2) -> flatten -> linear(64, 3);
    #[derive(Clone)]
    Normed: [2, 6, 6] => conv(2, 4, 3) -> batchnorm(4) -> relu -> dropout(0.2) -> flatten -> linear(64, 3)
}

/// Every test runs batches of 8 or more in chunks of about 5 samples (these networks are
/// too small for the planned chunks to split batches this size): the chunked path and
/// the whole-batch one (smaller batches) both run. The same value in every test, as the
/// setting is process-wide.
fn chunks_of_five() {
    nn::runtime::exec::chunks::set_samples(5);
}

fn sample(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = nn::runtime::rng::Rng::new(seed);
    (0..len).map(|_| rng.uniform(-1.0, 1.0) as f32).collect()
}

/// Everything a step may change, as bits.
fn snapshot<N: Network<f32>>(net: &N) -> Vec<u32> {
    net.params().iter().chain(net.grads()).chain(net.buffers()).map(|v| v.to_bits()).collect()
}

/// `refused` must fail and leave `net` as it was: the same snapshot, and the next good
/// step (which draws dropout masks) gives the same result as on a network that never
/// saw the refused one.
fn refused_without_trace<N: Network<f32> + Clone>(
    net: &mut N, good: (&[f32], &[usize]), refused: impl FnOnce(&mut N) -> Result<(), Error>,
) -> Error {
    // A first good step, so that gradients and running statistics are not all zero.
    net.train_step(good.0, good.1, &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    let mut untouched = net.clone();
    let before = snapshot(net);
    let error = refused(net).unwrap_err();
    assert_eq!(snapshot(net), before, "the refused step changed the network ({error})");
    let a = net.train_step(good.0, good.1, &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    let b = untouched.train_step(good.0, good.1, &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
    assert_eq!(snapshot(net), snapshot(&untouched), "the random stream moved");
    error
}

#[test]
fn a_nan_input_is_refused_not_trained_in() {
    chunks_of_five();
    for batch in [4, 20] {
        let mut x = sample(batch * 16, 1);
        let labels: Vec<usize> = (0..batch).map(|i| i % 4).collect();
        let good = x.clone();
        x[5] = f32::NAN;
        let mut net = Mlp::new(3);
        let error = refused_without_trace(&mut net, (&good, &labels), |net| {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Adam::new(1e-3)).map(drop)
        });
        assert!(matches!(error, Error::NonFiniteLoss { .. }), "batch {batch}: {error}");
        // relu lets NaN through, as PyTorch's does, and max pooling too.
        let out = ConvNet::new(1).forward(&[f32::NAN; 64]).unwrap().to_vec();
        assert!(out.iter().all(|v| v.is_nan()), "{out:?}");
    }
}

/// A loss that is finite while a gradient overflows: the first layer's weights are tiny
/// (denormal), the second's huge, so the logits stay moderate (±~100) but the gradient
/// reaching the first layer is ~2·10³⁸ per unit input and overflows with inputs of 2.
#[test]
fn an_infinite_gradient_behind_a_finite_loss_is_refused_and_named() {
    chunks_of_five();
    let mut net = Mlp::new(2);
    let params = net.params_mut();
    let (first, rest) = params.split_at_mut(16 * 32);
    first.fill(1e-39);
    let (first_bias, rest) = rest.split_at_mut(32);
    first_bias.fill(0.0);
    let (second, second_bias) = rest.split_at_mut(4 * 32);
    // The label's row pushes its logit down, the others up: the loss gradient is large.
    for (row, weights) in second.chunks_exact_mut(32).enumerate() {
        weights.fill(if row == 1 { -1e38 } else { 1e38 });
    }
    second_bias.fill(0.0);
    let x = vec![2.0f32; 16];
    let loss = net.loss(&x, &[1], &SoftmaxCrossEntropy).unwrap();
    assert!(loss.is_finite() && loss > 10.0, "the setup's loss is finite: {loss}");
    let before = snapshot(&net);
    let e = net.train_step(&x, &[1], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap_err();
    assert!(matches!(e, Error::NonFiniteGradient { tensor: "0.weight", .. }), "{e}");
    assert!(e.to_string().contains("the gradient of 0.weight is NaN or infinite"), "{e}");
    assert_eq!(snapshot(&net), before);
}

#[test]
fn batch_norm_statistics_and_dropout_survive_every_refusal() {
    chunks_of_five();
    let x = sample(6 * 72, 7);
    let labels = [0, 1, 2, 0, 1, 2];
    let good = (&x[..], &labels[..]);
    let mut net = Normed::new(5);
    let e = refused_without_trace(&mut net, good, |net| {
        net.train_step(&x, &[0, 1, 2, 0, 1, 3], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).map(drop)
    });
    assert!(matches!(e, Error::LabelOutOfRange { position: 5, label: 3, classes: 3 }), "{e}");
    let e = refused_without_trace(&mut net, good, |net| {
        net.train_step(&x, &[0, 1], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).map(drop)
    });
    assert!(matches!(e, Error::TargetLength { expected: 6, found: 2, .. }), "{e}");
    let e = refused_without_trace(&mut net, good, |net| net.backward(&x, &[1.0; 5]).map(drop));
    assert!(matches!(e, Error::TargetLength { what: "output gradient", .. }), "{e}");
    let mut poisoned = x.clone();
    poisoned[40] = f32::INFINITY;
    let e = refused_without_trace(&mut net, good, |net| {
        net.train_step(&poisoned, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).map(drop)
    });
    assert!(matches!(e, Error::NonFiniteLoss { .. } | Error::NonFiniteGradient { .. }), "{e}");
}

#[test]
fn optimizer_settings_that_would_destroy_the_model_are_refused() {
    chunks_of_five();
    let x = sample(3 * 16, 9);
    let labels = [0, 1, 2];
    let mut net = Mlp::new(1);
    for lr in [f64::NAN, f64::INFINITY, -0.5] {
        let e = refused_without_trace(&mut net, (&x, &labels), |net| {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(lr)).map(drop)
        });
        assert!(e.to_string().contains("learning rate"), "{e}");
        let e = refused_without_trace(&mut net, (&x, &labels), |net| {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Adam::adamw(lr)).map(drop)
        });
        assert!(e.to_string().starts_with("AdamW: the learning rate"), "{e}");
    }
}

#[test]
fn chunked_batches_report_positions_in_the_whole_batch() {
    chunks_of_five();
    // 20 samples run as four chunks of 5: the bad label at 17 is reported at 17, and
    // the label count is the whole batch's.
    let x = sample(20 * 16, 11);
    let mut labels: Vec<usize> = (0..20).map(|i| i % 4).collect();
    let good = labels.clone();
    labels[17] = 9;
    let mut net = Mlp::new(2);
    let e = refused_without_trace(&mut net, (&x, &good), |net| {
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).map(drop)
    });
    assert!(matches!(e, Error::LabelOutOfRange { position: 17, label: 9, classes: 4 }), "{e}");
    let e = refused_without_trace(&mut net, (&x, &good), |net| {
        net.train_step(&x, &good[..10], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).map(drop)
    });
    assert!(matches!(e, Error::TargetLength { expected: 20, found: 10, batch: 20, .. }), "{e}");
}

mod property {
    use super::*;
    use proptest::prelude::*;

    /// One way to make a step fail.
    #[derive(Debug, Clone)]
    enum Poison {
        /// A NaN or an infinity at this input element (taken modulo the input's length).
        Input { at: usize, infinite: bool },
        /// A label past the last class at this position.
        Label { at: usize },
        /// Labels for a batch this many samples smaller or larger.
        LabelCount { off_by: isize },
        /// A non-finite or negative learning rate.
        LearningRate { lr: f64 },
    }

    fn poison() -> impl Strategy<Value = Poison> {
        prop_oneof![
            (any::<usize>(), any::<bool>()).prop_map(|(at, infinite)| Poison::Input { at, infinite }),
            any::<usize>().prop_map(|at| Poison::Label { at }),
            prop_oneof![-3isize..0, 1isize..4].prop_map(|off_by| Poison::LabelCount { off_by }),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), -10.0..-1e-9f64]
                .prop_map(|lr| Poison::LearningRate { lr }),
        ]
    }

    /// Applies `poison` to a good batch and runs the step on `net`.
    fn poisoned_step<N: Network<f32>>(
        net: &mut N, x: &[f32], labels: &[usize], classes: usize, poison: &Poison, adam: bool,
    ) -> Result<(), Error> {
        let (mut x, mut labels, mut lr) = (x.to_vec(), labels.to_vec(), 0.01);
        match *poison {
            Poison::Input { at, infinite } => {
                let at = at % x.len();
                x[at] = if infinite { f32::INFINITY } else { f32::NAN };
            }
            Poison::Label { at } => {
                let at = at % labels.len();
                labels[at] = classes + at % 3;
            }
            Poison::LabelCount { off_by } => labels.resize((labels.len() as isize + off_by).max(0) as usize, 0),
            Poison::LearningRate { lr: bad } => lr = bad,
        }
        if adam {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Adam::new(lr)).map(drop)
        } else {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut Sgd::new(lr).momentum(0.9)).map(drop)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any batch size (whole and chunked paths), any poison, with dropout and with batch
        /// norm: the refused step leaves no trace.
        #[test]
        fn a_refused_step_leaves_no_trace(batch in 2usize..40, poison in poison(), adam in any::<bool>(), seed in 0u64..1000) {
            super::chunks_of_five();
            let x = sample(batch * 16, seed);
            let labels: Vec<usize> = (0..batch).map(|i| (i + seed as usize) % 4).collect();
            let mut mlp = Mlp::new(seed);
            refused_without_trace(&mut mlp, (&x, &labels), |net| poisoned_step(net, &x, &labels, 4, &poison, adam));
            let x = sample(batch * 72, seed + 1);
            let labels: Vec<usize> = (0..batch).map(|i| (i + seed as usize) % 3).collect();
            let mut normed = Normed::new(seed);
            refused_without_trace(&mut normed, (&x, &labels), |net| poisoned_step(net, &x, &labels, 3, &poison, adam));
        }
    }
}
