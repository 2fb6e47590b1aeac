//! Phase 2's result: a network whose every shape, parameter count and buffer size is
//! known, with each layer's place in the source.

use crate::layers::{Axes, Layer, ParamTensor, Shape};
use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

pub struct Network {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Shape,
    pub input_axes: Axes,
    pub layers: Vec<CheckedLayer>,
    pub params: u64,
    pub flops: u64,
}

/// A node of the graph: a layer, or a merge (`residual`, `concat`, `scale`).
pub struct CheckedLayer {
    /// The weight-file key prefix: the index in the chain, or the layer's name.
    pub key: String,
    /// The kind as the registry names it (`sigmoid` for `logistic`).
    pub kind: &'static str,
    /// The layer as written, normalized: `conv(1, 6, 5, stride = 2)`.
    pub written: String,
    /// The values it reads: 0 is the network input, `v` > 0 the output of the node
    /// whose `value` is `v`. Nodes come in topological order.
    pub inputs: Vec<usize>,
    /// The value it produces.
    pub value: usize,
    pub output: Shape,
    pub axes: Axes,
    /// Elements of one sample's output.
    pub output_len: u64,
    pub tensors: Vec<ParamTensor>,
    /// Non-trainable state (running statistics), and its element count.
    pub buffers: Vec<ParamTensor>,
    pub buffer_len: u64,
    /// Per-sample elements kept besides the output; per-batch statistics.
    pub saved: u64,
    pub batch_stats: u64,
    pub scratch_per_sample: u64,
    /// Scratch per sample of a chunk (see `Layer::chunk_scratch`), for training and for
    /// inference.
    pub chunk_scratch: u64,
    pub inference_chunk_scratch: u64,
    /// Trainable parameters.
    pub params: u64,
    pub flops: u64,
    pub scratch: u64,
    pub op: Box<dyn Layer>,
    /// Where the layer is written: its generated code is located there, so that a
    /// compiler error in it points at the layer rather than at the whole macro.
    pub span: Span,
}

impl Network {
    pub fn input_len(&self) -> u64 {
        self.input.iter().product()
    }
    pub fn output(&self) -> &CheckedLayer {
        self.layers.last().expect("a network has at least one layer")
    }
}
