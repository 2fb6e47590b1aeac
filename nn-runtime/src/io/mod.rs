//! Data in and out: weight files and checkpoints (safetensors), data sets (IDX, CSV,
//! folders of images), mini-batches and their augmentation, and metrics.

pub mod augment;
pub mod checkpoint;
pub mod csv;
pub mod data;
pub mod idx;
#[cfg(feature = "images")]
pub mod images;
pub mod metrics;
pub mod weights;
