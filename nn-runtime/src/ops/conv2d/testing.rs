//! What the strategies' tests share: deterministic values, the layer shapes they run,
//! and the comparison of a strategy with the im2col path.

use super::Geometry;
use crate::float::Float;

pub fn values<F: Float>(n: usize, seed: f64) -> Vec<F> {
    (0..n).map(|i| F::from_f64(((i as f64 + seed) * 0.37).sin())).collect()
}

/// `forward(batch, x, params, y, scratch)`.
pub type Forward<F> = fn(usize, &[F], &[F], &mut [F], &mut [F]);
/// `backward(batch, x, params, dy, grads, dx, scratch)`.
pub type Backward<F> = fn(usize, &[F], &[F], &[F], &mut [F], Option<&mut [F]>, &mut [F]);

/// A strategy's forward (`y` from `x` and the parameters) and backward (the parameter
/// gradients and the input gradient), each with a scratch buffer.
pub struct Strategy<F> {
    pub forward: Forward<F>,
    pub backward: Backward<F>,
    pub scratch: usize,
}

/// The largest difference of (output, parameter gradients, input gradient) between
/// `strategy` and the im2col path, relative to `1 + |im2col's value|`.
pub fn against_im2col<F: Float, G: Geometry>(strategy: Strategy<F>, batch: usize) -> (f64, f64, f64) {
    let x: Vec<F> = values(batch * G::INPUT_LEN, 0.5);
    let params: Vec<F> = values(G::WEIGHT_LEN + G::OC, 3.0);
    let dy: Vec<F> = values(batch * G::OUTPUT_LEN, 7.0);
    let im2col = Strategy::<F> {
        forward: super::forward::<F, G>,
        backward: super::backward::<F, G>,
        scratch: batch * super::scratch_per_sample::<G>(),
    };
    let run = |strategy: &Strategy<F>| {
        let mut scratch = vec![F::ZERO; strategy.scratch];
        let mut y = vec![F::from_f64(f64::NAN); dy.len()];
        let mut grads = vec![F::from_f64(f64::NAN); params.len()];
        let mut dx = vec![F::from_f64(f64::NAN); x.len()];
        (strategy.forward)(batch, &x, &params, &mut y, &mut scratch);
        (strategy.backward)(batch, &x, &params, &dy, &mut grads, Some(&mut dx), &mut scratch);
        if !G::BIAS {
            grads.truncate(G::WEIGHT_LEN);
        }
        (y, grads, dx)
    };
    let (want, got) = (run(&im2col), run(&strategy));
    let worst = |a: &[F], b: &[F]| {
        a.iter().zip(b).map(|(a, b)| (a.to_f64() - b.to_f64()).abs() / (1.0 + b.to_f64().abs())).fold(0.0, f64::max)
    };
    (worst(&got.0, &want.0), worst(&got.1, &want.1), worst(&got.2, &want.2))
}

/// Asserts every difference of [`against_im2col`] is below `tolerance`.
pub fn assert_close((y, g, dx): (f64, f64, f64), what: &str, tolerance: f64) {
    assert!(y < tolerance && g < tolerance && dx < tolerance, "{what}: output {y:e}, weights {g:e}, input {dx:e}");
}

crate::conv2d_geometry!(pub LenetConv1 { c: 1, h: 32, w: 32, oc: 6, k: (5, 5) });
crate::conv2d_geometry!(pub LenetConv2 { c: 6, h: 14, w: 14, oc: 16, k: (5, 5) });
crate::conv2d_geometry!(pub KerasConv1 { c: 1, h: 28, w: 28, oc: 8, k: (7, 7), stride: (2, 2) });
crate::conv2d_geometry!(pub KerasConv2 { c: 8, h: 11, w: 11, oc: 16, k: (5, 5), stride: (2, 2) });
crate::conv2d_geometry!(pub KerasConv3 { c: 16, h: 4, w: 4, oc: 32, k: (3, 3) });
crate::conv2d_geometry!(
    /// Stride (2, 1), padding (1, 2), dilation (1, 2), 2 groups of 3 → 10 channels, no bias.
    pub EveryOption { c: 6, h: 7, w: 6, oc: 20, k: (3, 2), stride: (2, 1), padding: (1, 1, 2, 2), dilation: (1, 2), groups: 2, bias: false }
);
crate::conv2d_geometry!(
    /// 4 channels in 2 groups, 7×9 input, 3×2 kernel, padding (1, 2), dilation (2, 1):
    /// OH = 7 + 2 − 4 − 1 + 1 = 5, OW = 9 + 4 − 1 − 1 + 1 = 12.
    pub Grouped { c: 4, h: 7, w: 9, oc: 6, k: (3, 2), padding: (1, 1, 2, 2), dilation: (2, 1), groups: 2, bias: false }
);
crate::conv2d_geometry!(
    /// A padded "same" convolution with 24 output channels (a 16 + 8 strip).
    pub Same { c: 3, h: 9, w: 9, oc: 24, k: (3, 3), padding: (1, 1, 1, 1) }
);
crate::conv2d_geometry!(
    /// PyTorch's "same" for an even kernel: one more row and column after than before.
    pub SameEven { c: 3, h: 9, w: 8, oc: 8, k: (4, 2), padding: (1, 2, 0, 1) }
);

// Layers small enough for Miri (tools/miri.sh), each through every tile and strip the
// vector kernels have for its strategy.
crate::conv2d_geometry!(
    /// 20 channels padded to 24 (a 16- and an 8-column strip), 3×3 = 9 output pixels
    /// (a 6-row tile and a 3-row one), padded on one side only.
    pub Tiny20 { c: 2, h: 3, w: 3, oc: 20, k: (2, 2), padding: (0, 1, 0, 1) }
);
crate::conv2d_geometry!(
    /// 2 groups of 8 channels (8-row tiles: 12 pixels = 8 + 4), stride, padding,
    /// dilation, no bias.
    pub Tiny8 { c: 2, h: 5, w: 6, oc: 16, k: (2, 2), stride: (2, 1), padding: (1, 1, 0, 0), dilation: (1, 2), groups: 2, bias: false }
);
crate::conv2d_geometry!(
    /// Unit stride, for the shifted strategy: 7 channels (a 6-row tile and a 1-row
    /// one), full-width rows of 3·10 + 8 = 38 columns (16, 16 and a masked 6).
    pub TinyShifted { c: 2, h: 4, w: 8, oc: 7, k: (2, 3), padding: (1, 0, 1, 1) }
);
