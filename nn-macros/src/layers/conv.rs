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
    fn scratch_per_sample(&self) -> Option<u64> {
        if self.is_dense() {
            return Some(0);
        }
        // The batch's columns for one group, and that group's outputs (see rt::conv2d).
        self.fan_in()
            .checked_add(self.0.outputs / self.0.groups)?
            .checked_mul(self.0.output.0)?
            .checked_mul(self.0.output.1)
    }
    fn forward(&self) -> TokenStream {
        if self.is_dense() {
            let generics = self.dense_generics();
            return quote!(rt::linear::forward::<#generics>(batch, x, params, y));
        }
        let generics = self.generics();
        quote!(rt::conv2d::forward::<#generics>(batch, x, params, y, scratch))
    }
    fn backward(&self) -> TokenStream {
        if self.is_dense() {
            let generics = self.dense_generics();
            return quote!(rt::linear::backward::<#generics>(batch, x, params, dy, grads, dx));
        }
        let generics = self.generics();
        quote!(rt::conv2d::backward::<#generics>(batch, x, params, dy, grads, dx, scratch))
    }
}
