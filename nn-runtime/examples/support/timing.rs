//! Timing shared by the runtime's measurement examples.

use std::time::Instant;

/// Median seconds per call over 15 rounds, each long enough (≥ 20 ms) to time.
pub fn median_seconds(mut f: impl FnMut()) -> f64 {
    let mut reps = 1;
    loop {
        let start = Instant::now();
        for _ in 0..reps {
            f();
        }
        if start.elapsed().as_secs_f64() > 0.02 {
            break;
        }
        reps *= 2;
    }
    let mut times: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[7]
}
