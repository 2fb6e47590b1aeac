//! Transposed 2-D convolution, as `nn.ConvTranspose2d`: the adjoint of a convolution.
//! The kernels are generic over the [`Geometry`] of that convolution — the one from the
//! transposed layer's output back to its input: its input is the transposed layer's
//! output (`C` channels of `H×W`), its output the transposed layer's input (`OC`
//! channels of `OH×OW`), and `nn.ConvTranspose2d`'s weight `[in, out/G, KH, KW]` is
//! exactly its weight `[OC, C/G, KH, KW]`. So the forward pass is that convolution's
//! input gradient, the input gradient its forward pass, and the weight gradient its
//! weight gradient with the two roles swapped. [`Geometry::BIAS`] is the transposed
//! layer's bias, one per channel of its output (`C` values after the weight).

use crate::float::Float;
use crate::ops::conv2d::{self, Geometry};

/// Scratch per sample: the adjoint convolution's im2col scratch.
pub const fn scratch_per_sample<G: Geometry>() -> usize {
    conv2d::scratch_per_sample::<G>()
}

/// `y[n] = Wᵀ ⋆ x[n] + b` for a batch: `x` has `G::OC` planes of `G::P` values per
/// sample, `y` `G::C` planes of `H×W`.
pub fn forward<F: Float, G: Geometry>(batch: usize, x: &[F], params: &[F], y: &mut [F], scratch: &mut [F]) {
    let (w, b) = params.split_at(G::WEIGHT_LEN);
    conv2d::input_gradient::<F, G>(batch, w, x, y, scratch);
    if G::BIAS {
        let plane = G::H * G::W;
        for sample in y[..batch * G::INPUT_LEN].chunks_exact_mut(G::INPUT_LEN) {
            for (values, &bias) in sample.chunks_exact_mut(plane).zip(&b[..G::C]) {
                values.iter_mut().for_each(|v| *v += bias);
            }
        }
    }
}

/// Backward for a batch: weight and bias gradients (overwritten) and, if asked, the
/// input gradient (overwritten).
pub fn backward<F: Float, G: Geometry>(
    batch: usize, x: &[F], params: &[F], dy: &[F], grads: &mut [F], dx: Option<&mut [F]>, scratch: &mut [F],
) {
    let (dw, db) = grads.split_at_mut(G::WEIGHT_LEN);
    // The adjoint's weight gradient, with its input the output gradient here and its
    // output gradient the input here.
    conv2d::weight_gradient::<F, G>(batch, dy, x, dw, scratch);
    if G::BIAS {
        conv2d::bias_gradient(batch, G::H * G::W, dy, &mut db[..G::C]);
    }
    if let Some(dx) = dx {
        conv2d::forward_with::<F, G>(batch, dy, &params[..G::WEIGHT_LEN], None, dx, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_two_scatters_the_kernel() {
        // One 2×2 input, one 2×2 kernel of ones, stride 2: each pixel becomes a block.
        // The adjoint convolution: 4×4 → 2×2 with a 2×2 kernel, stride 2.
        crate::conv2d_geometry!(Adjoint { c: 1, h: 4, w: 4, oc: 1, k: (2, 2), stride: (2, 2) });
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let params = [1.0, 1.0, 1.0, 1.0, 0.5];
        let mut y = [0.0; 16];
        let mut scratch = [0.0; scratch_per_sample::<Adjoint>()];
        forward::<f64, Adjoint>(1, &x, &params, &mut y, &mut scratch);
        assert_eq!(y[..4], [1.5, 1.5, 2.5, 2.5]);
        assert_eq!(y[12..], [3.5, 3.5, 4.5, 4.5]);
    }

    /// Forward is the adjoint of the convolution, backward its own adjoint:
    /// `⟨conv(u), v⟩ = ⟨u, convᵀ(v)⟩`, with groups, stride, padding and dilation.
    #[test]
    fn forward_and_input_gradient_are_adjoints() {
        crate::conv2d_geometry!(Adjoint {
            c: 4,
            h: 9,
            w: 8,
            oc: 6,
            k: (3, 2),
            stride: (2, 3),
            padding: (1, 1, 0, 0),
            dilation: (2, 1),
            groups: 2,
            bias: false
        });
        let values = |n: usize, seed: f64| (0..n).map(|i| ((i as f64 + seed) * 0.61).sin()).collect::<Vec<f64>>();
        let params = values(Adjoint::WEIGHT_LEN, 0.3);
        let u = values(2 * Adjoint::INPUT_LEN, 1.0);
        let v = values(2 * Adjoint::OUTPUT_LEN, 2.0);
        let mut scratch = vec![0.0; 2 * scratch_per_sample::<Adjoint>()];
        let mut conv_u = vec![0.0; v.len()];
        conv2d::forward::<f64, Adjoint>(2, &u, &params, &mut conv_u, &mut scratch);
        let mut transposed_v = vec![0.0; u.len()];
        forward::<f64, Adjoint>(2, &v, &params, &mut transposed_v, &mut scratch);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        assert!((dot(&conv_u, &v) - dot(&u, &transposed_v)).abs() < 1e-10);
        // The input gradient of the transposed layer is the convolution itself.
        let (mut grads, mut dx) = (vec![0.0; params.len()], vec![0.0; v.len()]);
        backward::<f64, Adjoint>(2, &v, &params, &u, &mut grads, Some(&mut dx), &mut scratch);
        assert!(dx.iter().zip(&conv_u).all(|(a, b)| (a - b).abs() < 1e-12));
    }
}
