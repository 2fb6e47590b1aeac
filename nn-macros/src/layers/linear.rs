//! `linear(in, out, bias = true)`: `nn.Linear`, on flat features or on each time step
//! of a `[T, F]` sequence (as `nn.Linear` on the last axis).

use super::{lit, Axes, Context, Init, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use crate::diag;
use proc_macro2::TokenStream;
use quote::quote;

static SCHEMA: [Param; 3] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    optional("bias", ArgType::Bool, Default::Bool(true)),
];

pub static LINEAR: Kind =
    Kind { recover: Recover::DeclaredChannels { rank: 1 }, ..Kind::new("linear", &SCHEMA, build) };

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (inputs, outputs, bias) = (args.int("in"), args.int("out"), args.bool("bias"));
    let (steps, features) = match (cx.input, cx.axes) {
        (&[f], _) => (None, f),
        (&[t, f], Axes::Sequence) => (Some(t), f),
        (&[c, l], Axes::Signal) => {
            return Err(syn::Error::new_spanned(
                &args.layer.tokens,
                format!(
                    "`{}` needs flat features or a [T, F] sequence (applied per step), but {} produces the signal {}; \
                     insert `flatten` for {} features, or `transpose` to apply it at each of the {l} positions to \
                     their {c} channels",
                    args.written(),
                    cx.source,
                    cx.shape(),
                    diag::thousands(c * l),
                ),
            ));
        }
        _ => {
            let flat = super::product(cx.input).unwrap_or(0);
            return Err(syn::Error::new_spanned(
                &args.layer.tokens,
                format!(
                    "`{}` needs a flat input, but {} produces {}; insert `flatten` before `{}` — \
                     it will produce {} features: `flatten -> {}`",
                    args.written(),
                    cx.source,
                    cx.shape(),
                    args.layer.kind,
                    diag::thousands(flat),
                    args.written_with(&[("in", flat.to_string())]),
                ),
            ));
        }
    };
    if inputs != features {
        return Err(syn::Error::new_spanned(
            args.tokens("in"),
            format!(
                "`{}` expects {}, but {} produces {}{}; write `{}`",
                args.written(),
                diag::count(inputs, "input feature"),
                cx.source,
                diag::count(features, "feature"),
                if steps.is_some() { format!(" per step ({})", cx.shape()) } else { String::new() },
                args.written_with(&[("in", features.to_string())]),
            ),
        ));
    }
    Ok(Box::new(LinearLayer { inputs, outputs, bias, steps }))
}

struct LinearLayer {
    inputs: u64,
    outputs: u64,
    bias: bool,
    /// On a sequence, its steps: the product runs over `batch × steps` rows.
    steps: Option<u64>,
}

impl Layer for LinearLayer {
    fn int8(&self) -> Option<super::Int8Op> {
        // One row per sample: not a sequence's steps.
        self.steps.is_none().then_some(super::Int8Op::Linear {
            inputs: self.inputs,
            outputs: self.outputs,
            bias: self.bias,
        })
    }
    fn output_shape(&self) -> Shape {
        match self.steps {
            Some(t) => vec![t, self.outputs],
            None => vec![self.outputs],
        }
    }
    fn params(&self) -> Vec<ParamTensor> {
        let init = Init::PytorchDefault { fan_in: self.inputs };
        let mut tensors = vec![ParamTensor { suffix: "weight".into(), shape: vec![self.outputs, self.inputs], init }];
        if self.bias {
            tensors.push(ParamTensor { suffix: "bias".into(), shape: vec![self.outputs], init });
        }
        tensors
    }
    fn flops(&self) -> Option<u64> {
        self.inputs.checked_mul(self.outputs)?.checked_mul(2)?.checked_mul(self.steps.unwrap_or(1))
    }
    fn forward(&self) -> TokenStream {
        let (i, o, b, rows) = (lit(self.inputs), lit(self.outputs), self.bias, super::rows(self.steps));
        quote!(rt::linear::forward::<F, #i, #o, #b>(#rows, x, params, y))
    }
    fn backward(&self) -> TokenStream {
        let (i, o, b, rows) = (lit(self.inputs), lit(self.outputs), self.bias, super::rows(self.steps));
        quote!(rt::linear::backward::<F, #i, #o, #b>(#rows, x, params, dy, grads, dx))
    }
}
