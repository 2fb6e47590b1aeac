//! Timing shared by the runtime's measurement examples.

use std::time::Instant;

/// Median seconds per call over 15 rounds, each long enough (≥ 20 ms) to time.
pub fn median_seconds(mut f: impl FnMut()) -> f64 {
    median_seconds_interleaved(&mut [&mut f])[0]
}

/// [`median_seconds`] for several functions, their rounds interleaved (round 1 of each,
/// then round 2 of each, …) so that a slow stretch of a noisy machine weighs on all of
/// them alike instead of on whichever ran then.
pub fn median_seconds_interleaved(fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let reps: Vec<u32> = fs
        .iter_mut()
        .map(|f| {
            let mut reps = 1;
            loop {
                let start = Instant::now();
                for _ in 0..reps {
                    f();
                }
                if start.elapsed().as_secs_f64() > 0.02 {
                    return reps;
                }
                reps *= 2;
            }
        })
        .collect();
    let mut times = vec![Vec::new(); fs.len()];
    for _ in 0..15 {
        for ((f, &reps), times) in fs.iter_mut().zip(&reps).zip(&mut times) {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            times.push(start.elapsed().as_secs_f64() / reps as f64);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            t[7]
        })
        .collect()
}
