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
    argmax_rows, idx, schedule, top_k_correct, Accuracy, Adagrad, Adam, BinaryCrossEntropyWithLogits, Error, Fit,
    History, Init, Int8Model, LoadReport, Loss, MeanSquaredError, Metric, Network, NllLoss, Optimizer, Precision,
    ProbabilityCrossEntropy, RmsProp, Scheme, Sgd, SoftmaxCrossEntropy, Summary, TopK,
};
#[cfg(feature = "mpi")]
pub use nn_runtime::{Distributed, Reduction};

/// Data sets and mini-batches: [`data::ImageSet`] and [`data::Samples`], loaders for
/// IDX ([`idx`]), CSV ([`data::csv`]) and folders of images ([`data::images`]),
/// shuffled [`data::Batches`] and their [`data::Augment`]ation.
#[cfg(feature = "std")]
pub mod data {
    pub use nn_runtime::augment::Augment;
    pub use nn_runtime::csv;
    pub use nn_runtime::data::*;
    #[cfg(feature = "images")]
    pub use nn_runtime::images;
}
pub use nn_runtime::{Float, LayerInfo};

/// Everything a program that trains a network needs in scope.
#[cfg(feature = "std")]
pub mod prelude {
    pub use crate::{
        network, Accuracy, Adagrad, Adam, BinaryCrossEntropyWithLogits, Fit, Init, Loss, MeanSquaredError, Network,
        NllLoss, Optimizer, ProbabilityCrossEntropy, RmsProp, Sgd, SoftmaxCrossEntropy,
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

    /// Generated code that needs `std` (the network's struct, training, the `Network`
    /// trait) is wrapped in this: it expands to its input with `nn`'s `std` feature and
    /// to nothing without, since the macro cannot see `nn`'s features.
    pub use crate::__with_std as with_std;
}

#[doc(hidden)]
#[cfg(feature = "std")]
#[macro_export]
macro_rules! __with_std {
    ($($item:tt)*) => { $($item)* };
}

#[doc(hidden)]
#[cfg(not(feature = "std"))]
#[macro_export]
macro_rules! __with_std {
    ($($item:tt)*) => {};
}
