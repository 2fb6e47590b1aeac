//! `batchnorm(c, eps = 1e-5, momentum = 0.1)`: `nn.BatchNorm2d` on `[c, H, W]`,
//! `nn.BatchNorm1d` on `[c]`. Parameters weight and bias; buffers running_mean,
//! running_var and num_batches_tracked, as PyTorch names them.

use super::{channel_generics, product, Barrier, Context, Init, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::TokenStream;
use quote::quote;

static SCHEMA: [Param; 3] = [
    required("c", ArgType::Size),
    optional("eps", ArgType::Float, Default::Float(1e-5)),
    optional("momentum", ArgType::Float, Default::Float(0.1)),
];

pub static BATCHNORM: Kind = Kind { recover: Recover::SameAsInput, ..Kind::new("batchnorm", &SCHEMA, build) };

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    super::check_channels(args, cx, "c")?;
    let (eps, momentum) = (args.float("eps"), args.float("momentum"));
    if eps <= 0.0 {
        return Err(syn::Error::new_spanned(args.tokens("eps"), "`eps` must be positive, e.g. `1e-5`"));
    }
    if !(0.0..=1.0).contains(&momentum) {
        return Err(syn::Error::new_spanned(args.tokens("momentum"), "`momentum` must lie in [0, 1], e.g. `0.1`"));
    }
    Ok(Box::new(BatchNormLayer { shape: cx.input.to_vec(), eps, momentum }))
}

struct BatchNormLayer {
    shape: Shape,
    eps: f64,
    momentum: f64,
}

impl Layer for BatchNormLayer {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn params(&self) -> Vec<ParamTensor> {
        let c = self.shape[0];
        vec![
            ParamTensor { suffix: "weight".into(), shape: vec![c], init: Init::Constant(1.0) },
            ParamTensor { suffix: "bias".into(), shape: vec![c], init: Init::Constant(0.0) },
        ]
    }
    fn buffers(&self) -> Vec<ParamTensor> {
        let c = self.shape[0];
        vec![
            ParamTensor { suffix: "running_mean".into(), shape: vec![c], init: Init::Constant(0.0) },
            ParamTensor { suffix: "running_var".into(), shape: vec![c], init: Init::Constant(1.0) },
            ParamTensor { suffix: "num_batches_tracked".into(), shape: vec![], init: Init::Constant(0.0) },
        ]
    }
    fn flops(&self) -> Option<u64> {
        product(&self.shape)?.checked_mul(2)
    }
    fn batch_stats(&self) -> u64 {
        2 * self.shape[0]
    }
    fn min_training_batch(&self) -> u64 {
        // One value per channel per sample: a single sample has no variance.
        if product(&self.shape[1..]) == Some(1) {
            2
        } else {
            1
        }
    }
    fn barrier(&self) -> Option<Barrier> {
        let generics = channel_generics(&self.shape);
        Some(Barrier {
            channels: self.shape[0],
            per_sample: self.shape[1..].iter().product(),
            eps: self.eps,
            momentum: self.momentum,
            forward: quote! {
                if training {
                    rt::batchnorm::statistics::<#generics>(batch, x, partials)
                }
            },
            backward: quote!(rt::batchnorm::gradient_sums::<#generics>(batch, x, dy, partials)),
        })
    }
    fn forward(&self) -> TokenStream {
        let (generics, eps) = (channel_generics(&self.shape), self.eps);
        quote!(rt::batchnorm::forward::<#generics>(batch, x, params, y, buffers, batch_stats, #eps, training))
    }
    fn eval_forward(&self) -> Option<TokenStream> {
        let (generics, eps) = (channel_generics(&self.shape), self.eps);
        Some(quote!(rt::batchnorm::eval::<#generics>(batch, x, params, y, buffers, #eps)))
    }
    fn backward(&self) -> TokenStream {
        let generics = channel_generics(&self.shape);
        quote!(rt::batchnorm::backward::<#generics>(batch, x, params, dy, grads, dx, batch_stats, partials))
    }
}
