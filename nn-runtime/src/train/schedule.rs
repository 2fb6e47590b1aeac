//! Learning-rate schedules, as `torch.optim.lr_scheduler` computes them: each gives the
//! rate of step `t` (counted from 0, one per call of PyTorch's `scheduler.step()`) from
//! the optimizer's base rate, in closed form, so a resumed run needs only the step.

use std::fmt::Debug;

/// The learning rate of every step.
pub trait Schedule: Debug + Send + Sync {
    /// The rate for step `step` when the optimizer was set up with `base`.
    fn lr(&self, base: f64, step: u64) -> f64;
}

/// The base rate throughout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Constant;

impl Schedule for Constant {
    fn lr(&self, base: f64, _step: u64) -> f64 {
        base
    }
}

/// `StepLR(step_size, gamma)`: the rate times `gamma` every `step_size` steps.
#[derive(Debug, Clone, Copy)]
pub struct StepDecay {
    pub step_size: u64,
    pub gamma: f64,
}

impl Schedule for StepDecay {
    fn lr(&self, base: f64, step: u64) -> f64 {
        let drops = step / self.step_size.max(1);
        base * self.gamma.powi(i32::try_from(drops).unwrap_or(i32::MAX))
    }
}

/// `MultiStepLR(milestones, gamma)`: the rate times `gamma` at each milestone passed.
#[derive(Debug, Clone)]
pub struct MultiStep {
    pub milestones: Vec<u64>,
    pub gamma: f64,
}

impl Schedule for MultiStep {
    fn lr(&self, base: f64, step: u64) -> f64 {
        let passed = self.milestones.iter().filter(|&&m| m <= step).count();
        base * self.gamma.powi(i32::try_from(passed).unwrap_or(i32::MAX))
    }
}

/// `CosineAnnealingLR(T_max, eta_min)`: half a cosine from the base rate down to
/// `eta_min` over `t_max` steps (and back up after, as PyTorch's does).
#[derive(Debug, Clone, Copy)]
pub struct Cosine {
    pub t_max: u64,
    pub eta_min: f64,
}

impl Schedule for Cosine {
    fn lr(&self, base: f64, step: u64) -> f64 {
        let angle = std::f64::consts::PI * step as f64 / self.t_max.max(1) as f64;
        self.eta_min + (base - self.eta_min) * (1.0 + angle.cos()) / 2.0
    }
}

/// `OneCycleLR(max_lr = base, total_steps)` with PyTorch's defaults otherwise
/// (`pct_start` 0.3, cosine annealing, `div_factor` 25, `final_div_factor` 10⁴, two
/// phases): from `base / div_factor` up to `base`, then down to
/// `base / div_factor / final_div_factor`. The optimizer's rate is the peak. PyTorch's
/// momentum cycling (`cycle_momentum`) is not applied: momentum stays as set.
#[derive(Debug, Clone, Copy)]
pub struct OneCycle {
    pub total_steps: u64,
    pub pct_start: f64,
    pub div_factor: f64,
    pub final_div_factor: f64,
}

impl OneCycle {
    /// PyTorch's defaults over `total_steps` steps.
    pub fn new(total_steps: u64) -> Self {
        OneCycle { total_steps, pct_start: 0.3, div_factor: 25.0, final_div_factor: 1e4 }
    }
}

impl Schedule for OneCycle {
    fn lr(&self, base: f64, step: u64) -> f64 {
        let initial = base / self.div_factor;
        let last = initial / self.final_div_factor;
        // PyTorch's phase ends are float step numbers.
        let peak = self.pct_start * self.total_steps as f64 - 1.0;
        let end = self.total_steps as f64 - 1.0;
        let t = step as f64;
        let anneal = |from: f64, to: f64, pct: f64| to + (from - to) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0);
        if t <= peak {
            anneal(initial, base, t / peak)
        } else {
            anneal(base, last, (t - peak) / (end - peak))
        }
    }
}

/// Linear warm-up, then another schedule: `SequentialLR([LinearLR(start_factor,
/// total_iters = steps), then], milestones = [steps])`. During the warm-up the rate
/// rises from `start_factor · base` towards `base`; afterwards `then` runs from its own
/// step 0.
#[derive(Debug)]
pub struct Warmup<S> {
    pub steps: u64,
    pub start_factor: f64,
    pub then: S,
}

impl<S: Schedule> Schedule for Warmup<S> {
    fn lr(&self, base: f64, step: u64) -> f64 {
        if step < self.steps {
            let factor = self.start_factor + (1.0 - self.start_factor) * step as f64 / self.steps as f64;
            base * factor
        } else {
            self.then.lr(base, step - self.steps)
        }
    }
}

impl<S: Schedule + ?Sized> Schedule for Box<S> {
    fn lr(&self, base: f64, step: u64) -> f64 {
        (**self).lr(base, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms_by_hand() {
        assert_eq!(StepDecay { step_size: 3, gamma: 0.5 }.lr(1.0, 5), 0.5);
        assert_eq!(StepDecay { step_size: 3, gamma: 0.5 }.lr(1.0, 6), 0.25);
        assert_eq!(MultiStep { milestones: vec![2, 4], gamma: 0.1 }.lr(1.0, 4), 0.1f64.powi(2));
        let cosine = Cosine { t_max: 10, eta_min: 0.0 };
        assert_eq!(cosine.lr(2.0, 0), 2.0);
        assert!((cosine.lr(2.0, 5) - 1.0).abs() < 1e-15);
        assert!(cosine.lr(2.0, 10).abs() < 1e-15);
        let cycle = OneCycle::new(100);
        assert!((cycle.lr(1.0, 0) - 0.04).abs() < 1e-15);
        assert!((cycle.lr(1.0, 29) - 1.0).abs() < 1e-15);
        assert!((cycle.lr(1.0, 99) - 4e-6).abs() < 1e-15);
        let warm = Warmup { steps: 4, start_factor: 0.25, then: Constant };
        assert_eq!([0, 1, 2, 3, 4].map(|t| warm.lr(1.0, t)), [0.25, 0.4375, 0.625, 0.8125, 1.0]);
    }
}
