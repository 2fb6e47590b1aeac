//! The two convolution strategies on every convolution of the benchmarks' networks
//! (LeNet-5, the notes' Keras network), side by side in one process: im2col + GEMM
//! (`conv2d::forward`/`backward`) against direct gathered products
//! (`conv2d::direct`), and for unit-stride layers shifted windows (`conv2d::shifted`). f32, 1 thread, median of 15 rounds; GFLOP/s counts the
//! multiply-adds of the pass (forward: the layer's; backward: weight gradient, plus the
//! input gradient where the network needs one).
//!
//!     cargo run --release -p nn-runtime --example conv_strategies

use nn_runtime::conv2d;
#[path = "support/timing.rs"]
mod timing;
use timing::median_seconds;

macro_rules! layer {
    ($name:expr, $batch:expr, $needs_dx:expr, [$c:literal, $h:literal, $w:literal, $oc:literal, $kh:literal, $kw:literal,
      $s:literal, $oh:literal, $ow:literal]) => {{
        let batch: usize = $batch;
        let k = $c * $kh * $kw;
        let x: Vec<f32> = (0..batch * $c * $h * $w).map(|i| (i as f32 * 0.1).sin()).collect();
        let params: Vec<f32> = (0..$oc * k + $oc).map(|i| (i as f32 * 0.3).cos()).collect();
        let dy: Vec<f32> = (0..batch * $oc * $oh * $ow).map(|i| (i as f32 * 0.7).sin()).collect();
        let mut y = vec![0.0f32; dy.len()];
        let mut grads = vec![0.0f32; params.len()];
        let mut dx = vec![0.0f32; x.len()];
        let im2col_len = batch * conv2d::scratch_per_sample($c, $kh, $kw, 1, $oc, $oh, $ow)
            + conv2d::shifted::scratch($c, $h, $w, 0, 0, 1, $oc, $oh, $ow);
        let direct_len = conv2d::direct::scratch($c, $kh, $kw, 1, $oc)
            + batch * conv2d::direct::scratch_per_sample($c, $h, $w, $kh, $kw, 0, 0, 1, $oc, $oh, $ow);
        let mut scratch = vec![0.0f32; im2col_len.max(direct_len)];
        let macs = (batch * $oc * $oh * $ow * k) as f64;
        let backward_flops = 2.0 * macs * if $needs_dx { 2.0 } else { 1.0 };
        let fwd_im2col = median_seconds(|| {
            conv2d::forward::<f32, $c, $h, $w, $oc, $kh, $kw, $s, $s, 0, 0, 1, 1, 1, $oh, $ow, true>(
                batch,
                &x,
                &params,
                &mut y,
                &mut scratch,
            )
        });
        let fwd_direct = median_seconds(|| {
            conv2d::direct::forward::<f32, $c, $h, $w, $oc, $kh, $kw, $s, $s, 0, 0, 1, 1, 1, $oh, $ow, true>(
                batch,
                &x,
                &params,
                &mut y,
                &mut scratch,
            )
        });
        let bwd_im2col = median_seconds(|| {
            conv2d::backward::<f32, $c, $h, $w, $oc, $kh, $kw, $s, $s, 0, 0, 1, 1, 1, $oh, $ow, true>(
                batch,
                &x,
                &params,
                &dy,
                &mut grads,
                if $needs_dx { Some(&mut dx) } else { None },
                &mut scratch,
            )
        });
        let bwd_direct = median_seconds(|| {
            conv2d::direct::backward::<f32, $c, $h, $w, $oc, $kh, $kw, $s, $s, 0, 0, 1, 1, 1, $oh, $ow, true>(
                batch,
                &x,
                &params,
                &dy,
                &mut grads,
                if $needs_dx { Some(&mut dx) } else { None },
                &mut scratch,
            )
        });
        // Unit stride only: the full-width product over shifted input windows.
        let fwd_shifted = ($s == 1).then(|| {
            median_seconds(|| {
                conv2d::shifted::forward::<f32, $c, $h, $w, $oc, $kh, $kw, 1, 1, 0, 0, 1, 1, 1, $oh, $ow, true>(
                    batch,
                    &x,
                    &params,
                    &mut y,
                    &mut scratch,
                )
            })
        });
        let bwd_shifted = ($s == 1).then(|| {
            median_seconds(|| {
                conv2d::shifted::backward::<f32, $c, $h, $w, $oc, $kh, $kw, 1, 1, 0, 0, 1, 1, 1, $oh, $ow, true>(
                    batch,
                    &x,
                    &params,
                    &dy,
                    &mut grads,
                    if $needs_dx { Some(&mut dx) } else { None },
                    &mut scratch,
                )
            })
        });
        let gf = |flops: f64, s: f64| flops / s / 1e9;
        let shifted_bwd = bwd_shifted.map_or("—".to_string(), |s| format!("{:.1}", gf(backward_flops, s)));
        let shifted = fwd_shifted.map_or("—".to_string(), |s| format!("{:.1}", gf(2.0 * macs, s)));
        println!(
            "| {:<28} | {:>5} | {:>8.1} | {:>8.1} | {:>8} | {:>8.1} | {:>8.1} | {:>8} |",
            $name,
            batch,
            gf(2.0 * macs, fwd_im2col),
            gf(2.0 * macs, fwd_direct),
            shifted,
            gf(backward_flops, bwd_im2col),
            gf(backward_flops, bwd_direct),
            shifted_bwd,
        );
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
