//! Errors a user can hit at run time, each saying what went wrong and where.

use std::fmt;

/// A run-time error from a network, a loss, or the data loaders.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The input slice is not a whole number of samples.
    InputLength { network: &'static str, sample_len: usize, sample_shape: &'static [usize], found: usize },
    /// The input slice holds no sample at all.
    EmptyBatch { network: &'static str },
    /// A batch so large that its buffers' sizes overflow `usize`.
    BatchTooLarge { network: &'static str, batch: usize },
    /// A loss target (or an output gradient) of the wrong length for the batch.
    TargetLength { what: &'static str, expected: usize, found: usize, batch: usize },
    /// A class label outside `0..classes`.
    LabelOutOfRange { position: usize, label: usize, classes: usize },
    /// Batch norm in training needs more than one value per channel (PyTorch refuses too).
    BatchNormSingleValue { network: &'static str, layer: &'static str },
    /// The loss came out NaN or infinite; the parameters were left untouched.
    NonFiniteLoss { network: &'static str, loss: &'static str, value: f64 },
    /// A gradient came out NaN or infinite (the first such tensor named); the step was
    /// refused and the network left as it was.
    NonFiniteGradient { network: &'static str, tensor: &'static str },
    /// An optimizer setting PyTorch would reject too (a NaN or negative learning rate…);
    /// nothing was changed.
    Optimizer { optimizer: &'static str, message: String },
    /// A data file that could not be read or parsed, or data a helper cannot use as
    /// given (an IDX array, an image set, batches, outputs or a class for the metrics);
    /// `source` names the file or the helper.
    Data { source: String, message: String },
    /// A weight file that does not fit the network (every problem listed), or that could
    /// not be read.
    Weights { source: String, problems: Vec<String> },
    /// Weights that could not be saved; a file already at the destination is as it was.
    WeightsSave { destination: String, problem: String },
    /// A network's parameters, gradients and buffers (`bytes` in all) could not be
    /// allocated.
    Allocation { network: &'static str, bytes: u128 },
    /// A precision or kernel this processor cannot run was asked for; nothing changed.
    Unsupported { network: &'static str, message: String },
    /// Training across processes could not start or go on (MPI).
    Distributed { message: String },
    /// A checkpoint could not be written, read or restored.
    Checkpoint { source: String, message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InputLength { network, sample_len, sample_shape, found } => write!(
                f,
                "{network}: input has {found} elements, which is not a multiple of one sample's \
                 {sample_len} (shape {sample_shape:?}); pass batch × {sample_len} elements, laid out NCHW"
            ),
            Error::EmptyBatch { network } => write!(f, "{network}: input is empty; pass at least one sample"),
            Error::BatchTooLarge { network, batch } => {
                write!(f, "{network}: a batch of {batch} samples needs more memory than can be addressed")
            }
            Error::TargetLength { what, expected, found, batch } => {
                write!(f, "{what} has {found} elements, but a batch of {batch} needs {expected}")
            }
            Error::LabelOutOfRange { position, label, classes } => write!(
                f,
                "label {label} at position {position} is out of range: the network has {classes} classes (0..={})",
                classes.saturating_sub(1)
            ),
            Error::BatchNormSingleValue { network, layer } => write!(
                f,
                "{network}: batch norm layer {layer} sees one value per channel in this batch; in train mode it \
                 needs more than one (use a batch of at least 2, or eval mode)"
            ),
            Error::NonFiniteLoss { network, loss, value } => write!(
                f,
                "{network}: {loss} is {value}; the step was not applied (lower the learning rate, \
                 or check the inputs for NaN or infinity)"
            ),
            Error::NonFiniteGradient { network, tensor } => write!(
                f,
                "{network}: the gradient of {tensor} is NaN or infinite; the step was not applied (check the \
                 inputs and targets for NaN or infinity, or lower the learning rate)"
            ),
            Error::Optimizer { optimizer, message } => write!(f, "{optimizer}: {message}; nothing was changed"),
            Error::Data { source, message } => write!(f, "{source}: {message}"),
            Error::Weights { source, problems } => {
                write!(f, "error(s) loading weights ({source}):")?;
                for problem in problems {
                    write!(f, "\n    {problem}")?;
                }
                Ok(())
            }
            Error::WeightsSave { destination, problem } => write!(f, "error saving weights ({destination}): {problem}"),
            Error::Allocation { network, bytes } => write!(
                f,
                "{network}: its parameters, gradients and buffers need {bytes} bytes ({:.1} GiB), which could not \
                 be allocated",
                *bytes as f64 / (1u64 << 30) as f64
            ),
            Error::Unsupported { network, message } => write!(f, "{network}: {message}; nothing was changed"),
            Error::Distributed { message } => write!(f, "distributed training: {message}"),
            Error::Checkpoint { source, message } => write!(f, "checkpoint {source}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A loss's error about targets counted in rows of the loss (a sequence's steps),
    /// restated for the caller's `batch` of samples.
    pub(crate) fn per_sample(self, batch: usize) -> Error {
        match self {
            Error::TargetLength { what, expected, found, .. } => Error::TargetLength { what, expected, found, batch },
            other => other,
        }
    }
}
