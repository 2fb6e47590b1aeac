//! The buffers a network computes in, sized once per batch size and then reused, so
//! steady-state steps allocate nothing.

use crate::error::Error;
use crate::float::Float;
use crate::kernels::bf16::Precision;
use crate::ops::recurrent::CHUNK;

/// Per-sample buffer sizes the macro computed for one network. Element counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Every layer's output, kept for the backward pass.
    pub activations: usize,
    /// Where the network's output starts inside the activations.
    pub output_offset: usize,
    /// Inference's activations: only the values alive at once (a liveness plan), for a
    /// forward pass no backward follows.
    pub inference: usize,
    /// Where the output starts inside inference's activations.
    pub inference_output_offset: usize,
    /// The gradient arena: every value's gradient while backward needs it, planned
    /// by liveness (the output's gradient first, at offset 0).
    pub gradient: usize,
    /// Scratch independent of the batch size (one sample's im2col and the like).
    pub scratch: usize,
    /// Scratch per sample, on top of `scratch`.
    pub scratch_per_sample: usize,
    /// Scratch per sample of a chunk of at most [`CHUNK`] samples, on top of the
    /// others, for a training step: a recurrent layer's per-chunk buffers.
    pub chunk_scratch: usize,
    /// The same for inference.
    pub inference_chunk_scratch: usize,
    /// Per-batch statistics kept from forward to backward (batch norm's mean and
    /// inverse standard deviation), independent of the batch size.
    pub batch_stats: usize,
    /// A chunk's f64 partial sums at batch norm's barriers
    /// ([`crate::ops::batchnorm::Barrier`]), independent of the batch size.
    pub partials: usize,
}

/// Activations, the gradient arena backward works in, scratch, and the input gradient
/// (only grown when asked for).
#[derive(Debug, Clone, Default)]
pub struct Workspace<F> {
    /// The largest batch prepared for a training step, and for inference.
    pub batch_capacity: usize,
    pub inference_capacity: usize,
    pub activations: Vec<F>,
    pub gradients: Vec<F>,
    pub scratch: Vec<F>,
    pub batch_stats: Vec<F>,
    pub partials: Vec<f64>,
    pub input_grad: Vec<F>,
    /// A batch's outputs, gathered from its chunks.
    pub output: Vec<F>,
    /// The arithmetic of inference products (`Network::set_precision`).
    pub precision: Precision,
    /// The arithmetic of training steps' products (`Network::set_training_precision`).
    pub training_precision: Precision,
}

fn grow<F: Float>(buffer: &mut Vec<F>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, F::ZERO);
    }
}

impl<F: Float> Workspace<F> {
    /// Makes room for `batch` samples of a training step (`for_backward`) or of
    /// inference, which needs no gradients and fewer activations; allocates only when
    /// the batch is the largest yet for that use.
    pub fn prepare(
        &mut self, layout: &Layout, batch: usize, network: &'static str, for_backward: bool,
    ) -> Result<(), Error> {
        let capacity = if for_backward { self.batch_capacity } else { self.inference_capacity };
        if batch <= capacity {
            return Ok(());
        }
        let too_large = || Error::BatchTooLarge { network, batch };
        let per_sample = if for_backward { layout.activations } else { layout.inference };
        let activations = per_sample.checked_mul(batch).ok_or_else(too_large)?;
        let gradient = if for_backward { layout.gradient } else { 0 }.checked_mul(batch).ok_or_else(too_large)?;
        let chunk = if for_backward { layout.chunk_scratch } else { layout.inference_chunk_scratch };
        let scratch = layout
            .scratch_per_sample
            .checked_mul(batch)
            .and_then(|s| s.checked_add(layout.scratch))
            .and_then(|s| s.checked_add(chunk.checked_mul(batch.min(CHUNK))?))
            .ok_or_else(too_large)?;
        activations
            .checked_mul(std::mem::size_of::<F>())
            .filter(|&bytes| bytes <= isize::MAX as usize)
            .ok_or_else(too_large)?;
        grow(&mut self.activations, activations);
        grow(&mut self.gradients, gradient);
        grow(&mut self.scratch, scratch);
        grow(&mut self.batch_stats, layout.batch_stats);
        if self.partials.len() < layout.partials {
            self.partials.resize(layout.partials, 0.0);
        }
        if for_backward {
            self.batch_capacity = batch;
        } else {
            self.inference_capacity = batch;
        }
        Ok(())
    }

    /// Makes room for the input gradient of `len` elements.
    pub fn prepare_input_grad(&mut self, len: usize) {
        grow(&mut self.input_grad, len);
    }
}
