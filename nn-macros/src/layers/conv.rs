//! `conv(in, out, k, stride = 1, padding = 0, dilation = 1, groups = 1, bias = true)`:
//! `nn.Conv2d`, `padding = same | valid` included.

use super::{lit, pair_str, window_output, Context, ConvGeometry, Init, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use proc_macro2::TokenStream;
use quote::quote;

static SCHEMA: [Param; 8] = [
    required("in", ArgType::Size),
    required("out", ArgType::Size),
    required("k", ArgType::SizePair),
    optional("stride", ArgType::SizePair, Default::Int(1)),
    optional("padding", ArgType::Padding, Default::Int(0)),
    optional("dilation", ArgType::SizePair, Default::Int(1)),
    optional("groups", ArgType::Size, Default::Int(1)),
    optional("bias", ArgType::Bool, Default::Bool(true)),
];

pub static CONV: Kind = Kind { recover: Recover::DeclaredChannels { rank: 3 }, ..Kind::new("conv", &SCHEMA, build) };

fn build(args: &Bound, cx: &Context) -> syn::Result<Box<dyn Layer>> {
    let (c, h, w) = cx.image(args, "convolves")?;
    super::check_channels(args, cx, "in")?;
    super::check_groups(args)?;
    let kernel = args.pair("k");
    let stride = args.pair("stride");
    let dilation = args.pair("dilation");
    let pads = super::paddings(args, kernel, dilation, "convolutions")?;
    let out_h = window_output(h, kernel.0, stride.0, (pads[0], pads[1]), dilation.0, false);
    let out_w = window_output(w, kernel.1, stride.1, (pads[2], pads[3]), dilation.1, false);
    // Only numbers (symmetric) can leave the kernel too large: `same` keeps the size.
    let padding = (pads[0], pads[2]);
    let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
        let span = |k: u64, d: u64| d.saturating_mul(k - 1).saturating_add(1);
        let spans = (span(kernel.0, dilation.0), span(kernel.1, dilation.1));
        let dilated = if dilation != (1, 1) {
            format!(" (spanning {}×{} with dilation)", spans.0, spans.1)
        } else {
            String::new()
        };
        return Err(syn::Error::new_spanned(
            args.tokens("k"),
            format!(
                "`{}`: the {}×{} kernel{dilated} does not fit the {h}×{w} input from {} with padding {}; \
                 the output would be empty — {}",
                args.written(),
                kernel.0,
                kernel.1,
                cx.source,
                pair_str(padding),
                super::fit_hint((h, w), kernel, padding, dilation),
            ),
        ));
    };
    let geometry = ConvGeometry::new(args, (c, h, w), pads, (out_h, out_w));
    Ok(from_geometry(geometry, cx, args.written()))
}

/// The convolution `geometry` describes, checked already, as layer `cx.index` (written
/// `written` in messages): `conv1d` runs a [C, L] signal as a [C, 1, L] image this way.
pub(super) fn from_geometry(geometry: ConvGeometry, cx: &Context, written: String) -> Box<dyn Layer> {
    Box::new(ConvLayer { geometry, name: cx.item_name("Conv"), written })
}

struct ConvLayer {
    geometry: ConvGeometry,
    /// The geometry type's name in generated code.
    name: proc_macro2::Ident,
    written: String,
}

/// How a convolution runs, chosen from its shape; the measurements behind the choice:
/// `cargo run --release -p nn-runtime --example conv_strategies` (table in bench/README.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    /// The kernel covers the input once: a `linear` layer (see [`ConvLayer::is_dense`]).
    Dense,
    /// `rt::conv2d::direct`: products gathered straight from the image into register
    /// tiles over output channels, no column matrix. Output channels are padded to
    /// vectors of 8, and each group's packed weights are streamed once per tile.
    Direct,
    /// Unit stride: `rt::conv2d::shifted`, the weights broadcast over shifted full-width
    /// windows of the input (forward) and dot products with those windows (weight
    /// gradient); no column matrix.
    Shifted,
    /// `rt::conv2d`: im2col + GEMM, cache-blocked by `matrixmultiply` when large.
    Im2col,
}

/// Weights up to this many elements (per group, channels padded for `Direct`) stay in
/// L2 while the gathered kernels stream them once per register tile; larger layers go
/// to the cache-blocked GEMM.
const STREAMED_WEIGHTS_LIMIT: u64 = 64 * 1024;

impl ConvLayer {
    fn fan_in(&self) -> u64 {
        self.geometry.fan_in()
    }

    /// A kernel that covers the whole unpadded input once is a fully connected layer:
    /// the weight `[OC, C, H, W]` is exactly `linear`'s `[OC, C·H·W]`, so the batch runs
    /// as one GEMM instead of one matrix-vector product per sample.
    fn is_dense(&self) -> bool {
        self.geometry.output == (1, 1)
            && self.geometry.kernel == (self.geometry.input.1, self.geometry.input.2)
            && self.geometry.padding == [0; 4]
            && self.geometry.dilation == (1, 1)
            && self.geometry.groups == 1
    }

    /// Direct where padding the channels to vectors wastes at most an eighth of the
    /// lanes (LeNet-5's 6-channel first layer ran slower than im2col, the 8- to
    /// 32-channel layers faster); else, for unit stride, shifted windows where the
    /// full-width rows waste at most a quarter (LeNet-5's first layer: 32 for 28); else
    /// im2col. The measurements behind each threshold: bench/README.md.
    fn strategy(&self) -> Strategy {
        if self.is_dense() {
            return Strategy::Dense;
        }
        let channels = self.geometry.outputs / self.geometry.groups;
        let padded = channels.div_ceil(8) * 8;
        let fits = |width: u64| self.fan_in().saturating_mul(width) <= STREAMED_WEIGHTS_LIMIT;
        let full_width = self.geometry.padded_width().unwrap_or(u64::MAX);
        if 8 * channels >= 7 * padded && fits(padded) {
            Strategy::Direct
        } else if self.geometry.stride == (1, 1) && 4 * full_width <= 5 * self.geometry.output.1 && fits(channels) {
            Strategy::Shifted
        } else {
            Strategy::Im2col
        }
    }

    fn dense_generics(&self) -> TokenStream {
        let inputs = lit(self.fan_in());
        let (outputs, bias) = (lit(self.geometry.outputs), self.geometry.bias);
        quote!(F, #inputs, #outputs, #bias)
    }

    /// The strategy's module in `rt::conv2d` (`None` for dense).
    fn module(&self) -> Option<TokenStream> {
        match self.strategy() {
            Strategy::Dense => None,
            Strategy::Im2col => Some(quote!(rt::conv2d)),
            Strategy::Direct => Some(quote!(rt::conv2d::direct)),
            Strategy::Shifted => Some(quote!(rt::conv2d::shifted)),
        }
    }
}

impl Layer for ConvLayer {
    fn output_shape(&self) -> Shape {
        vec![self.geometry.outputs, self.geometry.output.0, self.geometry.output.1]
    }
    fn params(&self) -> Vec<ParamTensor> {
        let init = Init::PytorchDefault { fan_in: self.fan_in() };
        let weight = vec![
            self.geometry.outputs,
            self.geometry.input.0 / self.geometry.groups,
            self.geometry.kernel.0,
            self.geometry.kernel.1,
        ];
        let mut tensors = vec![ParamTensor { suffix: "weight".into(), shape: weight, init }];
        if self.geometry.bias {
            tensors.push(ParamTensor { suffix: "bias".into(), shape: vec![self.geometry.outputs], init });
        }
        tensors
    }
    fn flops(&self) -> Option<u64> {
        self.geometry
            .outputs
            .checked_mul(self.geometry.output.0)?
            .checked_mul(self.geometry.output.1)?
            .checked_mul(self.fan_in())?
            .checked_mul(2)
    }
    fn scratch(&self) -> Option<u64> {
        match self.strategy() {
            // Every group's packed weights (or weight-gradient accumulators), and one
            // output plane for inference's fused pooling.
            Strategy::Direct => {
                let padded = (self.geometry.outputs / self.geometry.groups).div_ceil(8) * 8;
                let plane = self.geometry.output.0.checked_mul(self.geometry.output.1)?;
                self.fan_in().checked_mul(self.geometry.groups)?.checked_mul(padded)?.checked_add(plane)
            }
            // One sample's padded input, one group's full-width outputs (or output
            // gradients), and one output plane.
            Strategy::Shifted => {
                let (oh, ow) = self.geometry.output;
                let full_width = self.geometry.padded_width()?;
                let columns = (oh - 1).checked_mul(full_width)?.checked_add(ow)?;
                let outputs = (self.geometry.outputs / self.geometry.groups).checked_mul(columns)?;
                self.geometry.padded_input()?.checked_add(outputs)?.checked_add(oh.checked_mul(ow)?)
            }
            Strategy::Dense | Strategy::Im2col => Some(0),
        }
    }
    fn scratch_per_sample(&self) -> Option<u64> {
        let pixels = self.geometry.output.0.checked_mul(self.geometry.output.1)?;
        let group_outputs = self.geometry.outputs / self.geometry.groups;
        match self.strategy() {
            Strategy::Dense => Some(0),
            // The batch's columns for one group, and that group's outputs (see rt::conv2d;
            // the shifted strategy's input gradient is im2col's).
            Strategy::Im2col | Strategy::Shifted => self.fan_in().checked_add(group_outputs)?.checked_mul(pixels),
            // Staged outputs, the zero-padded input, and the input gradient's columns
            // (see rt::conv2d::direct).
            Strategy::Direct => {
                let staged = pixels.checked_mul(group_outputs.div_ceil(8) * 8)?;
                staged.checked_add(self.geometry.padded_input()?)?.checked_add(self.fan_in().checked_mul(pixels)?)
            }
        }
    }
    fn int8(&self) -> Option<super::Int8Op> {
        let (outputs, bias) = (self.geometry.outputs, self.geometry.bias);
        if self.strategy() == Strategy::Dense {
            return Some(super::Int8Op::Linear { inputs: self.fan_in(), outputs, bias });
        }
        // `rt::int8::ops::conv_scratch`: with unit horizontal stride the padded input
        // and a tile of 16 pixels' slack, else one tile's taps, in pairs.
        let g = &self.geometry;
        let scratch = if g.stride.1 == 1 {
            let height = g.input.1.checked_add(g.padding[0])?.checked_add(g.padding[1])?;
            let width = g.input.2.checked_add(g.padding[2])?.checked_add(g.padding[3])?;
            g.input.0.checked_mul(height)?.checked_mul(width)?.checked_add(16)?
        } else {
            self.fan_in().div_ceil(2).checked_mul(2 * 16)?
        };
        Some(super::Int8Op::Conv {
            geometry: self.name.clone(),
            outputs,
            per_output: self.fan_in(),
            bias,
            scratch,
            pairs: self.fan_in().div_ceil(2).checked_mul(4)?,
        })
    }
    fn static_scratch(&self) -> Option<u64> {
        match self.strategy() {
            Strategy::Dense => Some(0),
            Strategy::Im2col => self.scratch_per_sample(),
            Strategy::Shifted => self.scratch(),
            // Not the input gradient's columns.
            Strategy::Direct => {
                let pixels = self.geometry.output.0.checked_mul(self.geometry.output.1)?;
                let staged = pixels.checked_mul((self.geometry.outputs / self.geometry.groups).div_ceil(8) * 8)?;
                self.scratch()?.checked_add(staged)?.checked_add(self.geometry.padded_input()?)
            }
        }
    }
    fn items(&self) -> TokenStream {
        let Some(module) = self.module() else { return TokenStream::new() };
        let name = &self.name;
        let mut needs = vec![(quote!(#module::scratch_per_sample::<#name>()), self.scratch_per_sample().unwrap_or(0))];
        // The others' inference scratch is one of the two checked here.
        if self.strategy() == Strategy::Direct {
            needs.push((quote!(#module::inference_scratch::<#name>()), self.static_scratch().unwrap_or(0)));
        }
        if self.strategy() != Strategy::Im2col {
            needs.push((quote!(#module::scratch::<#name>()), self.scratch().unwrap_or(0)));
        }
        if self.strategy() == Strategy::Shifted {
            // Its input gradient is im2col's.
            needs[0].0 = quote!(rt::conv2d::scratch_per_sample::<#name>());
        }
        self.geometry.definition(name, &self.written, &needs)
    }
    fn forward(&self) -> TokenStream {
        let name = &self.name;
        match self.strategy() {
            Strategy::Dense => {
                let generics = self.dense_generics();
                quote!(rt::linear::forward::<#generics>(batch, x, params, y))
            }
            Strategy::Im2col => quote!(rt::conv2d::forward::<F, #name>(batch, x, params, y, scratch)),
            // Their epilogue with no activation in it.
            Strategy::Direct | Strategy::Shifted => {
                self.forward_then(&quote!(rt::activation::Identity), 0.0, None).unwrap_or_default()
            }
        }
    }
    fn forward_then(&self, activation: &TokenStream, alpha: f64, pool: Option<&TokenStream>) -> Option<TokenStream> {
        let module = match self.strategy() {
            Strategy::Direct | Strategy::Shifted => self.module()?,
            Strategy::Dense | Strategy::Im2col => return None,
        };
        let name = &self.name;
        let (pool, pooled) = match pool {
            Some(pool) => (pool.clone(), quote!(pooled)),
            None => (quote!(rt::pool2d::NoPool), quote!(&mut [])),
        };
        Some(quote!(#module::forward::<F, #name, #activation, #pool>(
            batch, x, params, y, #pooled, scratch, F::from_f64(#alpha)
        )))
    }
    fn backward(&self) -> TokenStream {
        let name = &self.name;
        match self.module() {
            None => {
                let generics = self.dense_generics();
                quote!(rt::linear::backward::<#generics>(batch, x, params, dy, grads, dx))
            }
            Some(module) => quote!(#module::backward::<F, #name>(batch, x, params, dy, grads, dx, scratch)),
        }
    }
}
