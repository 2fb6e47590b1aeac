//! `flatten` (`nn.Flatten`) and `identity` (`nn.Identity`): views, whose output is their
//! input reinterpreted; the next layer reads the same memory.

use super::{lit, product, Kind, Layer, Shape};
use proc_macro2::TokenStream;
use quote::quote;

pub static FLATTEN: Kind = Kind::new("flatten", &[], |_, cx| {
    // The product cannot overflow: the input's own length was checked.
    Ok(Box::new(ViewLayer { shape: vec![product(cx.input).unwrap_or(0)] }))
});
pub static IDENTITY: Kind = Kind::new("identity", &[], |_, cx| Ok(Box::new(ViewLayer { shape: cx.input.to_vec() })));

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
    fn int8(&self) -> Option<super::Int8Op> {
        Some(super::Int8Op::Same)
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
