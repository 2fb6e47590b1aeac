//! The runtime behind `network!`, in layers that depend only on the ones listed before
//! them (`tools/module-cycles.py` checks that no import runs in a circle):
//!
//! - [`error`], [`float`], [`rng`], [`info`], [`memory`]: the element types, errors,
//!   random streams, the description of a network's layers and the cutting of planned
//!   buffers that everything else shares;
//! - [`kernels`]: SIMD dispatch, matrix and gathered products, vector `tanh`;
//! - [`ops`]: one module per operator (forward and backward), on the kernels;
//! - [`train`]: losses, optimizers, initialization;
//! - [`io`]: weight files, IDX data, batches, metrics;
//! - [`exec`]: the `Network` trait generated networks implement, their workspaces,
//!   the helper thread and the summary table;
//! - [`int8`]: int8 inference (its operators need nothing above `ops`; calibration,
//!   saving and loading need `exec` and `io`).
//!
//! Generated code reaches it through `::nn::__private`, and users through `nn::…`.
//!
//! Without its default `std` feature the crate is `no_std`, with no allocator: the
//! element types, the kernels (portable, or those the build target enables) and the
//! operators remain, for inference on microcontrollers; training, threads, run-time
//! CPU detection, errors with messages and all I/O need `std`.

#![cfg_attr(not(any(feature = "std", test)), no_std)]

#[cfg(feature = "std")]
pub mod error;
pub mod float;
pub mod info;
pub mod memory;
pub mod rng;

pub mod kernels;
pub mod ops;
#[cfg(feature = "std")]
pub mod train;

#[cfg(feature = "std")]
pub mod io;

#[cfg(feature = "std")]
pub mod exec;

pub mod int8;

#[cfg(feature = "mpi")]
pub use exec::distributed::{Distributed, Reduction};
pub use float::Float;
pub use info::{LayerInfo, TensorInfo};
#[cfg(feature = "images")]
pub use io::images;
#[cfg(feature = "std")]
pub use {
    error::Error,
    exec::fit::{Accuracy, Fit, History, Metric, TopK},
    exec::network::Network,
    exec::summary::Summary,
    int8::model::Int8Model,
    io::metrics::{argmax_rows, top_k_correct},
    io::weights::LoadReport,
    io::{augment, csv, data, idx},
    kernels::bf16::Precision,
    train::init::{Init, Scheme},
    train::loss::{
        BinaryCrossEntropyWithLogits, Loss, MeanSquaredError, NllLoss, ProbabilityCrossEntropy, SoftmaxCrossEntropy,
    },
    train::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd},
    train::schedule,
};
