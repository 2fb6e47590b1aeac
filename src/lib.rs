//! An ahead-of-time compiler for neural networks.
//!
//! [`network!`] parses a network written in a small layer language, checks every shape
//! and counts every parameter at compile time, and generates straight-line forward and
//! backward code over the [`runtime`]'s kernels. See the README for the language.

// Generated code always names `::nn::__private`, which must resolve inside this crate's
// own examples, tests and doctests too.
extern crate self as nn;

pub use nn_macros::network;
pub use nn_runtime as runtime;
pub use nn_runtime::{
    argmax_rows, data, idx, Adam, BinaryCrossEntropyWithLogits, Error, Float, LayerInfo, Loss, MeanSquaredError,
    Network, Optimizer, Sgd, SoftmaxCrossEntropy, Summary,
};

/// Everything a program that trains a network needs in scope.
pub mod prelude {
    pub use crate::{
        network, Adam, BinaryCrossEntropyWithLogits, MeanSquaredError, Network, Optimizer, Sgd, SoftmaxCrossEntropy,
    };
}

/// The one stable path generated code uses to reach the runtime. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use nn_runtime::*;
}
