//! Optimizers with PyTorch's update rules and state (`torch.optim.SGD`, `Adam`, `AdamW`,
//! `RMSprop`, `Adagrad`).
//! State is allocated on the first step, so later steps allocate nothing.

use crate::error::Error;
use crate::float::Float;

/// Builder methods that set one field each: `setters! { momentum: f64 }` gives
/// `fn momentum(mut self, momentum: f64) -> Self`.
macro_rules! setters {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(
            pub fn $field(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}

/// [`Optimizer::lr`] and [`Optimizer::set_lr`] on an optimizer's `lr` field.
macro_rules! learning_rate_field {
    () => {
        fn lr(&self) -> f64 {
            self.lr
        }
        fn set_lr(&mut self, lr: f64) {
            self.lr = lr;
        }
    };
}

/// Updates parameters in place from their gradients.
pub trait Optimizer<F: Float> {
    fn step(&mut self, params: &mut [F], grads: &[F]);
    /// The learning rate the next step uses.
    fn lr(&self) -> f64;
    /// Sets the learning rate (what a [schedule](crate::train::schedule) does).
    fn set_lr(&mut self, lr: f64);
    /// Whether the hyper-parameters are usable: finite, and within the ranges PyTorch
    /// accepts. A training step asks before it changes anything, so settings that
    /// would destroy every parameter (a NaN learning rate) are refused, not applied.
    fn check(&self) -> Result<(), Error> {
        Ok(())
    }
    /// The state a checkpoint keeps: the optimizer's name, its step count and its
    /// named per-parameter tensors (none before the first step). Stateless by default.
    fn state(&self) -> State<&[F]> {
        State { name: "stateless".to_string(), steps: 0, tensors: Vec::new() }
    }
    /// Restores what [`Optimizer::state`] returned (each tensor as long as the
    /// parameters, which the caller checks); on error the optimizer is unchanged.
    fn set_state(&mut self, state: State<Vec<F>>) -> Result<(), String> {
        expect_tensors(&state, "stateless", &[])?;
        Ok(())
    }
}

/// An optimizer's state (see [`Optimizer::state`]).
#[derive(Debug, Clone, PartialEq)]
pub struct State<T> {
    pub name: String,
    pub steps: u64,
    pub tensors: Vec<(String, T)>,
}

/// `Ok` when `state` is `name`'s, with exactly the tensors `keys` in any order (or none
/// at all).
fn expect_tensors<T>(state: &State<T>, name: &str, keys: &[&str]) -> Result<(), String> {
    if state.name != name {
        return Err(format!("it holds the state of {}, not of {name}", state.name));
    }
    let mut found: Vec<&str> = state.tensors.iter().map(|(k, _)| k.as_str()).collect();
    let mut expected = keys.to_vec();
    found.sort_unstable();
    expected.sort_unstable();
    if !found.is_empty() && found != expected {
        return Err(format!("{name}'s state has tensors {keys:?}, the checkpoint {found:?}"));
    }
    Ok(())
}

/// `Ok` if `value` is finite and at least 0 (and below `below`, if given); else the
/// error naming the optimizer's setting, as PyTorch's `ValueError` does.
fn check_setting(optimizer: &'static str, setting: &str, value: f64, below: Option<f64>) -> Result<(), Error> {
    let fits = value.is_finite() && value >= 0.0 && below.is_none_or(|limit| value < limit);
    if fits {
        return Ok(());
    }
    let range = match below {
        Some(limit) => format!("in [0, {limit})"),
        None => "finite and at least 0".to_string(),
    };
    Err(Error::Optimizer { optimizer, message: format!("{setting} is {value}; it must be {range}") })
}

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and
/// L2 weight decay, exactly as `torch.optim.SGD`.
#[derive(Debug, Clone)]
pub struct Sgd<F: Float = f32> {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
    velocity: Vec<F>,
}

impl<F: Float> Sgd<F> {
    /// Plain SGD: `p ← p − lr·g`.
    pub fn new(lr: f64) -> Self {
        Sgd { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, velocity: Vec::new() }
    }
    setters! { momentum: f64, dampening: f64, nesterov: bool, weight_decay: f64 }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    learning_rate_field!();

    fn check(&self) -> Result<(), Error> {
        check_setting("SGD", "the learning rate", self.lr, None)?;
        check_setting("SGD", "momentum", self.momentum, None)?;
        check_setting("SGD", "dampening", self.dampening, None)?;
        check_setting("SGD", "weight decay", self.weight_decay, None)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            let message = "Nesterov momentum needs a momentum above 0 and zero dampening".to_string();
            return Err(Error::Optimizer { optimizer: "SGD", message });
        }
        Ok(())
    }

    fn state(&self) -> State<&[F]> {
        let tensors =
            if self.velocity.is_empty() { Vec::new() } else { vec![("momentum_buffer".into(), &self.velocity[..])] };
        State { name: "SGD".to_string(), steps: 0, tensors }
    }

    fn set_state(&mut self, state: State<Vec<F>>) -> Result<(), String> {
        expect_tensors(&state, "SGD", &["momentum_buffer"])?;
        self.velocity = state.tensors.into_iter().next().map(|(_, v)| v).unwrap_or_default();
        Ok(())
    }

    fn step(&mut self, params: &mut [F], grads: &[F]) {
        assert_eq!(params.len(), grads.len(), "optimizer: parameters and gradients differ in length");
        let lr = F::from_f64(self.lr);
        let wd = F::from_f64(self.weight_decay);
        let momentum = F::from_f64(self.momentum);
        let keep = F::from_f64(1.0 - self.dampening);
        if self.momentum == 0.0 {
            for (p, &g) in params.iter_mut().zip(grads) {
                let g = if self.weight_decay != 0.0 { g + wd * *p } else { g };
                *p -= lr * g;
            }
            return;
        }
        // PyTorch's first step sets the buffer to the gradient itself (no dampening).
        let first = self.velocity.len() != params.len();
        if first {
            self.velocity = vec![F::ZERO; params.len()];
        }
        for ((p, &g), v) in params.iter_mut().zip(grads).zip(self.velocity.iter_mut()) {
            let g = if self.weight_decay != 0.0 { g + wd * *p } else { g };
            *v = if first { g } else { momentum * *v + keep * g };
            let update = if self.nesterov { g + momentum * *v } else { *v };
            *p -= lr * update;
        }
    }
}

/// Adam (`decoupled = false`, L2 weight decay added to the gradient) or AdamW
/// (`decoupled = true`, weights shrunk by `lr·wd` directly), with bias correction,
/// computed in the same order as PyTorch's single-tensor implementation.
#[derive(Debug, Clone)]
pub struct Adam<F: Float = f32> {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled: bool,
    steps: u32,
    m: Vec<F>,
    v: Vec<F>,
}

impl<F: Float> Adam<F> {
    /// `torch.optim.Adam(lr=lr)`: betas (0.9, 0.999), eps 1e-8, no weight decay.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            steps: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }
    /// `torch.optim.AdamW(lr=lr)`: as Adam with decoupled weight decay 0.01.
    pub fn adamw(lr: f64) -> Self {
        Adam { weight_decay: 0.01, decoupled: true, ..Self::new(lr) }
    }
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    setters! { eps: f64, weight_decay: f64 }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    learning_rate_field!();

    fn check(&self) -> Result<(), Error> {
        let name = if self.decoupled { "AdamW" } else { "Adam" };
        check_setting(name, "the learning rate", self.lr, None)?;
        check_setting(name, "beta1", self.beta1, Some(1.0))?;
        check_setting(name, "beta2", self.beta2, Some(1.0))?;
        check_setting(name, "eps", self.eps, None)?;
        check_setting(name, "weight decay", self.weight_decay, None)
    }

    fn state(&self) -> State<&[F]> {
        let name = if self.decoupled { "AdamW" } else { "Adam" };
        let tensors = if self.m.is_empty() {
            Vec::new()
        } else {
            vec![("exp_avg".into(), &self.m[..]), ("exp_avg_sq".into(), &self.v[..])]
        };
        State { name: name.to_string(), steps: self.steps as u64, tensors }
    }

    fn set_state(&mut self, state: State<Vec<F>>) -> Result<(), String> {
        let name = if self.decoupled { "AdamW" } else { "Adam" };
        expect_tensors(&state, name, &["exp_avg", "exp_avg_sq"])?;
        let steps = u32::try_from(state.steps)
            .ok()
            .filter(|&s| s < i32::MAX as u32)
            .ok_or_else(|| format!("{} steps is more than Adam counts", state.steps))?;
        if (steps == 0) != state.tensors.is_empty() {
            return Err(format!("{steps} steps with {} moment tensors: Adam has both or neither", state.tensors.len()));
        }
        let mut tensors = state.tensors;
        let mut take = |key: &str| tensors.iter_mut().find(|(k, _)| k == key).map(|(_, t)| std::mem::take(t));
        (self.m, self.v) = (take("exp_avg").unwrap_or_default(), take("exp_avg_sq").unwrap_or_default());
        self.steps = steps;
        Ok(())
    }

    fn step(&mut self, params: &mut [F], grads: &[F]) {
        assert_eq!(params.len(), grads.len(), "optimizer: parameters and gradients differ in length");
        if self.m.len() != params.len() {
            self.m = vec![F::ZERO; params.len()];
            self.v = vec![F::ZERO; params.len()];
            self.steps = 0;
        }
        self.steps += 1;
        let t = self.steps as i32;
        let bias1 = 1.0 - self.beta1.powi(t);
        let bias2 = 1.0 - self.beta2.powi(t);
        let step_size = F::from_f64(self.lr / bias1);
        let bias2_sqrt = F::from_f64(bias2.sqrt());
        let (b1, b2) = (F::from_f64(self.beta1), F::from_f64(self.beta2));
        let (one_b1, one_b2) = (F::from_f64(1.0 - self.beta1), F::from_f64(1.0 - self.beta2));
        let eps = F::from_f64(self.eps);
        let wd = F::from_f64(self.weight_decay);
        let shrink = F::from_f64(1.0 - self.lr * self.weight_decay);
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(self.m.iter_mut()).zip(self.v.iter_mut()) {
            let mut g = g;
            if self.weight_decay != 0.0 {
                if self.decoupled {
                    *p *= shrink;
                } else {
                    g += wd * *p;
                }
            }
            *m = b1 * *m + one_b1 * g;
            *v = b2 * *v + one_b2 * g * g;
            let denom = v.sqrt() / bias2_sqrt + eps;
            *p -= step_size * *m / denom;
        }
    }
}

/// RMSprop as `torch.optim.RMSprop`: a running mean of squared gradients divides each
/// step, optionally centered (the running mean of the gradients' square subtracted) and
/// with momentum. [`RmsProp::keras`] gives Keras' variant, whose ε sits inside the root.
#[derive(Debug, Clone)]
pub struct RmsProp<F: Float = f32> {
    pub lr: f64,
    /// The squared gradients' decay (PyTorch's `alpha`, Keras' `rho`).
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
    /// `√(v + ε)` (Keras) instead of `√v + ε` (PyTorch).
    pub eps_inside_root: bool,
    steps: u64,
    square_avg: Vec<F>,
    momentum_buffer: Vec<F>,
    grad_avg: Vec<F>,
}

impl<F: Float> RmsProp<F> {
    /// `torch.optim.RMSprop(lr=lr)`: alpha 0.99, eps 1e-8, no momentum, not centered.
    pub fn new(lr: f64) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            eps_inside_root: false,
            steps: 0,
            square_avg: Vec::new(),
            momentum_buffer: Vec::new(),
            grad_avg: Vec::new(),
        }
    }
    /// `keras.optimizers.RMSprop(learning_rate=lr)`: rho 0.9, epsilon 1e-7 inside the
    /// square root, no momentum, not centered.
    pub fn keras(lr: f64) -> Self {
        RmsProp { alpha: 0.9, eps: 1e-7, eps_inside_root: true, ..Self::new(lr) }
    }
    setters! { alpha: f64, eps: f64, weight_decay: f64, momentum: f64, centered: bool }
    fn name(&self) -> &'static str {
        if self.eps_inside_root {
            "RMSprop (Keras)"
        } else {
            "RMSprop"
        }
    }
    /// The state tensors these settings keep, in order.
    fn keys(&self) -> Vec<&'static str> {
        let mut keys = vec!["square_avg"];
        if self.momentum > 0.0 {
            keys.push("momentum_buffer");
        }
        if self.centered {
            keys.push("grad_avg");
        }
        keys
    }
}

impl<F: Float> Optimizer<F> for RmsProp<F> {
    learning_rate_field!();

    fn check(&self) -> Result<(), Error> {
        let name = self.name();
        check_setting(name, "the learning rate", self.lr, None)?;
        check_setting(name, "alpha", self.alpha, None)?;
        check_setting(name, "eps", self.eps, None)?;
        check_setting(name, "weight decay", self.weight_decay, None)?;
        check_setting(name, "momentum", self.momentum, None)
    }

    fn state(&self) -> State<&[F]> {
        let mut tensors = Vec::new();
        if !self.square_avg.is_empty() {
            tensors.push(("square_avg".to_string(), &self.square_avg[..]));
            if self.momentum > 0.0 {
                tensors.push(("momentum_buffer".to_string(), &self.momentum_buffer[..]));
            }
            if self.centered {
                tensors.push(("grad_avg".to_string(), &self.grad_avg[..]));
            }
        }
        State { name: self.name().to_string(), steps: self.steps, tensors }
    }

    fn set_state(&mut self, state: State<Vec<F>>) -> Result<(), String> {
        let keys = self.keys();
        expect_tensors(&state, self.name(), &keys)?;
        let mut tensors = state.tensors;
        let mut take = |key: &str| tensors.iter_mut().find(|(k, _)| k == key).map(|(_, t)| std::mem::take(t));
        self.square_avg = take("square_avg").unwrap_or_default();
        self.momentum_buffer = take("momentum_buffer").unwrap_or_default();
        self.grad_avg = take("grad_avg").unwrap_or_default();
        self.steps = state.steps;
        Ok(())
    }

    fn step(&mut self, params: &mut [F], grads: &[F]) {
        assert_eq!(params.len(), grads.len(), "optimizer: parameters and gradients differ in length");
        let n = params.len();
        if self.square_avg.len() != n {
            self.square_avg = vec![F::ZERO; n];
            self.steps = 0;
        }
        if self.momentum > 0.0 && self.momentum_buffer.len() != n {
            self.momentum_buffer = vec![F::ZERO; n];
        }
        if self.centered && self.grad_avg.len() != n {
            self.grad_avg = vec![F::ZERO; n];
        }
        self.steps += 1;
        let (lr, alpha, one_alpha) = (F::from_f64(self.lr), F::from_f64(self.alpha), F::from_f64(1.0 - self.alpha));
        let (eps, wd, momentum) = (F::from_f64(self.eps), F::from_f64(self.weight_decay), F::from_f64(self.momentum));
        for i in 0..n {
            let mut g = grads[i];
            if self.weight_decay != 0.0 {
                g += wd * params[i];
            }
            let v = &mut self.square_avg[i];
            *v = *v * alpha + g * g * one_alpha;
            let mut v = *v;
            if self.centered {
                // torch's lerp: a + w·(b − a).
                let a = &mut self.grad_avg[i];
                *a += one_alpha * (g - *a);
                v -= *a * *a;
            }
            let denominator = if self.eps_inside_root { (v + eps).sqrt() } else { v.sqrt() + eps };
            if self.momentum > 0.0 {
                let b = &mut self.momentum_buffer[i];
                *b = *b * momentum + g / denominator;
                params[i] -= lr * *b;
            } else if self.eps_inside_root {
                params[i] -= lr * g / denominator; // Keras: p − lr·g / √(v + ε)
            } else {
                params[i] += -lr * (g / denominator); // torch: addcdiv_(g, avg, value=−lr)
            }
        }
    }
}

/// Adagrad as `torch.optim.Adagrad`: each parameter's step divided by the root of the
/// sum of its squared gradients, the rate decayed as `lr / (1 + (t − 1)·lr_decay)`.
#[derive(Debug, Clone)]
pub struct Adagrad<F: Float = f32> {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub initial_accumulator_value: f64,
    pub eps: f64,
    steps: u64,
    sum: Vec<F>,
}

impl<F: Float> Adagrad<F> {
    /// `torch.optim.Adagrad(lr=lr)`: no decays, accumulators from 0, eps 1e-10.
    pub fn new(lr: f64) -> Self {
        Adagrad {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            steps: 0,
            sum: Vec::new(),
        }
    }
    setters! { lr_decay: f64, weight_decay: f64, initial_accumulator_value: f64, eps: f64 }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
    learning_rate_field!();

    fn check(&self) -> Result<(), Error> {
        check_setting("Adagrad", "the learning rate", self.lr, None)?;
        check_setting("Adagrad", "lr_decay", self.lr_decay, None)?;
        check_setting("Adagrad", "weight decay", self.weight_decay, None)?;
        check_setting("Adagrad", "initial_accumulator_value", self.initial_accumulator_value, None)?;
        check_setting("Adagrad", "eps", self.eps, None)
    }

    fn state(&self) -> State<&[F]> {
        let tensors = if self.sum.is_empty() { Vec::new() } else { vec![("sum".to_string(), &self.sum[..])] };
        State { name: "Adagrad".to_string(), steps: self.steps, tensors }
    }

    fn set_state(&mut self, state: State<Vec<F>>) -> Result<(), String> {
        expect_tensors(&state, "Adagrad", &["sum"])?;
        self.sum = state.tensors.into_iter().next().map(|(_, t)| t).unwrap_or_default();
        self.steps = state.steps;
        Ok(())
    }

    fn step(&mut self, params: &mut [F], grads: &[F]) {
        assert_eq!(params.len(), grads.len(), "optimizer: parameters and gradients differ in length");
        if self.sum.len() != params.len() {
            self.sum = vec![F::from_f64(self.initial_accumulator_value); params.len()];
            self.steps = 0;
        }
        self.steps += 1;
        let clr = F::from_f64(self.lr / (1.0 + (self.steps - 1) as f64 * self.lr_decay));
        let (eps, wd) = (F::from_f64(self.eps), F::from_f64(self.weight_decay));
        for ((p, &g), s) in params.iter_mut().zip(grads).zip(self.sum.iter_mut()) {
            let g = if self.weight_decay != 0.0 { g + wd * *p } else { g };
            *s += g * g;
            *p += -clr * (g / (s.sqrt() + eps));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_momentum_nesterov_weight_decay_by_hand() {
        let mut opt = Sgd::<f64>::new(0.1).momentum(0.9).nesterov(true).weight_decay(0.5);
        let mut p = [1.0];
        // step 1: g = 2 + 0.5·1 = 2.5; v = 2.5; update = 2.5 + 0.9·2.5 = 4.75; p = 0.525
        opt.step(&mut p, &[2.0]);
        assert!((p[0] - 0.525).abs() < 1e-15);
        // step 2: g = 2 + 0.2625 = 2.2625; v = 0.9·2.5 + 2.2625 = 4.5125;
        // update = 2.2625 + 0.9·4.5125 = 6.32375; p = 0.525 − 0.632375 = −0.107375
        opt.step(&mut p, &[2.0]);
        assert!((p[0] + 0.107_375).abs() < 1e-15);
    }

    #[test]
    fn sgd_dampening_applies_after_the_first_step() {
        let mut opt = Sgd::<f64>::new(1.0).momentum(0.5).dampening(0.5);
        let mut p = [0.0];
        opt.step(&mut p, &[1.0]); // v = 1
        opt.step(&mut p, &[1.0]); // v = 0.5 + 0.5 = 1
        assert_eq!(p[0], -2.0);
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        // With bias correction the first step is lr·g/|g| (up to eps).
        let mut opt = Adam::<f64>::new(0.01);
        let mut p = [1.0, -1.0];
        opt.step(&mut p, &[3.0, -0.5]);
        assert!((p[0] - 0.99).abs() < 1e-9 && (p[1] + 0.99).abs() < 1e-9);
    }

    /// Five steps against the textbook formulation (Kingma & Ba, Algorithm 1, with L2
    /// decay added to the gradient as `torch.optim.Adam(weight_decay=…)` does), written
    /// independently here.
    #[test]
    fn adam_matches_the_textbook_over_several_steps() {
        let (lr, b1, b2, eps, wd) = (0.05, 0.8, 0.99, 1e-6, 0.1);
        let mut opt = Adam::<f64>::new(lr).betas(b1, b2).eps(eps).weight_decay(wd);
        let mut p = [0.7, -1.3];
        let (mut q, mut m, mut v) = ([0.7f64, -1.3], [0.0f64; 2], [0.0f64; 2]);
        for t in 1..=5 {
            let g = [(t as f64).sin(), 0.5 - 0.2 * t as f64];
            opt.step(&mut p, &g);
            for i in 0..2 {
                let gi = g[i] + wd * q[i];
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                let m_hat = m[i] / (1.0 - b1.powi(t));
                let v_hat = v[i] / (1.0 - b2.powi(t));
                q[i] -= lr * m_hat / (v_hat.sqrt() + eps);
            }
        }
        assert!((p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12, "{p:?} vs {q:?}");
    }

    #[test]
    fn adamw_decays_weights_before_the_update() {
        let mut opt = Adam::<f64>::adamw(0.1).weight_decay(0.5);
        let mut p = [2.0];
        opt.step(&mut p, &[0.0]);
        // g = 0 so the Adam update is 0; p = 2·(1 − 0.05)
        assert!((p[0] - 1.9).abs() < 1e-15);
    }

    #[test]
    fn settings_pytorch_rejects_are_refused_and_named() {
        let err = |o: &dyn Optimizer<f32>| o.check().unwrap_err().to_string();
        assert!(Sgd::<f32>::new(0.1).momentum(0.9).check().is_ok());
        assert!(err(&Sgd::<f32>::new(f64::NAN)).contains("SGD: the learning rate is NaN"));
        assert!(err(&Sgd::<f32>::new(f64::INFINITY)).contains("learning rate is inf"));
        assert!(err(&Sgd::<f32>::new(-0.1)).contains("at least 0"));
        assert!(err(&Sgd::<f32>::new(0.1).momentum(-0.5)).contains("momentum is -0.5"));
        assert!(err(&Sgd::<f32>::new(0.1).weight_decay(f64::NAN)).contains("weight decay"));
        assert!(err(&Sgd::<f32>::new(0.1).nesterov(true)).contains("Nesterov"));
        assert!(Adam::<f32>::new(1e-3).check().is_ok());
        assert!(err(&Adam::<f32>::new(f64::NAN)).contains("Adam: the learning rate is NaN"));
        assert!(err(&Adam::<f32>::adamw(1e-3).betas(0.9, 1.0)).contains("AdamW: beta2 is 1"));
        assert!(err(&Adam::<f32>::new(1e-3).betas(-0.1, 0.9)).contains("beta1"));
        assert!(err(&Adam::<f32>::new(1e-3).eps(f64::NEG_INFINITY)).contains("eps"));
    }
}
