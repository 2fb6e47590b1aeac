//! `softmax` and `log_softmax` over the channel/feature axis: `nn.Softmax(dim=1)` and
//! `nn.LogSoftmax(dim=1)`; on a `[T, F]` sequence over the features of each step
//! (`dim=-1`, SPEC §6).

use super::{channel_generics, lit, product, Axes, Context, Kind, Layer, Shape};
use proc_macro2::TokenStream;
use quote::quote;

pub static SOFTMAX: Kind = Kind::new("softmax", &[], |_, cx| build(cx, false));
pub static LOG_SOFTMAX: Kind = Kind::new("log_softmax", &[], |_, cx| build(cx, true));

fn build(cx: &Context, log: bool) -> syn::Result<Box<dyn Layer>> {
    let steps = (cx.axes == Axes::Sequence).then(|| cx.input[0]);
    Ok(Box::new(SoftmaxLayer { shape: cx.input.to_vec(), log, steps }))
}

struct SoftmaxLayer {
    shape: Shape,
    log: bool,
    /// On a sequence, its steps: each is a sample of `[F]` to the kernel.
    steps: Option<u64>,
}

impl SoftmaxLayer {
    /// The kernel's generics and sample count: channels first, or a sequence's steps
    /// as `batch × T` samples of its features.
    fn kernel(&self) -> (TokenStream, TokenStream) {
        match self.steps {
            Some(_) => {
                let f = lit(self.shape[1]);
                (quote!(F, #f, 1), super::rows(self.steps))
            }
            None => (channel_generics(&self.shape), quote!(batch)),
        }
    }
}

impl Layer for SoftmaxLayer {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn flops(&self) -> Option<u64> {
        product(&self.shape)?.checked_mul(4)
    }
    fn forward(&self) -> TokenStream {
        let (generics, batch) = self.kernel();
        if self.log {
            quote!(rt::softmax::log_softmax_forward::<#generics>(#batch, x, y))
        } else {
            quote!(rt::softmax::softmax_forward::<#generics>(#batch, x, y))
        }
    }
    fn backward(&self) -> TokenStream {
        let (generics, batch) = self.kernel();
        if self.log {
            quote!(rt::softmax::log_softmax_backward::<#generics>(#batch, y, dy, dx))
        } else {
            quote!(rt::softmax::softmax_backward::<#generics>(#batch, y, dy, dx))
        }
    }
}
