//! `separable_conv(in, out, k, stride = 1, padding = 0)`: Keras' `SeparableConv2D`, as
//! PyTorch builds it: a depthwise `Conv2d(in, in, k, groups=in, bias=False)` then a
//! pointwise `Conv2d(in, out, 1)`, stored as `<i>.depthwise.weight`,
//! `<i>.pointwise.weight`, `<i>.pointwise.bias`. The depthwise result is kept in
//! `saved`; its gradient lives at the start of `scratch`.

use super::{lit, pair_str, window_output, Context, Init, Layer, LayerKind, ParamTensor, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::TokenStream;
use quote::quote;

pub struct SeparableConv;

static SCHEMA: [Param; 5] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    required("k", ArgType::SizePair),
    optional("stride", ArgType::SizePair, Default::Int(1)),
    optional("padding", ArgType::PaddingPair, Default::Int(0)),
];

impl LayerKind for SeparableConv {
    fn name(&self) -> &'static str {
        "separable_conv"
    }
    fn schema(&self) -> &'static [Param] {
        &SCHEMA
    }
    fn recover(&self, args: &Bound, cx: &Context) -> Option<Shape> {
        super::recover_with_channels(self, args, cx, 3)
    }
    fn build(&self, args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        let (c, h, w) = cx.image(args, "convolves")?;
        let outputs = args.int("out");
        super::check_channels(args, cx, "in")?;
        let (kernel, stride, padding) = (args.pair("k"), args.pair("stride"), args.pair("padding"));
        let (Some(oh), Some(ow)) =
            (window_output(h, kernel.0, stride.0, padding.0, 1), window_output(w, kernel.1, stride.1, padding.1, 1))
        else {
            return Err(syn::Error::new_spanned(
                args.tokens("k"),
                format!(
                    "`{}`: the {}×{} kernel does not fit the {h}×{w} input from {} with padding {}; the output would be \
                     empty — {}",
                    args.written(),
                    kernel.0,
                    kernel.1,
                    cx.source,
                    pair_str(padding),
                    super::fit_hint((h, w), kernel, padding, (1, 1)),
                ),
            ));
        };
        Ok(Box::new(SeparableLayer { input: (c, h, w), outputs, kernel, stride, padding, output: (oh, ow) }))
    }
}

struct SeparableLayer {
    input: (u64, u64, u64),
    outputs: u64,
    kernel: (u64, u64),
    stride: (u64, u64),
    padding: (u64, u64),
    output: (u64, u64),
}

impl SeparableLayer {
    fn depthwise_len(&self) -> u64 {
        self.input.0.saturating_mul(self.kernel.0).saturating_mul(self.kernel.1)
    }
    /// Per-sample elements of the depthwise result.
    fn middle_len(&self) -> Option<u64> {
        self.input.0.checked_mul(self.output.0)?.checked_mul(self.output.1)
    }
    fn depthwise_generics(&self) -> TokenStream {
        let (c, h, w) = (lit(self.input.0), lit(self.input.1), lit(self.input.2));
        let (kh, kw) = (lit(self.kernel.0), lit(self.kernel.1));
        let (sh, sw) = (lit(self.stride.0), lit(self.stride.1));
        let (ph, pw) = (lit(self.padding.0), lit(self.padding.1));
        let (oh, ow) = (lit(self.output.0), lit(self.output.1));
        quote!(F, #c, #h, #w, #c, #kh, #kw, #sh, #sw, #ph, #pw, 1, 1, #c, #oh, #ow, false)
    }
    fn pointwise_generics(&self) -> TokenStream {
        let c = lit(self.input.0);
        let o = lit(self.outputs);
        let (oh, ow) = (lit(self.output.0), lit(self.output.1));
        quote!(F, #c, #oh, #ow, #o, 1, 1, 1, 1, 0, 0, 1, 1, 1, #oh, #ow, true)
    }
}

impl Layer for SeparableLayer {
    fn output_shape(&self) -> Shape {
        vec![self.outputs, self.output.0, self.output.1]
    }
    fn params(&self) -> Vec<ParamTensor> {
        let (c, o) = (self.input.0, self.outputs);
        let depthwise = Init::PytorchDefault { fan_in: self.kernel.0.saturating_mul(self.kernel.1) };
        let pointwise = Init::PytorchDefault { fan_in: c };
        vec![
            ParamTensor {
                suffix: "depthwise.weight",
                shape: vec![c, 1, self.kernel.0, self.kernel.1],
                init: depthwise,
            },
            ParamTensor { suffix: "pointwise.weight", shape: vec![o, c, 1, 1], init: pointwise },
            ParamTensor { suffix: "pointwise.bias", shape: vec![o], init: pointwise },
        ]
    }
    fn flops(&self) -> Option<u64> {
        let positions = self.output.0.checked_mul(self.output.1)?;
        let depthwise = self.depthwise_len().checked_mul(positions)?.checked_mul(2)?;
        let pointwise = self.input.0.checked_mul(self.outputs)?.checked_mul(positions)?.checked_mul(2)?;
        depthwise.checked_add(pointwise)
    }
    fn saved(&self) -> Option<u64> {
        self.middle_len()
    }
    fn scratch_per_sample(&self) -> Option<u64> {
        // The depthwise result's gradient, then what the larger of the two
        // convolutions needs (see rt::conv2d::scratch_per_sample).
        let positions = self.output.0.checked_mul(self.output.1)?;
        let depthwise = self.kernel.0.checked_mul(self.kernel.1)?.checked_add(1)?.checked_mul(positions)?;
        let pointwise = self.input.0.checked_add(self.outputs)?.checked_mul(positions)?;
        self.middle_len()?.checked_add(depthwise.max(pointwise))
    }
    fn forward(&self) -> TokenStream {
        let (depthwise, pointwise) = (self.depthwise_generics(), self.pointwise_generics());
        let split = lit(self.depthwise_len());
        quote! {
            rt::conv2d::forward::<#depthwise>(batch, x, &params[..#split], saved, scratch);
            rt::conv2d::forward::<#pointwise>(batch, saved, &params[#split..], y, scratch)
        }
    }
    fn backward(&self) -> TokenStream {
        let (depthwise, pointwise) = (self.depthwise_generics(), self.pointwise_generics());
        let split = lit(self.depthwise_len());
        let middle = lit(self.middle_len().unwrap_or(0));
        quote! {
            let (grads_depthwise, grads_pointwise) = grads.split_at_mut(#split);
            let (d_middle, scratch) = scratch.split_at_mut(#middle * batch);
            rt::conv2d::backward::<#pointwise>(
                batch, saved, &params[#split..], dy, grads_pointwise, Some(&mut *d_middle), scratch,
            );
            rt::conv2d::backward::<#depthwise>(batch, x, &params[..#split], d_middle, grads_depthwise, dx, scratch)
        }
    }
}
