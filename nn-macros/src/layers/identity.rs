//! `identity`: `nn.Identity`. A view, like `flatten`.

use super::{lit, product, Context, Layer, LayerKind, Shape};
use crate::args::{Bound, Param};
use proc_macro2::TokenStream;
use quote::quote;

pub struct Identity;

impl LayerKind for Identity {
    fn name(&self) -> &'static str {
        "identity"
    }
    fn schema(&self) -> &'static [Param] {
        &[]
    }
    fn build(&self, _args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        Ok(Box::new(IdentityLayer { shape: cx.input.to_vec() }))
    }
}

struct IdentityLayer {
    shape: Shape,
}

impl Layer for IdentityLayer {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn flops(&self) -> Option<u64> {
        Some(0)
    }
    fn is_view(&self) -> bool {
        true
    }
    // Only emitted when the input is the caller's own slice, which cannot be aliased.
    fn forward(&self) -> TokenStream {
        let n = lit(product(&self.shape).unwrap_or(0));
        quote!(y.copy_from_slice(&x[..#n * batch]))
    }
    fn backward(&self) -> TokenStream {
        quote!(dx.copy_from_slice(dy))
    }
}
