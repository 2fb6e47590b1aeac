//! `conv_transpose(in, out, k, stride = 1, padding = 0, output_padding = 0, dilation = 1,
//! groups = 1, bias = true)`: `nn.ConvTranspose2d`, weight `[in, out/groups, kh, kw]`.
//! Output size `(H − 1)·s − 2p + d·(k − 1) + output_padding + 1`. `padding = valid` is 0;
//! `padding = same` is refused, as PyTorch refuses it (its padding crops the output
//! rather than padding the input, so there is no "same" to compute).

use super::{Context, ConvGeometry, Init, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::TokenStream;
use quote::quote;

static SCHEMA: [Param; 9] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    required("k", ArgType::SizePair),
    optional("stride", ArgType::SizePair, Default::Int(1)),
    optional("padding", ArgType::Padding, Default::Int(0)),
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

pub static CONV_TRANSPOSE: Kind =
    Kind { recover: Recover::DeclaredChannels { rank: 3 }, ..Kind::new("conv_transpose", &SCHEMA, build) };

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (c, h, w) = cx.image(args, "convolves")?;
    super::check_channels(args, cx, "in")?;
    super::check_groups(args)?;
    let (kernel, stride, padding) = (args.pair("k"), args.pair("stride"), args.pair("padding"));
    let (output_padding, dilation) = (args.pair("output_padding"), args.pair("dilation"));
    if args.word("padding") == Some("same") {
        return Err(same_refused(args, (h, w), kernel, stride, dilation));
    }
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
    // The kernels run the adjoint convolution: from this layer's output back to its input.
    let geometry = ConvGeometry {
        input: (args.int("out"), out_h, out_w),
        outputs: c,
        output: (h, w),
        ..ConvGeometry::new(args, (c, h, w), [padding.0, padding.0, padding.1, padding.1], (out_h, out_w))
    };
    let name = cx.item_name("ConvTranspose");
    Ok(Box::new(ConvTransposeLayer { adjoint: geometry, name, written: args.written() }))
}

/// `padding = same` on a transposed convolution: refused as PyTorch refuses it
/// (`nn.ConvTranspose2d` takes only numbers), with the numbers that keep the input's size
/// where some do: at stride 1 the output is `H + d·(k − 1) − 2p + output_padding`, so
/// `p = d·(k − 1)/2` when that is even on both axes.
fn same_refused(
    args: &Bound, input: (u64, u64), kernel: (u64, u64), stride: (u64, u64), dilation: (u64, u64),
) -> syn::Error {
    let total = |k: u64, d: u64| d.checked_mul(k - 1);
    let hint = match (total(kernel.0, dilation.0), total(kernel.1, dilation.1)) {
        (Some(th), Some(tw)) if stride == (1, 1) && th % 2 == 0 && tw % 2 == 0 => format!(
            "; at stride 1, `{}` keeps the {}×{} size",
            args.written_with(&[("padding", super::pair_str((th / 2, tw / 2)))]),
            input.0,
            input.1
        ),
        _ => String::new(),
    };
    syn::Error::new_spanned(
        args.tokens("padding"),
        format!(
            "`{}`: `padding = same` is not supported for transposed convolutions (PyTorch's `nn.ConvTranspose2d` \
             accepts only numbers): its padding removes rows and columns from the output, which is \
             (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1; give the padding as numbers{hint}",
            args.written()
        ),
    )
}

/// A transposed convolution, described by the convolution it is the adjoint of (see
/// `rt::conv_transpose2d`): `adjoint.input` is this layer's output, `adjoint.outputs`
/// and `adjoint.output` its input.
struct ConvTransposeLayer {
    adjoint: ConvGeometry,
    name: proc_macro2::Ident,
    written: String,
}

impl ConvTransposeLayer {
    /// PyTorch computes fan-in from the weight's second axis: `out/groups · kh · kw`,
    /// the adjoint convolution's own fan-in.
    fn fan_in(&self) -> u64 {
        self.adjoint.fan_in()
    }
}

impl Layer for ConvTransposeLayer {
    fn output_shape(&self) -> Shape {
        let (c, h, w) = self.adjoint.input;
        vec![c, h, w]
    }
    fn params(&self) -> Vec<ParamTensor> {
        let g = &self.adjoint;
        let init = Init::PytorchDefault { fan_in: self.fan_in() };
        let weight = vec![g.outputs, g.input.0 / g.groups, g.kernel.0, g.kernel.1];
        let mut tensors = vec![ParamTensor { suffix: "weight".into(), shape: weight, init }];
        if g.bias {
            tensors.push(ParamTensor { suffix: "bias".into(), shape: vec![g.input.0], init });
        }
        tensors
    }
    fn flops(&self) -> Option<u64> {
        let g = &self.adjoint;
        g.outputs.checked_mul(self.fan_in())?.checked_mul(g.output.0)?.checked_mul(g.output.1)?.checked_mul(2)
    }
    fn scratch_per_sample(&self) -> Option<u64> {
        // The adjoint's im2col scratch: its columns and one group's outputs.
        let g = &self.adjoint;
        self.fan_in().checked_add(g.outputs / g.groups)?.checked_mul(g.output.0)?.checked_mul(g.output.1)
    }
    fn items(&self) -> TokenStream {
        let name = &self.name;
        let need = quote!(rt::conv_transpose2d::scratch_per_sample::<#name>());
        self.adjoint.definition(name, &self.written, &[(need, self.scratch_per_sample().unwrap_or(0))])
    }
    fn forward(&self) -> TokenStream {
        let name = &self.name;
        quote!(rt::conv_transpose2d::forward::<F, #name>(batch, x, params, y, scratch))
    }
    fn backward(&self) -> TokenStream {
        let name = &self.name;
        quote!(rt::conv_transpose2d::backward::<F, #name>(batch, x, params, dy, grads, dx, scratch))
    }
}
