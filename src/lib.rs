// The README is the crate's front page, and its example runs as a doctest.
#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

// Generated code always names `::nn::__private`, which must resolve inside this crate's
// own examples, tests and doctests too.
extern crate self as nn;

pub use nn_macros::network;
pub use nn_runtime as runtime;
#[cfg(feature = "std")]
pub use nn_runtime::{
    argmax_rows, data, idx, Adam, BinaryCrossEntropyWithLogits, Error, LoadReport, Loss, MeanSquaredError, Network,
    Optimizer, Precision, Sgd, SoftmaxCrossEntropy, Summary,
};
pub use nn_runtime::{Float, LayerInfo};

/// Everything a program that trains a network needs in scope.
#[cfg(feature = "std")]
pub mod prelude {
    pub use crate::{
        network, Adam, BinaryCrossEntropyWithLogits, Loss, MeanSquaredError, Network, Optimizer, Sgd,
        SoftmaxCrossEntropy,
    };
}

/// The one stable path generated code uses to reach the runtime, flat: the
/// operators, `network`, `workspace` and `init` by name, whichever folder of the
/// runtime holds them. Not public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "std")]
    pub use nn_runtime::exec::{network, workspace};
    pub use nn_runtime::ops::*;
    #[cfg(feature = "std")]
    pub use nn_runtime::train::init;
    pub use nn_runtime::*;
}
