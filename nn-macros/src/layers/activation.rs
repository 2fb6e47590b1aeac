//! Element-wise activations: `relu`, `tanh`, `sigmoid` (alias `logistic`), `abs`,
//! `softplus`, `leaky_relu(alpha = 0.01)`, `elu(alpha = 1.0)`, `relu6`, `hardswish`,
//! `hardsigmoid`. Each names its function pair in `rt::activation`.

use super::{lit, product, Context, Kind, Layer, Shape};
use crate::args::{optional, ArgType, Bound, Default, Param};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

static ALPHA_001: [Param; 1] = [optional("alpha", ArgType::Float, Default::Float(0.01))];
static ALPHA_1: [Param; 1] = [optional("alpha", ArgType::Float, Default::Float(1.0))];

// Each names its `rt::activation` type (the `f` and `df` pair) and whether `df` reads
// only the output, so the activation can be fused into the layer before it (see
// `codegen`).
pub static RELU: Kind = Kind::new("relu", &[], |args, cx| build(args, cx, "Relu", true));
pub static TANH: Kind = Kind::new("tanh", &[], |args, cx| build(args, cx, "Tanh", true));
pub static SIGMOID: Kind =
    Kind { aliases: &["logistic"], ..Kind::new("sigmoid", &[], |args, cx| build(args, cx, "Sigmoid", true)) };
pub static ABS: Kind = Kind::new("abs", &[], |args, cx| build(args, cx, "Abs", false));
pub static SOFTPLUS: Kind = Kind::new("softplus", &[], |args, cx| build(args, cx, "Softplus", false));
pub static LEAKY_RELU: Kind = Kind::new("leaky_relu", &ALPHA_001, |args, cx| build(args, cx, "LeakyRelu", false));
pub static ELU: Kind = Kind::new("elu", &ALPHA_1, |args, cx| build(args, cx, "Elu", false));
// relu6's output is strictly inside (0, 6) exactly when its input is; hardswish's 0 comes
// from both sides of −3, and hardsigmoid's 1 also from just below 3 (see `rt::activation`).
pub static RELU6: Kind = Kind::new("relu6", &[], |args, cx| build(args, cx, "Relu6", true));
pub static HARDSWISH: Kind = Kind::new("hardswish", &[], |args, cx| build(args, cx, "Hardswish", false));
pub static HARDSIGMOID: Kind = Kind::new("hardsigmoid", &[], |args, cx| build(args, cx, "Hardsigmoid", false));

fn build(
    args: &Bound, cx: &Context, kernel: &'static str, derivative_from_output: bool,
) -> syn::Result<Box<dyn Layer>> {
    let alpha = if args.has("alpha") { args.float("alpha") } else { 0.0 };
    Ok(Box::new(ActivationLayer { shape: cx.input.to_vec(), kernel, alpha, derivative_from_output }))
}

struct ActivationLayer {
    shape: Shape,
    kernel: &'static str,
    alpha: f64,
    derivative_from_output: bool,
}

impl ActivationLayer {
    fn generics(&self) -> TokenStream {
        let kernel = Ident::new(self.kernel, Span::call_site());
        let len = lit(product(&self.shape).unwrap_or(0));
        quote!(F, rt::activation::#kernel, #len)
    }
}

impl Layer for ActivationLayer {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn flops(&self) -> Option<u64> {
        product(&self.shape)
    }
    fn forward(&self) -> TokenStream {
        let generics = self.generics();
        let alpha = self.alpha;
        quote!(rt::activation::forward::<#generics>(batch, x, y, F::from_f64(#alpha)))
    }
    fn backward(&self) -> TokenStream {
        let generics = self.generics();
        let alpha = self.alpha;
        quote!(rt::activation::backward::<#generics>(batch, x, y, dy, dx, F::from_f64(#alpha)))
    }
    fn int8(&self) -> Option<super::Int8Op> {
        let kernel = Ident::new(self.kernel, Span::call_site());
        Some(super::Int8Op::Activation { kernel: quote!(rt::activation::#kernel), alpha: self.alpha })
    }
    fn fusable_activation(&self) -> Option<(TokenStream, f64)> {
        let kernel = Ident::new(self.kernel, Span::call_site());
        self.derivative_from_output.then(|| (quote!(rt::activation::#kernel), self.alpha))
    }
}
