//! `upsample(scale)`: `nn.Upsample(scale_factor=scale, mode='nearest')`, integer scale
//! or a `(height, width)` pair.

use super::{lit, Context, Kind, Layer, Shape};
use crate::args::{required, ArgType, Bound, Param};
use proc_macro2::TokenStream;
use quote::quote;

static SCHEMA: [Param; 1] = [required("scale", ArgType::SizePair)];

pub static UPSAMPLE: Kind = Kind::new("upsample", &SCHEMA, build);

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (c, h, w) = cx.image(args, "upsamples")?;
    let scale = args.pair("scale");
    let (Some(oh), Some(ow)) = (h.checked_mul(scale.0), w.checked_mul(scale.1)) else {
        return Err(syn::Error::new_spanned(args.tokens("scale"), "the upsampled size overflows 64 bits"));
    };
    Ok(Box::new(UpsampleLayer { input: (c, h, w), scale, output: (oh, ow) }))
}

struct UpsampleLayer {
    input: (u64, u64, u64),
    scale: (u64, u64),
    output: (u64, u64),
}

impl UpsampleLayer {
    fn generics(&self) -> TokenStream {
        let (c, h, w) = (lit(self.input.0), lit(self.input.1), lit(self.input.2));
        let (sh, sw) = (lit(self.scale.0), lit(self.scale.1));
        quote!(F, #c, #h, #w, #sh, #sw)
    }
}

impl Layer for UpsampleLayer {
    fn output_shape(&self) -> Shape {
        vec![self.input.0, self.output.0, self.output.1]
    }
    fn flops(&self) -> Option<u64> {
        Some(0)
    }
    fn forward(&self) -> TokenStream {
        let generics = self.generics();
        quote!(rt::upsample::nearest_forward::<#generics>(batch, x, y))
    }
    fn backward(&self) -> TokenStream {
        let generics = self.generics();
        quote!(rt::upsample::nearest_backward::<#generics>(batch, dy, dx))
    }
}
