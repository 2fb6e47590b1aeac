//! The runtime behind `network!`: kernels (one module per family), losses, optimizers,
//! initialization, workspaces and data loading. Generated code reaches it through
//! `::nn::__private`, and users through `nn::…`.

pub mod activation;
pub mod batchnorm;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod data;
pub mod dropout;
pub mod error;
pub mod float;
pub mod gathered;
mod gathered_avx2;
pub mod gemm;
pub mod idx;
pub mod init;
pub mod linear;
pub mod loss;
pub mod metrics;
pub mod network;
pub mod optim;
pub mod pool2d;
pub mod rng;
pub mod simd;
pub mod small_gemm;
mod small_gemm_avx2;
pub mod softmax;
pub mod summary;
pub mod threads;
pub mod upsample;
pub mod weights;
pub mod workspace;

pub use error::Error;
pub use float::Float;
pub use loss::{BinaryCrossEntropyWithLogits, Loss, MeanSquaredError, SoftmaxCrossEntropy};
pub use network::{argmax_rows, Network};
pub use optim::{Adam, Optimizer, Sgd};
pub use summary::{LayerInfo, Summary, TensorInfo};
