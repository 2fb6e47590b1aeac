//! The benchmark examples' timing: medians of rounds, as bench/peers times the peers.

use std::time::Instant;

/// Median over `rounds` of the mean seconds per call of `f`, after `warm_up` calls; each
/// round at least `min_s` long and at least `min_calls` calls.
pub fn median_seconds(rounds: usize, min_s: f64, min_calls: u32, warm_up: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warm_up {
        f();
    }
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let (start, mut calls) = (Instant::now(), 0u32);
            while calls < min_calls || start.elapsed().as_secs_f64() < min_s {
                f();
                calls += 1;
            }
            start.elapsed().as_secs_f64() / calls as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[rounds / 2]
}

/// The value of `--rounds N` among the program's arguments, or `default`.
pub fn rounds_argument(default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` values drawn uniformly from (−1, 1), from a generator seeded with 0.
pub fn uniform_samples() -> impl FnMut(usize) -> Vec<f32> {
    let mut rng = nn::runtime::rng::Rng::new(0);
    move |n| (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect()
}
