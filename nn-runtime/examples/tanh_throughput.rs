//! f32 tanh throughput on planes the size of LeNet-5's (784 and 100 values), at the
//! vector level this process runs; compare the levels by running it under each:
//!
//!     cargo build --release -p nn-runtime --example tanh_throughput
//!     for i in 1 2 3; do for s in avx2 avx512; do
//!         NN_SIMD=$s taskset -c 0 target/release/examples/tanh_throughput; done; done

// Each example uses part of the shared timing helpers.
#[allow(dead_code)]
#[path = "support/timing.rs"]
mod timing;

use nn_runtime::ops::activation::{self, Tanh};
use timing::median_seconds_interleaved;

fn main() {
    // Applied over and over in place: the values shrink towards zero only slowly, and
    // the kernels have no data-dependent branches.
    let plane = |n: usize| -> Vec<f32> { (0..n).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect() };
    let (mut a, mut b) = (plane(784), plane(100));
    let seconds = median_seconds_interleaved(&mut [
        &mut || activation::in_place::<f32, Tanh>(std::hint::black_box(&mut a), 0.0),
        &mut || activation::in_place::<f32, Tanh>(std::hint::black_box(&mut b), 0.0),
    ]);
    let level = nn_runtime::kernels::simd::level();
    for (n, s) in [784usize, 100].iter().zip(seconds) {
        println!("{level:?}: tanh of {n} values: {:.3} ns per value (median of 15 rounds)", s / *n as f64 * 1e9);
    }
}
