//! GEMM strategies on the products LeNet-5's training step makes at batch 32 (and the
//! row-by-row LSTM's, per chunk of 32 sequences and at batch 1), side by
//! side in one process: `matrixmultiply` (packs both operands) against the packing-free
//! AVX2+FMA kernels of `small_gemm`. GFLOP/s, 1 thread, median of 15 rounds.
//!
//!     cargo run --release -p nn-runtime --example gemm_shapes

use nn_runtime::kernels::gemm::Mat;
use nn_runtime::kernels::small_gemm;
#[path = "support/timing.rs"]
mod timing;
use timing::median_seconds;

fn main() {
    // (product, kind, m, k, n, A transposed): "nn" is A·B with B's rows contiguous,
    // "nt" is A·Bᵀ with both operands' rows contiguous. Convolution products are one
    // L2-sized chunk of the batch's columns (see rt::conv2d).
    let shapes = [
        ("conv1 fwd", "nn", 6, 25, 3136, false),
        ("conv1 dW", "nt", 6, 3136, 25, false),
        ("conv2 fwd", "nn", 16, 150, 600, false),
        ("conv2 dW", "nt", 16, 600, 150, false),
        ("conv2 dX", "nn", 150, 16, 600, true),
        ("conv3 fwd", "nt", 32, 400, 120, false),
        ("conv3 dW", "nn", 120, 32, 400, true),
        ("conv3 dX", "nn", 32, 120, 400, false),
        ("fc1 fwd", "nt", 32, 120, 84, false),
        ("fc1 dW", "nn", 84, 32, 120, true),
        ("fc1 dX", "nn", 32, 84, 120, false),
        // The row-by-row MNIST LSTM (H = 128, 4 gates) on a chunk of 32 sequences:
        // each step's recurrent product, its gradient, and the input projection.
        ("lstm step", "nn", 32, 128, 512, false),
        ("lstm step", "nt", 32, 128, 512, false),
        ("lstm dh", "nn", 32, 512, 128, false),
        ("lstm b1 step", "nn", 1, 128, 512, false),
        ("lstm b1 step", "nt", 1, 128, 512, false),
        ("lstm proj", "nn", 896, 28, 512, false),
        ("lstm proj step", "nn", 32, 28, 512, false),
    ];
    println!("{:<10} {:>4} {:>14} {:>12} {:>12}", "product", "kind", "m×k×n", "matrixmul.", "small_gemm");
    for (name, kind, m, k, n, a_t) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.1).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.3).cos()).collect();
        let mut c = vec![0.0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        let (rsa, csa) = if a_t { (1, m) } else { (k, 1) };
        let (rsb, csb) = if kind == "nn" { (n, 1) } else { (1, k) };
        let mm = median_seconds(|| {
            // SAFETY: the strides describe exactly the m×k, k×n and m×n buffers above,
            // and `c` is not borrowed elsewhere during the call.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    rsa as isize,
                    csa as isize,
                    b.as_ptr(),
                    rsb as isize,
                    csb as isize,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            }
        });
        let ours = if small_gemm::available() {
            let t = median_seconds(|| {
                let view = if a_t { Mat::transposed(&a, m, k) } else { Mat::row_major(&a, m, k) };
                if kind == "nn" {
                    small_gemm::nn(view, &b, n, n, &mut c, n, false);
                } else {
                    small_gemm::nt(m, n, k, &a, k, &b, k, &mut c, n, false);
                }
            });
            format!("{:.1}", flops / t / 1e9)
        } else {
            "-".to_string()
        };
        println!("{name:<10} {kind:>4} {:>14} {:>12.1} {ours:>12}", format!("{m}×{k}×{n}"), flops / mm / 1e9);
    }
}
