//! `conv_transpose(in, out, k, stride = 1, padding = 0, output_padding = 0, dilation = 1,
//! groups = 1, bias = true)`: `nn.ConvTranspose2d`, weight `[in, out/groups, kh, kw]`.
//! Output size `(H − 1)·s − 2p + d·(k − 1) + output_padding + 1`.

use super::{Context, Init, Layer, LayerKind, ParamTensor, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::TokenStream;
use quote::quote;

pub struct ConvTranspose;

static SCHEMA: [Param; 9] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    required("k", ArgType::SizePair),
    optional("stride", ArgType::SizePair, Default::Int(1)),
    optional("padding", ArgType::PaddingPair, Default::Int(0)),
    optional("output_padding", ArgType::PaddingPair, Default::Int(0)),
    optional("dilation", ArgType::SizePair, Default::Int(1)),
    optional("groups", ArgType::Size, Default::Int(1)),
    optional("bias", ArgType::Bool, Default::Bool(true)),
];

/// `(n − 1)·s − 2p + d·(k − 1) + op + 1`, or `None` below 1 or past 64 bits.
fn transposed_size(n: u64, k: u64, s: u64, p: u64, op: u64, d: u64) -> Option<u64> {
    let size = (n as i128 - 1) * s as i128 - 2 * p as i128 + d as i128 * (k as i128 - 1) + op as i128 + 1;
    (size >= 1 && size <= u64::MAX as i128).then_some(size as u64)
}

impl LayerKind for ConvTranspose {
    fn name(&self) -> &'static str {
        "conv_transpose"
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
        let (kernel, stride, padding) = (args.pair("k"), args.pair("stride"), args.pair("padding"));
        let (output_padding, dilation) = (args.pair("output_padding"), args.pair("dilation"));
        let too_big = |op: u64, s: u64, d: u64| op >= s && op >= d;
        if too_big(output_padding.0, stride.0, dilation.0) || too_big(output_padding.1, stride.1, dilation.1) {
            return Err(syn::Error::new_spanned(
                args.tokens("output_padding"),
                format!(
                    "`{}`: output_padding must be smaller than the stride or the dilation (PyTorch's rule)",
                    args.written()
                ),
            ));
        }
        let out_h = transposed_size(h, kernel.0, stride.0, padding.0, output_padding.0, dilation.0);
        let out_w = transposed_size(w, kernel.1, stride.1, padding.1, output_padding.1, dilation.1);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            return Err(syn::Error::new_spanned(
                args.tokens("padding"),
                format!(
                    "`{}`: on the {h}×{w} input from {} the output would be empty; reduce the padding",
                    args.written(),
                    cx.source
                ),
            ));
        };
        Ok(Box::new(ConvTransposeLayer(super::ConvGeometry::new(args, (c, h, w), (out_h, out_w)))))
    }
}

struct ConvTransposeLayer(super::ConvGeometry);

impl ConvTransposeLayer {
    /// PyTorch computes fan-in from the weight's second axis: `out/groups · kh · kw`.
    fn fan_in(&self) -> u64 {
        (self.0.outputs / self.0.groups).saturating_mul(self.0.kernel.0).saturating_mul(self.0.kernel.1)
    }
    fn generics(&self) -> TokenStream {
        self.0.generics()
    }
}

impl Layer for ConvTransposeLayer {
    fn output_shape(&self) -> Shape {
        vec![self.0.outputs, self.0.output.0, self.0.output.1]
    }
    fn params(&self) -> Vec<ParamTensor> {
        let init = Init::PytorchDefault { fan_in: self.fan_in() };
        let weight = vec![self.0.input.0, self.0.outputs / self.0.groups, self.0.kernel.0, self.0.kernel.1];
        let mut tensors = vec![ParamTensor { suffix: "weight", shape: weight, init }];
        if self.0.bias {
            tensors.push(ParamTensor { suffix: "bias", shape: vec![self.0.outputs], init });
        }
        tensors
    }
    fn flops(&self) -> Option<u64> {
        self.0
            .input
            .0
            .checked_mul(self.fan_in())?
            .checked_mul(self.0.input.1)?
            .checked_mul(self.0.input.2)?
            .checked_mul(2)
    }
    fn scratch(&self) -> Option<u64> {
        self.fan_in().checked_mul(self.0.input.1)?.checked_mul(self.0.input.2)
    }
    fn forward(&self) -> TokenStream {
        let generics = self.generics();
        quote!(rt::conv_transpose2d::forward::<#generics>(batch, x, params, y, scratch))
    }
    fn backward(&self) -> TokenStream {
        let generics = self.generics();
        quote!(rt::conv_transpose2d::backward::<#generics>(batch, x, params, dy, grads, dx, scratch))
    }
}
