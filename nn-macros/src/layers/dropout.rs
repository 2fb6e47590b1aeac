//! `dropout(p)`: `nn.Dropout(p)`, inverted; the identity in eval mode. The mask is kept
//! in `saved` for backward.

use super::{lit, product, Context, Kind, Layer, Shape};
use crate::args::{required, ArgType, Bound, Param};
use proc_macro2::TokenStream;
use quote::quote;

static SCHEMA: [Param; 1] = [required("p", ArgType::Probability)];

pub static DROPOUT: Kind = Kind::new("dropout", &SCHEMA, build);

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    Ok(Box::new(DropoutLayer { shape: cx.input.to_vec(), p: args.float("p") }))
}

struct DropoutLayer {
    shape: Shape,
    p: f64,
}

impl Layer for DropoutLayer {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn flops(&self) -> Option<u64> {
        product(&self.shape)
    }
    fn saved(&self) -> Option<u64> {
        product(&self.shape)
    }
    fn forward(&self) -> TokenStream {
        let (len, p) = (lit(product(&self.shape).unwrap_or(0)), self.p);
        quote!(rt::dropout::forward::<F, #len>(batch, x, y, saved, #p, training, rng))
    }
    fn int8(&self) -> Option<super::Int8Op> {
        Some(super::Int8Op::Same)
    }
    fn eval_forward(&self) -> Option<TokenStream> {
        let len = lit(product(&self.shape).unwrap_or(0));
        Some(quote!(rt::dropout::identity::<F, #len>(batch, x, y)))
    }
    fn backward(&self) -> TokenStream {
        let (len, p) = (lit(product(&self.shape).unwrap_or(0)), self.p);
        quote!(rt::dropout::backward::<F, #len>(batch, dy, dx, saved, #p, training))
    }
}
