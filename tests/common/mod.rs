//! Finite-difference gradient checking for any generated network, in f64.

#![allow(dead_code)]

use nn::runtime::rng::Rng;
use nn::Network;

pub fn random_vec(len: usize, rng: &mut Rng) -> Vec<f64> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// `L(x, θ) = Σ r ⊙ f(x; θ)` for fixed weights `r`.
fn objective<N: Network<f64>>(net: &mut N, x: &[f64], r: &[f64]) -> f64 {
    net.forward(x).unwrap().iter().zip(r).map(|(y, w)| y * w).sum()
}

fn close(analytic: f64, numeric: f64) -> bool {
    (analytic - numeric).abs() <= 1e-7 + 1e-5 * analytic.abs().max(numeric.abs())
}

/// Indices to probe: all of `0..len` when `limit` covers it, else `limit` spread
/// evenly including both ends.
fn probes(len: usize, limit: usize) -> Vec<usize> {
    if len <= limit {
        (0..len).collect()
    } else {
        (0..limit).map(|i| i * (len - 1) / (limit - 1)).collect()
    }
}

/// Compares the backward pass with central differences for every parameter tensor
/// (at most `limit` entries of each) and the input (at most `limit` entries), plus
/// directional derivatives along random directions through all parameters and the
/// whole input at once.
pub fn check_gradients<N: Network<f64>>(batch: usize, limit: usize) {
    check_gradients_in::<N>(batch, limit, true)
}

/// As [`check_gradients`], in train or eval mode.
pub fn check_gradients_in<N: Network<f64>>(batch: usize, limit: usize, training: bool) {
    check_gradients_scaled::<N>(batch, limit, training, 1.0)
}

/// As [`check_gradients_in`], with inputs drawn from `(−scale, scale)` instead of (−1, 1):
/// wide enough to reach every piece of a piecewise activation (relu6's 6, hardswish's ±3).
pub fn check_gradients_scaled<N: Network<f64>>(batch: usize, limit: usize, training: bool, scale: f64) {
    let mut rng = Rng::new(42);
    let mut net = N::with_seed(7);
    net.set_training(training);
    // Perturb the parameters so that constant initializations (batch norm's 1 and 0,
    // PReLU's 0.25) do not hide a wrong gradient.
    for p in net.params_mut() {
        *p += rng.uniform(-0.2, 0.2);
    }
    let x: Vec<f64> = random_vec(batch * N::INPUT_LEN, &mut rng).into_iter().map(|v| v * scale).collect();
    let r = random_vec(batch * N::OUTPUT_LEN, &mut rng);
    let dx = net.backward(&x, &r).unwrap().to_vec();
    let grads = net.grads().to_vec();
    let h = 1e-6;
    let mut failures = Vec::new();

    // Parameters, tensor by tensor.
    let mut offset = 0;
    for layer in N::LAYERS {
        for tensor in layer.tensors {
            let len: usize = tensor.shape.iter().product();
            for i in probes(len, limit) {
                let j = offset + i;
                let original = net.params()[j];
                net.params_mut()[j] = original + h;
                let plus = objective(&mut net, &x, &r);
                net.params_mut()[j] = original - h;
                let minus = objective(&mut net, &x, &r);
                net.params_mut()[j] = original;
                let numeric = (plus - minus) / (2.0 * h);
                if !close(grads[j], numeric) {
                    failures.push(format!("{}[{i}]: backward {} vs numeric {numeric}", tensor.key, grads[j]));
                }
            }
            offset += len;
        }
    }
    assert_eq!(offset, N::PARAMS, "the layer table covers every parameter");

    // The input.
    let mut xp = x.clone();
    for i in probes(x.len(), limit) {
        xp[i] = x[i] + h;
        let plus = objective(&mut net, &xp, &r);
        xp[i] = x[i] - h;
        let minus = objective(&mut net, &xp, &r);
        xp[i] = x[i];
        let numeric = (plus - minus) / (2.0 * h);
        if !close(dx[i], numeric) {
            failures.push(format!("input[{i}]: backward {} vs numeric {numeric}", dx[i]));
        }
    }

    // Directional derivatives through everything at once.
    for _ in 0..3 {
        let dp = random_vec(N::PARAMS, &mut rng);
        let dxi = random_vec(x.len(), &mut rng);
        let analytic: f64 = grads.iter().zip(&dp).chain(dx.iter().zip(&dxi)).map(|(g, d)| g * d).sum();
        let base = net.params().to_vec();
        let eval = |net: &mut N, s: f64| {
            for ((p, b), d) in net.params_mut().iter_mut().zip(&base).zip(&dp) {
                *p = b + s * d;
            }
            let xs: Vec<f64> = x.iter().zip(&dxi).map(|(a, d)| a + s * d).collect();
            objective(net, &xs, &r)
        };
        let numeric = (eval(&mut net, h) - eval(&mut net, -h)) / (2.0 * h);
        net.params_mut().copy_from_slice(&base);
        if !close(analytic, numeric) {
            failures.push(format!("random direction: backward {analytic} vs numeric {numeric}"));
        }
    }
    assert!(failures.is_empty(), "{} gradient mismatches in {}:\n{}", failures.len(), N::NAME, failures.join("\n"));
}

/// `name: Network<f64>, batch N;` rows, each a test of [`check_gradients`] (400 probes
/// per tensor).
#[allow(unused_macros)]
macro_rules! gradient_tests {
    ($($test:ident: $net:ty, batch $batch:expr;)*) => {$(
        #[test]
        fn $test() {
            $crate::common::check_gradients::<$net>($batch, 400);
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use gradient_tests;
