//! The merges of a graph (SPEC §5): `residual`'s sum, `concat`'s join along channels
//! and `scale`'s per-channel product, forward and backward. Backward either starts a
//! gradient (`accumulate` false: overwrite) or adds to one another reader of the same
//! value already started, so a value read several times gets the sum of its readers'
//! gradients without a separate zeroing pass.

use crate::float::Float;

/// `y = a + b`, element by element.
pub fn add<F: Float>(a: &[F], b: &[F], y: &mut [F]) {
    assert!(
        a.len() == y.len() && b.len() == y.len(),
        "add: operands of {}, {} and {} elements",
        a.len(),
        b.len(),
        y.len()
    );
    for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
        *y = a + b;
    }
}

/// `dx = dy`, or `dx += dy` when `accumulate`: the gradient through a sum or a view.
pub fn pass<F: Float>(dy: &[F], dx: &mut [F], accumulate: bool) {
    assert_eq!(dy.len(), dx.len(), "pass: gradients of different lengths");
    if accumulate {
        for (dx, &dy) in dx.iter_mut().zip(dy) {
            *dx += dy;
        }
    } else {
        dx.copy_from_slice(dy);
    }
}

/// Copies each sample's `LEN` values of `x` to `OFFSET..OFFSET + LEN` of that sample's
/// `TOTAL` values in `y`.
pub fn concat_part<F: Float, const LEN: usize, const TOTAL: usize, const OFFSET: usize>(
    x: &[F], y: &mut [F], batch: usize,
) {
    const { assert!(OFFSET + LEN <= TOTAL) };
    assert!(x.len() >= LEN * batch && y.len() >= TOTAL * batch, "concat: buffers too short for {batch} samples");
    for (x, y) in x.chunks_exact(LEN).zip(y.chunks_exact_mut(TOTAL)).take(batch) {
        y[OFFSET..OFFSET + LEN].copy_from_slice(x);
    }
}

/// The gradient of one `concat` branch: its part of each sample of `dy`.
pub fn split_part<F: Float, const LEN: usize, const TOTAL: usize, const OFFSET: usize>(
    dy: &[F], dx: &mut [F], batch: usize, accumulate: bool,
) {
    const { assert!(OFFSET + LEN <= TOTAL) };
    assert!(dx.len() >= LEN * batch && dy.len() >= TOTAL * batch, "concat: buffers too short for {batch} samples");
    for (dx, dy) in dx.chunks_exact_mut(LEN).zip(dy.chunks_exact(TOTAL)).take(batch) {
        pass(&dy[OFFSET..OFFSET + LEN], dx, accumulate);
    }
}

/// `y[n, c, s] = x[n, c, s] · gate[n, c]`: `C` channels of `S` positions each.
pub fn scale<F: Float, const C: usize, const S: usize>(x: &[F], gate: &[F], y: &mut [F], batch: usize) {
    assert!(x.len() >= C * S * batch && y.len() >= C * S * batch && gate.len() >= C * batch);
    for ((x, y), gate) in x.chunks_exact(S).zip(y.chunks_exact_mut(S)).zip(gate).take(C * batch) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x * *gate;
        }
    }
}

/// The gradient of `scale`'s input: `dx[n, c, s] = dy[n, c, s] · gate[n, c]`.
pub fn scale_backward_input<F: Float, const C: usize, const S: usize>(
    gate: &[F], dy: &[F], dx: &mut [F], batch: usize, accumulate: bool,
) {
    assert!(dy.len() >= C * S * batch && dx.len() >= C * S * batch && gate.len() >= C * batch);
    for ((dy, dx), &gate) in dy.chunks_exact(S).zip(dx.chunks_exact_mut(S)).zip(gate).take(C * batch) {
        for (dx, &dy) in dx.iter_mut().zip(dy) {
            *dx = if accumulate { *dx + dy * gate } else { dy * gate };
        }
    }
}

/// The gradient of `scale`'s gate: `dgate[n, c] = Σ_s dy[n, c, s] · x[n, c, s]`.
pub fn scale_backward_gate<F: Float, const C: usize, const S: usize>(
    x: &[F], dy: &[F], dgate: &mut [F], batch: usize, accumulate: bool,
) {
    assert!(dy.len() >= C * S * batch && x.len() >= C * S * batch && dgate.len() >= C * batch);
    for ((dy, x), dgate) in dy.chunks_exact(S).zip(x.chunks_exact(S)).zip(dgate.iter_mut()).take(C * batch) {
        let mut sum = F::ZERO;
        for (&dy, &x) in dy.iter().zip(x) {
            sum += dy * x;
        }
        *dgate = if accumulate { *dgate + sum } else { sum };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_then_split_round_trips_and_accumulates() {
        let (a, b) = ([1.0f64, 2.0, 3.0, 4.0], [5.0f64, 6.0]);
        let mut y = [0.0; 6];
        concat_part::<f64, 2, 3, 0>(&a, &mut y, 2);
        concat_part::<f64, 1, 3, 2>(&b, &mut y, 2);
        assert_eq!(y, [1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
        let mut da = [10.0; 4];
        split_part::<f64, 2, 3, 0>(&y, &mut da, 2, false);
        assert_eq!(da, a);
        split_part::<f64, 2, 3, 0>(&y, &mut da, 2, true);
        assert_eq!(da, [2.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn scale_and_its_gradients() {
        // Two samples, two channels of two positions.
        let x = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let gate = [0.5, 2.0, -1.0, 0.0];
        let mut y = [0.0; 8];
        scale::<f64, 2, 2>(&x, &gate, &mut y, 2);
        assert_eq!(y, [0.5, 1.0, 6.0, 8.0, -5.0, -6.0, 0.0, 0.0]);
        let dy = [1.0; 8];
        let mut dx = [0.0; 8];
        scale_backward_input::<f64, 2, 2>(&gate, &dy, &mut dx, 2, false);
        assert_eq!(dx, [0.5, 0.5, 2.0, 2.0, -1.0, -1.0, 0.0, 0.0]);
        let mut dgate = [1.0; 4];
        scale_backward_gate::<f64, 2, 2>(&x, &dy, &mut dgate, 2, true);
        assert_eq!(dgate, [4.0, 8.0, 12.0, 16.0]);
    }

    #[test]
    fn add_and_pass() {
        let mut y = [0.0f32; 3];
        add(&[1.0, 2.0, 3.0], &[0.5, 0.5, 0.5], &mut y);
        assert_eq!(y, [1.5, 2.5, 3.5]);
        let mut dx = [1.0f32; 3];
        pass(&y, &mut dx, true);
        assert_eq!(dx, [2.5, 3.5, 4.5]);
        pass(&y, &mut dx, false);
        assert_eq!(dx, y);
    }
}
