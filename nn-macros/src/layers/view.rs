//! `flatten` (`nn.Flatten`) and `identity` (`nn.Identity`): views, whose output is their
//! input reinterpreted; the next layer reads the same memory.

use super::{lit, product, Context, Layer, LayerKind, Shape};
use crate::args::{Bound, Param};
use proc_macro2::TokenStream;
use quote::quote;

pub struct View {
    name: &'static str,
    /// To `[features]`; else the shape is kept.
    flatten: bool,
}

pub static FLATTEN: View = View { name: "flatten", flatten: true };
pub static IDENTITY: View = View { name: "identity", flatten: false };

impl LayerKind for View {
    fn name(&self) -> &'static str {
        self.name
    }
    fn schema(&self) -> &'static [Param] {
        &[]
    }
    fn build(&self, _args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        // The product cannot overflow: the input's own length was checked.
        let shape = if self.flatten { vec![product(cx.input).unwrap_or(0)] } else { cx.input.to_vec() };
        Ok(Box::new(ViewLayer { shape }))
    }
}

struct ViewLayer {
    shape: Shape,
}

impl Layer for ViewLayer {
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
