//! Parity with PyTorch for the training toolbox: RMSprop and Adagrad step by step,
//! NLL and cross-entropy with probability targets (value and gradient), and the
//! learning-rate schedules, against `tests/fixtures/training/reference.safetensors`
//! (written by `tools/training_reference.py`, float64).

use nn::schedule::{Cosine, MultiStep, OneCycle, Schedule, StepDecay, Warmup};
use nn::{Adagrad, Loss, NllLoss, Optimizer, ProbabilityCrossEntropy, RmsProp, SoftmaxCrossEntropy};
use safetensors::SafeTensors;

const FIXTURE: &[u8] = include_bytes!("fixtures/training/reference.safetensors");

fn tensor(name: &str) -> (Vec<f64>, Vec<usize>) {
    let file = SafeTensors::deserialize(FIXTURE).unwrap();
    let view = file.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let values = match view.dtype() {
        safetensors::Dtype::F64 => {
            view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
        }
        safetensors::Dtype::I64 => {
            view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64).collect()
        }
        other => panic!("{name}: {other:?}"),
    };
    (values, view.shape().to_vec())
}

fn assert_close(ours: &[f64], theirs: &[f64], tolerance: f64, what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!((a - b).abs() <= tolerance * (1.0 + b.abs()), "{what}[{i}]: ours {a}, PyTorch {b}");
    }
}

fn check_optimizer(name: &str, mut optimizer: impl Optimizer<f64>) {
    let (mut params, _) = tensor("optim.init");
    let (grads, shape) = tensor("optim.grads");
    let (expected, _) = tensor(&format!("optim.{name}.params"));
    let n = shape[1];
    optimizer.check().unwrap();
    for step in 0..shape[0] {
        optimizer.step(&mut params, &grads[step * n..(step + 1) * n]);
        assert_close(&params, &expected[step * n..(step + 1) * n], 1e-13, &format!("{name}, step {}", step + 1));
    }
}

#[test]
fn rmsprop_matches_torch_optim() {
    check_optimizer("rmsprop", RmsProp::new(0.01));
    check_optimizer("rmsprop_tuned", RmsProp::new(0.003).alpha(0.9).eps(1e-6).weight_decay(0.1));
    check_optimizer("rmsprop_momentum", RmsProp::new(0.01).momentum(0.9));
    check_optimizer("rmsprop_centered", RmsProp::new(0.01).centered(true).momentum(0.5).weight_decay(0.01));
}

#[test]
fn adagrad_matches_torch_optim() {
    check_optimizer("adagrad", Adagrad::new(0.1));
    check_optimizer(
        "adagrad_tuned",
        Adagrad::new(0.1).lr_decay(0.05).weight_decay(0.1).initial_accumulator_value(0.1).eps(1e-8),
    );
}

/// Keras' RMSprop (ε inside the root, ρ 0.9, ε 1e-7), by hand: Keras is not a fixture.
#[test]
fn keras_rmsprop_puts_epsilon_inside_the_root() {
    let mut optimizer = RmsProp::<f64>::keras(0.001);
    let mut p = [1.0, -2.0];
    let g = [0.5, 1e-4];
    optimizer.step(&mut p, &g);
    for i in 0..2 {
        let v = 0.1 * g[i] * g[i];
        let want = [1.0, -2.0][i] - 0.001 * g[i] / (v + 1e-7f64).sqrt();
        assert!((p[i] - want).abs() < 1e-15, "{i}: {} vs {want}", p[i]);
    }
}

fn check_loss<L: Loss<f64>>(loss: &L, tag: &str, name: &str, target: &L::Target, input: &[f64], shape: &[usize]) {
    let (value, _) = tensor(&format!("loss.{tag}.{name}.value"));
    let (grad, _) = tensor(&format!("loss.{tag}.{name}.grad"));
    let mut ours = vec![f64::NAN; input.len()];
    let got = loss.evaluate(input, &shape[1..], target, shape[0], Some(&mut ours)).unwrap();
    assert_close(&[got], &value, 1e-14, &format!("{tag} {name} value"));
    assert_close(&ours, &grad, 1e-14, &format!("{tag} {name} gradient"));
    assert_eq!(loss.evaluate(input, &shape[1..], target, shape[0], None).unwrap(), got);
}

#[test]
fn nll_and_probability_cross_entropy_match_torch_nn() {
    for tag in ["4x5", "4x3x2x2"] {
        let (input, shape) = tensor(&format!("loss.{tag}.input"));
        let labels: Vec<usize> = tensor(&format!("loss.{tag}.labels")).0.iter().map(|&l| l as usize).collect();
        let (probs, _) = tensor(&format!("loss.{tag}.probs"));
        check_loss(&NllLoss, tag, "nll", &labels[..], &input, &shape);
        check_loss(&ProbabilityCrossEntropy, tag, "probability_ce", &probs[..], &input, &shape);
        // NLL after log-softmax is cross-entropy on the logits: compare the values.
        let (value, _) = tensor(&format!("loss.{tag}.nll_log_softmax.value"));
        let ce = SoftmaxCrossEntropy.evaluate(&input, &shape[1..], &labels[..], shape[0], None).unwrap();
        assert_close(&[ce], &value, 1e-14, &format!("{tag} cross-entropy = NLL of log-softmax"));
    }
}

#[test]
fn schedules_match_torch_lr_scheduler_step_by_step() {
    let schedules: [(&str, Box<dyn Schedule>); 7] = [
        ("step", Box::new(StepDecay { step_size: 7, gamma: 0.5 })),
        ("multistep", Box::new(MultiStep { milestones: vec![5, 12, 30], gamma: 0.1 })),
        ("cosine", Box::new(Cosine { t_max: 40, eta_min: 0.001 })),
        ("cosine_short", Box::new(Cosine { t_max: 15, eta_min: 0.0 })),
        ("onecycle", Box::new(OneCycle::new(40))),
        (
            "onecycle_tuned",
            Box::new(OneCycle { total_steps: 40, pct_start: 0.25, div_factor: 10.0, final_div_factor: 100.0 }),
        ),
        ("warmup_cosine", Box::new(Warmup { steps: 5, start_factor: 0.1, then: Cosine { t_max: 35, eta_min: 0.0 } })),
    ];
    for (name, schedule) in schedules {
        let (expected, _) = tensor(&format!("schedule.{name}"));
        let ours: Vec<f64> = (0..expected.len() as u64).map(|t| schedule.lr(0.1, t)).collect();
        assert_close(&ours, &expected, 1e-12, name);
    }
}
