//! `separable_conv(in, out, k, stride = 1, padding = 0)` (`padding = same | valid` too,
//! on the depthwise convolution): Keras' `SeparableConv2D`, as
//! PyTorch builds it: a depthwise `Conv2d(in, in, k, groups=in, bias=False)` then a
//! pointwise `Conv2d(in, out, 1)`, stored as `<i>.depthwise.weight`,
//! `<i>.pointwise.weight`, `<i>.pointwise.bias`. The depthwise result is kept in
//! `saved`; its gradient lives at the start of `scratch`.

use super::{lit, pair_str, window_output, Context, ConvGeometry, Init, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

static SCHEMA: [Param; 5] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    required("k", ArgType::SizePair),
    optional("stride", ArgType::SizePair, Default::Int(1)),
    optional("padding", ArgType::Padding, Default::Int(0)),
];

pub static SEPARABLE_CONV: Kind =
    Kind { recover: Recover::DeclaredChannels { rank: 3 }, ..Kind::new("separable_conv", &SCHEMA, build) };

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (c, h, w) = cx.image(args, "convolves")?;
    let outputs = args.int("out");
    super::check_channels(args, cx, "in")?;
    let (kernel, stride) = (args.pair("k"), args.pair("stride"));
    let pads = super::paddings(args, kernel, (1, 1), "convolutions")?;
    let padding = (pads[0], pads[2]);
    let (Some(oh), Some(ow)) = (
        window_output(h, kernel.0, stride.0, (pads[0], pads[1]), 1, false),
        window_output(w, kernel.1, stride.1, (pads[2], pads[3]), 1, false),
    ) else {
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
    let depthwise = ConvGeometry {
        input: (c, h, w),
        outputs: c,
        kernel,
        stride,
        padding: pads,
        dilation: (1, 1),
        groups: c,
        output: (oh, ow),
        bias: false,
    };
    let pointwise = ConvGeometry {
        input: (c, oh, ow),
        outputs,
        kernel: (1, 1),
        stride: (1, 1),
        padding: [0; 4],
        groups: 1,
        bias: true,
        ..depthwise.clone()
    };
    Ok(Box::new(SeparableLayer {
        depthwise,
        pointwise,
        names: (cx.item_name("Depthwise"), cx.item_name("Pointwise")),
        written: args.written(),
    }))
}

struct SeparableLayer {
    depthwise: ConvGeometry,
    pointwise: ConvGeometry,
    /// The two geometry types' names in generated code.
    names: (Ident, Ident),
    written: String,
}

impl SeparableLayer {
    fn depthwise_len(&self) -> u64 {
        self.depthwise.input.0.saturating_mul(self.depthwise.kernel.0).saturating_mul(self.depthwise.kernel.1)
    }
    /// Per-sample elements of the depthwise result.
    fn middle_len(&self) -> Option<u64> {
        let (c, oh, ow) = self.pointwise.input;
        c.checked_mul(oh)?.checked_mul(ow)
    }
    /// What either convolution's im2col needs per sample.
    fn convolution_scratch(&self) -> Option<u64> {
        let (c, oh, ow) = self.pointwise.input;
        let positions = oh.checked_mul(ow)?;
        let kernel = self.depthwise.kernel;
        let depthwise = kernel.0.checked_mul(kernel.1)?.checked_add(1)?.checked_mul(positions)?;
        let pointwise = c.checked_add(self.pointwise.outputs)?.checked_mul(positions)?;
        Some(depthwise.max(pointwise))
    }
}

impl Layer for SeparableLayer {
    fn output_shape(&self) -> Shape {
        let (oh, ow) = self.pointwise.output;
        vec![self.pointwise.outputs, oh, ow]
    }
    fn params(&self) -> Vec<ParamTensor> {
        let (c, o, kernel) = (self.depthwise.input.0, self.pointwise.outputs, self.depthwise.kernel);
        let depthwise = Init::PytorchDefault { fan_in: kernel.0.saturating_mul(kernel.1) };
        let pointwise = Init::PytorchDefault { fan_in: c };
        vec![
            ParamTensor { suffix: "depthwise.weight".into(), shape: vec![c, 1, kernel.0, kernel.1], init: depthwise },
            ParamTensor { suffix: "pointwise.weight".into(), shape: vec![o, c, 1, 1], init: pointwise },
            ParamTensor { suffix: "pointwise.bias".into(), shape: vec![o], init: pointwise },
        ]
    }
    fn flops(&self) -> Option<u64> {
        let (c, oh, ow) = self.pointwise.input;
        let positions = oh.checked_mul(ow)?;
        let depthwise = self.depthwise_len().checked_mul(positions)?.checked_mul(2)?;
        let pointwise = c.checked_mul(self.pointwise.outputs)?.checked_mul(positions)?.checked_mul(2)?;
        depthwise.checked_add(pointwise)
    }
    fn saved(&self) -> Option<u64> {
        self.middle_len()
    }
    fn scratch_per_sample(&self) -> Option<u64> {
        // The depthwise result's gradient, then what the larger of the two
        // convolutions needs.
        self.middle_len()?.checked_add(self.convolution_scratch()?)
    }
    fn items(&self) -> TokenStream {
        let planned = self.convolution_scratch().unwrap_or(0);
        let (depthwise, pointwise) = &self.names;
        let need = |name: &Ident| (quote!(rt::conv2d::scratch_per_sample::<#name>()), planned);
        let mut items = self.depthwise.definition(depthwise, &self.written, &[need(depthwise)]);
        items.extend(self.pointwise.definition(pointwise, &self.written, &[need(pointwise)]));
        items
    }
    fn forward(&self) -> TokenStream {
        let (depthwise, pointwise) = &self.names;
        let split = lit(self.depthwise_len());
        quote! {
            rt::conv2d::forward::<F, #depthwise>(batch, x, &params[..#split], saved, scratch);
            rt::conv2d::forward::<F, #pointwise>(batch, saved, &params[#split..], y, scratch)
        }
    }
    fn backward(&self) -> TokenStream {
        let (depthwise, pointwise) = &self.names;
        let split = lit(self.depthwise_len());
        let middle = lit(self.middle_len().unwrap_or(0));
        quote! {
            let (grads_depthwise, grads_pointwise) = grads.split_at_mut(#split);
            let (d_middle, scratch) = scratch.split_at_mut(#middle * batch);
            rt::conv2d::backward::<F, #pointwise>(
                batch, saved, &params[#split..], dy, grads_pointwise, Some(&mut *d_middle), scratch,
            );
            rt::conv2d::backward::<F, #depthwise>(batch, x, &params[..#split], d_middle, grads_depthwise, dx, scratch)
        }
    }
}
