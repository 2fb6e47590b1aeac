//! The shape of one convolution as a type: the macro emits one marker type per layer
//! implementing [`Geometry`], and every convolution kernel is generic over it, so each
//! layer still gets its own copy of the loops with every bound a constant.

/// A 2-D convolution's fixed shape, as PyTorch's `nn.Conv2d` defines it: input
/// `C×H×W`, `OC` output channels, kernel `KH×KW`, stride, zero padding on each of the
/// four sides (top, bottom, left, right: PyTorch's `padding = "same"` pads one side
/// more when the total is odd), dilation, groups, whether there is a bias, and the
/// output `OH×OW` (PyTorch's formula for a convolution; a transposed convolution's
/// adjoint may compute fewer rows than the formula allows, see
/// [`crate::ops::conv_transpose2d`]). The rest is derived.
pub trait Geometry {
    const C: usize;
    const H: usize;
    const W: usize;
    const OC: usize;
    const KH: usize;
    const KW: usize;
    const SH: usize;
    const SW: usize;
    const PAD_TOP: usize;
    const PAD_BOTTOM: usize;
    const PAD_LEFT: usize;
    const PAD_RIGHT: usize;
    const DH: usize;
    const DW: usize;
    const GROUPS: usize;
    const BIAS: bool;
    const OH: usize;
    const OW: usize;

    /// Input and output channels per group.
    const CG: usize = Self::C / Self::GROUPS;
    const OCG: usize = Self::OC / Self::GROUPS;
    /// Inputs each output sees (taps): `C/G · KH · KW`, a column's length in im2col.
    const K: usize = Self::CG * Self::KH * Self::KW;
    /// Output positions per plane.
    const P: usize = Self::OH * Self::OW;
    /// The zero-padded input plane's height and width.
    const HP: usize = Self::H + Self::PAD_TOP + Self::PAD_BOTTOM;
    const WP: usize = Self::W + Self::PAD_LEFT + Self::PAD_RIGHT;
    const PADDED: bool = Self::PAD_TOP + Self::PAD_BOTTOM + Self::PAD_LEFT + Self::PAD_RIGHT > 0;
    /// Elements of one sample's input and output.
    const INPUT_LEN: usize = Self::C * Self::H * Self::W;
    const OUTPUT_LEN: usize = Self::OC * Self::P;
    /// Elements of the weight `[OC, C/G, KH, KW]`; the bias follows it in the parameters.
    const WEIGHT_LEN: usize = Self::OC * Self::K;
}

/// Defines a type implementing [`Geometry`] from named values, for tests, examples and
/// benchmarks (generated code writes the impl out):
///
/// ```
/// nn_runtime::conv2d_geometry!(LenetConv1 { c: 1, h: 32, w: 32, oc: 6, k: (5, 5) });
/// nn_runtime::conv2d_geometry!(Strided {
///     c: 4, h: 7, w: 6, oc: 6, k: (3, 2), stride: (2, 1), padding: (1, 1, 2, 2),
///     dilation: (1, 2), groups: 2, bias: false
/// });
/// use nn_runtime::ops::conv2d::Geometry;
/// assert_eq!((LenetConv1::OH, LenetConv1::OW), (28, 28));
/// assert_eq!((Strided::OH, Strided::OW), (4, 8));
/// ```
///
/// Omitted values default to stride 1, no padding (`padding` is top, bottom, left,
/// right), dilation 1, one group and a bias; the output size is PyTorch's
/// `⌊(n + padding − d·(k − 1) − 1) / s⌋ + 1`.
#[macro_export]
macro_rules! conv2d_geometry {
    ($(#[$attr:meta])* $vis:vis $name:ident { c: $c:expr, h: $h:expr, w: $w:expr, oc: $oc:expr, k: ($kh:expr, $kw:expr)
        $(, stride: ($sh:expr, $sw:expr))? $(, padding: ($pt:expr, $pb:expr, $pl:expr, $pr:expr))?
        $(, dilation: ($dh:expr, $dw:expr))? $(, groups: $g:expr)? $(, bias: $bias:expr)? $(,)? }) => {
        $(#[$attr])*
        $vis struct $name;
        impl $crate::ops::conv2d::Geometry for $name {
            const C: usize = $c;
            const H: usize = $h;
            const W: usize = $w;
            const OC: usize = $oc;
            const KH: usize = $kh;
            const KW: usize = $kw;
            const SH: usize = $crate::conv2d_geometry!(@or $($sh)?, 1);
            const SW: usize = $crate::conv2d_geometry!(@or $($sw)?, 1);
            const PAD_TOP: usize = $crate::conv2d_geometry!(@or $($pt)?, 0);
            const PAD_BOTTOM: usize = $crate::conv2d_geometry!(@or $($pb)?, 0);
            const PAD_LEFT: usize = $crate::conv2d_geometry!(@or $($pl)?, 0);
            const PAD_RIGHT: usize = $crate::conv2d_geometry!(@or $($pr)?, 0);
            const DH: usize = $crate::conv2d_geometry!(@or $($dh)?, 1);
            const DW: usize = $crate::conv2d_geometry!(@or $($dw)?, 1);
            const GROUPS: usize = $crate::conv2d_geometry!(@or $($g)?, 1);
            const BIAS: bool = $crate::conv2d_geometry!(@or $($bias)?, true);
            const OH: usize = (Self::H + Self::PAD_TOP + Self::PAD_BOTTOM - Self::DH * (Self::KH - 1) - 1) / Self::SH + 1;
            const OW: usize = (Self::W + Self::PAD_LEFT + Self::PAD_RIGHT - Self::DW * (Self::KW - 1) - 1) / Self::SW + 1;
        }
    };
    (@or $value:expr, $default:expr) => {
        $value
    };
    (@or , $default:expr) => {
        $default
    };
}
