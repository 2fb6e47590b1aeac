//! The runtime behind `network!`, in layers that depend only on the ones listed before
//! them (`tools/module-cycles.py` checks that no import runs in a circle):
//!
//! - [`error`], [`float`], [`rng`], [`info`]: the element types, errors, random
//!   streams and the description of a network's layers that everything else shares;
//! - [`kernels`]: SIMD dispatch, matrix and gathered products, vector `tanh`;
//! - [`ops`]: one module per operator (forward and backward), on the kernels;
//! - [`train`]: losses, optimizers, initialization;
//! - [`io`]: weight files, IDX data, batches, metrics;
//! - [`exec`]: the `Network` trait generated networks implement, their workspaces,
//!   the helper thread and the summary table.
//!
//! Generated code reaches it through `::nn::__private`, and users through `nn::…`.

pub mod error;
pub mod float;
pub mod info;
pub mod rng;

pub mod kernels;
pub mod ops;
pub mod train;

pub mod io;

pub mod exec;

pub use error::Error;
pub use exec::network::Network;
pub use exec::summary::Summary;
pub use float::Float;
pub use info::{LayerInfo, TensorInfo};
pub use io::metrics::argmax_rows;
pub use io::weights::LoadReport;
pub use io::{data, idx};
pub use kernels::bf16::Precision;
pub use train::loss::{BinaryCrossEntropyWithLogits, Loss, MeanSquaredError, SoftmaxCrossEntropy};
pub use train::optim::{Adam, Optimizer, Sgd};
