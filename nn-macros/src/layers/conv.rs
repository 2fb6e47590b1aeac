//! `conv(in, out, k, stride = 1, padding = 0, dilation = 1, groups = 1, bias = true)`:
//! `nn.Conv2d`.

use super::{lit, pair_str, window_output, Context, Init, Layer, LayerKind, ParamTensor, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::TokenStream;
use quote::quote;

pub struct Conv;

static SCHEMA: [Param; 8] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    required("k", ArgType::SizePair),
    optional("stride", ArgType::SizePair, Default::Int(1)),
    optional("padding", ArgType::PaddingPair, Default::Int(0)),
    optional("dilation", ArgType::SizePair, Default::Int(1)),
    optional("groups", ArgType::Size, Default::Int(1)),
    optional("bias", ArgType::Bool, Default::Bool(true)),
];

impl LayerKind for Conv {
    fn name(&self) -> &'static str {
        "conv"
    }
    fn schema(&self) -> &'static [Param] {
        &SCHEMA
    }
    fn recover(&self, args: &Bound, cx: &Context) -> Option<Shape> {
        super::recover_with_channels(self, args, cx, 3)
    }
    fn build(&self, args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        let (c, h, w) = cx.image(args, "convolves")?;
        super::check_channels(args, cx, "in")?;
        super::check_groups(args)?;
        let kernel = args.pair("k");
        let stride = args.pair("stride");
        let padding = args.pair("padding");
        let dilation = args.pair("dilation");
        let out_h = window_output(h, kernel.0, stride.0, padding.0, dilation.0);
        let out_w = window_output(w, kernel.1, stride.1, padding.1, dilation.1);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            let span = |k: u64, d: u64| d.saturating_mul(k - 1).saturating_add(1);
            let spans = (span(kernel.0, dilation.0), span(kernel.1, dilation.1));
            let dilated = if dilation != (1, 1) {
                format!(" (spanning {}×{} with dilation)", spans.0, spans.1)
            } else {
                String::new()
            };
            return Err(syn::Error::new_spanned(
                args.tokens("k"),
                format!(
                    "`{}`: the {}×{} kernel{dilated} does not fit the {h}×{w} input from {} with padding {}; \
                     the output would be empty — {}",
                    args.written(),
                    kernel.0,
                    kernel.1,
                    cx.source,
                    pair_str(padding),
                    super::fit_hint((h, w), kernel, padding, dilation),
                ),
            ));
        };
        Ok(Box::new(ConvLayer(super::ConvGeometry::new(args, (c, h, w), (out_h, out_w)))))
    }
}

struct ConvLayer(super::ConvGeometry);

/// How a convolution runs, chosen from its shape; the measurements behind the choice:
/// `cargo run --release -p nn-runtime --example conv_strategies` (table in bench/README.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    /// The kernel covers the input once: a `linear` layer (see [`ConvLayer::is_dense`]).
    Dense,
    /// `rt::conv2d::direct`: products gathered straight from the image into register
    /// tiles over output channels, no column matrix. Output channels are padded to
    /// vectors of 8, and each group's packed weights are streamed once per tile.
    Direct,
    /// Unit stride: `rt::conv2d::shifted`, the weights broadcast over shifted full-width
    /// windows of the input (forward) and dot products with those windows (weight
    /// gradient); no column matrix.
    Shifted,
    /// `rt::conv2d`: im2col + GEMM, cache-blocked by `matrixmultiply` when large.
    Im2col,
}

/// Weights up to this many elements (per group, channels padded for `Direct`) stay in
/// L2 while the gathered kernels stream them once per register tile; larger layers go
/// to the cache-blocked GEMM.
const STREAMED_WEIGHTS_LIMIT: u64 = 64 * 1024;

impl ConvLayer {
    /// Inputs each output sees: `in/groups · kh · kw`.
    fn fan_in(&self) -> u64 {
        // Saturating: an overflowing kernel is reported through the weight's size.
        (self.0.input.0 / self.0.groups).saturating_mul(self.0.kernel.0).saturating_mul(self.0.kernel.1)
    }

    /// A kernel that covers the whole unpadded input once is a fully connected layer:
    /// the weight `[OC, C, H, W]` is exactly `linear`'s `[OC, C·H·W]`, so the batch runs
    /// as one GEMM instead of one matrix-vector product per sample.
    fn is_dense(&self) -> bool {
        self.0.output == (1, 1)
            && self.0.kernel == (self.0.input.1, self.0.input.2)
            && self.0.padding == (0, 0)
            && self.0.dilation == (1, 1)
            && self.0.groups == 1
    }

    /// Direct where padding the channels to vectors wastes at most an eighth of the
    /// lanes (LeNet-5's 6-channel first layer ran at 0.5–0.7× im2col's speed, the 8- to
    /// 32-channel layers at 1.1–2.1×); else, for unit stride, shifted windows where the
    /// full-width rows waste at most a quarter (LeNet-5's first layer: 32 for 28, 1.45×
    /// im2col); else im2col. Measured: bench/README.md.
    fn strategy(&self) -> Strategy {
        if self.is_dense() {
            return Strategy::Dense;
        }
        let channels = self.0.outputs / self.0.groups;
        let padded = channels.div_ceil(8) * 8;
        let fits = |width: u64| self.fan_in().saturating_mul(width) <= STREAMED_WEIGHTS_LIMIT;
        let full_width = self.0.input.2.saturating_add(self.0.padding.1.saturating_mul(2));
        if 8 * channels >= 7 * padded && fits(padded) {
            Strategy::Direct
        } else if self.0.stride == (1, 1) && 4 * full_width <= 5 * self.0.output.1 && fits(channels) {
            Strategy::Shifted
        } else {
            Strategy::Im2col
        }
    }

    /// Elements of one sample's zero-padded input, 0 without padding.
    fn padded_input(&self) -> Option<u64> {
        let (c, h, w) = self.0.input;
        let (ph, pw) = self.0.padding;
        if (ph, pw) == (0, 0) {
            return Some(0);
        }
        c.checked_mul(h.checked_add(ph.checked_mul(2)?)?)?.checked_mul(w.checked_add(pw.checked_mul(2)?)?)
    }

    fn dense_generics(&self) -> TokenStream {
        let inputs = lit(self.fan_in());
        let (outputs, bias) = (lit(self.0.outputs), self.0.bias);
        quote!(F, #inputs, #outputs, #bias)
    }

    /// `F, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, BIAS`
    fn generics(&self) -> TokenStream {
        self.0.generics()
    }
}

impl Layer for ConvLayer {
    fn output_shape(&self) -> Shape {
        vec![self.0.outputs, self.0.output.0, self.0.output.1]
    }
    fn params(&self) -> Vec<ParamTensor> {
        let init = Init::PytorchDefault { fan_in: self.fan_in() };
        let weight = vec![self.0.outputs, self.0.input.0 / self.0.groups, self.0.kernel.0, self.0.kernel.1];
        let mut tensors = vec![ParamTensor { suffix: "weight", shape: weight, init }];
        if self.0.bias {
            tensors.push(ParamTensor { suffix: "bias", shape: vec![self.0.outputs], init });
        }
        tensors
    }
    fn flops(&self) -> Option<u64> {
        self.0
            .outputs
            .checked_mul(self.0.output.0)?
            .checked_mul(self.0.output.1)?
            .checked_mul(self.fan_in())?
            .checked_mul(2)
    }
    fn scratch(&self) -> Option<u64> {
        match self.strategy() {
            // Every group's packed weights (or weight-gradient accumulators), and one
            // output plane for inference's fused pooling.
            Strategy::Direct => {
                let padded = (self.0.outputs / self.0.groups).div_ceil(8) * 8;
                let plane = self.0.output.0.checked_mul(self.0.output.1)?;
                self.fan_in().checked_mul(self.0.groups)?.checked_mul(padded)?.checked_add(plane)
            }
            // One sample's padded input, one group's full-width outputs (or output
            // gradients), and one output plane.
            Strategy::Shifted => {
                let (oh, ow) = self.0.output;
                let full_width = self.0.input.2.checked_add(self.0.padding.1.checked_mul(2)?)?;
                let columns = (oh - 1).checked_mul(full_width)?.checked_add(ow)?;
                let outputs = (self.0.outputs / self.0.groups).checked_mul(columns)?;
                self.padded_input()?.checked_add(outputs)?.checked_add(oh.checked_mul(ow)?)
            }
            Strategy::Dense | Strategy::Im2col => Some(0),
        }
    }
    fn scratch_per_sample(&self) -> Option<u64> {
        let pixels = self.0.output.0.checked_mul(self.0.output.1)?;
        let group_outputs = self.0.outputs / self.0.groups;
        match self.strategy() {
            Strategy::Dense => Some(0),
            // The batch's columns for one group, and that group's outputs (see rt::conv2d;
            // the shifted strategy's input gradient is im2col's).
            Strategy::Im2col | Strategy::Shifted => self.fan_in().checked_add(group_outputs)?.checked_mul(pixels),
            // Staged outputs, the zero-padded input, and the input gradient's columns
            // (see rt::conv2d::direct).
            Strategy::Direct => {
                let staged = pixels.checked_mul(group_outputs.div_ceil(8) * 8)?;
                staged.checked_add(self.padded_input()?)?.checked_add(self.fan_in().checked_mul(pixels)?)
            }
        }
    }
    fn forward(&self) -> TokenStream {
        let generics = self.generics();
        match self.strategy() {
            Strategy::Dense => {
                let generics = self.dense_generics();
                quote!(rt::linear::forward::<#generics>(batch, x, params, y))
            }
            Strategy::Im2col => quote!(rt::conv2d::forward::<#generics>(batch, x, params, y, scratch)),
            // Their epilogue with no activation in it.
            Strategy::Direct | Strategy::Shifted => {
                self.forward_then(&quote!(rt::activation::Identity), 0.0, None).unwrap_or_default()
            }
        }
    }
    fn forward_then(&self, activation: &TokenStream, alpha: f64, pool: Option<&TokenStream>) -> Option<TokenStream> {
        let module = match self.strategy() {
            Strategy::Direct => quote!(direct),
            Strategy::Shifted => quote!(shifted),
            Strategy::Dense | Strategy::Im2col => return None,
        };
        let dims = self.0.dims();
        let (pool, pooled) = match pool {
            Some(pool) => (pool.clone(), quote!(pooled)),
            None => (quote!(rt::pool2d::NoPool), quote!(&mut [])),
        };
        Some(quote!(rt::conv2d::#module::forward::<F, #activation, #pool, #dims>(
            batch, x, params, y, #pooled, scratch, F::from_f64(#alpha)
        )))
    }
    fn backward(&self) -> TokenStream {
        let generics = self.generics();
        match self.strategy() {
            Strategy::Dense => {
                let generics = self.dense_generics();
                quote!(rt::linear::backward::<#generics>(batch, x, params, dy, grads, dx))
            }
            Strategy::Direct => {
                quote!(rt::conv2d::direct::backward::<#generics>(batch, x, params, dy, grads, dx, scratch))
            }
            Strategy::Shifted => {
                quote!(rt::conv2d::shifted::backward::<#generics>(batch, x, params, dy, grads, dx, scratch))
            }
            Strategy::Im2col => quote!(rt::conv2d::backward::<#generics>(batch, x, params, dy, grads, dx, scratch)),
        }
    }
}
