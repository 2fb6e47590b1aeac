//! Element-wise activations: `relu`, `tanh`, `sigmoid` (alias `logistic`), `abs`,
//! `softplus`, `leaky_relu(alpha = 0.01)`, `elu(alpha = 1.0)`. Each names its function
//! pair in `rt::activation`.

use super::{lit, product, Context, Layer, LayerKind, Shape};
use crate::args::{optional, ArgType, Bound, Default, Param};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

pub struct Activation {
    name: &'static str,
    aliases: &'static [&'static str],
    /// The `rt::activation` type holding `f` and `df`.
    kernel: &'static str,
    /// Empty, or the one `alpha` argument.
    schema: &'static [Param],
    /// Whether `df` reads only the output, so the activation can be fused into the
    /// layer before it (see `codegen`).
    derivative_from_output: bool,
}

impl Activation {
    /// An activation without arguments or aliases.
    const fn new(name: &'static str, kernel: &'static str, derivative_from_output: bool) -> Self {
        Activation { name, aliases: &[], kernel, schema: &[], derivative_from_output }
    }
}

static ALPHA_001: [Param; 1] = [optional("alpha", ArgType::Float, Default::Float(0.01))];
static ALPHA_1: [Param; 1] = [optional("alpha", ArgType::Float, Default::Float(1.0))];

pub static RELU: Activation = Activation::new("relu", "Relu", true);
pub static TANH: Activation = Activation::new("tanh", "Tanh", true);
pub static SIGMOID: Activation = Activation { aliases: &["logistic"], ..Activation::new("sigmoid", "Sigmoid", true) };
pub static ABS: Activation = Activation::new("abs", "Abs", false);
pub static SOFTPLUS: Activation = Activation::new("softplus", "Softplus", false);
pub static LEAKY_RELU: Activation =
    Activation { schema: &ALPHA_001, ..Activation::new("leaky_relu", "LeakyRelu", false) };
pub static ELU: Activation = Activation { schema: &ALPHA_1, ..Activation::new("elu", "Elu", false) };

impl LayerKind for Activation {
    fn name(&self) -> &'static str {
        self.name
    }
    fn aliases(&self) -> &'static [&'static str] {
        self.aliases
    }
    fn schema(&self) -> &'static [Param] {
        self.schema
    }
    fn build(&self, args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        let alpha = if self.schema.is_empty() { 0.0 } else { args.float("alpha") };
        Ok(Box::new(ActivationLayer {
            shape: cx.input.to_vec(),
            kernel: self.kernel,
            alpha,
            derivative_from_output: self.derivative_from_output,
        }))
    }
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
    fn fusable_activation(&self) -> Option<(TokenStream, f64)> {
        let kernel = Ident::new(self.kernel, Span::call_site());
        self.derivative_from_output.then(|| (quote!(rt::activation::#kernel), self.alpha))
    }
}
