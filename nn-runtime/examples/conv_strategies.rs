//! The three convolution strategies on every convolution of the benchmarks' networks
//! (LeNet-5, the notes' Keras network), side by side in one process with their rounds
//! interleaved: im2col + GEMM (`conv2d::forward`/`backward`), direct gathered products
//! (`conv2d::direct`), and for unit-stride layers shifted windows (`conv2d::shifted`).
//! f32, 1 thread, median of 15 rounds; GFLOP/s counts the multiply-adds of the pass
//! (forward: the layer's; backward: weight gradient, plus the input gradient where the
//! network needs one).
//!
//!     cargo run --release -p nn-runtime --example conv_strategies

use nn_runtime::ops::activation::Identity;
use nn_runtime::ops::conv2d::{self, Geometry};
use nn_runtime::ops::pool2d::NoPool;
// Each example uses part of the shared timing helpers.
#[allow(dead_code)]
#[path = "support/timing.rs"]
mod timing;
use timing::median_seconds_interleaved;

/// The input gradient's buffer where the network needs one.
fn dx_or_none(needs_dx: bool, dx: &mut [f32]) -> Option<&mut [f32]> {
    needs_dx.then_some(dx)
}

/// One layer's six measurements, printed as a table row.
fn layer<G: Geometry>(name: &str, batch: usize, needs_dx: bool) {
    let x: Vec<f32> = (0..batch * G::INPUT_LEN).map(|i| (i as f32 * 0.1).sin()).collect();
    let params: Vec<f32> = (0..G::WEIGHT_LEN + G::OC).map(|i| (i as f32 * 0.3).cos()).collect();
    let dy: Vec<f32> = (0..batch * G::OUTPUT_LEN).map(|i| (i as f32 * 0.7).sin()).collect();
    let unit_stride = G::SH == 1 && G::SW == 1;
    let im2col_len = batch * conv2d::scratch_per_sample::<G>() + conv2d::shifted::scratch::<G>();
    let direct_len = conv2d::direct::scratch::<G>() + batch * conv2d::direct::scratch_per_sample::<G>();
    // Each measured function has buffers of its own, so all can be timed interleaved.
    let buffers = || {
        (
            vec![0.0f32; dy.len()],
            vec![0.0f32; params.len()],
            vec![0.0f32; x.len()],
            vec![0.0f32; im2col_len.max(direct_len)],
        )
    };
    let (mut y1, _, _, mut s1) = buffers();
    let (mut y2, _, _, mut s2) = buffers();
    let (mut y3, _, _, mut s3) = buffers();
    let (_, mut g4, mut dx4, mut s4) = buffers();
    let (_, mut g5, mut dx5, mut s5) = buffers();
    let (_, mut g6, mut dx6, mut s6) = buffers();
    let mut fwd_im2col = || conv2d::forward::<f32, G>(batch, &x, &params, &mut y1, &mut s1);
    let mut fwd_direct =
        || conv2d::direct::forward::<f32, G, Identity, NoPool>(batch, &x, &params, &mut y2, &mut [], &mut s2, 0.0);
    // Unit stride only: the full-width products over shifted input windows.
    let mut fwd_shifted = || {
        if unit_stride {
            conv2d::shifted::forward::<f32, G, Identity, NoPool>(batch, &x, &params, &mut y3, &mut [], &mut s3, 0.0)
        }
    };
    let mut bwd_im2col =
        || conv2d::backward::<f32, G>(batch, &x, &params, &dy, &mut g4, dx_or_none(needs_dx, &mut dx4), &mut s4);
    let mut bwd_direct = || {
        conv2d::direct::backward::<f32, G>(batch, &x, &params, &dy, &mut g5, dx_or_none(needs_dx, &mut dx5), &mut s5)
    };
    let mut bwd_shifted = || {
        if unit_stride {
            let dx = dx_or_none(needs_dx, &mut dx6);
            conv2d::shifted::backward::<f32, G>(batch, &x, &params, &dy, &mut g6, dx, &mut s6)
        }
    };
    let seconds = median_seconds_interleaved(&mut [
        &mut fwd_im2col,
        &mut fwd_direct,
        &mut fwd_shifted,
        &mut bwd_im2col,
        &mut bwd_direct,
        &mut bwd_shifted,
    ]);
    let macs = (batch * G::OUTPUT_LEN * G::K) as f64;
    let flops = [2.0 * macs, 2.0 * macs * if needs_dx { 2.0 } else { 1.0 }];
    let cells: Vec<String> = seconds
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let shifted = i % 3 == 2;
            if shifted && !unit_stride {
                format!("{:>8}", "—")
            } else {
                format!("{:>8.1}", flops[i / 3] / t / 1e9)
            }
        })
        .collect();
    println!("| {:<28} | {:>5} | {} |", name, batch, cells.join(" | "));
}

nn_runtime::conv2d_geometry!(LenetConv1 { c: 1, h: 32, w: 32, oc: 6, k: (5, 5) });
nn_runtime::conv2d_geometry!(LenetConv2 { c: 6, h: 14, w: 14, oc: 16, k: (5, 5) });
nn_runtime::conv2d_geometry!(KerasConv1 { c: 1, h: 28, w: 28, oc: 8, k: (7, 7), stride: (2, 2) });
nn_runtime::conv2d_geometry!(KerasConv2 { c: 8, h: 11, w: 11, oc: 16, k: (5, 5), stride: (2, 2) });
nn_runtime::conv2d_geometry!(KerasConv3 { c: 16, h: 4, w: 4, oc: 32, k: (3, 3) });

fn main() {
    println!("GFLOP/s (f32, 1 thread) of each strategy, forward and backward: im2col, direct, shifted");
    println!("(unit stride only)\n");
    println!(
        "| {:<28} | {:>5} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} |",
        "layer", "batch", "fwd i2c", "fwd dir", "fwd shft", "bwd i2c", "bwd dir", "bwd shft"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for batch in [32, 256] {
        layer::<LenetConv1>("LeNet conv1 1→6 5×5 32²", batch, false);
        layer::<LenetConv2>("LeNet conv2 6→16 5×5 14²", batch, true);
        layer::<KerasConv1>("Keras conv1 1→8 7×7/2 28²", batch, false);
        layer::<KerasConv2>("Keras conv2 8→16 5×5/2 11²", batch, true);
        layer::<KerasConv3>("Keras conv3 16→32 3×3 4²", batch, true);
    }
}
