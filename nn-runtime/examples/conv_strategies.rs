//! The three convolution strategies on every convolution of the benchmarks' networks
//! (LeNet-5, the notes' Keras network), side by side in one process with their rounds
//! interleaved: im2col + GEMM (`conv2d::forward`/`backward`), direct gathered products
//! (`conv2d::direct`), and for unit-stride layers shifted windows (`conv2d::shifted`).
//! f32, 1 thread, median of 15 rounds; GFLOP/s counts the multiply-adds of the pass
//! (forward: the layer's; backward: weight gradient, plus the input gradient where the
//! network needs one).
//!
//!     cargo run --release -p nn-runtime --example conv_strategies

use nn_runtime::activation::Identity;
use nn_runtime::conv2d;
use nn_runtime::pool2d::NoPool;
// Each example uses part of the shared timing helpers.
#[allow(dead_code)]
#[path = "support/timing.rs"]
mod timing;
use timing::median_seconds_interleaved;

/// The input gradient's buffer where the network needs one.
fn dx_or_none(needs_dx: bool, dx: &mut [f32]) -> Option<&mut [f32]> {
    needs_dx.then_some(dx)
}

macro_rules! layer {
    ($name:expr, $batch:expr, $needs_dx:expr, [$c:literal, $h:literal, $w:literal, $oc:literal, $kh:literal, $kw:literal,
      $s:literal, $oh:literal, $ow:literal]) => {{
        let batch: usize = $batch;
        let k = $c * $kh * $kw;
        let x: Vec<f32> = (0..batch * $c * $h * $w).map(|i| (i as f32 * 0.1).sin()).collect();
        let params: Vec<f32> = (0..$oc * k + $oc).map(|i| (i as f32 * 0.3).cos()).collect();
        let dy: Vec<f32> = (0..batch * $oc * $oh * $ow).map(|i| (i as f32 * 0.7).sin()).collect();
        let im2col_len = batch * conv2d::scratch_per_sample($c, $kh, $kw, 1, $oc, $oh, $ow)
            + conv2d::shifted::scratch($c, $h, $w, 0, 0, 1, $oc, $oh, $ow);
        let direct_len = conv2d::direct::scratch($c, $kh, $kw, 1, $oc, $oh, $ow)
            + batch * conv2d::direct::scratch_per_sample($c, $h, $w, $kh, $kw, 0, 0, 1, $oc, $oh, $ow);
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
        let mut fwd_im2col = || {
            conv2d::forward::<f32, $c, $h, $w, $oc, $kh, $kw, $s, $s, 0, 0, 1, 1, 1, $oh, $ow, true>(
                batch, &x, &params, &mut y1, &mut s1,
            )
        };
        let mut fwd_direct = || {
            conv2d::direct::forward::<
                f32,
                Identity,
                NoPool,
                $c,
                $h,
                $w,
                $oc,
                $kh,
                $kw,
                $s,
                $s,
                0,
                0,
                1,
                1,
                1,
                $oh,
                $ow,
                true,
            >(batch, &x, &params, &mut y2, &mut [], &mut s2, 0.0)
        };
        // Unit stride only: the full-width products over shifted input windows.
        let mut fwd_shifted = || {
            if $s == 1 {
                conv2d::shifted::forward::<
                    f32,
                    Identity,
                    NoPool,
                    $c,
                    $h,
                    $w,
                    $oc,
                    $kh,
                    $kw,
                    1,
                    1,
                    0,
                    0,
                    1,
                    1,
                    1,
                    $oh,
                    $ow,
                    true,
                >(batch, &x, &params, &mut y3, &mut [], &mut s3, 0.0)
            }
        };
        let mut bwd_im2col = || {
            conv2d::backward::<f32, $c, $h, $w, $oc, $kh, $kw, $s, $s, 0, 0, 1, 1, 1, $oh, $ow, true>(
                batch,
                &x,
                &params,
                &dy,
                &mut g4,
                dx_or_none($needs_dx, &mut dx4),
                &mut s4,
            )
        };
        let mut bwd_direct = || {
            conv2d::direct::backward::<f32, $c, $h, $w, $oc, $kh, $kw, $s, $s, 0, 0, 1, 1, 1, $oh, $ow, true>(
                batch,
                &x,
                &params,
                &dy,
                &mut g5,
                dx_or_none($needs_dx, &mut dx5),
                &mut s5,
            )
        };
        let mut bwd_shifted = || {
            if $s == 1 {
                conv2d::shifted::backward::<f32, $c, $h, $w, $oc, $kh, $kw, 1, 1, 0, 0, 1, 1, 1, $oh, $ow, true>(
                    batch,
                    &x,
                    &params,
                    &dy,
                    &mut g6,
                    dx_or_none($needs_dx, &mut dx6),
                    &mut s6,
                )
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
        let macs = (batch * $oc * $oh * $ow * k) as f64;
        let flops = [2.0 * macs, 2.0 * macs * if $needs_dx { 2.0 } else { 1.0 }];
        let cells: Vec<String> = seconds
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let shifted = i % 3 == 2;
                if shifted && $s != 1 {
                    format!("{:>8}", "—")
                } else {
                    format!("{:>8.1}", flops[i / 3] / t / 1e9)
                }
            })
            .collect();
        println!("| {:<28} | {:>5} | {} |", $name, batch, cells.join(" | "));
    }};
}

fn main() {
    println!("GFLOP/s (f32, 1 thread) of each strategy, forward and backward: im2col, direct, shifted");
    println!("(unit stride only)\n");
    println!(
        "| {:<28} | {:>5} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} |",
        "layer", "batch", "fwd i2c", "fwd dir", "fwd shft", "bwd i2c", "bwd dir", "bwd shft"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for batch in [32, 256] {
        layer!("LeNet conv1 1→6 5×5 32²", batch, false, [1, 32, 32, 6, 5, 5, 1, 28, 28]);
        layer!("LeNet conv2 6→16 5×5 14²", batch, true, [6, 14, 14, 16, 5, 5, 1, 10, 10]);
        layer!("Keras conv1 1→8 7×7/2 28²", batch, false, [1, 28, 28, 8, 7, 7, 2, 11, 11]);
        layer!("Keras conv2 8→16 5×5/2 11²", batch, true, [8, 11, 11, 16, 5, 5, 2, 4, 4]);
        layer!("Keras conv3 16→32 3×3 4²", batch, true, [16, 4, 4, 32, 3, 3, 1, 2, 2]);
    }
}
