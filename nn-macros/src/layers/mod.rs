//! One module per layer kind or family of kinds: its argument schema, shape rule,
//! parameter count, FLOPs and forward and backward emission. Adding a layer is one
//! module and one line in [`REGISTRY`].
//!
//! Emitted code may use these names, which code generation binds around it:
//! `batch` (samples), `x` (input), `y` (output), `dy` (output gradient), `dx` (input
//! gradient: `&mut [F]`, or `Option<&mut [F]>` for layers with parameters), `params`
//! and `grads` (this layer's slices), `scratch`, `saved` (per-sample values kept from
//! forward for backward), `batch_stats` (per-batch values kept likewise), `buffers`
//! (this layer's non-trainable tensors saved with the weights, forward only), `rng`
//! (forward only), `training`, and `rt` (the runtime).

mod activation;
mod batchnorm;
mod conv;
mod conv_geometry;
mod conv_transpose;
mod dropout;
mod linear;
pub mod merge;
mod pool;
mod prelu;
mod recurrent;
mod separable_conv;
mod sequence;
mod signal;
mod softmax;
mod upsample;
mod view;

pub use conv_geometry::ConvGeometry;

use crate::args::{Bound, Param};
use crate::diag;
use proc_macro2::{Ident, Literal, Span, TokenStream};

pub type Shape = Vec<u64>;

/// What a value's axes mean (SPEC §6). Rank alone says it for `[F]` and `[C, H, W]`;
/// rank 2 is either a sequence or a signal, and the two must never be confused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Axes {
    /// `[F]`
    Features,
    /// `[C, H, W]`
    Image,
    /// `[T, F]`: time steps of feature vectors (PyTorch's `batch_first=True`).
    Sequence,
    /// `[C, L]`: channels along a length (`nn.Conv1d`).
    Signal,
}

impl Axes {
    /// The axes a value of `rank` has when the rank says it; `None` for rank 2.
    pub fn of_rank(rank: usize) -> Option<Axes> {
        match rank {
            1 => Some(Axes::Features),
            3 => Some(Axes::Image),
            _ => None,
        }
    }

    /// The letters that name the axes, as the network input writes them.
    pub fn letters(self) -> &'static [&'static str] {
        match self {
            Axes::Features => &["F"],
            Axes::Image => &["C", "H", "W"],
            Axes::Sequence => &["T", "F"],
            Axes::Signal => &["C", "L"],
        }
    }

    /// `[T = 28, F = 128]` for rank 2, where the letters are what tells the two apart;
    /// `[6, 28, 28]` otherwise.
    pub fn render(self, dims: &[u64]) -> String {
        if dims.len() != 2 {
            return diag::shape(dims);
        }
        let named: Vec<String> = self.letters().iter().zip(dims).map(|(l, d)| format!("{l} = {d}")).collect();
        format!("[{}]", named.join(", "))
    }
}

/// Every layer kind the language knows.
static REGISTRY: &[&Kind] = &[
    &linear::LINEAR,
    &conv::CONV,
    &separable_conv::SEPARABLE_CONV,
    &conv_transpose::CONV_TRANSPOSE,
    &pool::MAXPOOL,
    &pool::AVGPOOL,
    &pool::GLOBAL_AVGPOOL,
    &pool::GLOBAL_MAXPOOL,
    &signal::CONV1D,
    &signal::MAXPOOL1D,
    &signal::AVGPOOL1D,
    &upsample::UPSAMPLE,
    &view::FLATTEN,
    &batchnorm::BATCHNORM,
    &dropout::DROPOUT,
    &activation::RELU,
    &activation::TANH,
    &activation::SIGMOID,
    &activation::ABS,
    &activation::SOFTPLUS,
    &activation::LEAKY_RELU,
    &activation::ELU,
    &activation::RELU6,
    &activation::HARDSWISH,
    &activation::HARDSIGMOID,
    &view::IDENTITY,
    &recurrent::RNN,
    &recurrent::LSTM,
    &recurrent::GRU,
    &sequence::TRANSPOSE,
    &sequence::LAST,
    &prelu::PRELU,
    &softmax::SOFTMAX,
    &softmax::LOG_SOFTMAX,
];

pub fn lookup(name: &str) -> Option<&'static Kind> {
    REGISTRY.iter().copied().find(|k| k.name == name || k.aliases.contains(&name))
}

pub fn known_names() -> Vec<&'static str> {
    REGISTRY.iter().flat_map(|k| std::iter::once(k.name).chain(k.aliases.iter().copied())).collect()
}

/// What a layer is told about its input.
pub struct Context<'a> {
    /// The layer's position in the chain: names the types its code defines.
    pub index: usize,
    pub input: &'a [u64],
    pub axes: Axes,
    /// Who produces the input, for messages: "`avgpool(2)` (layer 5)" or "the network input".
    pub source: &'a str,
}

/// What every name the expansion defines beside a network begins with (`__Conv0`,
/// `__forward_1`), and so what a network's own name may not: inside the block that
/// holds them, such a name would hide the network's.
pub const RESERVED_PREFIX: &str = "__";

impl Context<'_> {
    /// The name of a type this layer's code defines (a convolution's geometry…):
    /// `__Conv3` for `kind` = `Conv` at layer 3.
    pub fn item_name(&self, kind: &str) -> Ident {
        Ident::new(&format!("{RESERVED_PREFIX}{kind}{}", self.index), Span::call_site())
    }

    /// The input's shape as messages write it: `[T = 28, F = 128]` for rank 2.
    pub fn shape(&self) -> String {
        self.axes.render(self.input)
    }

    /// The input as `(channels, height, width)`, or an error saying this layer needs an image.
    pub fn image(&self, args: &Bound, what: &str) -> syn::Result<(u64, u64, u64)> {
        match *self.input {
            [c, h, w] => Ok((c, h, w)),
            _ => Err(self.wrong_input(
                args,
                &format!("{what} an image [C, H, W]"),
                if self.input.len() == 1 && self.source == "the network input" {
                    "declare the input as an image, e.g. `[1, 28, 28]`".to_string()
                } else if self.input.len() == 1 {
                    "image layers must come before `flatten`".to_string()
                } else {
                    let one_d = format!("{}1d", args.layer.kind);
                    match (lookup(&one_d).is_some(), self.axes) {
                        (true, Axes::Signal) => match as_one_d(args, &one_d, self.input[0]) {
                            Some(layer) => format!("for a [C, L] signal write `{layer}`"),
                            None => format!("for a [C, L] signal use `{one_d}`"),
                        },
                        (true, _) => match as_one_d(args, &one_d, self.input[1]) {
                            Some(layer) => self.transpose_first(&layer),
                            None => format!("for a sequence use `{one_d}` after `transpose`"),
                        },
                        (false, _) => "this layer works on images only".to_string(),
                    }
                },
            )),
        }
    }

    /// The error for a layer that `expects` (`convolves an image [C, H, W]`) something
    /// else than this input, with the `fix`.
    fn wrong_input(&self, args: &Bound, expects: &str, fix: String) -> syn::Error {
        syn::Error::new_spanned(
            &args.layer.tokens,
            format!("`{}` {expects}, but {} produces {}; {fix}", args.written(), self.source, self.shape()),
        )
    }

    /// The input as `(steps, features)`, or an error saying this layer needs a sequence.
    pub fn sequence(&self, args: &Bound, what: &str) -> syn::Result<(u64, u64)> {
        match (self.input, self.axes) {
            (&[t, f], Axes::Sequence) => Ok((t, f)),
            _ => Err(self.wrong_input(
                args,
                &format!("{what} a sequence [T, F]"),
                match self.axes {
                    Axes::Signal => {
                        let fixed = if args.has("in") {
                            args.written_with(&[("in", self.input[0].to_string())])
                        } else {
                            args.written()
                        };
                        format!(
                            "write `transpose -> {fixed}`: `transpose` makes the signal a [T = {}, F = {}] \
                                 sequence (the positions as steps, the channels as features)",
                            self.input[1], self.input[0]
                        )
                    }
                    Axes::Image | Axes::Features if self.source == NETWORK_INPUT => {
                        "declare the input as a sequence, e.g. `[T = 28, F = 28]`".to_string()
                    }
                    Axes::Image => "sequence layers take [T, F] values, and an image has no time axis; the \
                                        language has no reshape from [C, H, W] to [T, F] yet, but a one-channel \
                                        image can be read row by row from the start: declare the network input \
                                        `[T = height, F = width]`"
                        .to_string(),
                    _ => "sequence layers take [T, F] values, not flat features".to_string(),
                },
            )),
        }
    }

    /// The fix for the 1-D layer `layer` (its channels those of the signal to come) on
    /// this `[T, F]` sequence: `transpose` first.
    fn transpose_first(&self, layer: &str) -> String {
        let (steps, features) = (self.input[0], self.input[1]);
        format!(
            "write `transpose -> {layer}`: `transpose` makes the sequence a [C = {features}, L = {steps}] signal (the \
             features as channels, the steps along the length), as `x.transpose(1, 2)` does in PyTorch"
        )
    }

    /// The input as `(channels, length)`, or an error saying this layer needs a signal.
    pub fn signal(&self, args: &Bound, what: &str) -> syn::Result<(u64, u64)> {
        match (self.input, self.axes) {
            (&[c, l], Axes::Signal) => Ok((c, l)),
            _ => Err(self.wrong_input(
                args,
                &format!("{what} a signal [C, L]"),
                match self.axes {
                    Axes::Sequence => {
                        let kind = args.layer.kind.to_string();
                        self.transpose_first(&as_one_d(args, &kind, self.input[1]).unwrap_or_else(|| args.written()))
                    }
                    Axes::Image | Axes::Features if self.source == NETWORK_INPUT => {
                        "declare the input as a signal, e.g. `[C = 4, L = 100]`".to_string()
                    }
                    Axes::Image => {
                        let two_d = args.layer.kind.to_string().trim_end_matches("1d").to_string();
                        format!("for an image use `{two_d}`")
                    }
                    _ => "1-D layers take [C, L] values, not flat features".to_string(),
                },
            )),
        }
    }
}

/// The layer `args` binds, written as the 1-D layer `one_d` with the same arguments and
/// its `in` (where it has one) set to `channels`: `conv(3, 8, 5)` as `conv1d(4, 8, 5)`.
/// `None` where an argument is a `(height, width)` pair, which no 1-D layer takes.
fn as_one_d(args: &Bound, one_d: &str, channels: u64) -> Option<String> {
    use crate::parse::ValueKind;
    if args.layer.args.iter().any(|a| matches!(a.value.kind, ValueKind::Pair(..) | ValueKind::PairExpr(..))) {
        return None;
    }
    let written = match args.has("in") {
        true => args.written_with(&[("in", channels.to_string())]),
        false => args.written(),
    };
    Some(format!("{one_d}{}", &written[args.layer.kind.to_string().len()..]))
}

/// How messages name the network input.
pub const NETWORK_INPUT: &str = "the network input";

/// How a parameter tensor starts out.
#[derive(Clone, Copy)]
pub enum Init {
    /// `U(−1/√fan_in, 1/√fan_in)`, PyTorch's default for linear and conv layers.
    PytorchDefault { fan_in: u64 },
    /// Every element the same (batch norm's scale 1 and shift 0, PReLU's 0.25).
    Constant(f64),
}

/// A parameter tensor: key suffix (`weight`, `bias`), PyTorch shape, initialization.
pub struct ParamTensor {
    pub suffix: std::borrow::Cow<'static, str>,
    pub shape: Shape,
    pub init: Init,
}

/// What a layer is in an int8 network (see `codegen::int8`).
pub enum Int8Op {
    /// A convolution of the geometry type `geometry`: `outputs` channels of
    /// `per_output` weights, `scratch` int8 columns.
    Conv { geometry: Ident, outputs: u64, per_output: u64, bias: bool, scratch: u64, pairs: u64 },
    /// `inputs` to `outputs` (a dense convolution too).
    Linear { inputs: u64, outputs: u64, bias: bool },
    /// `channels` planes pooled by `plane` (an `rt::pool2d::PlanePool`), through
    /// `scratch` f32 values.
    Pool { plane: TokenStream, channels: u64, scratch: u64 },
    /// An elementwise `rt::activation` type.
    Activation { kernel: TokenStream, alpha: f64 },
    /// The input unchanged (a view; dropout in eval mode).
    Same,
}

/// A layer kind: its name in the language, its arguments, and the builder that checks
/// them against the input shape (SPEC §3) and makes the layer. Data, not a trait: each
/// layer module defines its kinds as statics.
pub struct Kind {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub schema: &'static [Param],
    pub build: fn(&Bound, &Context) -> syn::Result<Box<dyn Layer>>,
    pub recover: Recover,
}

/// After a failed build, the output the layer would most likely have produced had the
/// user's arguments matched the input, so that checking goes on past the mistake
/// without inventing follow-on errors.
#[derive(Clone, Copy)]
pub enum Recover {
    /// Unknown: later layers are checked for syntax only.
    Unknown,
    /// The input's shape (a layer that keeps it, whatever its arguments say).
    SameAsInput,
    /// Build again as if the input had the channels (`in`; a sequence's features) the layer declares, on an
    /// input of this rank.
    DeclaredChannels { rank: usize },
}

impl Kind {
    /// A kind without aliases whose failed build leaves the output unknown.
    pub const fn new(
        name: &'static str, schema: &'static [Param], build: fn(&Bound, &Context) -> syn::Result<Box<dyn Layer>>,
    ) -> Kind {
        Kind { name, aliases: &[], schema, build, recover: Recover::Unknown }
    }

    /// The axes of the output [`Kind::recover`] assumed.
    pub fn recover_axes(&self, shape: &[u64], input: Axes) -> Axes {
        Axes::of_rank(shape.len()).unwrap_or(input)
    }

    /// See [`Recover`].
    pub fn recover(&self, args: &Bound, cx: &Context) -> Option<Shape> {
        match self.recover {
            Recover::Unknown => None,
            Recover::SameAsInput => Some(cx.input.to_vec()),
            Recover::DeclaredChannels { rank } => {
                // A layer of flat features applies per step on a sequence (`linear`).
                let per_step = rank == 1 && cx.axes == Axes::Sequence;
                let mut assumed = if rank == 1 && !per_step { vec![0] } else { cx.input.to_vec() };
                if assumed.len() != rank && !per_step {
                    return None;
                }
                // A sequence's features are its last axis; everything else's channels its first.
                let axis = if cx.axes == Axes::Sequence { assumed.len() - 1 } else { 0 };
                assumed[axis] = args.int("in");
                let cx = Context { index: cx.index, input: &assumed, axes: cx.axes, source: cx.source };
                (self.build)(args, &cx).ok().map(|op| op.output_shape())
            }
        }
    }
}

/// The axes of `op`'s output on input axes `input`: its own say, else those its rank
/// implies, else (rank 2 from rank 2) the input's.
pub fn output_axes(op: &dyn Layer, input: Axes) -> Axes {
    op.output_axes().or_else(|| Axes::of_rank(op.output_shape().len())).unwrap_or(input)
}

/// A layer's barrier (see [`Layer::barrier`]): the runtime's `rt::batchnorm::Barrier`
/// settings, and the code each chunk runs before it, writing its partial sums to
/// `partials` (`6 × channels` f64 values): forward (in training only) and backward.
/// After it, the chunk runs the layer's usual `forward` and `backward`.
pub struct Barrier {
    pub channels: u64,
    pub per_sample: u64,
    pub eps: f64,
    pub momentum: f64,
    pub forward: TokenStream,
    pub backward: TokenStream,
}

/// A checked layer: its facts and its code.
pub trait Layer {
    fn output_shape(&self) -> Shape;
    /// What the output's axes mean, where the rank does not say it or the layer changes
    /// it (`transpose`, `conv1d`); `None` keeps the input's.
    fn output_axes(&self) -> Option<Axes> {
        None
    }
    fn params(&self) -> Vec<ParamTensor> {
        Vec::new()
    }
    /// Forward FLOPs per sample; `None` on overflow.
    fn flops(&self) -> Option<u64>;
    /// Non-trainable state saved with the weights (batch norm's running statistics).
    fn buffers(&self) -> Vec<ParamTensor> {
        Vec::new()
    }
    /// Scratch elements independent of the batch size.
    fn scratch(&self) -> Option<u64> {
        Some(0)
    }
    /// Scratch elements per sample, on top of [`Layer::scratch`] (`scratch` holds both).
    fn scratch_per_sample(&self) -> Option<u64> {
        Some(0)
    }
    /// Scratch elements per sample of a chunk of at most `rt::recurrent::CHUNK` samples
    /// (the runtime reserves them for `min(batch, CHUNK)` samples), for a training step
    /// (`keep`) or for inference: a recurrent layer's per-chunk buffers.
    fn chunk_scratch(&self, _keep: bool) -> Option<u64> {
        Some(0)
    }
    /// Scratch elements the eval-mode forward of one sample needs (the static inference
    /// type's); at most the sum of the above for a batch of one, less where backward
    /// alone needs some.
    fn static_scratch(&self) -> Option<u64> {
        self.scratch()?.checked_add(self.scratch_per_sample()?)?.checked_add(self.chunk_scratch(false)?)
    }
    /// The layer's int8 form (`rt::int8`), where it has one.
    fn int8(&self) -> Option<Int8Op> {
        None
    }
    /// Elements per sample kept from forward to backward besides the output, bound
    /// as `saved` (a dropout mask, an intermediate result).
    fn saved(&self) -> Option<u64> {
        Some(0)
    }
    /// Per-batch elements kept from forward to backward, bound as `batch_stats`.
    fn batch_stats(&self) -> u64 {
        0
    }
    /// For a layer whose training statistics span the whole batch (batch norm): where
    /// a batch computed in chunks stops, in both passes, for the runtime to merge the
    /// chunks' partial sums.
    fn barrier(&self) -> Option<Barrier> {
        None
    }
    /// The smallest batch train mode can run (batch norm needs two values per channel).
    fn min_training_batch(&self) -> u64 {
        1
    }
    /// Whether the output is the input reinterpreted (no data moves).
    fn is_view(&self) -> bool {
        false
    }
    /// Items the layer's code refers to (a convolution's geometry type and its
    /// compile-time checks), emitted once beside the network's code.
    fn items(&self) -> TokenStream {
        TokenStream::new()
    }
    fn forward(&self) -> TokenStream;
    /// The forward to run when no backward follows, if it differs: it may not read or
    /// write `saved`, which inference then does not reserve (a recurrent layer keeps
    /// every step's gates for backward, and only the current step's otherwise).
    fn inference_forward(&self) -> Option<TokenStream> {
        None
    }
    /// The forward of eval mode, where it differs from [`Op::inference_forward`]: the
    /// static inference type runs it, with `buffers` read-only and no `training`,
    /// `rng` or `batch_stats` in scope; it may not touch `saved` either.
    fn eval_forward(&self) -> Option<TokenStream> {
        None
    }
    fn backward(&self) -> TokenStream;
    /// For a node with several inputs (a merge, whose forward reads them as `x0`, `x1`,
    /// …): the code writing input `input`'s gradient to
    /// `dx` from `dy` (and `x0`, `x1`, …), added to what `dx` holds when `accumulate`.
    fn backward_input(&self, _input: usize, _accumulate: bool) -> TokenStream {
        TokenStream::new()
    }
    /// Forward with `activation` (an `rt::activation` type) fused into this layer's
    /// epilogue, writing the activation's output, and with `pool` (an
    /// `rt::pool2d::PlanePool` type) after it, writing the pooled planes to `pooled`;
    /// `None` where the kernel has no such epilogue.
    fn forward_then(&self, _activation: &TokenStream, _alpha: f64, _pool: Option<&TokenStream>) -> Option<TokenStream> {
        None
    }
    /// For a pooling layer: the `rt::pool2d::PlanePool` type that pools one plane, so
    /// that the layer producing its input can run it in its epilogue.
    fn plane_pool(&self) -> Option<TokenStream> {
        None
    }
    /// Backward with the backward of the activation before this layer fused into it
    /// (`activation` is an `rt::activation` type whose derivative reads only its
    /// output, this layer's input `x`), writing the activation's input gradient to
    /// `dx`; `None` where the kernel has no such pass.
    fn backward_after(&self, _activation: &TokenStream, _alpha: f64) -> Option<TokenStream> {
        None
    }
    /// For an activation whose derivative reads only its output, so that its input
    /// need never be written: the `rt::activation` type and `alpha`.
    fn fusable_activation(&self) -> Option<(TokenStream, f64)> {
        None
    }
}

/// `struct #name; impl #trait_path for #name { const X: usize = …; … }`: the marker
/// type a layer's kernels are generic over (a convolution's geometry, a pooling
/// window), its shape as constants; `bias` adds `const BIAS: bool`.
pub fn marker_type(name: &Ident, trait_path: TokenStream, consts: &[(&str, u64)], bias: Option<bool>) -> TokenStream {
    let consts = consts.iter().map(|&(constant, value)| {
        let (constant, value) = (Ident::new(constant, Span::call_site()), lit(value));
        quote::quote!(const #constant: usize = #value;)
    });
    let bias = bias.map(|bias| quote::quote!(const BIAS: bool = #bias;));
    quote::quote! {
        struct #name;
        impl #trait_path for #name {
            #(#consts)*
            #bias
        }
    }
}

/// The rows a per-row kernel runs over: `batch`, or `batch * T` for a layer applied at
/// each of a sequence's `T` steps.
pub fn rows(steps: Option<u64>) -> TokenStream {
    match steps {
        Some(t) => {
            let t = lit(t);
            quote::quote!(batch * #t)
        }
        None => quote::quote!(batch),
    }
}

/// An unsuffixed integer literal, usable as a `usize` const generic.
pub fn lit(v: u64) -> Literal {
    Literal::u64_unsuffixed(v)
}

pub fn product(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

/// `F, C, S` for a kernel that works channel by channel on `shape`: `C` channels of `S`
/// positions each (`S` = 1 for features).
pub fn channel_generics(shape: &[u64]) -> TokenStream {
    let c = lit(shape[0]);
    let s = lit(product(&shape[1..]).unwrap_or(0));
    quote::quote!(F, #c, #s)
}

/// PyTorch's output size along one axis of `n` inputs padded with `before` and `after`
/// zeros: `floor((n + before + after − d(k − 1) − 1) / s) + 1`; in ceil mode (pooling)
/// `ceil(…) + 1`, less one where the last window would start past the input and its
/// padding before, as PyTorch's `pooling_output_shape`. `None` when there is no output
/// (the dilated window does not fit even once) or a size overflows.
pub fn window_output(n: u64, k: u64, s: u64, (before, after): (u64, u64), d: u64, ceil_mode: bool) -> Option<u64> {
    let span = d.checked_mul(k - 1)?.checked_add(1)?;
    let padded = n.checked_add(before)?.checked_add(after)?;
    let reach = if ceil_mode { padded.checked_add(s - 1)? } else { padded };
    if reach < span {
        return None;
    }
    let out = (reach - span) / s + 1;
    let starts_past = ceil_mode && (out - 1).checked_mul(s)? >= n.checked_add(before)?;
    Some(if starts_past { out - 1 } else { out })
}

/// What a layer's `padding` argument asks for, as the zero paddings (top, bottom, left,
/// right): a number or a pair pads both sides alike; `valid` pads nothing; `same`
/// (PyTorch's `padding='same'`, stride 1 only) keeps the size: `d·(k − 1)` in all per
/// axis, half before and the rest after (one more on the bottom or right when odd).
/// `what` names the layer family in the stride error ("convolutions").
pub fn paddings(args: &Bound, kernel: (u64, u64), dilation: (u64, u64), what: &str) -> syn::Result<[u64; 4]> {
    match args.word("padding") {
        None => {
            let (h, w) = args.pair("padding");
            Ok([h, h, w, w])
        }
        Some("valid") => Ok([0; 4]),
        Some(_same) => {
            let total = |k: u64, d: u64| d.checked_mul(k - 1);
            let (Some(th), Some(tw)) = (total(kernel.0, dilation.0), total(kernel.1, dilation.1)) else {
                return Err(syn::Error::new_spanned(
                    args.tokens("k"),
                    format!("`{}`: the dilated kernel's size overflows 64 bits", args.written()),
                ));
            };
            let stride = args.pair("stride");
            if stride != (1, 1) {
                let why = if what == "pooling" {
                    "(it is defined as a convolution's, which PyTorch refuses for strides; PyTorch's pooling has no \
                     `same`); the stride is {stride} (a pooling's stride defaults to its window)"
                } else {
                    "(PyTorch refuses it too: \"padding='same' is not supported for strided convolutions\"); the \
                     stride is {stride}"
                };
                return Err(syn::Error::new_spanned(
                    args.tokens("padding"),
                    format!(
                        "`{}`: `padding = same` is not supported for strided {what} {}: write `{}` to keep the input's \
                         size, or keep the stride and give the padding as numbers, e.g. `{}`",
                        args.written(),
                        why.replace("{stride}", &pair_str(stride)),
                        args.written_with(&[("stride", "1".to_string())]),
                        args.written_with(&[("padding", pair_str((th / 2, tw / 2)))]),
                    ),
                ));
            }
            Ok([th / 2, th - th / 2, tw / 2, tw - tw / 2])
        }
    }
}

/// `5` or `5×3`.
pub fn pair_str((h, w): (u64, u64)) -> String {
    if h == w {
        h.to_string()
    } else {
        format!("({h}, {w})")
    }
}

/// The fix for a window that does not fit: the largest kernel that would, at this
/// padding and dilation, and the padding that would make this kernel fit.
pub fn fit_hint(input: (u64, u64), kernel: (u64, u64), padding: (u64, u64), dilation: (u64, u64)) -> String {
    let largest = |n: u64, p: u64, d: u64| (n.saturating_add(p.saturating_mul(2)).saturating_sub(1)) / d + 1;
    let span = |k: u64, d: u64| d.saturating_mul(k - 1).saturating_add(1);
    let needed = |n: u64, k: u64, d: u64| span(k, d).saturating_sub(n).div_ceil(2);
    let max_kernel =
        (kernel.0.min(largest(input.0, padding.0, dilation.0)), kernel.1.min(largest(input.1, padding.1, dilation.1)));
    let min_padding =
        (padding.0.max(needed(input.0, kernel.0, dilation.0)), padding.1.max(needed(input.1, kernel.1, dilation.1)));
    format!("use a kernel of at most {}, or padding = {}", pair_str(max_kernel), pair_str(min_padding))
}

/// A layer that declares its channel count (argument `arg`: conv's `in`, batch norm's
/// and PReLU's `c`) must get that many.
pub fn check_channels(args: &Bound, cx: &Context, arg: &str) -> syn::Result<()> {
    if cx.axes == Axes::Sequence {
        return Err(syn::Error::new_spanned(
            &args.layer.tokens,
            format!(
                "`{}` works per channel, but {} produces the sequence {}, whose axes are steps and features; as \
                 PyTorch's (N, C, L) layers, it takes a [C, L] signal: write `transpose -> {} -> transpose` to apply \
                 it to the {} features",
                args.written(),
                cx.source,
                cx.shape(),
                args.written_with(&[(arg, cx.input[1].to_string())]),
                cx.input[1],
            ),
        ));
    }
    let (declared, channels) = (args.int(arg), cx.input[0]);
    if declared == channels {
        return Ok(());
    }
    let noun = if arg == "in" { "input channel" } else { "channel" };
    Err(syn::Error::new_spanned(
        args.tokens(arg),
        format!(
            "`{}` expects {}, but {} produces {} ({}); write `{}`",
            args.written(),
            diag::count(declared, noun),
            cx.source,
            diag::count(channels, "channel"),
            cx.shape(),
            args.written_with(&[(arg, channels.to_string())]),
        ),
    ))
}

/// `groups` must divide both channel counts, as PyTorch requires.
pub fn check_groups(args: &Bound) -> syn::Result<()> {
    let (inputs, outputs, groups) = (args.int("in"), args.int("out"), args.int("groups"));
    if inputs % groups == 0 && outputs % groups == 0 {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        args.tokens("groups"),
        format!(
            "`{}`: groups = {groups} must divide both the input channels ({inputs}) and the output channels ({outputs})",
            args.written()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// Builds one layer as written on an input of this shape (rank 2: a sequence).
    fn build(layer: TokenStream, input: &[u64]) -> syn::Result<Box<dyn Layer>> {
        build_on(layer, input, Axes::of_rank(input.len()).unwrap_or(Axes::Sequence))
    }

    fn build_on(layer: TokenStream, input: &[u64], axes: Axes) -> syn::Result<Box<dyn Layer>> {
        let crate::parse::Element::Layer(def) = syn::parse2(layer).expect("the layer parses") else {
            panic!("not a layer")
        };
        let kind = lookup(&def.kind.to_string()).expect("a known layer");
        let args = crate::args::bind(&def, kind.schema)?;
        (kind.build)(&args, &Context { index: 3, input, axes, source: "the network input" })
    }

    fn error(layer: TokenStream, input: &[u64]) -> String {
        build(layer, input).err().expect("an error").to_string()
    }

    /// The emitted items (geometry or window type) without spaces, to look for constants.
    fn items(layer: TokenStream, input: &[u64]) -> String {
        build(layer, input).unwrap_or_else(|e| panic!("{e}")).items().to_string().replace(' ', "")
    }

    #[test]
    fn window_output_in_floor_and_ceil_mode() {
        // conv: (7 + 1 + 2 − 2·3 − 1)/1 + 1 = 4
        assert_eq!(window_output(7, 4, 1, (1, 2), 2, false), Some(4));
        assert_eq!(
            (window_output(5, 2, 2, (0, 0), 1, false), window_output(5, 2, 2, (0, 0), 1, true)),
            (Some(2), Some(3))
        );
        // The third window would start at 4 ≥ 3 + 1: dropped, as PyTorch.
        assert_eq!(window_output(3, 2, 2, (1, 1), 1, true), Some(2));
        assert_eq!(
            (window_output(2, 3, 3, (0, 0), 1, false), window_output(2, 3, 3, (0, 0), 1, true)),
            (None, Some(1))
        );
        assert_eq!(window_output(u64::MAX, 2, 1, (1, 0), 1, false), None);
        assert_eq!(window_output(3, u64::MAX, 1, (0, 0), 2, false), None);
    }

    /// `same` pads d·(k − 1) per axis, the odd one after; `valid` nothing; the output keeps
    /// the input's size, and the geometry carries the four sides.
    #[test]
    fn same_and_valid_padding_on_convolutions() {
        let conv = build(quote!(conv(2, 4, (4, 3), padding = same, dilation = (2, 1))), &[2, 9, 7]).unwrap();
        assert_eq!(conv.output_shape(), [4, 9, 7]);
        let geometry = items(quote!(conv(2, 4, (4, 3), padding = same, dilation = (2, 1))), &[2, 9, 7]);
        for constant in ["PAD_TOP:usize=3;", "PAD_BOTTOM:usize=3;", "PAD_LEFT:usize=1;", "PAD_RIGHT:usize=1;"] {
            assert!(geometry.contains(constant), "{constant} in {geometry}");
        }
        let even = items(quote!(conv(2, 4, (2, 4), padding = same)), &[2, 5, 6]);
        for constant in ["PAD_TOP:usize=0;", "PAD_BOTTOM:usize=1;", "PAD_LEFT:usize=1;", "PAD_RIGHT:usize=2;"] {
            assert!(even.contains(constant), "{constant} in {even}");
        }
        assert_eq!(
            build(quote!(conv(2, 4, 3, stride = 2, padding = valid)), &[2, 9, 7]).unwrap().output_shape(),
            [4, 4, 3]
        );
        let separable = build(quote!(separable_conv(2, 5, (2, 3), padding = same)), &[2, 6, 6]).unwrap();
        assert_eq!(separable.output_shape(), [5, 6, 6]);
        let depthwise = items(quote!(separable_conv(2, 5, (2, 3), padding = same)), &[2, 6, 6]);
        assert!(
            depthwise.contains("PAD_TOP:usize=0;constPAD_BOTTOM:usize=1;constPAD_LEFT:usize=1;constPAD_RIGHT:usize=1;")
        );
        let transposed = build(quote!(conv_transpose(2, 3, 3, stride = 2, padding = valid)), &[2, 4, 4]).unwrap();
        assert_eq!(transposed.output_shape(), [3, 9, 9]);
    }

    /// The asymmetric `same` convolutions tests/gradcheck.rs checks run the three
    /// strategies.
    #[test]
    fn same_padding_reaches_every_strategy() {
        let forward = |layer: TokenStream, input: &[u64]| build(layer, input).unwrap().forward().to_string();
        let direct = forward(quote!(conv(2, 8, (4, 2), padding = same, dilation = (1, 2))), &[2, 7, 6]);
        assert!(direct.contains("conv2d :: direct :: forward"), "{direct}");
        let shifted = forward(quote!(conv(2, 5, (2, 3), padding = same)), &[2, 6, 12]);
        assert!(shifted.contains("conv2d :: shifted :: forward"), "{shifted}");
        let im2col = forward(quote!(conv(2, 3, 4, padding = same, bias = false)), &[2, 5, 4]);
        assert!(im2col.contains("rt :: conv2d :: forward"), "{im2col}");
    }

    #[test]
    fn same_padding_refuses_strides_and_transposed_convolutions() {
        let strided = error(quote!(conv(2, 4, 3, stride = 2, padding = same)), &[2, 9, 7]);
        assert!(strided.contains("padding='same' is not supported for strided convolutions"), "{strided}");
        assert!(strided.contains("write `conv(2, 4, 3, stride = 1, padding = same)`"), "{strided}");
        assert!(strided.contains("`conv(2, 4, 3, stride = 2, padding = 1)`"), "{strided}");
        let pooled = error(quote!(maxpool(2, padding = same)), &[2, 9, 7]);
        assert!(pooled.contains("strided pooling"), "{pooled}");
        assert!(pooled.contains("defaults to its window"), "{pooled}");
        assert!(pooled.contains("`maxpool(2, padding = same, stride = 1)`"), "{pooled}");
        let transposed = error(quote!(conv_transpose(2, 3, (3, 5), padding = same)), &[2, 4, 4]);
        assert!(transposed.contains("not supported for transposed convolutions"), "{transposed}");
        assert!(
            transposed.contains("`conv_transpose(2, 3, (3, 5), padding = (1, 2))` keeps the 4×4 size"),
            "{transposed}"
        );
        let even = error(quote!(conv_transpose(2, 3, 2, padding = same)), &[2, 4, 4]);
        assert!(!even.contains("keeps"), "no numbers keep the size for an odd total: {even}");
        let word = error(quote!(conv(2, 4, 3, padding = full)), &[2, 9, 7]);
        assert!(word.contains("must be a non-negative integer, a `(height, width)` pair, `same` or `valid`"), "{word}");
    }

    /// Ceil mode's output sizes; pooling's `same` as a convolution's, the padding after
    /// written into the window type only where it differs from the padding before (so
    /// every existing network's expansion is unchanged).
    #[test]
    fn pooling_in_ceil_mode_and_with_same_padding() {
        let shape = |layer: TokenStream, input: &[u64]| build(layer, input).unwrap().output_shape();
        assert_eq!(shape(quote!(maxpool(2, ceil_mode = true)), &[3, 5, 6]), [3, 3, 3]);
        assert_eq!(shape(quote!(maxpool(2)), &[3, 5, 6]), [3, 2, 3]);
        assert_eq!(shape(quote!(avgpool(2, 2, 1, true)), &[3, 3, 3]), [3, 2, 2]);
        assert_eq!(shape(quote!(avgpool(3, stride = 2, padding = 1, ceil_mode = true)), &[1, 6, 6]), [1, 4, 4]);
        assert_eq!(shape(quote!(maxpool(3, stride = 3, ceil_mode = true)), &[1, 2, 2]), [1, 1, 1]);
        assert_eq!(shape(quote!(maxpool((2, 3), stride = 1, padding = same)), &[2, 5, 6]), [2, 5, 6]);
        let window = items(quote!(maxpool((2, 3), stride = 1, padding = same)), &[2, 5, 6]);
        assert!(window.contains("PAD_TOP:usize=0;constPAD_LEFT:usize=1;constPAD_BOTTOM:usize=1;constOH"), "{window}");
        let symmetric = items(quote!(avgpool(3, stride = 2, padding = 1, ceil_mode = true)), &[1, 6, 6]);
        assert!(!symmetric.contains("PAD_BOTTOM") && !symmetric.contains("PAD_RIGHT"), "{symmetric}");
        assert!(symmetric.contains("OH:usize=4;constOW:usize=4;"), "{symmetric}");
        assert_eq!(shape(quote!(avgpool(2, padding = valid)), &[1, 5, 5]), [1, 2, 2]);
        let too_large = error(quote!(maxpool(3, stride = 1, ceil_mode = true)), &[1, 2, 2]);
        assert!(too_large.contains("does not fit"), "{too_large}");
        let mistyped = error(quote!(maxpool(2, ceil_mode = 1)), &[1, 4, 4]);
        assert!(mistyped.contains("`ceil_mode` of `maxpool` must be `true` or `false`, found `1`"), "{mistyped}");
    }

    /// relu6's derivative reads only its output, so it fuses into the layer before it;
    /// hardswish's and hardsigmoid's need the input.
    #[test]
    fn which_activations_fuse() {
        let fusable = |layer: TokenStream| build(layer, &[4]).unwrap().fusable_activation().map(|(a, _)| a.to_string());
        assert_eq!(fusable(quote!(relu6)).as_deref(), Some("rt :: activation :: Relu6"));
        assert!(fusable(quote!(hardswish)).is_none() && fusable(quote!(hardsigmoid)).is_none());
        assert!(error(quote!(relu6(1)), &[4]).contains("`relu6` takes no arguments"));
    }
}
