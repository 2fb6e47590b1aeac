//! The shape every convolution kernel is specialized on, emitted as one named type per
//! layer implementing `rt::conv2d::Geometry`, with a compile-time check that the
//! runtime agrees with what the macro planned for it.

use super::lit;
use crate::args::Bound;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// A convolution's shape: the runtime's `Geometry` trait, field for field.
#[derive(Clone)]
pub struct ConvGeometry {
    pub input: (u64, u64, u64),
    pub outputs: u64,
    pub kernel: (u64, u64),
    pub stride: (u64, u64),
    /// Zero padding: top, bottom, left, right.
    pub padding: [u64; 4],
    pub dilation: (u64, u64),
    pub groups: u64,
    pub output: (u64, u64),
    pub bias: bool,
}

impl ConvGeometry {
    /// The geometry a convolution's arguments describe, on `input` with `padding` (top,
    /// bottom, left, right: see [`super::paddings`]), producing `output`.
    pub fn new(args: &Bound, input: (u64, u64, u64), padding: [u64; 4], output: (u64, u64)) -> Self {
        ConvGeometry {
            input,
            outputs: args.int("out"),
            kernel: args.pair("k"),
            stride: args.pair("stride"),
            padding,
            dilation: args.pair("dilation"),
            groups: args.int("groups"),
            output,
            bias: args.bool("bias"),
        }
    }

    /// Inputs each output sees: `in/groups · kh · kw` (saturating: an overflowing
    /// kernel is reported through the weight's size).
    pub fn fan_in(&self) -> u64 {
        (self.input.0 / self.groups).saturating_mul(self.kernel.0).saturating_mul(self.kernel.1)
    }

    /// The zero-padded input's width.
    pub fn padded_width(&self) -> Option<u64> {
        self.input.2.checked_add(self.padding[2])?.checked_add(self.padding[3])
    }

    /// Elements of one sample's zero-padded input, 0 without padding.
    pub fn padded_input(&self) -> Option<u64> {
        if self.padding == [0; 4] {
            return Some(0);
        }
        let height = self.input.1.checked_add(self.padding[0])?.checked_add(self.padding[1])?;
        self.input.0.checked_mul(height)?.checked_mul(self.padded_width()?)
    }

    /// `struct #name; impl rt::conv2d::Geometry for #name { … }`, and a compile-time
    /// assertion that each `(runtime need, planned)` pair holds: the kernel's scratch
    /// need (a `const fn` of the runtime) fits what the macro planned, so the two
    /// computations cannot drift apart unnoticed.
    pub fn definition(&self, name: &Ident, written: &str, needs: &[(TokenStream, u64)]) -> TokenStream {
        let [top, bottom, left, right] = self.padding;
        let consts = [
            ("C", self.input.0),
            ("H", self.input.1),
            ("W", self.input.2),
            ("OC", self.outputs),
            ("KH", self.kernel.0),
            ("KW", self.kernel.1),
            ("SH", self.stride.0),
            ("SW", self.stride.1),
            ("PAD_TOP", top),
            ("PAD_BOTTOM", bottom),
            ("PAD_LEFT", left),
            ("PAD_RIGHT", right),
            ("DH", self.dilation.0),
            ("DW", self.dilation.1),
            ("GROUPS", self.groups),
            ("OH", self.output.0),
            ("OW", self.output.1),
        ];
        let geometry = super::marker_type(name, quote!(rt::conv2d::Geometry), &consts, Some(self.bias));
        let checks = needs.iter().map(|(need, planned)| {
            let planned = lit(*planned);
            quote!(#need <= #planned)
        });
        let message = format!("`{written}`: the runtime's convolution needs more scratch than the macro planned");
        quote! {
            #geometry
            const _: () = ::core::assert!(#(#checks)&&*, #message);
        }
    }
}
