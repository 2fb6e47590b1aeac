//! Recurrent layers — `rnn`, `lstm` and `gru` as PyTorch's `nn.RNN`, `nn.LSTM` and
//! `nn.GRU` with `batch_first=True` — stacked and bidirectional, forward and
//! backpropagation through time. The time loop runs inside the kernel over `STEPS`, a
//! constant.
//!
//! Samples go in chunks of [`CHUNK`]. Per layer and direction, each step multiplies the
//! chunk's joined `[x_t, h_{t−1}]` by `[W_ihᵀ; W_hhᵀ]` in one product (the GRU keeps its
//! recurrent product apart: its `n` gate scales it by `r`), adds the bias with the gates
//! and applies them through the vector `tanh`; below 4 rows the input projections of all
//! steps are one product first and each step multiplies `h_{t−1}` by W_hh with dot
//! products. [`forward`] keeps every step's gates (and state) for [`backward`], which
//! runs the steps in reverse for the gate gradients, then forms the weight gradients and
//! the input gradient as three products over all steps; [`infer`] keeps nothing but
//! the current step's.
//!
//! Parameters in PyTorch's order and layout: per layer `l`, per direction (`_reverse`
//! second), `weight_ih_l{l}` `[G·H, in]`, `weight_hh_l{l}` `[G·H, H]`, then (with
//! `BIAS`) `bias_ih_l{l}` and `bias_hh_l{l}` `[G·H]`; gates stacked in PyTorch's order
//! (LSTM i, f, g, o; GRU r, z, n).

use crate::float::Float;
use crate::kernels::gemm::{gemm, Mat};
use crate::kernels::simd::as_f32_mut;
use crate::kernels::tanh;

/// The recurrent cell.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cell {
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`
    RnnTanh,
    /// `h' = relu(W_ih x + b_ih + W_hh h + b_hh)`
    RnnRelu,
    /// Gates i, f, g, o; `c' = f c + i g`, `h' = o tanh(c')`.
    Lstm,
    /// Gates r, z, n; `n = tanh(W_in x + b_in + r (W_hn h + b_hn))`, `h' = (1 − z) n + z h`.
    Gru,
}

impl Cell {
    /// Gates per hidden unit.
    pub const fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            Cell::RnnTanh | Cell::RnnRelu => 1,
        }
    }

    /// Values per step and hidden unit kept besides the gates: the LSTM's cell state,
    /// the GRU's `W_hn h + b_hn`.
    pub const fn state(self) -> usize {
        match self {
            Cell::Lstm | Cell::Gru => 1,
            Cell::RnnTanh | Cell::RnnRelu => 0,
        }
    }
}

/// Samples processed together: their gates for every step stay in cache.
pub const CHUNK: usize = 16;

/// A recurrent layer's shape, implemented by the marker type `network!` emits for it.
pub trait Recurrent {
    const CELL: Cell;
    const STEPS: usize;
    const INPUT: usize;
    const HIDDEN: usize;
    const LAYERS: usize;
    const DIRECTIONS: usize;
    const BIAS: bool;
}

/// Layer `l`'s input features.
const fn layer_input<R: Recurrent>(l: usize) -> usize {
    if l == 0 {
        R::INPUT
    } else {
        R::HIDDEN * R::DIRECTIONS
    }
}

/// `G·H`: one step's gate values.
const fn gate_width<R: Recurrent>() -> usize {
    R::CELL.gates() * R::HIDDEN
}

/// Parameters of one direction of layer `l`.
const fn direction_params<R: Recurrent>(l: usize) -> usize {
    let gh = gate_width::<R>();
    gh * (layer_input::<R>(l) + R::HIDDEN) + if R::BIAS { 2 * gh } else { 0 }
}

/// Where direction `d` of layer `l` starts in the layer's parameters.
const fn params_offset<R: Recurrent>(l: usize, d: usize) -> usize {
    let mut offset = 0;
    let mut i = 0;
    while i < l {
        offset += R::DIRECTIONS * direction_params::<R>(i);
        i += 1;
    }
    offset + d * direction_params::<R>(l)
}

/// One sample's saved values of one direction: its gates and state for every step.
const fn direction_saved<R: Recurrent>() -> usize {
    R::STEPS * (R::CELL.gates() + R::CELL.state()) * R::HIDDEN
}

/// One sample's output of one layer, both directions: `T × H·D`.
const fn layer_output<R: Recurrent>() -> usize {
    R::STEPS * R::HIDDEN * R::DIRECTIONS
}

/// The widest layer input: the first layer's, or the stacked ones'.
const fn widest_input<R: Recurrent>() -> usize {
    let stacked = if R::LAYERS > 1 { R::HIDDEN * R::DIRECTIONS } else { 0 };
    if R::INPUT > stacked {
        R::INPUT
    } else {
        stacked
    }
}

/// Elements of every direction's W_ih together.
const fn input_weights<R: Recurrent>() -> usize {
    R::DIRECTIONS * gate_width::<R>() * (R::INPUT + (R::LAYERS - 1) * R::HIDDEN * R::DIRECTIONS)
}

/// Where direction `d` of layer `l`'s W_ih starts among them.
const fn input_weights_offset<R: Recurrent>(l: usize, d: usize) -> usize {
    let gh = gate_width::<R>();
    if l == 0 {
        d * gh * R::INPUT
    } else {
        R::DIRECTIONS * gh * (R::INPUT + (l - 1) * R::HIDDEN * R::DIRECTIONS) + d * gh * R::HIDDEN * R::DIRECTIONS
    }
}

/// Per-sample values forward keeps for backward (what `network!` reserves as `saved`):
/// every direction's gates and state, then every layer's output but the last (which is
/// the layer's own output).
pub const fn saved_len<R: Recurrent>() -> usize {
    R::LAYERS * R::DIRECTIONS * direction_saved::<R>() + (R::LAYERS - 1) * layer_output::<R>()
}

/// Scratch elements independent of the batch: the prepared weights (forward), W_hhᵀ
/// and one row of `tanh(c)` (backward).
pub const fn fixed_scratch<R: Recurrent>() -> usize {
    prepared_len::<R>()
}

/// Scratch elements per sample of a chunk (at most [`CHUNK`] samples, so a batch of one
/// reserves one row's): for training (`keep`), the larger of forward's and backward's —
/// the GRU's recurrent products and the joined input and
/// hidden state; backward's gate gradients, shifted hidden states, carried gradients
/// and the stacked layers' output gradients — and for inference, forward's with each
/// step's gates and state and the stacked layers' outputs.
pub const fn chunk_scratch<R: Recurrent>(keep: bool) -> usize {
    let (t, h, gh, widest) = (R::STEPS, R::HIDDEN, gate_width::<R>(), widest_input::<R>());
    let stacked = if R::LAYERS > 1 { 2 * layer_output::<R>() } else { 0 };
    let forward = gh + widest + h;
    if !keep {
        return forward + gh + h + stacked;
    }
    let gru = if matches!(R::CELL, Cell::Gru) { 1 } else { 0 };
    let backward = t * gh * (1 + gru) + t * h + 2 * h + stacked;
    if forward > backward {
        forward
    } else {
        backward
    }
}

/// The scratch a batch needs: [`fixed_scratch`] and [`chunk_scratch`] for each sample
/// of the largest chunk.
pub const fn scratch_len<R: Recurrent>(batch: usize, keep: bool) -> usize {
    let rows = if batch < CHUNK { batch } else { CHUNK };
    fixed_scratch::<R>() + rows * chunk_scratch::<R>(keep)
}

/// Rows (of a chunk) from which forward projects each step's input just before its
/// recurrent product, while that step's gates are in cache, instead of all steps' in
/// one product first (whose gates, written long before their step, come back from
/// memory); below, the one product's efficiency wins.
const PROJECT_EACH_STEP_FROM: usize = 4;

/// Batches from which forward multiplies by a transposed copy of W_hh.
const TRANSPOSED_FROM: usize = 4;

/// `out[c][r] = m[r][c]` for `m` row-major `rows × cols`: blocks of 8 rows, whose
/// lines stay in cache while each column's 8 values are written together.
fn transpose_into<F: Float>(m: &[F], rows: usize, cols: usize, out: &mut [F]) {
    const BLOCK: usize = 8;
    let (m, out) = (&m[..rows * cols], &mut out[..rows * cols]);
    for r0 in (0..rows).step_by(BLOCK) {
        let block = &m[r0 * cols..(r0 + BLOCK).min(rows) * cols];
        for c in 0..cols {
            let column = &mut out[c * rows + r0..][..block.len() / cols];
            for (value, row) in column.iter_mut().zip(block.chunks_exact(cols)) {
                *value = row[c];
            }
        }
    }
}

/// A step's working rows: the GRU's recurrent products `[rows, G·H]` and the joined
/// `[x_t, h_{t−1}]` `[rows, in + H]`.
struct StepScratch<'a, F> {
    hidden_products: &'a mut [F],
    joined: &'a mut [F],
}

/// What one direction's forward multiplies by and adds: W_ihᵀ and W_hh (transposed
/// or not, as views), the bias added to the input projection, the GRU's recurrent bias.
struct Step<'a, F> {
    ih: Mat<'a, F>,
    hh: Mat<'a, F>,
    /// `[W_ihᵀ; W_hhᵀ]`, where each step multiplies its joined `[x_t, h_{t−1}]` once.
    joined: Option<Mat<'a, F>>,
    bias: Option<&'a [F]>,
    bias_hh: Option<&'a [F]>,
}

/// One direction's parameters as slices.
struct Weights<'a, F> {
    ih: &'a [F],
    hh: &'a [F],
    bias_ih: Option<&'a [F]>,
    bias_hh: Option<&'a [F]>,
}

fn weights<F: Float, R: Recurrent>(params: &[F], l: usize, d: usize) -> Weights<'_, F> {
    let (gh, input) = (gate_width::<R>(), layer_input::<R>(l));
    let p = &params[params_offset::<R>(l, d)..][..direction_params::<R>(l)];
    let (ih, rest) = p.split_at(gh * input);
    let (hh, rest) = rest.split_at(gh * R::HIDDEN);
    let (bias_ih, bias_hh) = if R::BIAS { (Some(&rest[..gh]), Some(&rest[gh..2 * gh])) } else { (None, None) };
    Weights { ih, hh, bias_ih, bias_hh }
}

/// The time index of processing step `s` in direction `d`.
#[inline(always)]
fn time<R: Recurrent>(s: usize, d: usize) -> usize {
    if d == 0 {
        s
    } else {
        R::STEPS - 1 - s
    }
}

/// `v = σ(v)`: f32 through the vector `tanh` (`σ(x) = (1 + tanh(x/2)) / 2`), f64 exactly.
fn sigmoid_in_place<F: Float>(values: &mut [F]) {
    if let Some(v32) = as_f32_mut(values) {
        v32.iter_mut().for_each(|v| *v *= 0.5);
        tanh::in_place(v32);
        v32.iter_mut().for_each(|v| *v = 0.5 + 0.5 * *v);
        return;
    }
    for v in values {
        *v = if *v >= F::ZERO {
            F::ONE / (F::ONE + (-*v).exp())
        } else {
            let e = v.exp();
            e / (F::ONE + e)
        };
    }
}

/// An LSTM step's gates of one sample, in place: `pre` (`[i, f, g, o]` before their
/// bias) becomes `[σ(i), σ(f), tanh(g), σ(o)]`, all four through one call of the vector
/// `tanh` (`σ(x) = (1 + tanh(x/2)) / 2`), the bias added in the same pass as the halving.
fn lstm_cell<F: Float>(pre: &mut [F], bias: Option<&[F]>, h: usize) {
    let half = F::from_f64(0.5);
    let (sigmoids, rest) = pre.split_at_mut(2 * h);
    let (cell, out_gate) = rest.split_at_mut(h);
    match bias {
        Some(bias) => {
            let (b_if, rest) = bias.split_at(2 * h);
            let (b_g, b_o) = rest.split_at(h);
            sigmoids.iter_mut().zip(b_if).for_each(|(v, &b)| *v = (*v + b) * half);
            cell.iter_mut().zip(b_g).for_each(|(v, &b)| *v += b);
            out_gate.iter_mut().zip(b_o).for_each(|(v, &b)| *v = (*v + b) * half);
        }
        None => {
            sigmoids.iter_mut().for_each(|v| *v *= half);
            out_gate.iter_mut().for_each(|v| *v *= half);
        }
    }
    tanh_in_place(pre);
    let (sigmoids, rest) = pre.split_at_mut(2 * h);
    let out_gate = &mut rest[h..];
    sigmoids.iter_mut().chain(out_gate.iter_mut()).for_each(|v| *v = half + half * *v);
}

/// `v = tanh(v)`, f32 through the vector kernel.
fn tanh_in_place<F: Float>(values: &mut [F]) {
    if let Some(v32) = as_f32_mut(values) {
        tanh::in_place(v32);
        return;
    }
    values.iter_mut().for_each(|v| *v = v.tanh());
}

/// Every row of `rows × width` `out` set to `bias`, or to zero.
fn fill_rows<F: Float>(out: &mut [F], width: usize, bias: Option<&[F]>) {
    match bias {
        Some(b) => out.chunks_exact_mut(width).for_each(|row| row.copy_from_slice(b)),
        None => out.fill(F::ZERO),
    }
}

/// The weights forward multiplies by, prepared once per call in scratch: per layer
/// and direction W_ihᵀ `[in, G·H]` and W_hhᵀ `[H, G·H]` one after the other — together
/// `[in + H, G·H]`, the matrix a step's joined input and hidden state multiply — (for
/// batches large enough), and every combined bias.
struct Prepared<'a, F> {
    params: &'a [F],
    transposed: &'a [F],
    biases: &'a [F],
    /// Whether the products stream the transposed copies' rows.
    is_transposed: bool,
}

/// Elements of [`Prepared`] in scratch.
const fn prepared_len<R: Recurrent>() -> usize {
    R::LAYERS * R::DIRECTIONS * (R::HIDDEN + 1) * gate_width::<R>() + input_weights::<R>()
}

/// Where direction `d` of layer `l`'s `[in + H, G·H]` block starts.
const fn transposed_offset<R: Recurrent>(l: usize, d: usize) -> usize {
    input_weights_offset::<R>(l, d) + (l * R::DIRECTIONS + d) * R::HIDDEN * gate_width::<R>()
}

/// Prepares the weights of `params` in `scratch` (at least [`prepared_len`]); returns
/// them and the rest of `scratch`.
fn prepare<'a, F: Float, R: Recurrent>(
    params: &'a [F], batch: usize, scratch: &'a mut [F],
) -> (Prepared<'a, F>, &'a mut [F]) {
    let (h, gh) = (R::HIDDEN, gate_width::<R>());
    let (prepared, rest) = scratch.split_at_mut(prepared_len::<R>());
    let (biases, transposed) = prepared.split_at_mut(R::LAYERS * R::DIRECTIONS * gh);
    // The transposes let the products stream the weights' rows through the packing-free
    // kernel (it beat dot products against the weights' rows from 4 rows up; below,
    // the transposes cost more than they save).
    let is_transposed = batch >= TRANSPOSED_FROM;
    for l in 0..R::LAYERS {
        for d in 0..R::DIRECTIONS {
            let w = weights::<F, R>(params, l, d);
            let input_width = layer_input::<R>(l);
            if is_transposed {
                let block = &mut transposed[transposed_offset::<R>(l, d)..][..(input_width + h) * gh];
                let (ih, hh) = block.split_at_mut(input_width * gh);
                transpose_into(w.ih, gh, input_width, ih);
                transpose_into(w.hh, gh, h, hh);
            }
            // The bias each step adds to the input projection: both of the LSTM's and
            // RNN's; the GRU's recurrent one stays inside its reset gate.
            if let (Some(bias_ih), Some(bias_hh)) = (w.bias_ih, w.bias_hh) {
                let bias = &mut biases[(l * R::DIRECTIONS + d) * gh..][..gh];
                bias.copy_from_slice(bias_ih);
                if R::CELL != Cell::Gru {
                    bias.iter_mut().zip(bias_hh).for_each(|(b, &hh)| *b += hh);
                }
            }
        }
    }
    (Prepared { params, transposed, biases, is_transposed }, rest)
}

impl<F: Float> Prepared<'_, F> {
    /// Direction `d` of layer `l`'s forward weights.
    fn step<R: Recurrent>(&self, l: usize, d: usize) -> Step<'_, F> {
        let (h, gh, input_width) = (R::HIDDEN, gate_width::<R>(), layer_input::<R>(l));
        let w = weights::<F, R>(self.params, l, d);
        let bias = R::BIAS.then(|| &self.biases[(l * R::DIRECTIONS + d) * gh..][..gh]);
        if !self.is_transposed {
            let (ih, hh) = (Mat::transposed(w.ih, input_width, gh), Mat::transposed(w.hh, h, gh));
            return Step { ih, hh, joined: None, bias, bias_hh: w.bias_hh };
        }
        let block = &self.transposed[transposed_offset::<R>(l, d)..][..(input_width + h) * gh];
        let (ih, hh) = block.split_at(input_width * gh);
        // The GRU's recurrent product stays apart: its `n` gate scales it by `r`.
        let joined = (R::CELL != Cell::Gru).then(|| Mat::row_major(block, input_width + h, gh));
        Step {
            ih: Mat::row_major(ih, input_width, gh),
            hh: Mat::row_major(hh, h, gh),
            joined,
            bias,
            bias_hh: w.bias_hh,
        }
    }
}

fn check_buffers<F, R: Recurrent>(batch: usize, x: &[F], y: &[F], scratch: &[F], keep: bool) {
    let (t, out_width) = (R::STEPS, R::HIDDEN * R::DIRECTIONS);
    assert!(x.len() >= batch * t * R::INPUT, "recurrent: input too short for {batch} samples");
    assert!(y.len() >= batch * t * out_width, "recurrent: output too short for {batch} samples");
    assert!(scratch.len() >= scratch_len::<R>(batch, keep), "recurrent: scratch too short");
}

/// Forward for a batch that backward will follow: `x` `[batch, T, INPUT]`, `y`
/// `[batch, T, H·D]`, `saved` [`saved_len`]`::<R>() · batch` values (every step's gates
/// and state, read by [`backward`]), `scratch` at least [`scratch_len`]`::<R>()`.
pub fn forward<F: Float, R: Recurrent>(
    batch: usize, x: &[F], params: &[F], y: &mut [F], saved: &mut [F], scratch: &mut [F],
) {
    check_buffers::<F, R>(batch, x, y, scratch, true);
    assert!(saved.len() >= batch * saved_len::<R>(), "recurrent: saved values too short for {batch} samples");
    let (t, out_width, gh) = (R::STEPS, R::HIDDEN * R::DIRECTIONS, gate_width::<R>());
    let per_direction = batch * direction_saved::<R>();
    let (cells, outputs) = saved.split_at_mut(R::LAYERS * R::DIRECTIONS * per_direction);
    let (prepared, scratch) = prepare::<F, R>(params, batch, scratch);
    let cap = CHUNK.min(batch);
    let (hidden_products, scratch) = scratch.split_at_mut(cap * gh);
    let joined = &mut scratch[..cap * (widest_input::<R>() + R::HIDDEN)];
    for start in (0..batch).step_by(CHUNK) {
        let rows = CHUNK.min(batch - start);
        for l in 0..R::LAYERS {
            // Layer l reads layer l − 1's output (kept in `outputs`) and writes its own
            // there, or to `y` for the last layer.
            let output_len = batch * layer_output::<R>();
            let (below, rest) = outputs.split_at_mut(l * output_len);
            let input: &[F] = if l == 0 { x } else { &below[(l - 1) * output_len..] };
            let input = &input[start * t * layer_input::<R>(l)..][..rows * t * layer_input::<R>(l)];
            let output: &mut [F] = if l + 1 == R::LAYERS { &mut *y } else { &mut rest[..output_len] };
            let output = &mut output[start * t * out_width..][..rows * t * out_width];
            for d in 0..R::DIRECTIONS {
                let region = &mut cells[(l * R::DIRECTIONS + d) * per_direction..][..per_direction];
                let (gates, state) = region.split_at_mut(batch * t * gh);
                let gates = &mut gates[start * t * gh..][..rows * t * gh];
                let state = &mut state[start * t * R::CELL.state() * R::HIDDEN..];
                let step = prepared.step::<R>(l, d);
                let scratch = StepScratch { hidden_products: &mut *hidden_products, joined: &mut *joined };
                direction_forward::<F, R, true>(rows, l, d, input, &step, gates, state, output, scratch);
            }
        }
    }
}

/// Forward for a batch no backward follows: as [`forward`], keeping nothing but the
/// output. Each step's gates and state live in scratch only while the step runs, and a
/// stack's inner layers' outputs only for the chunk being computed.
pub fn infer<F: Float, R: Recurrent>(batch: usize, x: &[F], params: &[F], y: &mut [F], scratch: &mut [F]) {
    check_buffers::<F, R>(batch, x, y, scratch, false);
    let (t, h, out_width, gh) = (R::STEPS, R::HIDDEN, R::HIDDEN * R::DIRECTIONS, gate_width::<R>());
    let (prepared, scratch) = prepare::<F, R>(params, batch, scratch);
    let cap = CHUNK.min(batch);
    let (hidden_products, scratch) = scratch.split_at_mut(cap * gh);
    let (gates, scratch) = scratch.split_at_mut(cap * gh);
    let (state, scratch) = scratch.split_at_mut(cap * h);
    let stacked = if R::LAYERS > 1 { cap * layer_output::<R>() } else { 0 };
    let (mut below, scratch) = scratch.split_at_mut(stacked);
    let (mut above, scratch) = scratch.split_at_mut(stacked);
    let joined = &mut scratch[..cap * (widest_input::<R>() + R::HIDDEN)];
    for start in (0..batch).step_by(CHUNK) {
        let rows = CHUNK.min(batch - start);
        for l in 0..R::LAYERS {
            let input_width = layer_input::<R>(l);
            let input: &[F] = if l == 0 {
                &x[start * t * input_width..][..rows * t * input_width]
            } else {
                &below[..rows * t * input_width]
            };
            let output: &mut [F] = if l + 1 == R::LAYERS {
                &mut y[start * t * out_width..][..rows * t * out_width]
            } else {
                &mut above[..rows * t * out_width]
            };
            for d in 0..R::DIRECTIONS {
                let step = prepared.step::<R>(l, d);
                let scratch = StepScratch { hidden_products: &mut *hidden_products, joined: &mut *joined };
                direction_forward::<F, R, false>(rows, l, d, input, &step, gates, state, output, scratch);
            }
            core::mem::swap(&mut below, &mut above);
        }
    }
}

/// One direction of one layer over `rows` samples: `input` `[rows, T, in]`, its hidden
/// states written to columns `d·H..(d + 1)·H` of `output` `[rows, T, H·D]`. With `KEEP`,
/// every step's gates and state go to `gates` `[rows, T, G·H]` and `state`
/// `[rows, T, H]` for backward; without, each step's overwrite the last's in `gates`
/// `[rows, G·H]` and `state` `[rows, H]`.
#[allow(clippy::too_many_arguments)]
fn direction_forward<F: Float, R: Recurrent, const KEEP: bool>(
    rows: usize, l: usize, d: usize, input: &[F], w: &Step<F>, gates: &mut [F], state: &mut [F], output: &mut [F],
    scratch: StepScratch<F>,
) {
    let StepScratch { hidden_products, joined } = scratch;
    let (t, h, gh, input_width) = (R::STEPS, R::HIDDEN, gate_width::<R>(), layer_input::<R>(l));
    let out_width = h * R::DIRECTIONS;
    let column = d * h;
    // All steps' input projections in one product, or each step's with its recurrent
    // product; each step adds the bias with its gates, while they are in cache.
    // Where step `now`'s gates and state of row `b` are: every step its own row when
    // kept, else one row per sample.
    let (steps_kept, gate_stride) = if KEEP { (t, t * gh) } else { (1, gh) };
    let at = |b: usize, step: usize| if KEEP { b * t + step } else { b };
    let each_step = !KEEP || rows >= PROJECT_EACH_STEP_FROM;
    // Each step's `[x_t, h_{t−1}]` times `[W_ihᵀ; W_hhᵀ]` in one product, where the
    // weights were prepared joined.
    let joined_weights = w.joined.filter(|_| each_step);
    if !each_step {
        gemm(F::ONE, Mat::row_major(input, rows * t, input_width), w.ih, F::ZERO, gates, gh);
    }

    let hidden_products = &mut hidden_products[..rows * gh];
    debug_assert!(gates.len() >= rows * steps_kept * gh);
    for s in 0..t {
        let now = time::<R>(s, d);
        let before = (s > 0).then(|| time::<R>(s - 1, d));
        // The previous hidden state, read where it was written: column block `d` of the output.
        let previous = before.map(|p| Mat::strided(&output[p * out_width + column..], rows, h, t * out_width, 1));
        let step_gates = &mut gates[if KEEP { now * gh } else { 0 }..];
        if let Some(weights) = joined_weights {
            // One row per sample, its gates written once.
            let width = input_width + h;
            for (b, row) in joined.chunks_exact_mut(width).take(rows).enumerate() {
                row[..input_width].copy_from_slice(&input[(b * t + now) * input_width..][..input_width]);
                match before {
                    Some(p) => row[input_width..].copy_from_slice(&output[(b * t + p) * out_width + column..][..h]),
                    None => row[input_width..].fill(F::ZERO),
                }
            }
            gemm(F::ONE, Mat::row_major(joined, rows, width), weights, F::ZERO, step_gates, gate_stride);
        } else if each_step {
            let x = Mat::strided(&input[now * input_width..], rows, input_width, t * input_width, 1);
            gemm(F::ONE, x, w.ih, F::ZERO, step_gates, gate_stride);
        }
        match R::CELL {
            _ if joined_weights.is_some() => {}
            Cell::Gru => {
                fill_rows(hidden_products, gh, w.bias_hh);
                if let Some(prev) = previous {
                    gemm(F::ONE, prev, w.hh, F::ONE, hidden_products, gh);
                }
            }
            _ => {
                if let Some(prev) = previous {
                    gemm(F::ONE, prev, w.hh, F::ONE, step_gates, gate_stride);
                }
            }
        }
        for b in 0..rows {
            let g = &mut gates[at(b, now) * gh..][..gh];
            let out_at = (b * t + now) * out_width + column;
            if R::CELL == Cell::Lstm {
                lstm_cell(g, w.bias, h);
                let (i, rest) = g.split_at(h);
                let (f, rest) = rest.split_at(h);
                let (gg, o) = rest.split_at(h);
                let c_at = at(b, now) * h;
                match before {
                    Some(p) => {
                        // Unkept, the previous step's state is this one's, updated in place.
                        let p_at = at(b, p) * h;
                        for j in 0..h {
                            state[c_at + j] = f[j] * state[p_at + j] + i[j] * gg[j];
                        }
                    }
                    None => {
                        for j in 0..h {
                            state[c_at + j] = i[j] * gg[j];
                        }
                    }
                }
                let out = &mut output[out_at..out_at + h];
                out.copy_from_slice(&state[c_at..c_at + h]);
                tanh_in_place(out);
                out.iter_mut().zip(o).for_each(|(v, &o)| *v *= o);
                continue;
            }
            if let Some(bias) = w.bias {
                g.iter_mut().zip(bias).for_each(|(g, &b)| *g += b);
            }
            match R::CELL {
                Cell::RnnTanh | Cell::RnnRelu => {
                    if R::CELL == Cell::RnnTanh {
                        tanh_in_place(g);
                    } else {
                        g.iter_mut().for_each(|v| *v = if *v < F::ZERO { F::ZERO } else { *v });
                    }
                    output[out_at..out_at + h].copy_from_slice(g);
                }
                Cell::Lstm => unreachable!("handled above"),
                Cell::Gru => {
                    let hp = &hidden_products[b * gh..][..gh];
                    for j in 0..2 * h {
                        g[j] += hp[j];
                    }
                    sigmoid_in_place(&mut g[..2 * h]);
                    let hn = &mut state[at(b, now) * h..][..h];
                    hn.copy_from_slice(&hp[2 * h..]);
                    let (rz, n) = g.split_at_mut(2 * h);
                    for j in 0..h {
                        n[j] += rz[j] * hn[j];
                    }
                    tanh_in_place(n);
                    let (z, n) = (&rz[h..], &*n);
                    for j in 0..h {
                        let previous = match before {
                            Some(p) => output[(b * t + p) * out_width + column + j],
                            None => F::ZERO,
                        };
                        output[out_at + j] = (F::ONE - z[j]) * n[j] + z[j] * previous;
                    }
                }
            }
        }
    }
}

/// Backward: parameter gradients (overwritten) and, if asked, the input gradient, from
/// what [`forward`] kept.
#[allow(clippy::too_many_arguments)]
pub fn backward<F: Float, R: Recurrent>(
    batch: usize, x: &[F], params: &[F], y: &[F], dy: &[F], grads: &mut [F], mut dx: Option<&mut [F]>, saved: &[F],
    scratch: &mut [F],
) {
    let (t, h, gh, out_width) = (R::STEPS, R::HIDDEN, gate_width::<R>(), R::HIDDEN * R::DIRECTIONS);
    assert!(dy.len() >= batch * t * out_width && y.len() >= batch * t * out_width, "recurrent: gradient too short");
    assert!(saved.len() >= batch * saved_len::<R>(), "recurrent: saved values too short for {batch} samples");
    assert!(scratch.len() >= scratch_len::<R>(batch, true), "recurrent: scratch too short");
    grads.fill(F::ZERO);
    let per_direction = batch * direction_saved::<R>();
    let (cells, outputs) = saved.split_at(R::LAYERS * R::DIRECTIONS * per_direction);
    let output_len = batch * layer_output::<R>();
    let gru = R::CELL == Cell::Gru;
    let cap = CHUNK.min(batch);
    let (tanh_c, scratch) = scratch.split_at_mut(h);
    let (transposed_hh, scratch) = scratch.split_at_mut(h * gh);
    let (gate_grads, scratch) = scratch.split_at_mut(cap * t * gh);
    let (hidden_gate_grads, scratch) = scratch.split_at_mut(if gru { cap * t * gh } else { 0 });
    let (shifted, scratch) = scratch.split_at_mut(cap * t * h);
    let (carry_h, scratch) = scratch.split_at_mut(cap * h);
    let (carry_c, scratch) = scratch.split_at_mut(cap * h);
    let stacked = if R::LAYERS > 1 { cap * layer_output::<R>() } else { 0 };
    let (mut upper, scratch) = scratch.split_at_mut(stacked);
    let mut lower = &mut scratch[..stacked];
    let mut bufs = Buffers { gate_grads, hidden_gate_grads, shifted, carry_h, carry_c, tanh_c, transposed_hh };

    for start in (0..batch).step_by(CHUNK) {
        let rows = CHUNK.min(batch - start);
        for l in (0..R::LAYERS).rev() {
            let input_width = layer_input::<R>(l);
            let input: &[F] = if l == 0 { x } else { &outputs[(l - 1) * output_len..] };
            let input = &input[start * t * input_width..][..rows * t * input_width];
            let output: &[F] = if l + 1 == R::LAYERS { y } else { &outputs[l * output_len..] };
            let output = &output[start * t * out_width..][..rows * t * out_width];
            // The gradient of this layer's output: the network's, or what the layer
            // above wrote; this layer's input gradient goes to `dx` or to the layer below.
            let output_grad: &[F] = if l + 1 == R::LAYERS {
                &dy[start * t * out_width..][..rows * t * out_width]
            } else {
                &upper[..rows * t * out_width]
            };
            let mut input_grad: Option<&mut [F]> = if l == 0 {
                dx.as_deref_mut().map(|dx| &mut dx[start * t * input_width..][..rows * t * input_width])
            } else {
                Some(&mut lower[..rows * t * input_width])
            };
            for d in 0..R::DIRECTIONS {
                let region = &cells[(l * R::DIRECTIONS + d) * per_direction..][..per_direction];
                let (gates, state) = region.split_at(batch * t * gh);
                let gates = &gates[start * t * gh..][..rows * t * gh];
                let state = &state[start * t * R::CELL.state() * h..];
                let w = weights::<F, R>(params, l, d);
                let offset = params_offset::<R>(l, d);
                let g = &mut grads[offset..offset + direction_params::<R>(l)];
                direction_backward::<F, R>(
                    rows,
                    l,
                    d,
                    input,
                    output,
                    output_grad,
                    gates,
                    state,
                    &w,
                    g,
                    input_grad.as_deref_mut(),
                    &mut bufs,
                );
            }
            if l > 0 {
                core::mem::swap(&mut upper, &mut lower);
            }
        }
    }
}

/// Backward's scratch, cut once.
struct Buffers<'a, F> {
    /// `[rows, T, G·H]`: the gradients of the gates' pre-activations.
    gate_grads: &'a mut [F],
    /// The GRU's: the same but for the recurrent side, whose `n` part differs.
    hidden_gate_grads: &'a mut [F],
    /// `[rows, T, H]`: each step's previous hidden state (zero before the first).
    shifted: &'a mut [F],
    /// `[rows, H]`: the hidden state's gradient carried to the previous step.
    carry_h: &'a mut [F],
    /// `[rows, H]`: the LSTM cell state's.
    carry_c: &'a mut [F],
    /// `[H]`: `tanh(c)` of one row.
    tanh_c: &'a mut [F],
    /// `[H, G·H]`: W_hhᵀ, for products over fewer rows than [`TRANSPOSED_FROM`].
    transposed_hh: &'a mut [F],
}

/// One direction of one layer: gate gradients step by step in reverse, then the
/// weight, bias and input gradients (added to `input_grad`'s after the first
/// direction) as products over all steps.
#[allow(clippy::too_many_arguments)]
fn direction_backward<F: Float, R: Recurrent>(
    rows: usize, l: usize, d: usize, input: &[F], output: &[F], output_grad: &[F], gates: &[F], state: &[F],
    w: &Weights<F>, grads: &mut [F], input_grad: Option<&mut [F]>, bufs: &mut Buffers<F>,
) {
    let (t, h, gh, input_width) = (R::STEPS, R::HIDDEN, gate_width::<R>(), layer_input::<R>(l));
    let (out_width, column) = (h * R::DIRECTIONS, d * h);
    let gru = R::CELL == Cell::Gru;
    let dgates = &mut bufs.gate_grads[..rows * t * gh];
    let dhidden = &mut bufs.hidden_gate_grads[..if gru { rows * t * gh } else { 0 }];
    let carry_h = &mut bufs.carry_h[..rows * h];
    let carry_c = &mut bufs.carry_c[..rows * h];
    let tanh_c = &mut *bufs.tanh_c;
    carry_h.fill(F::ZERO);
    carry_c.fill(F::ZERO);
    // Each step's gradient of the previous hidden state, dA · W_hh: over a few rows, dot
    // products against W_hhᵀ's rows beat streaming W_hh's (as forward's products).
    let hh = if rows < TRANSPOSED_FROM {
        transpose_into(w.hh, gh, h, bufs.transposed_hh);
        Mat::transposed(&*bufs.transposed_hh, gh, h)
    } else {
        Mat::row_major(w.hh, gh, h)
    };
    for s in (0..t).rev() {
        let now = time::<R>(s, d);
        let before = (s > 0).then(|| time::<R>(s - 1, d));
        for b in 0..rows {
            let row = b * t + now;
            let g = &gates[row * gh..][..gh];
            let da = &mut dgates[row * gh..][..gh];
            let dh_carry = &mut carry_h[b * h..][..h];
            let dy = &output_grad[row * out_width + column..][..h];
            match R::CELL {
                Cell::RnnTanh => {
                    for j in 0..h {
                        da[j] = (dy[j] + dh_carry[j]) * (F::ONE - g[j] * g[j]);
                    }
                    dh_carry.fill(F::ZERO);
                }
                Cell::RnnRelu => {
                    for j in 0..h {
                        da[j] = if g[j] > F::ZERO { dy[j] + dh_carry[j] } else { F::ZERO };
                    }
                    dh_carry.fill(F::ZERO);
                }
                Cell::Lstm => {
                    let c = &state[row * h..][..h];
                    tanh_c.copy_from_slice(c);
                    tanh_in_place(tanh_c);
                    let dc_carry = &mut carry_c[b * h..][..h];
                    for j in 0..h {
                        let (i, f, gg, o) = (g[j], g[h + j], g[2 * h + j], g[3 * h + j]);
                        let dh = dy[j] + dh_carry[j];
                        let tc = tanh_c[j];
                        let dc = dh * o * (F::ONE - tc * tc) + dc_carry[j];
                        let c_prev = match before {
                            Some(p) => state[(b * t + p) * h + j],
                            None => F::ZERO,
                        };
                        da[j] = dc * gg * i * (F::ONE - i);
                        da[h + j] = dc * c_prev * f * (F::ONE - f);
                        da[2 * h + j] = dc * i * (F::ONE - gg * gg);
                        da[3 * h + j] = dh * tc * o * (F::ONE - o);
                        dc_carry[j] = dc * f;
                    }
                    dh_carry.fill(F::ZERO);
                }
                Cell::Gru => {
                    let hn = &state[row * h..][..h];
                    let dah = &mut dhidden[row * gh..][..gh];
                    for j in 0..h {
                        let (r, z, n) = (g[j], g[h + j], g[2 * h + j]);
                        let previous = match before {
                            Some(p) => output[(b * t + p) * out_width + column + j],
                            None => F::ZERO,
                        };
                        let dh = dy[j] + dh_carry[j];
                        let dn = dh * (F::ONE - z);
                        let dz = dh * (previous - n);
                        let dan = dn * (F::ONE - n * n);
                        let dr = dan * hn[j];
                        let dar = dr * r * (F::ONE - r);
                        let daz = dz * z * (F::ONE - z);
                        da[j] = dar;
                        da[h + j] = daz;
                        da[2 * h + j] = dan;
                        dah[j] = dar;
                        dah[h + j] = daz;
                        dah[2 * h + j] = dan * r;
                        dh_carry[j] = dh * z;
                    }
                }
            }
        }
        if s > 0 {
            // The previous step's hidden state feeds every gate through W_hh.
            let recurrent: &[F] = if gru { dhidden } else { dgates };
            let a = Mat::strided(&recurrent[now * gh..], rows, gh, t * gh, 1);
            gemm(F::ONE, a, hh, F::ONE, carry_h, h);
        }
    }

    // Each step's previous hidden state, in step order, zero before the first step.
    let shifted = &mut bufs.shifted[..rows * t * h];
    for b in 0..rows {
        for s in 0..t {
            let row = &mut shifted[(b * t + time::<R>(s, d)) * h..][..h];
            if s == 0 {
                row.fill(F::ZERO);
            } else {
                let p = time::<R>(s - 1, d);
                row.copy_from_slice(&output[(b * t + p) * out_width + column..][..h]);
            }
        }
    }
    let recurrent: &[F] = if gru { dhidden } else { dgates };
    let (dw_ih, rest) = grads.split_at_mut(gh * input_width);
    let (dw_hh, rest) = rest.split_at_mut(gh * h);
    // dW_ih[G·H, in] += dAᵀ · X, dW_hh[G·H, H] += dA_hᵀ · H_prev, over all rows and steps.
    gemm(
        F::ONE,
        Mat::transposed(dgates, gh, rows * t),
        Mat::row_major(input, rows * t, input_width),
        F::ONE,
        dw_ih,
        input_width,
    );
    gemm(F::ONE, Mat::transposed(recurrent, gh, rows * t), Mat::row_major(shifted, rows * t, h), F::ONE, dw_hh, h);
    if R::BIAS {
        let (db_ih, db_hh) = rest.split_at_mut(gh);
        for row in dgates.chunks_exact(gh) {
            db_ih.iter_mut().zip(row).for_each(|(acc, &g)| *acc += g);
        }
        for row in recurrent.chunks_exact(gh) {
            db_hh.iter_mut().zip(row).for_each(|(acc, &g)| *acc += g);
        }
    }
    if let Some(dx) = input_grad {
        // dX[rows·T, in] (+)= dA · W_ih; the second direction adds to the first's.
        let beta = if d == 0 { F::ZERO } else { F::ONE };
        gemm(
            F::ONE,
            Mat::row_major(dgates, rows * t, gh),
            Mat::row_major(w.ih, gh, input_width),
            beta,
            dx,
            input_width,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Shape<const CELL: u8, const T: usize, const I: usize, const H: usize, const L: usize, const D: usize>;
    impl<const CELL: u8, const T: usize, const I: usize, const H: usize, const L: usize, const D: usize> Recurrent
        for Shape<CELL, T, I, H, L, D>
    {
        const CELL: Cell = match CELL {
            0 => Cell::RnnTanh,
            1 => Cell::RnnRelu,
            2 => Cell::Lstm,
            _ => Cell::Gru,
        };
        const STEPS: usize = T;
        const INPUT: usize = I;
        const HIDDEN: usize = H;
        const LAYERS: usize = L;
        const DIRECTIONS: usize = D;
        const BIAS: bool = true;
    }

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + 1.0) * seed).sin() * 0.8).collect()
    }

    fn params_len<R: Recurrent>() -> usize {
        (0..R::LAYERS).map(|l| R::DIRECTIONS * direction_params::<R>(l)).sum()
    }

    /// Runs forward (keeping) and infer on `batch` samples; both outputs.
    fn run<R: Recurrent>(batch: usize) -> (Vec<f64>, Vec<f64>) {
        let x = values(batch * R::STEPS * R::INPUT, 0.37);
        let params = values(params_len::<R>(), 0.11);
        let out = batch * R::STEPS * R::HIDDEN * R::DIRECTIONS;
        let (mut kept, mut inferred) = (vec![0.0; out], vec![0.0; out]);
        let mut saved = vec![0.0; batch * saved_len::<R>()];
        let mut scratch = vec![0.0; scratch_len::<R>(batch, true).max(scratch_len::<R>(batch, false))];
        forward::<f64, R>(batch, &x, &params, &mut kept, &mut saved, &mut scratch);
        infer::<f64, R>(batch, &x, &params, &mut inferred, &mut scratch);
        (kept, inferred)
    }

    /// One LSTM step from a zero state, written out: c = σ(i)·tanh(g), h = σ(o)·tanh(c).
    #[test]
    fn one_lstm_step_as_written() {
        type R = Shape<2, 1, 2, 1, 1, 1>;
        let x = [0.5, -1.0];
        // W_ih rows i, f, g, o; W_hh (unused at the first step); b_ih; b_hh.
        let params =
            [0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.03, 0.04];
        let (mut y, mut saved, mut scratch) =
            ([0.0], vec![0.0; saved_len::<R>()], vec![0.0; scratch_len::<R>(1, true)]);
        forward::<f64, R>(1, &x, &params, &mut y, &mut saved, &mut scratch);
        let pre = |w: &[f64], b: f64| w[0] * x[0] + w[1] * x[1] + b;
        let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
        let i = sigmoid(pre(&params[0..2], 0.11));
        let g = pre(&params[4..6], 0.33).tanh();
        let o = sigmoid(pre(&params[6..8], 0.44));
        let c = i * g;
        assert!((y[0] - o * c.tanh()).abs() < 1e-15, "{} vs {}", y[0], o * c.tanh());
        // Saved: the gates after their activations, then the cell state.
        assert!((saved[4] - c).abs() < 1e-15);
    }

    /// Forward for backward and inference agree, for every cell, stacked and
    /// bidirectional, over more samples than a chunk (and the tail of one, whose few
    /// rows forward projects all steps at once: the sums round differently).
    #[test]
    fn inference_matches_the_forward_backward_keeps() {
        let batch = if cfg!(miri) { 5 } else { CHUNK + 3 };
        fn same((a, b): (Vec<f64>, Vec<f64>)) {
            assert_eq!(a.len(), b.len());
            for (i, (a, b)) in a.iter().zip(&b).enumerate() {
                assert!((a - b).abs() < 1e-14, "output {i}: {a} vs {b}");
            }
        }
        same(run::<Shape<0, 3, 2, 3, 2, 2>>(batch));
        same(run::<Shape<1, 3, 2, 3, 1, 1>>(batch));
        same(run::<Shape<2, 4, 3, 2, 2, 2>>(batch));
        same(run::<Shape<3, 3, 2, 3, 2, 2>>(batch));
    }

    /// A sample's output does not depend on the batch around it (chunks are independent).
    #[test]
    fn a_sample_alone_gives_what_it_gives_in_a_batch() {
        type R = Shape<2, 3, 2, 3, 2, 2>;
        let (batched, _) = run::<R>(if cfg!(miri) { 5 } else { CHUNK + 3 });
        let (alone, _) = run::<R>(1);
        for (a, b) in alone.iter().zip(&batched) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
    }
}
