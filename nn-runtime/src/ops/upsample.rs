//! Nearest-neighbour upsampling by integer factors, as `nn.Upsample(scale_factor, mode='nearest')`.

use crate::float::Float;

/// Each input pixel becomes an `SH×SW` block.
pub fn nearest_forward<F: Float, const C: usize, const H: usize, const W: usize, const SH: usize, const SW: usize>(
    batch: usize, x: &[F], y: &mut [F],
) {
    let (oh, ow) = (H * SH, W * SW);
    for (plane, out) in x[..batch * C * H * W].chunks_exact(H * W).zip(y.chunks_exact_mut(oh * ow)) {
        for i in 0..oh {
            let src = &plane[(i / SH) * W..(i / SH + 1) * W];
            for (j, o) in out[i * ow..(i + 1) * ow].iter_mut().enumerate() {
                *o = src[j / SW];
            }
        }
    }
}

/// Each input pixel's gradient is the sum over its block.
pub fn nearest_backward<F: Float, const C: usize, const H: usize, const W: usize, const SH: usize, const SW: usize>(
    batch: usize, dy: &[F], dx: &mut [F],
) {
    let (oh, ow) = (H * SH, W * SW);
    let dx = &mut dx[..batch * C * H * W];
    dx.fill(F::ZERO);
    for (dplane, dout) in dx.chunks_exact_mut(H * W).zip(dy.chunks_exact(oh * ow)) {
        for i in 0..oh {
            let dst = &mut dplane[(i / SH) * W..(i / SH + 1) * W];
            for (j, &g) in dout[i * ow..(i + 1) * ow].iter().enumerate() {
                dst[j / SW] += g;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_sums() {
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let mut y = [0.0; 24];
        nearest_forward::<f64, 1, 2, 2, 2, 3>(1, &x, &mut y);
        assert_eq!(y[..12], [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        assert_eq!(y[12..18], [3.0, 3.0, 3.0, 4.0, 4.0, 4.0]);
        let mut dx = [0.0; 4];
        nearest_backward::<f64, 1, 2, 2, 2, 3>(1, &[1.0; 24], &mut dx);
        assert_eq!(dx, [6.0; 4]);
    }
}
