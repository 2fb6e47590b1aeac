//! Data in and out: weight files (safetensors), IDX data sets, mini-batches and
//! classification metrics.

pub mod data;
pub mod idx;
pub mod metrics;
pub mod weights;
