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
    /// The geometry a convolution's arguments describe, on `input`, producing `output`.
    pub fn new(args: &Bound, input: (u64, u64, u64), output: (u64, u64)) -> Self {
        let (ph, pw) = args.pair("padding");
        ConvGeometry {
            input,
            outputs: args.int("out"),
            kernel: args.pair("k"),
            stride: args.pair("stride"),
            padding: [ph, ph, pw, pw],
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
        let (c, h, w) = (lit(self.input.0), lit(self.input.1), lit(self.input.2));
        let oc = lit(self.outputs);
        let (kh, kw) = (lit(self.kernel.0), lit(self.kernel.1));
        let (sh, sw) = (lit(self.stride.0), lit(self.stride.1));
        let [top, bottom, left, right] = self.padding.map(lit);
        let (dh, dw) = (lit(self.dilation.0), lit(self.dilation.1));
        let groups = lit(self.groups);
        let (oh, ow) = (lit(self.output.0), lit(self.output.1));
        let bias = self.bias;
        let checks = needs.iter().map(|(need, planned)| {
            let planned = lit(*planned);
            quote!(#need <= #planned)
        });
        let message = format!("`{written}`: the runtime's convolution needs more scratch than the macro planned");
        quote! {
            struct #name;
            impl rt::conv2d::Geometry for #name {
                const C: usize = #c;
                const H: usize = #h;
                const W: usize = #w;
                const OC: usize = #oc;
                const KH: usize = #kh;
                const KW: usize = #kw;
                const SH: usize = #sh;
                const SW: usize = #sw;
                const PAD_TOP: usize = #top;
                const PAD_BOTTOM: usize = #bottom;
                const PAD_LEFT: usize = #left;
                const PAD_RIGHT: usize = #right;
                const DH: usize = #dh;
                const DW: usize = #dw;
                const GROUPS: usize = #groups;
                const BIAS: bool = #bias;
                const OH: usize = #oh;
                const OW: usize = #ow;
            }
            const _: () = assert!(#(#checks)&&*, #message);
        }
    }
}
