//! `softmax` and `log_softmax` over the channel/feature axis: `nn.Softmax(dim=1)` and
//! `nn.LogSoftmax(dim=1)`.

use super::{channel_generics, product, Context, Kind, Layer, Shape};
use proc_macro2::TokenStream;
use quote::quote;

pub static SOFTMAX: Kind = Kind::new("softmax", &[], |_, cx| build(cx, false));
pub static LOG_SOFTMAX: Kind = Kind::new("log_softmax", &[], |_, cx| build(cx, true));

fn build(cx: &Context, log: bool) -> syn::Result<Box<dyn Layer>> {
    Ok(Box::new(SoftmaxLayer { shape: cx.input.to_vec(), log }))
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
