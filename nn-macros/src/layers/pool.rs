//! `maxpool(k, stride = k, padding = 0, ceil_mode = false)` and `avgpool(…)` alike:
//! `nn.MaxPool2d` and `nn.AvgPool2d` (average counts padding), with PyTorch's ceil mode
//! and, beyond PyTorch, `padding = same | valid` defined as a convolution's (stride 1;
//! one more row or column after than before where the total is odd); and
//! `global_maxpool`, `global_avgpool` (`nn.AdaptiveMaxPool2d(1)`, `AdaptiveAvgPool2d(1)`),
//! which are the same kernels with the window set to the whole plane.

use super::{lit, pair_str, window_output, Context, Kind, Layer, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

#[derive(Clone, Copy)]
pub enum Reduce {
    Max,
    Average,
}

pub static MAXPOOL: Kind = Kind::new("maxpool", &SCHEMA, |args, cx| build(args, cx, Reduce::Max));
pub static AVGPOOL: Kind = Kind::new("avgpool", &SCHEMA, |args, cx| build(args, cx, Reduce::Average));
// The same kernels with one window covering the whole plane.
pub static GLOBAL_MAXPOOL: Kind = Kind::new("global_maxpool", &[], |args, cx| build_global(args, cx, Reduce::Max));
pub static GLOBAL_AVGPOOL: Kind = Kind::new("global_avgpool", &[], |args, cx| build_global(args, cx, Reduce::Average));

static SCHEMA: [Param; 4] = [
    required("k", ArgType::SizePair),
    optional("stride", ArgType::SizePair, Default::SameAs("k")),
    optional("padding", ArgType::Padding, Default::Int(0)),
    optional("ceil_mode", ArgType::Bool, Default::Bool(false)),
];

fn build(args: &Bound, cx: &Context, reduce: Reduce) -> syn::Result<Box<dyn Layer>> {
    let (c, h, w) = cx.image(args, "pools")?;
    let (kernel, stride, ceil_mode) = (args.pair("k"), args.pair("stride"), args.bool("ceil_mode"));
    let padding = super::paddings(args, kernel, (1, 1), "pooling")?;
    check_padding(args, kernel, padding)?;
    let out_h = window_output(h, kernel.0, stride.0, (padding[0], padding[1]), 1, ceil_mode);
    let out_w = window_output(w, kernel.1, stride.1, (padding[2], padding[3]), 1, ceil_mode);
    let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
        let padded = |n: u64, before: u64, after: u64| n.saturating_add(before).saturating_add(after);
        return Err(syn::Error::new_spanned(
            args.tokens("k"),
            format!(
                "`{}`: the {}×{} window does not fit the {h}×{w} input from {}; the output would be empty — use a \
                 window of at most {}",
                args.written(),
                kernel.0,
                kernel.1,
                cx.source,
                pair_str((
                    kernel.0.min(padded(h, padding[0], padding[1])),
                    kernel.1.min(padded(w, padding[2], padding[3]))
                )),
            ),
        ));
    };
    Ok(from_window(reduce, (c, h, w), kernel, stride, padding, (out_h, out_w), cx))
}

/// PyTorch's rule: no side's padding (top, bottom, left, right) more than half the window.
pub(super) fn check_padding(args: &Bound, kernel: (u64, u64), padding: [u64; 4]) -> syn::Result<()> {
    let widest = (padding[0].max(padding[1]), padding[2].max(padding[3]));
    if widest.0 <= kernel.0 / 2 && widest.1 <= kernel.1 / 2 {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        args.tokens("padding"),
        format!(
            "`{}`: padding {} is more than half the window {}; PyTorch rejects this too — use padding ≤ {}",
            args.written(),
            pair_str(widest),
            pair_str(kernel),
            pair_str((kernel.0 / 2, kernel.1 / 2)),
        ),
    ))
}

/// The pooling of `input` (channels, height, width) with these windows (padding: top,
/// bottom, left, right), checked already, producing `output`, as layer `cx.index`:
/// `maxpool1d` and `avgpool1d` pool a [C, L] signal as a [C, 1, L] image this way.
pub(super) fn from_window(
    reduce: Reduce, input: (u64, u64, u64), kernel: (u64, u64), stride: (u64, u64), padding: [u64; 4],
    output: (u64, u64), cx: &Context,
) -> Box<dyn Layer> {
    Box::new(PoolLayer { reduce, input, kernel, stride, padding, output, name: cx.item_name("Pool") })
}

fn build_global(args: &Bound, cx: &Context, reduce: Reduce) -> syn::Result<Box<dyn Layer>> {
    let (c, h, w) = cx.image(args, "pools")?;
    let kernel = (h, w);
    Ok(from_window(reduce, (c, h, w), kernel, kernel, [0; 4], (1, 1), cx))
}

struct PoolLayer {
    reduce: Reduce,
    input: (u64, u64, u64),
    kernel: (u64, u64),
    stride: (u64, u64),
    /// Top, bottom, left, right.
    padding: [u64; 4],
    /// Which, with the stride, says how far the windows reach (ceil mode's run past the
    /// padded input).
    output: (u64, u64),
    /// The window type's name in generated code.
    name: Ident,
}

impl PoolLayer {
    /// The `rt::pool2d::PlanePool` type that pools one plane: `MaxPlane|AvgPlane<__Pool3>`.
    fn plane(&self) -> TokenStream {
        let name = &self.name;
        match self.reduce {
            Reduce::Max => quote!(rt::pool2d::MaxPlane<#name>),
            Reduce::Average => quote!(rt::pool2d::AvgPlane<#name>),
        }
    }
}

impl Layer for PoolLayer {
    fn output_shape(&self) -> Shape {
        vec![self.input.0, self.output.0, self.output.1]
    }
    /// `struct __Pool3; impl rt::pool2d::Window for __Pool3 { … }`. The padding after
    /// defaults to the padding before: it is written only where `same` makes it differ.
    fn items(&self) -> TokenStream {
        let [top, bottom, left, right] = self.padding;
        let mut consts = vec![
            ("H", self.input.1),
            ("W", self.input.2),
            ("KH", self.kernel.0),
            ("KW", self.kernel.1),
            ("SH", self.stride.0),
            ("SW", self.stride.1),
            ("PAD_TOP", top),
            ("PAD_LEFT", left),
        ];
        if bottom != top {
            consts.push(("PAD_BOTTOM", bottom));
        }
        if right != left {
            consts.push(("PAD_RIGHT", right));
        }
        consts.extend([("OH", self.output.0), ("OW", self.output.1)]);
        super::marker_type(&self.name, quote!(rt::pool2d::Window), &consts, None)
    }
    fn flops(&self) -> Option<u64> {
        self.input
            .0
            .checked_mul(self.output.0)?
            .checked_mul(self.output.1)?
            .checked_mul(self.kernel.0)?
            .checked_mul(self.kernel.1)
    }
    fn forward(&self) -> TokenStream {
        let (plane, c) = (self.plane(), lit(self.input.0));
        quote!(rt::pool2d::forward::<F, #plane, #c>(batch, x, y))
    }
    fn plane_pool(&self) -> Option<TokenStream> {
        Some(self.plane())
    }
    fn int8(&self) -> Option<super::Int8Op> {
        let (input, output) = (self.input.1.checked_mul(self.input.2)?, self.output.0.checked_mul(self.output.1)?);
        Some(super::Int8Op::Pool { plane: self.plane(), channels: self.input.0, scratch: input.checked_add(output)? })
    }
    fn backward_after(&self, activation: &TokenStream, alpha: f64) -> Option<TokenStream> {
        let (plane, c) = (self.plane(), lit(self.input.0));
        Some(quote!(rt::pool2d::backward::<F, #plane, #activation, #c>(batch, x, y, dy, dx, F::from_f64(#alpha))))
    }
    fn backward(&self) -> TokenStream {
        self.backward_after(&quote!(rt::activation::Identity), 0.0).unwrap_or_default()
    }
}
