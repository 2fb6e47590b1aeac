//! Element-wise activations, each defined once as a pair: the function and its
//! derivative written in terms of the input and output (whichever is cheaper).

use crate::float::Float;

/// An element-wise function with its derivative.
pub trait Activation {
    fn f<F: Float>(x: F) -> F;
    /// `dy/dx` given both the input `x` and the output `y = f(x)`.
    fn df<F: Float>(x: F, y: F) -> F;
    /// Whether [`Activation::df`] reads `x`; if not, backward needs only the output.
    const DF_NEEDS_INPUT: bool;
}

/// `max(0, x)`; the derivative at 0 is 0, as in PyTorch.
pub struct Relu;
impl Activation for Relu {
    const DF_NEEDS_INPUT: bool = false;
    #[inline(always)]
    fn f<F: Float>(x: F) -> F {
        if x > F::ZERO {
            x
        } else {
            F::ZERO
        }
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, y: F) -> F {
        if y > F::ZERO {
            F::ONE
        } else {
            F::ZERO
        }
    }
}

/// Hyperbolic tangent.
pub struct Tanh;
impl Activation for Tanh {
    const DF_NEEDS_INPUT: bool = false;
    #[inline(always)]
    fn f<F: Float>(x: F) -> F {
        x.tanh()
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, y: F) -> F {
        F::ONE - y * y
    }
}

/// Logistic sigmoid `1 / (1 + e^-x)`, computed without overflow for large |x|.
pub struct Sigmoid;
impl Activation for Sigmoid {
    const DF_NEEDS_INPUT: bool = false;
    #[inline(always)]
    fn f<F: Float>(x: F) -> F {
        if x >= F::ZERO {
            F::ONE / (F::ONE + (-x).exp())
        } else {
            let e = x.exp();
            e / (F::ONE + e)
        }
    }
    #[inline(always)]
    fn df<F: Float>(_x: F, y: F) -> F {
        y * (F::ONE - y)
    }
}

/// `y = f(x)` over `LEN` elements per sample.
pub fn forward<F: Float, A: Activation, const LEN: usize>(batch: usize, x: &[F], y: &mut [F]) {
    for (o, &i) in y[..batch * LEN].iter_mut().zip(&x[..batch * LEN]) {
        *o = A::f(i);
    }
}

/// `dx = dy · f'(x)`.
pub fn backward<F: Float, A: Activation, const LEN: usize>(batch: usize, x: &[F], y: &[F], dy: &[F], dx: &mut [F]) {
    let n = batch * LEN;
    for (((d, &g), &yi), &xi) in dx[..n].iter_mut().zip(&dy[..n]).zip(&y[..n]).zip(&x[..n]) {
        *d = g * A::df(xi, yi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derivative_matches<A: Activation>(points: &[f64]) {
        for &x in points {
            let h = 1e-6;
            let numeric = (A::f(x + h) - A::f(x - h)) / (2.0 * h);
            let analytic = A::df(x, A::f(x));
            assert!((numeric - analytic).abs() < 1e-7, "at {x}: {numeric} vs {analytic}");
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let points = [-30.0, -2.5, -0.3, 0.4, 1.7, 30.0];
        derivative_matches::<Relu>(&points);
        derivative_matches::<Tanh>(&points);
        derivative_matches::<Sigmoid>(&points);
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(Sigmoid::f(-1000.0f32), 0.0);
        assert_eq!(Sigmoid::f(1000.0f32), 1.0);
        assert_eq!(Relu::f(-0.0f64), 0.0);
    }
}
