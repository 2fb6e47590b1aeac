//! `softmax` and `log_softmax` over the channel/feature axis: `nn.Softmax(dim=1)` and
//! `nn.LogSoftmax(dim=1)`.

use super::{channel_generics, product, Context, Layer, LayerKind, Shape};
use crate::args::{Bound, Param};
use proc_macro2::TokenStream;
use quote::quote;

pub struct Softmax {
    name: &'static str,
    log: bool,
}

pub static SOFTMAX: Softmax = Softmax { name: "softmax", log: false };
pub static LOG_SOFTMAX: Softmax = Softmax { name: "log_softmax", log: true };

impl LayerKind for Softmax {
    fn name(&self) -> &'static str {
        self.name
    }
    fn schema(&self) -> &'static [Param] {
        &[]
    }
    fn build(&self, _args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
        Ok(Box::new(SoftmaxLayer { shape: cx.input.to_vec(), log: self.log }))
    }
}

struct SoftmaxLayer {
    shape: Shape,
    log: bool,
}

impl Layer for SoftmaxLayer {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn flops(&self) -> Option<u64> {
        product(&self.shape)?.checked_mul(4)
    }
    fn forward(&self) -> TokenStream {
        let generics = channel_generics(&self.shape);
        if self.log {
            quote!(rt::softmax::log_softmax_forward::<#generics>(batch, x, y))
        } else {
            quote!(rt::softmax::softmax_forward::<#generics>(batch, x, y))
        }
    }
    fn backward(&self) -> TokenStream {
        let generics = channel_generics(&self.shape);
        if self.log {
            quote!(rt::softmax::log_softmax_backward::<#generics>(batch, y, dy, dx))
        } else {
            quote!(rt::softmax::softmax_backward::<#generics>(batch, y, dy, dx))
        }
    }
}
