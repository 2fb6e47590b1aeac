//! Data in and out: weight files and checkpoints (safetensors), IDX data sets,
//! mini-batches and classification metrics.

pub mod checkpoint;
pub mod data;
pub mod idx;
pub mod metrics;
pub mod weights;
