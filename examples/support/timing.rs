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
