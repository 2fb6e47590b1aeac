//! `flatten`: `nn.Flatten`. A view: the next layer reads the same memory.

use super::{lit, product, Context, Layer, LayerKind, Shape};
use crate::args::{Bound, Param};
use proc_macro2::TokenStream;
use quote::quote;

pub struct Flatten;

impl LayerKind for Flatten {
    fn name(&self) -> &'static str {
        "flatten"
    }
    fn schema(&self) -> &'static [Param] {
        &[]
    }
    fn build(&self, _args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        // The product cannot overflow: the input's own length was checked.
        Ok(Box::new(FlattenLayer { len: product(cx.input).unwrap_or(0) }))
    }
}

struct FlattenLayer {
    len: u64,
}

impl Layer for FlattenLayer {
    fn output_shape(&self) -> Shape {
        vec![self.len]
    }
    fn flops(&self) -> Option<u64> {
        Some(0)
    }
    fn is_view(&self) -> bool {
        true
    }
    // Only emitted when the input is the caller's own slice, which cannot be aliased.
    fn forward(&self) -> TokenStream {
        let n = lit(self.len);
        quote!(y.copy_from_slice(&x[..#n * batch]))
    }
    fn backward(&self) -> TokenStream {
        quote!(dx.copy_from_slice(dy))
    }
}
