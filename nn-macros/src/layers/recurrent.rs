//! `rnn(in, hidden, layers = 1, nonlinearity = tanh, bidirectional = false, bias = true)`,
//! `lstm(in, hidden, layers = 1, bidirectional = false, bias = true)` and `gru(…)`:
//! `nn.RNN`, `nn.LSTM` and `nn.GRU` with `batch_first=True`, on a `[T, in]` sequence,
//! giving `[T, hidden · directions]` (SPEC §6). Keys and layouts as PyTorch's.

use super::{lit, Axes, Context, Init, Kind, Layer, ParamTensor, Recover, Shape};
use crate::args::{optional, required, ArgType, Bound, Default, Param};
use crate::diag;
use proc_macro2::{Span, TokenStream};
use quote::quote;

static RNN_SCHEMA: [Param; 6] = [
    required("in", ArgType::Size),
    required("hidden", ArgType::Size),
    optional("layers", ArgType::Size, Default::Int(1)),
    optional("nonlinearity", ArgType::Nonlinearity, Default::Word("tanh")),
    optional("bidirectional", ArgType::Bool, Default::Bool(false)),
    optional("bias", ArgType::Bool, Default::Bool(true)),
];

static GATED_SCHEMA: [Param; 5] = [
    required("in", ArgType::Size),
    required("hidden", ArgType::Size),
    optional("layers", ArgType::Size, Default::Int(1)),
    optional("bidirectional", ArgType::Bool, Default::Bool(false)),
    optional("bias", ArgType::Bool, Default::Bool(true)),
];

/// The most layers one recurrent layer may stack: the layer table, the weight keys and
/// the generated items grow with them (a stray `layers = 100000000` would otherwise
/// exhaust the compiler's memory).
const MAX_STACKED: u64 = 1_000;

/// Recovering as if the input had the declared features: a sequence of `in`.
const RECOVER: Recover = Recover::DeclaredChannels { rank: 2 };

pub static RNN: Kind = Kind { recover: RECOVER, ..Kind::new("rnn", &RNN_SCHEMA, |a, cx| build(a, cx, Cell::Rnn)) };
pub static LSTM: Kind = Kind { recover: RECOVER, ..Kind::new("lstm", &GATED_SCHEMA, |a, cx| build(a, cx, Cell::Lstm)) };
pub static GRU: Kind = Kind { recover: RECOVER, ..Kind::new("gru", &GATED_SCHEMA, |a, cx| build(a, cx, Cell::Gru)) };

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Rnn,
    Lstm,
    Gru,
}

fn build(args: &Bound, cx: &Context, cell: Cell) -> syn::Result<Box<dyn Layer>> {
    let (steps, features) = cx.sequence(args, "runs over")?;
    let (inputs, hidden, layers) = (args.int("in"), args.int("hidden"), args.int("layers"));
    if inputs != features {
        return Err(syn::Error::new_spanned(
            args.tokens("in"),
            format!(
                "`{}` expects {} per step, but {} produces {} ({}); write `{}`",
                args.written(),
                diag::count(inputs, "input feature"),
                cx.source,
                diag::count(features, "feature"),
                cx.shape(),
                args.written_with(&[("in", features.to_string())]),
            ),
        ));
    }
    let directions: u64 = if args.bool("bidirectional") { 2 } else { 1 };
    let gates: u64 = match cell {
        Cell::Rnn => 1,
        Cell::Lstm => 4,
        Cell::Gru => 3,
    };
    // Every size the layer computes from these without checking fits in 64 bits.
    let fits = gates
        .checked_mul(hidden)
        .and(hidden.checked_mul(directions + 1))
        .and(inputs.checked_add(hidden))
        .and(hidden.checked_mul(directions).and_then(|width| steps.checked_mul(width)));
    if fits.is_none() {
        return Err(syn::Error::new_spanned(
            args.tokens("hidden"),
            format!("`{}`: its sizes overflow 64 bits", args.written()),
        ));
    }
    if layers > MAX_STACKED {
        return Err(syn::Error::new_spanned(
            args.tokens("layers"),
            format!(
                "`{}`: at most {} stacked layers (each has its own weights, keys and code), found {}",
                args.written(),
                diag::thousands(MAX_STACKED),
                diag::thousands(layers)
            ),
        ));
    }
    let relu = cell == Cell::Rnn && args.word("nonlinearity") == Some("relu");
    Ok(Box::new(RecurrentLayer {
        cell,
        relu,
        steps,
        inputs,
        hidden,
        layers,
        directions,
        bias: args.bool("bias"),
        marker: cx.item_name(match cell {
            Cell::Rnn => "Rnn",
            Cell::Lstm => "Lstm",
            Cell::Gru => "Gru",
        }),
    }))
}

struct RecurrentLayer {
    cell: Cell,
    /// `rnn`'s `nonlinearity = relu`.
    relu: bool,
    steps: u64,
    inputs: u64,
    hidden: u64,
    layers: u64,
    directions: u64,
    bias: bool,
    /// The type the kernels are generic over, carrying the shape as constants.
    marker: proc_macro2::Ident,
}

impl RecurrentLayer {
    fn gates(&self) -> u64 {
        match self.cell {
            Cell::Rnn => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
    /// Values per step and hidden unit kept besides the gates (the runtime's `Cell::state`).
    fn state(&self) -> u64 {
        match self.cell {
            Cell::Rnn => 0,
            Cell::Lstm | Cell::Gru => 1,
        }
    }
    fn layer_input(&self, l: u64) -> u64 {
        if l == 0 {
            self.inputs
        } else {
            self.hidden * self.directions
        }
    }
    /// One sample's output of one layer, both directions.
    fn layer_output(&self) -> Option<u64> {
        self.steps.checked_mul(self.hidden)?.checked_mul(self.directions)
    }
}

impl Layer for RecurrentLayer {
    fn output_shape(&self) -> Shape {
        vec![self.steps, self.hidden * self.directions]
    }
    fn output_axes(&self) -> Option<Axes> {
        Some(Axes::Sequence)
    }
    fn params(&self) -> Vec<ParamTensor> {
        // PyTorch's default for every recurrent weight and bias: U(−1/√hidden, 1/√hidden).
        let init = Init::PytorchDefault { fan_in: self.hidden };
        let gh = self.gates() * self.hidden;
        let mut tensors = Vec::new();
        for l in 0..self.layers {
            for d in 0..self.directions {
                let suffix = if d == 0 { format!("l{l}") } else { format!("l{l}_reverse") };
                let mut tensor = |name: &str, shape: Shape| {
                    tensors.push(ParamTensor { suffix: format!("{name}_{suffix}").into(), shape, init })
                };
                tensor("weight_ih", vec![gh, self.layer_input(l)]);
                tensor("weight_hh", vec![gh, self.hidden]);
                if self.bias {
                    tensor("bias_ih", vec![gh]);
                    tensor("bias_hh", vec![gh]);
                }
            }
        }
        tensors
    }
    fn flops(&self) -> Option<u64> {
        // Per step and direction: the two products, 2·G·H·(in + H).
        let mut total = 0u64;
        for l in 0..self.layers {
            let per_step =
                2u64.checked_mul(self.gates() * self.hidden)?.checked_mul(self.layer_input(l) + self.hidden)?;
            total = total.checked_add(per_step.checked_mul(self.steps)?.checked_mul(self.directions)?)?;
        }
        Some(total)
    }
    fn saved(&self) -> Option<u64> {
        // As `rt::recurrent::saved_len`: every direction's gates and state per step, and
        // every layer's output but the last.
        let per_direction = self.steps.checked_mul((self.gates() + self.state()).checked_mul(self.hidden)?)?;
        let directions = self.layers.checked_mul(self.directions)?.checked_mul(per_direction)?;
        directions.checked_add((self.layers - 1).checked_mul(self.layer_output()?)?)
    }
    fn scratch(&self) -> Option<u64> {
        // As `rt::recurrent::fixed_scratch`: the prepared weights (every W_ihᵀ, W_hhᵀ
        // and bias), which also hold backward's W_hhᵀ and `tanh(c)` row.
        let (h, gh) = (self.hidden, self.gates().checked_mul(self.hidden)?);
        let input_weights = self
            .directions
            .checked_mul(gh)?
            .checked_mul(self.inputs.checked_add((self.layers - 1).checked_mul(h)?.checked_mul(self.directions)?)?)?;
        self.layers
            .checked_mul(self.directions)?
            .checked_mul(h.checked_add(1)?)?
            .checked_mul(gh)?
            .checked_add(input_weights)
    }
    fn chunk_scratch(&self, keep: bool) -> Option<u64> {
        // As `rt::recurrent::chunk_scratch`, per sample of a chunk: forward's recurrent
        // products and the joined input and hidden state; for
        // inference each step's gates and state and the stacked layers' outputs; for
        // training the larger of that and backward's gate gradients, shifted hidden
        // states, carried gradients and stacked output gradients.
        let (t, h, gh) = (self.steps, self.hidden, self.gates().checked_mul(self.hidden)?);
        let widest = if self.layers > 1 { self.inputs.max(h.checked_mul(self.directions)?) } else { self.inputs };
        let stacked = if self.layers > 1 { self.layer_output()?.checked_mul(2)? } else { 0 };
        let forward = gh.checked_add(widest)?.checked_add(h)?;
        if !keep {
            return forward.checked_add(gh)?.checked_add(h)?.checked_add(stacked);
        }
        let gate_grads = t.checked_mul(gh)?.checked_mul(if self.cell == Cell::Gru { 2 } else { 1 })?;
        let backward =
            gate_grads.checked_add(t.checked_mul(h)?)?.checked_add(h.checked_mul(2)?)?.checked_add(stacked)?;
        Some(forward.max(backward))
    }
    fn items(&self) -> TokenStream {
        let name = &self.marker;
        let cell = proc_macro2::Ident::new(
            match (self.cell, self.relu) {
                (Cell::Rnn, false) => "RnnTanh",
                (Cell::Rnn, true) => "RnnRelu",
                (Cell::Lstm, _) => "Lstm",
                (Cell::Gru, _) => "Gru",
            },
            Span::call_site(),
        );
        let (t, i, h, l, d, b) =
            (lit(self.steps), lit(self.inputs), lit(self.hidden), lit(self.layers), lit(self.directions), self.bias);
        quote! {
            struct #name;
            impl rt::recurrent::Recurrent for #name {
                const CELL: rt::recurrent::Cell = rt::recurrent::Cell::#cell;
                const STEPS: usize = #t;
                const INPUT: usize = #i;
                const HIDDEN: usize = #h;
                const LAYERS: usize = #l;
                const DIRECTIONS: usize = #d;
                const BIAS: bool = #b;
            }
        }
    }
    fn forward(&self) -> TokenStream {
        let name = &self.marker;
        quote!(rt::recurrent::forward::<F, #name>(batch, x, params, y, saved, scratch))
    }
    fn inference_forward(&self) -> Option<TokenStream> {
        let name = &self.marker;
        Some(quote!(rt::recurrent::infer::<F, #name>(batch, x, params, y, scratch)))
    }
    fn backward(&self) -> TokenStream {
        let name = &self.marker;
        quote!(rt::recurrent::backward::<F, #name>(batch, x, params, y, dy, grads, dx, saved, scratch))
    }
}
