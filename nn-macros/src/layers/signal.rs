//! The 1-D layers on `[C, L]` signals (SPEC §6), as PyTorch's on `(N, C, L)`:
//! `conv1d(in, out, k, stride = 1, padding = 0, dilation = 1, groups = 1, bias = true)`
//! (`nn.Conv1d`, `padding = same | valid` included), `maxpool1d(k, stride = k, padding = 0,
//! ceil_mode = false)` and `avgpool1d(…)` alike (`nn.MaxPool1d`, `nn.AvgPool1d`, the
//! average counting the padding as `avgpool` does).
//!
//! Each is its 2-D counterpart on a `[C, 1, L]` image: a `(1, k)` window with stride
//! `(1, s)`, padding `(0, p)` and dilation `(1, d)`. The memory layouts are the same
//! (`[C, L]` is `[C, 1, L]`; the weight `[out, in/groups, k]` is `[out, in/groups, 1, k]`),
//! so the 2-D layers' kernels, strategies and fusions run them unchanged; this module
//! checks the arguments in 1-D terms and drops the unit height from the shapes.

use super::{conv, pool, window_output, Axes, Context, ConvGeometry, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::TokenStream;

static CONV_SCHEMA: [Param; 8] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    required("k", ArgType::Size),
    optional("stride", ArgType::Size, Default::Int(1)),
    optional("padding", ArgType::LengthPadding, Default::Int(0)),
    optional("dilation", ArgType::Size, Default::Int(1)),
    optional("groups", ArgType::Size, Default::Int(1)),
    optional("bias", ArgType::Bool, Default::Bool(true)),
];

static POOL_SCHEMA: [Param; 4] = [
    required("k", ArgType::Size),
    optional("stride", ArgType::Size, Default::SameAs("k")),
    optional("padding", ArgType::LengthPadding, Default::Int(0)),
    optional("ceil_mode", ArgType::Bool, Default::Bool(false)),
];

pub static CONV1D: Kind =
    Kind { recover: Recover::DeclaredChannels { rank: 2 }, ..Kind::new("conv1d", &CONV_SCHEMA, build_conv) };
pub static MAXPOOL1D: Kind = Kind::new("maxpool1d", &POOL_SCHEMA, |args, cx| build_pool(args, cx, pool::Reduce::Max));
pub static AVGPOOL1D: Kind =
    Kind::new("avgpool1d", &POOL_SCHEMA, |args, cx| build_pool(args, cx, pool::Reduce::Average));

/// The zero padding `(before, after)` the `padding` argument asks for. The 2-D rule on a
/// square of this axis: a number pads both sides, `same` pads `d·(k − 1)` (the odd one
/// after), and its messages read as 1-D ones since a square's pairs print as one number.
fn padding(args: &Bound, k: u64, dilation: u64, what: &str) -> syn::Result<(u64, u64)> {
    let [_, _, before, after] = super::paddings(args, (k, k), (dilation, dilation), what)?;
    Ok((before, after))
}

/// The error for a window that yields no output: "the kernel of size 9 is longer than
/// the input of length 6 from … with padding 1 (8 in all); … — use a kernel of at most 8".
fn too_long(
    args: &Bound, cx: &Context, window: &str, length: u64, padding: u64, span: String, fix: String,
) -> syn::Error {
    let padded = match padding {
        0 => "with padding 0".to_string(),
        p => format!("with padding {p} ({} in all)", length.saturating_add(p.saturating_mul(2))),
    };
    syn::Error::new_spanned(
        args.tokens("k"),
        format!(
            "`{}`: the {window} of size {}{span} is longer than the input of length {length} from {} {padded}; the \
             output would be empty — {fix}",
            args.written(),
            args.int("k"),
            cx.source,
        ),
    )
}

fn build_conv(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (channels, length) = cx.signal(args, "convolves")?;
    super::check_channels(args, cx, "in")?;
    super::check_groups(args)?;
    let (k, stride, dilation) = (args.int("k"), args.int("stride"), args.int("dilation"));
    let (before, after) = padding(args, k, dilation, "convolutions")?;
    // Only a number (symmetric) can leave the kernel too long: `same` keeps the length.
    let Some(output) = window_output(length, k, stride, (before, after), dilation, false) else {
        let span = dilation.saturating_mul(k - 1).saturating_add(1);
        let spanning =
            if dilation > 1 { format!(", spanning {span} with dilation {dilation},") } else { String::new() };
        let fix = super::fit_hint((length, length), (k, k), (before, before), (dilation, dilation));
        return Err(too_long(args, cx, "kernel", length, before, spanning, fix));
    };
    let geometry = ConvGeometry {
        input: (channels, 1, length),
        outputs: args.int("out"),
        kernel: (1, k),
        stride: (1, stride),
        padding: [0, 0, before, after],
        dilation: (1, dilation),
        groups: args.int("groups"),
        output: (1, output),
        bias: args.bool("bias"),
    };
    Ok(Box::new(OneD(conv::from_geometry(geometry, cx, args.written()))))
}

fn build_pool(args: &Bound, cx: &Context, reduce: pool::Reduce) -> syn::Result<Box<dyn Layer>> {
    let (channels, length) = cx.signal(args, "pools")?;
    let (k, stride, ceil_mode) = (args.int("k"), args.int("stride"), args.bool("ceil_mode"));
    let (before, after) = padding(args, k, 1, "pooling")?;
    pool::check_padding(args, (k, k), [before, after, before, after])?;
    let Some(output) = window_output(length, k, stride, (before, after), 1, ceil_mode) else {
        let fix = format!("use a window of at most {}", length.saturating_add(before).saturating_add(after));
        return Err(too_long(args, cx, "window", length, before, String::new(), fix));
    };
    let (input, padding) = ((channels, 1, length), [0, 0, before, after]);
    Ok(Box::new(OneD(pool::from_window(reduce, input, (1, k), (1, stride), padding, (1, output), cx))))
}

/// A 2-D layer on a `[C, 1, L]` image seen as a layer on `[C, L]` signals: the same code,
/// the unit height dropped from its output and from its weight (`[out, in/groups, 1, k]`
/// to PyTorch's `[out, in/groups, k]`, the same elements in the same order).
struct OneD(Box<dyn Layer>);

impl Layer for OneD {
    fn output_shape(&self) -> Shape {
        let shape = self.0.output_shape();
        debug_assert_eq!((shape.len(), shape[1]), (3, 1), "a 1-D layer's image has height 1");
        vec![shape[0], shape[2]]
    }
    fn output_axes(&self) -> Option<Axes> {
        Some(Axes::Signal)
    }
    fn params(&self) -> Vec<ParamTensor> {
        let mut tensors = self.0.params();
        for tensor in &mut tensors {
            if tensor.shape.len() == 4 {
                debug_assert_eq!(tensor.shape[2], 1, "a 1-D kernel has height 1");
                tensor.shape.remove(2);
            }
        }
        tensors
    }
    fn flops(&self) -> Option<u64> {
        self.0.flops()
    }
    fn buffers(&self) -> Vec<ParamTensor> {
        self.0.buffers()
    }
    fn scratch(&self) -> Option<u64> {
        self.0.scratch()
    }
    fn int8(&self) -> Option<super::Int8Op> {
        self.0.int8()
    }
    fn static_scratch(&self) -> Option<u64> {
        self.0.static_scratch()
    }
    fn scratch_per_sample(&self) -> Option<u64> {
        self.0.scratch_per_sample()
    }
    fn saved(&self) -> Option<u64> {
        self.0.saved()
    }
    fn batch_stats(&self) -> u64 {
        self.0.batch_stats()
    }
    fn barrier(&self) -> Option<super::Barrier> {
        self.0.barrier()
    }
    fn min_training_batch(&self) -> u64 {
        self.0.min_training_batch()
    }
    fn is_view(&self) -> bool {
        self.0.is_view()
    }
    fn items(&self) -> TokenStream {
        self.0.items()
    }
    fn forward(&self) -> TokenStream {
        self.0.forward()
    }
    fn inference_forward(&self) -> Option<TokenStream> {
        self.0.inference_forward()
    }
    fn eval_forward(&self) -> Option<TokenStream> {
        self.0.eval_forward()
    }
    fn backward(&self) -> TokenStream {
        self.0.backward()
    }
    fn backward_input(&self, input: usize, accumulate: bool) -> TokenStream {
        self.0.backward_input(input, accumulate)
    }
    // A 1-D layer fuses only with 1-D layers (a 2-D one refuses a signal), whose
    // planes are the same `1 × L` rows.
    fn forward_then(&self, activation: &TokenStream, alpha: f64, pool: Option<&TokenStream>) -> Option<TokenStream> {
        self.0.forward_then(activation, alpha, pool)
    }
    fn plane_pool(&self) -> Option<TokenStream> {
        self.0.plane_pool()
    }
    fn backward_after(&self, activation: &TokenStream, alpha: f64) -> Option<TokenStream> {
        self.0.backward_after(activation, alpha)
    }
    fn fusable_activation(&self) -> Option<(TokenStream, f64)> {
        self.0.fusable_activation()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{lookup, Init};
    use super::*;
    use quote::quote;

    /// Builds one layer as written on the network input `input`, whose axes are `axes`.
    fn build(layer: TokenStream, input: &[u64], axes: Axes) -> syn::Result<Box<dyn Layer>> {
        let crate::parse::Element::Layer(def) = syn::parse2(layer).expect("the layer parses") else {
            panic!("not a layer")
        };
        let kind = lookup(&def.kind.to_string()).expect("a known layer");
        let args = crate::args::bind(&def, kind.schema)?;
        (kind.build)(&args, &Context { index: 2, input, axes, source: super::super::NETWORK_INPUT })
    }

    fn signal(layer: TokenStream, input: &[u64]) -> Box<dyn Layer> {
        build(layer, input, Axes::Signal).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(layer: TokenStream, input: &[u64], axes: Axes) -> String {
        build(layer, input, axes).err().expect("an error").to_string()
    }

    /// The emitted items without spaces, to look for constants.
    fn items(layer: TokenStream, input: &[u64]) -> String {
        signal(layer, input).items().to_string().replace(' ', "")
    }

    /// PyTorch's `L' = floor((L + 2p − d(k − 1) − 1) / s) + 1`; the output is a signal.
    #[test]
    fn conv1d_output_lengths() {
        let shape = |layer: TokenStream, input: &[u64]| signal(layer, input).output_shape();
        assert_eq!(shape(quote!(conv1d(3, 8, 5)), &[3, 16]), [8, 12]);
        // (16 + 2 − 2·2 − 1)/2 + 1 = 7
        assert_eq!(shape(quote!(conv1d(3, 8, 3, stride = 2, padding = 1, dilation = 2)), &[3, 16]), [8, 7]);
        assert_eq!(shape(quote!(conv1d(4, 6, 3, groups = 2, padding = same)), &[4, 9]), [6, 9]);
        assert_eq!(shape(quote!(conv1d(4, 6, 3, stride = 3, padding = valid)), &[4, 10]), [6, 3]);
        assert_eq!(shape(quote!(conv1d(2, 2, 7)), &[2, 7]), [2, 1]);
        assert_eq!(signal(quote!(conv1d(3, 8, 5)), &[3, 16]).output_axes(), Some(Axes::Signal));
        assert_eq!(signal(quote!(conv1d(3, 8, 5)), &[3, 16]).flops(), Some(2 * 8 * 12 * 3 * 5));
    }

    /// `same` pads d·(k − 1) in all along the length, the odd one after; the height is
    /// never padded.
    #[test]
    fn conv1d_geometry_is_a_unit_height_image() {
        let geometry = items(quote!(conv1d(2, 5, 4, padding = same)), &[2, 12]);
        for constant in [
            "H:usize=1;",
            "W:usize=12;",
            "KH:usize=1;",
            "KW:usize=4;",
            "SH:usize=1;",
            "PAD_TOP:usize=0;",
            "PAD_BOTTOM:usize=0;",
            "PAD_LEFT:usize=1;",
            "PAD_RIGHT:usize=2;",
            "DH:usize=1;",
            "OH:usize=1;",
            "OW:usize=12;",
        ] {
            assert!(geometry.contains(constant), "{constant} in {geometry}");
        }
        // (12 + 2 − 3·2 − 1)/2 + 1 = 4
        let strided = items(quote!(conv1d(2, 5, 3, stride = 2, padding = 1, dilation = 3)), &[2, 12]);
        for constant in ["SW:usize=2;", "DW:usize=3;", "PAD_LEFT:usize=1;", "PAD_RIGHT:usize=1;", "OW:usize=4;"] {
            assert!(strided.contains(constant), "{constant} in {strided}");
        }
    }

    /// PyTorch's `nn.Conv1d` tensors: weight `[out, in/groups, k]`, bias `[out]`, both
    /// `U(±1/√(in/groups·k))`.
    #[test]
    fn conv1d_parameters_as_pytorch() {
        let tensors = signal(quote!(conv1d(6, 4, 5, groups = 2)), &[6, 20]).params();
        let shapes: Vec<(&str, Shape)> = tensors.iter().map(|t| (t.suffix.as_ref(), t.shape.clone())).collect();
        assert_eq!(shapes, [("weight", vec![4, 3, 5]), ("bias", vec![4])]);
        for tensor in &tensors {
            assert!(matches!(tensor.init, Init::PytorchDefault { fan_in: 15 }));
        }
        let unbiased = signal(quote!(conv1d(3, 2, 1, bias = false)), &[3, 4]).params();
        assert_eq!(unbiased.len(), 1);
        assert_eq!(unbiased[0].shape, [2, 3, 1]);
    }

    /// Each strategy of the 2-D convolution runs the unit-height image: the shapes
    /// tests/gradcheck.rs checks the gradients of and tests/strategies.rs runs in f32.
    #[test]
    fn conv1d_reaches_every_strategy() {
        let (direct, shifted, im2col, dense) = (
            "rt :: conv2d :: direct :: forward",
            "rt :: conv2d :: shifted :: forward",
            "rt :: conv2d :: forward",
            "rt :: linear :: forward",
        );
        for (layer, input, strategy) in [
            (quote!(conv1d(3, 8, 5, stride = 2, padding = 2)), [3, 20], direct),
            (quote!(conv1d(2, 8, 4, padding = same)), [2, 11], direct),
            (quote!(conv1d(3, 16, 5, stride = 2, padding = 4, dilation = 2)), [3, 40], direct),
            (quote!(conv1d(3, 5, 3, padding = 1, bias = false)), [3, 16], shifted),
            (quote!(conv1d(2, 5, 4, padding = same)), [2, 16], shifted),
            (quote!(conv1d(16, 5, 3, padding = 1)), [16, 10], shifted),
            (quote!(conv1d(3, 4, 3, stride = 2, padding = 1)), [3, 17], im2col),
            (quote!(conv1d(2, 3, 4, padding = same, bias = false)), [2, 4], im2col),
            (quote!(conv1d(5, 6, 3, stride = 2)), [5, 5], im2col),
            (quote!(conv1d(3, 6, 5)), [3, 5], dense),
        ] {
            let code = signal(layer.clone(), &input).forward().to_string();
            assert!(code.starts_with(strategy), "{layer} on {input:?}: {code}");
        }
    }

    /// PyTorch's `nn.MaxPool1d` and `nn.AvgPool1d` lengths, ceil mode's included.
    #[test]
    fn pooling_output_lengths() {
        let shape = |layer: TokenStream, input: &[u64]| signal(layer, input).output_shape();
        assert_eq!(shape(quote!(maxpool1d(2)), &[3, 9]), [3, 4]);
        assert_eq!(shape(quote!(maxpool1d(2, ceil_mode = true)), &[3, 9]), [3, 5]);
        assert_eq!(shape(quote!(avgpool1d(3, stride = 2, padding = 1)), &[2, 7]), [2, 4]);
        assert_eq!(shape(quote!(avgpool1d(3, 2, 1, true)), &[2, 10]), [2, 6]);
        // The last window would start at 4 ≥ 3 + 1: dropped, as PyTorch.
        assert_eq!(shape(quote!(maxpool1d(2, stride = 2, padding = 1, ceil_mode = true)), &[1, 3]), [1, 2]);
        assert_eq!(shape(quote!(maxpool1d(3, stride = 1, padding = same)), &[4, 6]), [4, 6]);
        assert_eq!(shape(quote!(avgpool1d(2, padding = valid)), &[4, 5]), [4, 2]);
        let pooled = signal(quote!(maxpool1d(2)), &[3, 9]);
        assert_eq!((pooled.output_axes(), pooled.params().len()), (Some(Axes::Signal), 0));
        let window = items(quote!(avgpool1d(2, stride = 1, padding = same)), &[1, 6]);
        for constant in ["H:usize=1;", "KH:usize=1;", "KW:usize=2;", "PAD_TOP:usize=0;", "PAD_LEFT:usize=0;"] {
            assert!(window.contains(constant), "{constant} in {window}");
        }
        assert!(window.contains("PAD_RIGHT:usize=1;") && !window.contains("PAD_BOTTOM"), "{window}");
    }

    /// A sequence is not a signal: the fix is `transpose`, written out with the channels
    /// the transposed sequence has.
    #[test]
    fn a_sequence_needs_transpose() {
        let conv = error(quote!(conv1d(28, 16, 3)), &[28, 28], Axes::Sequence);
        assert_eq!(
            conv,
            "`conv1d(28, 16, 3)` convolves a signal [C, L], but the network input produces [T = 28, F = 28]; write \
             `transpose -> conv1d(28, 16, 3)`: `transpose` makes the sequence a [C = 28, L = 28] signal (the \
             features as channels, the steps along the length), as `x.transpose(1, 2)` does in PyTorch"
        );
        let channels = error(quote!(conv1d(10, 16, 3)), &[50, 12], Axes::Sequence);
        assert!(channels.contains("write `transpose -> conv1d(12, 16, 3)`"), "{channels}");
        assert!(channels.contains("[C = 12, L = 50]"), "{channels}");
        let pool = error(quote!(maxpool1d(2)), &[50, 12], Axes::Sequence);
        assert!(pool.contains("`maxpool1d(2)` pools a signal [C, L]"), "{pool}");
        assert!(pool.contains("write `transpose -> maxpool1d(2)`"), "{pool}");
    }

    /// Images and flat inputs point to the 2-D layer or the input declaration; a 2-D
    /// layer on a signal points to the 1-D one.
    #[test]
    fn other_inputs_and_the_other_way_round() {
        let image = error(quote!(conv1d(3, 8, 3)), &[3, 8, 8], Axes::Image);
        assert!(image.contains("declare the input as a signal, e.g. `[C = 4, L = 100]`"), "{image}");
        let flat = error(quote!(avgpool1d(2)), &[10], Axes::Features);
        assert!(flat.contains("declare the input as a signal"), "{flat}");
        let conv2d = error(quote!(conv(2, 8, 3, stride = 2)), &[3, 16], Axes::Signal);
        assert!(conv2d.ends_with("for a [C, L] signal write `conv1d(3, 8, 3, stride = 2)`"), "{conv2d}");
        let pair = error(quote!(conv(3, 8, (1, 3))), &[3, 16], Axes::Signal);
        assert!(pair.ends_with("for a [C, L] signal use `conv1d`"), "{pair}");
        let on_sequence = error(quote!(maxpool(2)), &[16, 3], Axes::Sequence);
        assert!(on_sequence.contains("; write `transpose -> maxpool1d(2)`: `transpose` makes"), "{on_sequence}");
        let conv_on_sequence = error(quote!(conv(16, 8, 3)), &[16, 3], Axes::Sequence);
        assert!(conv_on_sequence.contains("write `transpose -> conv1d(3, 8, 3)`"), "{conv_on_sequence}");
        assert!(error(quote!(upsample(2)), &[3, 16], Axes::Signal).ends_with("this layer works on images only"));
    }

    #[test]
    fn conv1d_channels_and_groups() {
        let channels = error(quote!(conv1d(4, 8, 3)), &[3, 16], Axes::Signal);
        assert_eq!(
            channels,
            "`conv1d(4, 8, 3)` expects 4 input channels, but the network input produces 3 channels ([C = 3, L = 16]); \
             write `conv1d(3, 8, 3)`"
        );
        let groups = error(quote!(conv1d(4, 6, 3, groups = 4)), &[4, 16], Axes::Signal);
        assert!(groups.contains("groups = 4 must divide both the input channels (4) and the output channels (6)"));
    }

    /// An empty output names the length, the padding and the fix, in 1-D terms.
    #[test]
    fn windows_longer_than_the_signal() {
        let kernel = error(quote!(conv1d(3, 8, 20)), &[3, 16], Axes::Signal);
        assert_eq!(
            kernel,
            "`conv1d(3, 8, 20)`: the kernel of size 20 is longer than the input of length 16 from the network input \
             with padding 0; the output would be empty — use a kernel of at most 16, or padding = 2"
        );
        let dilated = error(quote!(conv1d(3, 8, 5, dilation = 4, padding = 1)), &[3, 12], Axes::Signal);
        assert!(dilated.contains("the kernel of size 5, spanning 17 with dilation 4, is longer"), "{dilated}");
        assert!(dilated.contains("of length 12 from the network input with padding 1 (14 in all);"), "{dilated}");
        assert!(dilated.ends_with("use a kernel of at most 4, or padding = 3"), "{dilated}");
        let window = error(quote!(maxpool1d(5)), &[2, 3], Axes::Signal);
        assert!(window.contains("the window of size 5 is longer"), "{window}");
        assert!(window.ends_with("use a window of at most 3"), "{window}");
        // Ceil mode lets a window run past the input, as PyTorch's.
        assert_eq!(signal(quote!(maxpool1d(3, stride = 3, ceil_mode = true)), &[1, 2]).output_shape(), [1, 1]);
    }

    /// Arguments are single numbers; `same` keeps PyTorch's rule on strides; pooling's
    /// padding is at most half the window. Every message reads in 1-D terms.
    #[test]
    fn one_dimensional_arguments() {
        let pair = error(quote!(conv1d(3, 8, (1, 3))), &[3, 16], Axes::Signal);
        assert!(pair.starts_with("`k` of `conv1d` must be a positive integer, found `(1, 3)`"), "{pair}");
        let padding = error(quote!(maxpool1d(2, padding = (0, 1))), &[3, 16], Axes::Signal);
        assert!(padding.contains("must be a non-negative integer, `same` or `valid`, found `(0, 1)`"), "{padding}");
        let strided = error(quote!(conv1d(3, 8, 3, stride = 2, padding = same)), &[3, 16], Axes::Signal);
        assert!(strided.contains("the stride is 2: write `conv1d(3, 8, 3, stride = 1, padding = same)`"), "{strided}");
        assert!(strided.contains("`conv1d(3, 8, 3, stride = 2, padding = 1)`"), "{strided}");
        let pooled = error(quote!(avgpool1d(3, padding = same)), &[3, 16], Axes::Signal);
        assert!(pooled.contains("the stride is 3 (a pooling's stride defaults to its window)"), "{pooled}");
        let half = error(quote!(maxpool1d(2, padding = 2)), &[3, 16], Axes::Signal);
        assert_eq!(
            half,
            "`maxpool1d(2, padding = 2)`: padding 2 is more than half the window 2; PyTorch rejects this too — use \
             padding ≤ 1"
        );
    }
}
