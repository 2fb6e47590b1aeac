//! Element-wise activations: `relu`, `tanh`, `sigmoid` (alias `logistic`). Each names
//! its function pair in `rt::activation`.

use super::{lit, product, Context, Layer, LayerKind, Shape};
use crate::args::{Bound, Param};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

pub struct Activation {
    name: &'static str,
    aliases: &'static [&'static str],
    /// The `rt::activation` type holding `f` and `df`.
    kernel: &'static str,
}

pub static RELU: Activation = Activation { name: "relu", aliases: &[], kernel: "Relu" };
pub static TANH: Activation = Activation { name: "tanh", aliases: &[], kernel: "Tanh" };
pub static SIGMOID: Activation = Activation { name: "sigmoid", aliases: &["logistic"], kernel: "Sigmoid" };

impl LayerKind for Activation {
    fn name(&self) -> &'static str {
        self.name
    }
    fn aliases(&self) -> &'static [&'static str] {
        self.aliases
    }
    fn schema(&self) -> &'static [Param] {
        &[]
    }
    fn build(&self, _args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        Ok(Box::new(ActivationLayer { shape: cx.input.to_vec(), kernel: self.kernel }))
    }
}

struct ActivationLayer {
    shape: Shape,
    kernel: &'static str,
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
        quote!(rt::activation::forward::<#generics>(batch, x, y))
    }
    fn backward(&self) -> TokenStream {
        let generics = self.generics();
        quote!(rt::activation::backward::<#generics>(batch, x, y, dy, dx))
    }
}
