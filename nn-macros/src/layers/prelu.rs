//! `prelu(c)`: `nn.PReLU(c)`, one learned negative slope per channel, initialized to 0.25.

use super::{channel_generics, product, Context, Init, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{required, ArgType, Bound, Param};
use proc_macro2::TokenStream;
use quote::quote;

static SCHEMA: [Param; 1] = [required("c", ArgType::Size)];

pub static PRELU: Kind = Kind { recover: Recover::SameAsInput, ..Kind::new("prelu", &SCHEMA, build) };

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    super::check_channels(args, cx, "c")?;
    Ok(Box::new(PreluLayer { shape: cx.input.to_vec() }))
}

struct PreluLayer {
    shape: Shape,
}

impl Layer for PreluLayer {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn params(&self) -> Vec<ParamTensor> {
        vec![ParamTensor { suffix: "weight".into(), shape: vec![self.shape[0]], init: Init::Constant(0.25) }]
    }
    fn flops(&self) -> Option<u64> {
        product(&self.shape)
    }
    fn forward(&self) -> TokenStream {
        let generics = channel_generics(&self.shape);
        quote!(rt::activation::prelu_forward::<#generics>(batch, x, params, y))
    }
    fn backward(&self) -> TokenStream {
        let generics = channel_generics(&self.shape);
        quote!(rt::activation::prelu_backward::<#generics>(batch, x, params, dy, grads, dx))
    }
}
