//! What the macro tells the runtime about a network's layers: keys, shapes and
//! counts, all known at compile time. Weight files, summaries and checks read it.

/// One layer as the macro saw it: all compile-time facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerInfo {
    /// The weight-file key prefix: the layer's index in the chain, or its name.
    pub key: &'static str,
    /// The layer kind, e.g. `conv`.
    pub kind: &'static str,
    /// The layer as written, e.g. `conv(1, 6, 5)`.
    pub written: &'static str,
    /// Per-sample output shape.
    pub output_shape: &'static [usize],
    /// The output's axis letters where its rank does not say what they mean: `"TF"` for
    /// a `[T, F]` sequence, `"CL"` for a `[C, L]` signal; empty otherwise.
    pub output_axes: &'static str,
    /// Trainable parameters.
    pub params: usize,
    /// Forward FLOPs per sample.
    pub flops: u64,
    /// The layer's parameter tensors in storage order.
    pub tensors: &'static [TensorInfo],
    /// The layer's non-trainable buffers (running statistics) in storage order.
    pub buffers: &'static [TensorInfo],
}

/// A parameter tensor: its full key as `nn.Sequential` names it, and its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorInfo {
    /// e.g. `3.weight`, or `conv1.bias` for a named layer.
    pub key: &'static str,
    pub shape: &'static [usize],
}
