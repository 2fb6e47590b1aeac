//! `transpose` (`x.transpose(1, 2)`: a `[T, F]` sequence to a `[C = F, L = T]` signal and
//! back) and `last` (`out[:, -1, :]`: a sequence's last step).

use super::{lit, Axes, Context, Kind, Layer, Shape};
use crate::args::Bound;
use proc_macro2::TokenStream;
use quote::quote;

pub static TRANSPOSE: Kind = Kind::new("transpose", &[], build_transpose);
pub static LAST: Kind = Kind::new("last", &[], build_last);

fn build_transpose(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (rows, cols, axes) = match (cx.input, cx.axes) {
        (&[t, f], Axes::Sequence) => (t, f, Axes::Signal),
        (&[c, l], Axes::Signal) => (c, l, Axes::Sequence),
        _ => {
            return Err(syn::Error::new_spanned(
                &args.layer.tokens,
                format!(
                    "`transpose` swaps the two axes of a [T, F] sequence or a [C, L] signal, but {} produces {}",
                    cx.source,
                    cx.shape()
                ),
            ))
        }
    };
    Ok(Box::new(Transpose { rows, cols, axes }))
}

fn build_last(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (steps, features) = cx.sequence(args, "takes the last step of")?;
    Ok(Box::new(Last { steps, features }))
}

/// Each sample's `rows × cols` matrix, transposed.
struct Transpose {
    rows: u64,
    cols: u64,
    axes: Axes,
}

impl Layer for Transpose {
    fn output_shape(&self) -> Shape {
        vec![self.cols, self.rows]
    }
    fn output_axes(&self) -> Option<Axes> {
        Some(self.axes)
    }
    fn flops(&self) -> Option<u64> {
        Some(0)
    }
    fn forward(&self) -> TokenStream {
        let (r, c) = (lit(self.rows), lit(self.cols));
        quote!(rt::sequence::transpose::<F, #r, #c>(batch, x, y))
    }
    fn backward(&self) -> TokenStream {
        let (r, c) = (lit(self.rows), lit(self.cols));
        quote!(rt::sequence::transpose::<F, #c, #r>(batch, dy, dx))
    }
}

/// The last of `steps` rows of `features`.
struct Last {
    steps: u64,
    features: u64,
}

impl Layer for Last {
    fn output_shape(&self) -> Shape {
        vec![self.features]
    }
    fn flops(&self) -> Option<u64> {
        Some(0)
    }
    fn forward(&self) -> TokenStream {
        let (t, f) = (lit(self.steps), lit(self.features));
        quote!(rt::sequence::last_forward::<F, #t, #f>(batch, x, y))
    }
    fn backward(&self) -> TokenStream {
        let (t, f) = (lit(self.steps), lit(self.features));
        quote!(rt::sequence::last_backward::<F, #t, #f>(batch, dy, dx))
    }
}
