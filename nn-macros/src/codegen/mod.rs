//! Phase 3: the checked graph into Rust. Per node, in topological order, one
//! straight-line call into a runtime kernel whose every dimension is a literal const
//! generic; backward runs the nodes in reverse. Memory is planned here, once, as
//! per-sample offsets: training keeps every value for backward, inference shares memory
//! between values not alive at once, and backward's gradients live in one arena planned
//! by liveness, where a value read several times gets its readers' gradients summed.

use crate::ir::{CheckedLayer, Network};
use crate::layers::{lit, Axes, Init};
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::quote;

mod int8;
mod static_inference;

pub use int8::{sizes as int8_sizes, slots as int8_slots, why_not as no_int8_form};

/// The statics `#[weights(..)]` and `#[int8_weights(..)]` embedded, by path.
#[derive(Default)]
pub struct Embedded {
    /// `[f32; WEIGHTS]`.
    pub weights: Option<TokenStream>,
    /// `[i8; ..]`, `[i32; ..]`, `[f32; ..]`: a quantized model's three arrays.
    pub int8: Option<[TokenStream; 3]>,
}

/// `tokens` located at `span` (a layer as written), so that a compiler error in them
/// points at that layer. Names still resolve at the call site, where the emitted code
/// binds `batch`, `x`, `y`, `params`, `rt` and the rest, and the code still counts as
/// macro output for lints (and for panic locations, which name the macro call).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    let span = Span::call_site().located_at(span);
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                token = Group::new(group.delimiter(), respan(group.stream(), span)).into();
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// Where a value lives.
#[derive(Clone, Copy)]
enum Buffer {
    /// The caller's input slice.
    Input,
    /// Per-sample `offset..offset + len` in the activation buffer (times the batch).
    Activation { offset: u64, len: u64 },
}

/// Whether a value's gradient is computed: always (something upstream has
/// parameters), only when the caller asks for the input gradient, or never.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    OnlyForInputGrad,
    Always,
}

struct Plan {
    /// Each node's output buffer.
    outputs: Vec<Buffer>,
    /// Each node's per-sample `saved` range, right after its output.
    saved: Vec<(u64, u64)>,
    /// Nodes whose output is their input, unmoved (views such as `flatten`).
    aliased: Vec<bool>,
    /// The node producing each value (`None` for the network input, value 0).
    producer: Vec<Option<usize>>,
    /// How many nodes read each value.
    consumers: Vec<usize>,
    /// Each value's per-sample length.
    value_len: Vec<u64>,
    needs: Vec<Needs>,
    activations: u64,
    scratch: u64,
    scratch_per_sample: u64,
    chunk_scratch: u64,
    inference_chunk_scratch: u64,
    /// Each node's range in the parameters, the buffers and the batch statistics.
    params: Vec<(u64, u64)>,
    buffers: Vec<(u64, u64)>,
    batch_stats: Vec<(u64, u64)>,
    /// Each node's range in a chunk's f64 partial sums (batch norm's barrier).
    partials: Vec<(u64, u64)>,
    buffers_len: u64,
    batch_stats_len: u64,
    partials_len: u64,
}

impl Plan {
    /// Where value `v` lives.
    fn buffer(&self, v: usize) -> Buffer {
        self.producer[v].map_or(Buffer::Input, |node| self.outputs[node])
    }
}

fn plan(net: &Network) -> Plan {
    let values = net.layers.len() + 1;
    let mut plan = Plan {
        outputs: Vec::new(),
        saved: Vec::new(),
        aliased: Vec::new(),
        producer: vec![None; values],
        consumers: vec![0; values],
        value_len: vec![net.input_len(); values],
        needs: vec![Needs::OnlyForInputGrad; values],
        activations: 0,
        scratch: net.layers.iter().map(|l| l.scratch).max().unwrap_or(0),
        scratch_per_sample: net.layers.iter().map(|l| l.scratch_per_sample).max().unwrap_or(0),
        chunk_scratch: net.layers.iter().map(|l| l.chunk_scratch).max().unwrap_or(0),
        inference_chunk_scratch: net.layers.iter().map(|l| l.inference_chunk_scratch).max().unwrap_or(0),
        params: Vec::new(),
        buffers: Vec::new(),
        batch_stats: Vec::new(),
        partials: Vec::new(),
        buffers_len: 0,
        batch_stats_len: 0,
        partials_len: 0,
    };
    let mut params = 0;
    for (i, layer) in net.layers.iter().enumerate() {
        plan.producer[layer.value] = Some(i);
        plan.value_len[layer.value] = layer.output_len;
        for &input in &layer.inputs {
            plan.consumers[input] += 1;
        }
        let upstream = layer.inputs.iter().map(|&v| plan.needs[v]).max().unwrap_or(Needs::OnlyForInputGrad);
        plan.needs[layer.value] = if layer.params > 0 { Needs::Always } else { upstream };
        let input = plan.buffer(layer.inputs[0]);
        let alias = layer.op.is_view() && layer.inputs.len() == 1 && matches!(input, Buffer::Activation { .. });
        let output = if alias {
            input
        } else {
            let buffer = Buffer::Activation { offset: plan.activations, len: layer.output_len };
            plan.activations += layer.output_len;
            buffer
        };
        plan.saved.push((plan.activations, plan.activations + layer.saved));
        plan.activations += layer.saved;
        plan.outputs.push(output);
        plan.aliased.push(alias);
        plan.params.push((params, params + layer.params));
        params += layer.params;
        plan.buffers.push((plan.buffers_len, plan.buffers_len + layer.buffer_len));
        plan.buffers_len += layer.buffer_len;
        plan.batch_stats.push((plan.batch_stats_len, plan.batch_stats_len + layer.batch_stats));
        plan.batch_stats_len += layer.batch_stats;
        let partials = layer.op.barrier().map_or(0, |b| 6 * b.channels);
        plan.partials.push((plan.partials_len, plan.partials_len + partials));
        plan.partials_len += partials;
    }
    plan
}

/// `a * batch..b * batch`, the batch-scaled range of per-sample `a..b`.
fn range(start: u64, end: u64) -> TokenStream {
    let end = lit(end);
    if start == 0 {
        quote!(0..#end * batch)
    } else {
        let start = lit(start);
        quote!(#start * batch..#end * batch)
    }
}

fn usize_array(dims: &[u64]) -> TokenStream {
    let dims = dims.iter().map(|&d| lit(d));
    quote!([#(#dims),*])
}

/// `let #name = &(mut) #storage[start..end];`, or nothing for an empty range.
fn bind_slice(name: TokenStream, storage: TokenStream, range: (u64, u64), mutable: bool) -> Option<TokenStream> {
    (range.1 > range.0).then(|| {
        let slice = param_slice(storage, range, mutable);
        quote!(let #name = #slice;)
    })
}

fn param_slice(name: TokenStream, (start, end): (u64, u64), mutable: bool) -> TokenStream {
    let (start, end) = (lit(start), lit(end));
    if mutable {
        quote!(&mut #name[#start..#end])
    } else {
        quote!(&#name[#start..#end])
    }
}

/// The node after `i` when it is a single-input layer reading only `i`'s output, which
/// nothing else reads: it can run in `i`'s epilogue.
fn sole_successor(net: &Network, plan: &Plan, i: usize) -> Option<usize> {
    let next = net.layers.get(i + 1)?;
    let value = net.layers[i].value;
    (next.inputs == [value] && plan.consumers[value] == 1 && !plan.aliased[i + 1] && next.saved == 0).then_some(i + 1)
}

/// A forward step: node `first`'s call, writing node `last`'s output (itself, or the
/// activation fused into its epilogue) and, where a pooling runs in the same epilogue,
/// node `pooled`'s output.
struct ForwardGroup {
    first: usize,
    last: usize,
    pooled: Option<usize>,
    call: TokenStream,
}

/// The forward steps in order. A layer followed by an activation whose derivative
/// reads only its output (relu, relu6, tanh, sigmoid) runs that activation in its own epilogue
/// where its kernel has one, writing the activation's output directly: one pass over
/// memory fewer. The layer's own output buffer is then never written; nothing reads it
/// (its backward reads its input, the activation's backward its output). A pooling
/// layer after that (or right after the layer) pools each plane in the same epilogue
/// while it is still in L1; the pooling's input is written only for backward. Fusion
/// needs the fused value to have no other reader.
fn forward_groups(net: &Network, plan: &Plan) -> Vec<ForwardGroup> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < net.layers.len() {
        let layer = &net.layers[i];
        if plan.aliased[i] {
            i += 1;
            continue;
        }
        if layer.inputs.len() > 1 {
            groups.push(ForwardGroup { first: i, last: i, pooled: None, call: layer.op.forward() });
            i += 1;
            continue;
        }
        let activation = sole_successor(net, plan, i)
            .filter(|_| layer.saved == 0)
            .and_then(|next| net.layers[next].op.fusable_activation());
        let last = if activation.is_some() { i + 1 } else { i };
        let pool = sole_successor(net, plan, last)
            .filter(|_| net.layers[last].saved == 0)
            .and_then(|next| net.layers[next].op.plane_pool());
        let fused = if activation.is_none() && pool.is_none() {
            None
        } else {
            let (kernel, alpha) = activation.clone().unwrap_or((quote!(rt::activation::Identity), 0.0));
            layer.op.forward_then(&kernel, alpha, pool.as_ref())
        };
        match fused {
            Some(call) => {
                let pooled = pool.is_some().then_some(last + 1);
                groups.push(ForwardGroup { first: i, last, pooled, call });
                i = pooled.unwrap_or(last) + 1;
            }
            None => {
                groups.push(ForwardGroup { first: i, last: i, pooled: None, call: layer.op.forward() });
                i += 1;
            }
        }
    }
    groups
}

/// The `saved` values inference reserves for a node: none where it has a forward of
/// its own for inference.
fn inference_saved(layer: &CheckedLayer, pass: Pass) -> u64 {
    if layer.op.inference_forward().is_some() || (pass == Pass::Static && layer.op.eval_forward().is_some()) {
        0
    } else {
        layer.saved
    }
}

/// Which forward pass code is generated for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every value kept, in node order, for backward.
    Training,
    /// The network's own inference, in train or eval mode, for any batch.
    Inference,
    /// The static inference type's: eval mode, weights read-only, batch 1.
    Static,
}

/// Where forward writes: each node's output and its `saved` range right after it.
struct Placement {
    outputs: Vec<Buffer>,
    saved: Vec<(u64, u64)>,
    /// Per-sample elements the placement spans.
    total: u64,
}

impl Placement {
    fn buffer(&self, plan: &Plan, v: usize) -> Buffer {
        plan.producer[v].map_or(Buffer::Input, |node| self.outputs[node])
    }
}

/// Training's placement: every value its own range, in node order, kept for backward.
fn training_placement(plan: &Plan) -> Placement {
    Placement { outputs: plan.outputs.clone(), saved: plan.saved.clone(), total: plan.activations }
}

/// Inference's placement by liveness: a value lives from the step that writes it to the
/// last step that reads it (the output to the end), and values not alive at the same
/// time share memory. Values only backward reads (a fused pooling's input) get none.
fn inference_placement(net: &Network, plan: &Plan, groups: &[ForwardGroup], pass: Pass) -> Placement {
    let n = net.layers.len();
    // The node whose buffer holds each node's output (itself, or the input it aliases).
    let mut root: Vec<usize> = (0..n).collect();
    for i in 0..n {
        if plan.aliased[i] {
            root[i] = plan.producer[net.layers[i].inputs[0]].map_or(i, |p| root[p]);
        }
    }
    // The step running each node (fused nodes run in their group's step).
    let mut step_of = vec![usize::MAX; n];
    for (s, group) in groups.iter().enumerate() {
        step_of[group.first..=group.pooled.unwrap_or(group.last)].fill(s);
    }
    // The last step reading each root's buffer. An aliased view has no step: its
    // readers read its root, which `root` already resolves.
    let mut last_read = vec![0usize; n];
    for (i, layer) in net.layers.iter().enumerate().filter(|&(i, _)| !plan.aliased[i]) {
        for &v in &layer.inputs {
            if let Some(p) = plan.producer[v] {
                last_read[root[p]] = last_read[root[p]].max(step_of[i]);
            }
        }
    }
    last_read[root[n - 1]] = usize::MAX;
    let mut outputs = vec![Buffer::Input; n];
    let mut saved = vec![(0, 0); n];
    let mut arena = Arena::default();
    // The buffers allocated now: (node, offset).
    let mut live: Vec<(usize, u64)> = Vec::new();
    for (s, group) in groups.iter().enumerate() {
        // The values this step writes: the pooled one, else the last one (with its saved
        // values right after it).
        let written = group.pooled.unwrap_or(group.last);
        let len = net.layers[written].output_len + inference_saved(&net.layers[written], pass);
        let at = arena.alloc(len);
        outputs[written] = Buffer::Activation { offset: at, len: net.layers[written].output_len };
        saved[written] = (at + net.layers[written].output_len, at + len);
        // Free what this step read for the last time.
        live.retain(|&(node, at)| {
            let done = last_read[node] <= s;
            if done {
                arena.free(at);
            }
            !done
        });
        live.push((written, at));
    }
    // Aliased views: their root's buffer.
    for i in 0..n {
        if plan.aliased[i] {
            outputs[i] = match outputs[root[i]] {
                Buffer::Activation { offset, .. } => Buffer::Activation { offset, len: net.layers[i].output_len },
                Buffer::Input => Buffer::Input,
            };
        }
    }
    Placement { outputs, saved, total: arena.len }
}

/// The forward calls in order, writing where `placement` says, in segments: a layer
/// with a barrier (batch norm) ends one segment with the code before its barrier and
/// starts the next with its own forward, the runtime merging the chunks' partial sums
/// in between. Training keeps the layout's order (every output after its input) and
/// writes a fused pooling's input when asked for backward; inference writes it never.
/// The static inference type (eval mode, one sample) has no barriers.
fn forward_steps(
    net: &Network, plan: &Plan, groups: &[ForwardGroup], placement: &Placement, pass: Pass,
) -> Vec<Vec<TokenStream>> {
    let mut segments = vec![Vec::new()];
    for g in groups {
        let layer = &net.layers[g.first];
        let step = |call: Option<TokenStream>| {
            if layer.inputs.len() > 1 {
                merge_forward_step(g.first, layer, plan, placement)
            } else if pass == Pass::Training {
                forward_step(g.first, g.last, g.pooled, call.unwrap_or_else(|| g.call.clone()), layer, plan, placement)
            } else {
                inference_step(g, layer, plan, placement, pass, call)
            }
        };
        if let Some(barrier) = layer.op.barrier().filter(|_| pass != Pass::Static) {
            segments.last_mut().expect("one segment at least").push(step(Some(barrier.forward)));
            segments.push(Vec::new());
        }
        segments.last_mut().expect("one segment at least").push(step(None));
    }
    segments
}

/// `let #name = &before[..]` or `&after[..]` (or the caller's `input`): value `v` read
/// around the output range `out` that `rt::memory::around` cut out.
fn read_around(name: TokenStream, v: usize, out: (u64, u64), plan: &Plan, placement: &Placement) -> TokenStream {
    match placement.buffer(plan, v) {
        Buffer::Input => quote!(let #name: &[F] = input;),
        Buffer::Activation { offset, len } if offset + len <= out.0 => {
            let r = range(offset, offset + len);
            quote!(let #name = &before[#r];)
        }
        Buffer::Activation { offset, len } => {
            debug_assert!(offset >= out.1, "inputs never overlap the output");
            let r = range(offset - out.1, offset + len - out.1);
            quote!(let #name = &after[#r];)
        }
    }
}

/// A step of inference: the output (and saved values) cut out of the buffer, the input
/// read before or after it.
fn inference_step(
    g: &ForwardGroup, layer: &CheckedLayer, plan: &Plan, placement: &Placement, pass: Pass, call: Option<TokenStream>,
) -> TokenStream {
    let written = g.pooled.unwrap_or(g.last);
    let Buffer::Activation { offset, len } = placement.outputs[written] else { unreachable!("steps write buffers") };
    let end = placement.saved[written].1;
    let out = range(offset, end);
    let x = read_around(quote!(x), layer.inputs[0], (offset, end), plan, placement);
    let output = if g.pooled.is_some() {
        quote! {
            let pooled = y;
            let y: &mut [F] = &mut [];
        }
    } else if inference_saved(layer, pass) > 0 {
        let len = lit(len);
        quote!(let (y, saved) = y.split_at_mut(#len * batch);)
    } else {
        TokenStream::new()
    };
    let params = bind_slice(quote!(params), quote!(all_params), plan.params[g.first], false);
    let is_static = pass == Pass::Static;
    let buffers = bind_slice(quote!(buffers), quote!(all_buffers), plan.buffers[g.first], false);
    let batch_stats = (!is_static)
        .then(|| bind_slice(quote!(batch_stats), quote!(all_batch_stats), plan.batch_stats[g.first], true))
        .flatten();
    let partials = (!is_static)
        .then(|| bind_slice(quote!(partials), quote!(all_partials), plan.partials[g.first], true))
        .flatten();
    let own = (g.first == g.last && g.pooled.is_none())
        .then(|| is_static.then(|| layer.op.eval_forward()).flatten().or_else(|| layer.op.inference_forward()))
        .flatten();
    let call = call.or(own).unwrap_or_else(|| g.call.clone());
    let step = quote! {
        {
            #params
            #buffers
            #batch_stats
            #partials
            let (before, y, after) = rt::memory::around(activations, #out);
            #x
            #output
            #call;
        }
    };
    respan(step, layer.span)
}

/// A node with several inputs: `x0`, `x1`, … read around its output.
fn merge_forward_step(index: usize, layer: &CheckedLayer, plan: &Plan, placement: &Placement) -> TokenStream {
    let Buffer::Activation { offset, len } = placement.outputs[index] else { unreachable!("merges write a buffer") };
    let out = range(offset, offset + len);
    let inputs = layer.inputs.iter().enumerate().map(|(i, &v)| {
        let name = quote::format_ident!("x{i}");
        read_around(quote!(#name), v, (offset, offset + len), plan, placement)
    });
    let call = layer.op.forward();
    let step = quote! {
        {
            let (before, y, after) = rt::memory::around(activations, #out);
            #(#inputs)*
            #call
        }
    };
    respan(step, layer.span)
}

/// Layer `index`'s forward `call`, writing the output buffer of layer `output_index`
/// (itself, or the activation fused into it) and, where a pooling is fused after it,
/// layer `pooled_index`'s as `pooled`.
fn forward_step(
    index: usize, output_index: usize, pooled_index: Option<usize>, call: TokenStream, layer: &CheckedLayer,
    plan: &Plan, placement: &Placement,
) -> TokenStream {
    let Buffer::Activation { offset, len } = placement.outputs[output_index] else {
        unreachable!("outputs are never the input")
    };
    let (_, saved_end) = placement.saved[output_index];
    // The pooled buffer follows the output (the planner lays buffers out in order):
    // one range holds both, split after the output.
    let (written_end, pooled) = match pooled_index.map(|j| placement.outputs[j]) {
        Some(Buffer::Activation { offset: pooled_offset, len: pooled_len }) => {
            let (split, pooled_elements) = (lit(pooled_offset - offset), lit(pooled_len));
            let split = quote! {
                let (y, pooled) = y.split_at_mut(#split * batch);
                let pooled = &mut pooled[..#pooled_elements * batch];
            };
            (pooled_offset + pooled_len, Some(split))
        }
        _ => (saved_end, None),
    };
    let output = range(offset, written_end);
    let io = match placement.buffer(plan, layer.inputs[0]) {
        Buffer::Input => quote! {
            let x = input;
            let y = &mut activations[#output];
        },
        Buffer::Activation { offset: in_offset, len: in_len } => {
            let input = range(in_offset, in_offset + in_len);
            quote!(let (x, y) = rt::memory::split_io(activations, #input, #output);)
        }
    };
    let saved = (layer.saved > 0).then(|| {
        let len = lit(len);
        quote!(let (y, saved) = y.split_at_mut(#len * batch);)
    });
    let params = bind_slice(quote!(params), quote!(all_params), plan.params[index], false);
    let buffers = bind_slice(quote!(buffers), quote!(all_buffers), plan.buffers[index], false);
    let batch_stats = bind_slice(quote!(batch_stats), quote!(all_batch_stats), plan.batch_stats[index], true);
    let partials = bind_slice(quote!(partials), quote!(all_partials), plan.partials[index], true);
    let step = quote! {
        {
            #params
            #buffers
            #batch_stats
            #partials
            #io
            #saved
            #pooled
            #call;
        }
    };
    respan(step, layer.span)
}

/// One backward step: node `node`'s backward (with the activation `fused` before it
/// run in the same pass), reading the gradient of value `dy` and writing the gradients
/// of values `writes` (the node's inputs, or the fused activation's).
struct BackStep {
    node: usize,
    fused: Option<usize>,
    dy: usize,
    writes: Vec<usize>,
}

/// The backward steps, last node first. A layer preceded by an activation whose
/// derivative reads only its output runs that activation's backward in the same pass
/// (the activation's output is this layer's input, which training keeps), when
/// nothing else reads that output: one pass over memory fewer. Views that alias their
/// only reader's input share its gradient and have no step.
fn backward_plan(net: &Network, plan: &Plan) -> Vec<BackStep> {
    let mut steps = Vec::new();
    let mut i = net.layers.len();
    while i > 0 {
        i -= 1;
        let layer = &net.layers[i];
        if plan.aliased[i] && shares_gradient(net, plan, i) {
            continue;
        }
        // Not an activation of the network input: its input gradient has a buffer of
        // its own, which only asked-for input gradients write.
        let fused = i
            .checked_sub(1)
            .filter(|&before| {
                let a = &net.layers[before];
                layer.inputs.len() == 1
                    && layer.inputs[0] == a.value
                    && plan.consumers[a.value] == 1
                    && a.inputs.len() == 1
                    && a.inputs[0] != 0
                    && !plan.aliased[before]
                    && a.saved == 0
            })
            .filter(|&before| {
                net.layers[before]
                    .op
                    .fusable_activation()
                    .and_then(|(activation, alpha)| layer.op.backward_after(&activation, alpha))
                    .is_some()
            });
        let writes = match fused {
            Some(before) => net.layers[before].inputs.clone(),
            None => layer.inputs.clone(),
        };
        steps.push(BackStep { node: i, fused, dy: layer.value, writes });
        if let Some(before) = fused {
            i = before;
        }
    }
    steps
}

/// Whether aliased view `i` shares its input's gradient (it is the input's only
/// reader, and the input is not the network's): then it has no backward step.
fn shares_gradient(net: &Network, plan: &Plan, i: usize) -> bool {
    let input = net.layers[i].inputs[0];
    input != 0 && plan.consumers[input] == 1
}

/// Per-sample gradient slots in one arena, by liveness over the backward steps: a
/// value's gradient lives from its first writer to its producer's step.
struct GradientPlan {
    /// Each value's slot offset (values sharing a gradient share the offset).
    slot: Vec<Option<u64>>,
    /// Per step: the offset of a temporary for each written value that another step
    /// already started (the layer writes there, then it is added in).
    temps: Vec<Vec<Option<u64>>>,
    /// Per step: whether each written value is written first (overwrite) there.
    first: Vec<Vec<bool>>,
    len: u64,
}

/// First-fit allocation of ranges in an arena.
#[derive(Default)]
struct Arena {
    live: Vec<(u64, u64)>,
    len: u64,
}

impl Arena {
    fn alloc(&mut self, len: u64) -> u64 {
        self.live.sort_unstable();
        let mut at = 0;
        for &(start, l) in &self.live {
            if start >= at + len {
                break;
            }
            at = at.max(start + l);
        }
        self.live.push((at, len));
        self.len = self.len.max(at + len);
        at
    }
    fn free(&mut self, start: u64) {
        if let Some(i) = self.live.iter().position(|&(s, _)| s == start) {
            self.live.swap_remove(i);
        }
    }
}

fn gradient_plan(net: &Network, plan: &Plan, steps: &[BackStep]) -> GradientPlan {
    let values = net.layers.len() + 1;
    // Values whose gradient is their input's (aliased views, their input's only reader).
    let mut class: Vec<usize> = (0..values).collect();
    for (i, layer) in net.layers.iter().enumerate() {
        if plan.aliased[i] && shares_gradient(net, plan, i) {
            class[layer.value] = class[layer.inputs[0]];
        }
    }
    let mut arena = Arena::default();
    let mut slot: Vec<Option<u64>> = vec![None; values];
    let output = net.output().value;
    slot[class[output]] = Some(arena.alloc(plan.value_len[output]));
    let mut started = vec![false; values];
    started[class[output]] = true;
    let (mut temps, mut first) = (Vec::new(), Vec::new());
    for step in steps {
        let (mut step_temps, mut step_first) = (Vec::new(), Vec::new());
        let mut transient = Vec::new();
        for &w in &step.writes {
            let c = class[w];
            let is_first = !started[c];
            started[c] = true;
            step_first.push(is_first);
            if c != 0 && is_first {
                slot[c] = Some(arena.alloc(plan.value_len[w]));
            }
            // A layer overwrites its input gradient: a later writer goes through a temporary.
            let single = net.layers[step.node].inputs.len() == 1;
            if !is_first && single {
                let t = arena.alloc(plan.value_len[w]);
                transient.push(t);
                step_temps.push(Some(t));
            } else {
                step_temps.push(None);
            }
        }
        for t in transient {
            arena.free(t);
        }
        // The step read its output gradient for the last time.
        if let Some(offset) = slot[class[step.dy]] {
            arena.free(offset);
        }
        temps.push(step_temps);
        first.push(step_first);
    }
    let slot = (0..values).map(|v| slot[class[v]]).collect();
    GradientPlan { slot, temps, first, len: arena.len }
}

/// The backward calls, last node first, each reading its output's gradient slot and
/// writing its inputs', in segments split at barriers as forward's are.
fn backward_steps(net: &Network, plan: &Plan, steps: &[BackStep], grads: &GradientPlan) -> Vec<Vec<TokenStream>> {
    let mut segments = vec![Vec::new()];
    for (s, step) in steps.iter().enumerate() {
        if let Some(barrier) = net.layers[step.node].op.barrier() {
            segments.last_mut().expect("one segment at least").push(backward_step(
                net,
                plan,
                step,
                grads,
                s,
                Some(barrier.backward),
            ));
            segments.push(Vec::new());
        }
        segments.last_mut().expect("one segment at least").push(backward_step(net, plan, step, grads, s, None));
    }
    segments
}

/// Step `s`'s code; `barrier` replaces the layer's backward call with the code before
/// its barrier.
fn backward_step(
    net: &Network, plan: &Plan, step: &BackStep, grads: &GradientPlan, s: usize, barrier: Option<TokenStream>,
) -> TokenStream {
    let layer = &net.layers[step.node];
    let dy_offset = grads.slot[step.dy].expect("a stepped value has a gradient slot");
    let dy_range = range(dy_offset, dy_offset + plan.value_len[step.dy]);
    let Buffer::Activation { offset, len } = plan.outputs[step.node] else {
        unreachable!("outputs are never the input")
    };
    let output = range(offset, offset + len);
    let activation = |v: usize| match plan.buffer(v) {
        Buffer::Input => quote!(input),
        Buffer::Activation { offset, len } => {
            let r = range(offset, offset + len);
            quote!(&activations[#r])
        }
    };
    let params = (layer.params > 0).then(|| {
        let p = param_slice(quote!(all_params), plan.params[step.node], false);
        let g = param_slice(quote!(all_grads), plan.params[step.node], true);
        quote! {
            let params = #p;
            let grads = #g;
        }
    });
    let saved = (layer.saved > 0).then(|| {
        let r = range(plan.saved[step.node].0, plan.saved[step.node].1);
        quote!(let saved = &activations[#r];)
    });
    let batch_stats = bind_slice(quote!(batch_stats), quote!(all_batch_stats), plan.batch_stats[step.node], false);
    let partials = bind_slice(quote!(partials), quote!(all_partials), plan.partials[step.node], true);
    let y = quote!(let y = &activations[#output];);
    // A step without parameters whose every written value is needed only for an
    // asked-for input gradient runs only then.
    let optional = layer.params == 0 && step.writes.iter().all(|&w| plan.needs[w] == Needs::OnlyForInputGrad);

    let body = if layer.inputs.len() > 1 {
        // A merge: one call per input, each adding to or starting that gradient.
        let xs = layer.inputs.iter().enumerate().map(|(i, &v)| {
            let name = quote::format_ident!("x{i}");
            let value = activation(v);
            quote!(let #name = #value;)
        });
        let parts = step.writes.iter().enumerate().map(|(i, &w)| {
            let accumulate = !grads.first[s][i];
            let call = layer.op.backward_input(i, accumulate);
            let len = plan.value_len[w];
            if w == 0 {
                let r = range(0, len);
                quote! {
                    if input_grad {
                        let dy = &gradients[#dy_range];
                        let dx = &mut input_grad_buffer[#r];
                        #call;
                    }
                }
            } else {
                let at = grads.slot[w].expect("written values have slots");
                let r = range(at, at + len);
                quote! {
                    {
                        let [dy, dx] = rt::memory::disjoint(gradients, [#dy_range, #r]);
                        let dy: &[F] = dy;
                        #call;
                    }
                }
            }
        });
        quote! {
            #(#xs)*
            #y
            #(#parts)*
        }
    } else {
        let w = step.writes[0];
        let call = match step.fused {
            Some(before) => {
                let (activation, alpha) = net.layers[before].op.fusable_activation().expect("checked when planned");
                layer.op.backward_after(&activation, alpha).expect("checked when planned")
            }
            None => barrier.clone().unwrap_or_else(|| layer.op.backward()),
        };
        let len = plan.value_len[w];
        let x = activation(layer.inputs[0]);
        let has_params = layer.params > 0;
        let wrap = |dx: TokenStream| if has_params { quote!(Some(#dx)) } else { dx };
        let (bind, after) = match (w, grads.temps[s][0]) {
            (0, None) => {
                let r = range(0, len);
                let dx = wrap(quote!(&mut input_grad_buffer[#r]));
                let dx = if has_params && !optional {
                    quote!(let dx = if input_grad { #dx } else { None };)
                } else {
                    quote!(let dx = #dx;)
                };
                (quote!(let dy = &gradients[#dy_range]; #dx), None)
            }
            (0, Some(t)) => {
                let (r, tr) = (range(0, len), range(t, t + len));
                let dx = wrap(quote!(&mut *tmp));
                (
                    quote! {
                        let [dy, tmp] = rt::memory::disjoint(gradients, [#dy_range, #tr]);
                        let dy: &[F] = dy;
                        let dx = #dx;
                    },
                    Some(quote!(if input_grad { rt::merge::pass(tmp, &mut input_grad_buffer[#r], true); })),
                )
            }
            (_, None) => {
                let at = grads.slot[w].expect("written values have slots");
                let r = range(at, at + len);
                let dx = has_params.then(|| quote!(let dx = Some(dx);));
                (
                    quote! {
                        let [dy, dx] = rt::memory::disjoint(gradients, [#dy_range, #r]);
                        let dy: &[F] = dy;
                        #dx
                    },
                    None,
                )
            }
            (_, Some(t)) => {
                let at = grads.slot[w].expect("written values have slots");
                let (r, tr) = (range(at, at + len), range(t, t + len));
                let dx = wrap(quote!(&mut *tmp));
                (
                    quote! {
                        let [dy, tmp, sum] = rt::memory::disjoint(gradients, [#dy_range, #tr, #r]);
                        let dy: &[F] = dy;
                        let dx = #dx;
                    },
                    Some(quote!(rt::merge::pass(tmp, sum, true);)),
                )
            }
        };
        // A barrier's first half only sums over the chunk: it writes no input gradient
        // yet, so there is nothing to merge (its second half, a step of its own, does).
        let after = if barrier.is_some() { None } else { after };
        quote! {
            let x = #x;
            #y
            #bind
            #call;
            #after
        }
    };
    let step_tokens = quote! {
        {
            #params
            #saved
            #batch_stats
            #partials
            #body
        }
    };
    let step_tokens = if optional { quote!(if input_grad #step_tokens) } else { step_tokens };
    respan(step_tokens, layer.span)
}

/// Initialization of every parameter tensor (into `params`) and buffer (into `buffers`),
/// in PyTorch's order: one step per layer that has any.
fn init_calls(net: &Network, plan: &Plan) -> Vec<TokenStream> {
    let mut calls = Vec::new();
    for (i, layer) in net.layers.iter().enumerate() {
        let mut layer_calls = Vec::new();
        for (storage, tensors, start) in
            [(quote!(params), &layer.tensors, plan.params[i].0), (quote!(buffers), &layer.buffers, plan.buffers[i].0)]
        {
            let mut offset = start;
            for tensor in tensors {
                let len: u64 = tensor.shape.iter().product();
                let slice = param_slice(storage.clone(), (offset, offset + len), true);
                layer_calls.push(match tensor.init {
                    Init::PytorchDefault { fan_in } => {
                        let fan_in = lit(fan_in);
                        quote!(rt::init::pytorch_default(#slice, #fan_in, &mut rng);)
                    }
                    Init::Constant(value) => quote!(rt::init::constant(#slice, #value);),
                });
                offset += len;
            }
        }
        if !layer_calls.is_empty() {
            calls.push(respan(quote!(#(#layer_calls)*), layer.span));
        }
    }
    calls
}

fn layer_table(net: &Network) -> TokenStream {
    let rows = net.layers.iter().map(|l| {
        let (key, kind, written) = (&l.key, l.kind, &l.written);
        let shape = usize_array(&l.output);
        let params = lit(l.params);
        let flops = lit(l.flops);
        let info = |tensors: &[crate::layers::ParamTensor]| {
            let rows = tensors.iter().map(|t| {
                let key = format!("{}.{}", l.key, t.suffix);
                let shape = usize_array(&t.shape);
                quote!(rt::TensorInfo { key: #key, shape: &#shape })
            });
            quote!(&[#(#rows),*])
        };
        let (tensors, buffers) = (info(&l.tensors), info(&l.buffers));
        let axes = axis_letters(l.axes);
        quote! {
            rt::LayerInfo {
                key: #key, kind: #kind, written: #written, output_shape: &#shape, output_axes: #axes,
                params: #params, flops: #flops, tensors: #tensors, buffers: #buffers,
            }
        }
    });
    quote!(&[#(#rows),*])
}

/// The letters `rt::LayerInfo::output_axes` carries: those of a rank-2 value only.
fn axis_letters(axes: Axes) -> String {
    match axes {
        Axes::Sequence | Axes::Signal => axes.letters().concat(),
        Axes::Features | Axes::Image => String::new(),
    }
}

/// The most forward or backward steps one generated function holds. Compile time grows
/// faster than linearly with the size of one function (rustc's MIR optimizations and
/// LLVM's passes), so a longer sequence is split into functions of this many steps,
/// called in order; a network this short keeps its steps in one body.
pub const STEPS_PER_FUNCTION: usize = 32;

/// `steps` as one body, or, when there are more than [`STEPS_PER_FUNCTION`], calls to
/// functions `#prefix_0`, `#prefix_1`… of that many steps each (returned second, to be
/// emitted beside the network's code), which take `parameters` and are passed
/// `arguments`: the names the steps use.
fn split(
    steps: Vec<TokenStream>, prefix: &str, parameters: TokenStream, arguments: TokenStream,
) -> (TokenStream, TokenStream) {
    split_with(steps, prefix, quote!(<F: rt::Float>), parameters, arguments)
}

/// [`split`] with the functions' `generics` given (none where nothing is generic).
fn split_with(
    steps: Vec<TokenStream>, prefix: &str, generics: TokenStream, parameters: TokenStream, arguments: TokenStream,
) -> (TokenStream, TokenStream) {
    if steps.len() <= STEPS_PER_FUNCTION {
        return (quote!(#(#steps)*), TokenStream::new());
    }
    let (mut calls, mut functions) = (TokenStream::new(), TokenStream::new());
    for (i, chunk) in steps.chunks(STEPS_PER_FUNCTION).enumerate() {
        let name = quote::format_ident!("{prefix}_{i}");
        calls.extend(quote!(#name(#arguments);));
        // Never inlined: a function called once would be, undoing the split.
        functions.extend(quote! {
            #[inline(never)]
            #[allow(unused_variables, clippy::too_many_arguments)]
            fn #name #generics(#parameters) {
                #(#chunk)*
            }
        });
    }
    (calls, functions)
}

/// Segments of steps as the arms of a `match segment` (one segment: its body alone),
/// each split into functions as [`split`] splits.
fn segmented(
    mut segments: Vec<Vec<TokenStream>>, prefix: &str, parameters: TokenStream, arguments: TokenStream,
) -> (TokenStream, TokenStream) {
    if segments.len() == 1 {
        let steps = segments.pop().expect("one segment");
        return split(steps, prefix, parameters, arguments);
    }
    let (mut arms, mut functions) = (Vec::new(), TokenStream::new());
    for (k, steps) in segments.into_iter().enumerate() {
        let (body, fns) = split(steps, &format!("{prefix}{k}"), parameters.clone(), arguments.clone());
        let k = lit(k as u64);
        arms.push(quote!(#k => { #body }));
        functions.extend(fns);
    }
    (quote!(match segment { #(#arms)* _ => {} }), functions)
}

/// The attributes among `attrs` that decide whether the network is compiled at all —
/// every `#[cfg(..)]`, and every `#[cfg_attr(predicate, ..)]` holding one, reduced to
/// its `cfg`s — for the items emitted beside the struct, which they must configure out
/// with it. Other attributes (`derive`, `doc`, `allow`…) stay on the struct alone.
pub fn cfg_attrs(attrs: &[syn::Attribute]) -> Vec<TokenStream> {
    attrs
        .iter()
        .filter_map(|attr| cfg_only(quote::ToTokens::to_token_stream(&attr.meta)).map(|kept| quote!(#[#kept])))
        .collect()
}

/// An attribute's content (`cfg(test)`, `cfg_attr(p, a, b)`, `derive(Debug)`) reduced to
/// what configures: itself for a `cfg`, a `cfg_attr` with only its `cfg`s (and
/// `cfg_attr`s holding one), or `None`.
fn cfg_only(content: TokenStream) -> Option<TokenStream> {
    let mut tokens = content.clone().into_iter();
    let (Some(TokenTree::Ident(path)), arguments) = (tokens.next(), tokens.next()) else { return None };
    if path == "cfg" {
        return Some(content);
    }
    let (true, Some(TokenTree::Group(arguments)), None) = (path == "cfg_attr", arguments, tokens.next()) else {
        return None;
    };
    // Split at top-level commas: the predicate, then the attributes.
    let mut parts = vec![TokenStream::new()];
    for token in arguments.stream() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(TokenStream::new()),
            _ => parts.last_mut().expect("one part at least").extend([token]),
        }
    }
    let predicate = parts.remove(0);
    let kept: Vec<TokenStream> = parts.into_iter().filter(|p| !p.is_empty()).filter_map(cfg_only).collect();
    (!kept.is_empty()).then(|| quote!(cfg_attr(#predicate, #(#kept),*)))
}

/// The values of a network's inherent constants (`Net::PARAMS`…), as tokens.
pub struct Inherent {
    /// `[usize; RANK] = [..]`
    pub input_shape: TokenStream,
    pub output_shape: TokenStream,
    pub input_len: TokenStream,
    pub output_len: TokenStream,
    pub params: TokenStream,
    pub flops: TokenStream,
    pub activations: TokenStream,
    pub layers: TokenStream,
}

/// `impl #name { … }`: the constants and constructors every network has without the
/// trait in scope, each documented (a crate may `#![deny(missing_docs)]`). The stub of
/// a network with mistakes has them too.
pub fn inherent_impl(name: &syn::Ident, values: &Inherent) -> TokenStream {
    let Inherent { input_shape, output_shape, input_len, output_len, params, flops, activations, layers } = values;
    quote! {
        impl #name {
            /// One sample's input shape, channels first.
            pub const INPUT_SHAPE: #input_shape;
            /// One sample's output shape.
            pub const OUTPUT_SHAPE: #output_shape;
            /// Elements in one input sample.
            pub const INPUT_LEN: usize = #input_len;
            /// Elements in one output sample.
            pub const OUTPUT_LEN: usize = #output_len;
            /// Trainable parameters, counted as PyTorch counts them.
            pub const PARAMS: usize = #params;
            /// Forward floating-point operations per sample (a multiply-add counts two).
            pub const FLOPS: u64 = #flops;
            /// Activation values one sample keeps during a training step.
            pub const ACTIVATION_ELEMENTS: usize = #activations;
            /// [`Self::ACTIVATION_ELEMENTS`] in bytes, in `f32`.
            pub const ACTIVATION_BYTES: usize = #activations * ::core::mem::size_of::<f32>();
            /// One row per layer: key, kind, output shape, parameters.
            pub const LAYERS: &'static [rt::LayerInfo] = #layers;

            /// A network with PyTorch's default initialization drawn from `seed`.
            ///
            /// # Panics
            ///
            /// When its parameters, gradients and buffers cannot be allocated, with the
            /// bytes they need: [`Self::try_new`] returns that as an error.
            #[track_caller]
            pub fn new(seed: u64) -> Self {
                <Self as rt::Network<f32>>::with_seed(seed)
            }

            /// A network with PyTorch's default initialization drawn from `seed`, or
            /// an error naming the bytes needed when its parameters, gradients and
            /// buffers cannot be allocated.
            pub fn try_new(seed: u64) -> ::core::result::Result<Self, rt::Error> {
                <Self as rt::Network<f32>>::try_with_seed(seed)
            }

            /// The Keras-style summary table; print it with `{}`.
            pub fn summary() -> rt::Summary {
                <Self as rt::Network<f32>>::summary()
            }
        }
    }
}

/// The whole expansion for one checked network. What needs `std` (the struct owning
/// `Vec`s, training, the `Network` trait) goes through `::nn::__private::with_std!`,
/// which drops it when `nn` is built without its `std` feature: the macro cannot see
/// `nn`'s features itself. The static inference type stays.
pub fn generate(net: &Network, embedded: &Embedded) -> TokenStream {
    let plan = plan(net);
    let (static_outside, static_inside) = static_inference::generate(net, &plan, embedded.weights.as_ref());
    let (int8_outside, int8_inside) = int8::generate(net, &plan, embedded.int8.as_ref());
    let groups = forward_groups(net, &plan);
    let training_layout = training_placement(&plan);
    let inference_layout = inference_placement(net, &plan, &groups, Pass::Inference);
    let back = backward_plan(net, &plan);
    let grads = gradient_plan(net, &plan, &back);
    let Network { attrs, vis, name, .. } = net;
    let cfgs = cfg_attrs(attrs);
    let name_str = name.to_string();
    let last = net.output();
    let Buffer::Activation { offset: output_offset, .. } = plan.buffer(last.value) else {
        unreachable!("the output is never the input")
    };
    let Buffer::Activation { offset: inference_output_offset, .. } = inference_layout.buffer(&plan, last.value) else {
        unreachable!("the output is never the input")
    };
    let inference_output_offset = lit(inference_output_offset);
    let inference_activations = lit(inference_layout.total);

    let input_shape = usize_array(&net.input);
    let output_shape = usize_array(&last.output);
    let input_axes = axis_letters(net.input_axes);
    // A sequence's output is, to the losses, one sample per step (SPEC §6).
    let loss_rows = match (last.axes, last.output.as_slice()) {
        (Axes::Sequence, &[steps, classes]) => {
            let (steps, classes) = (lit(steps), lit(classes));
            quote! {
                const LOSS_ROWS: usize = #steps;
                const LOSS_SHAPE: &'static [usize] = &[#classes];
            }
        }
        _ => TokenStream::new(),
    };
    let (input_rank, output_rank) = (lit(net.input.len() as u64), lit(last.output.len() as u64));
    let input_len = lit(net.input_len());
    let output_len = lit(last.output_len);
    let params = lit(net.params);
    let flops = lit(net.flops);
    let activations = lit(plan.activations);
    let gradient = lit(grads.len);
    let scratch = lit(plan.scratch);
    let scratch_per_sample = lit(plan.scratch_per_sample);
    let (chunk_scratch, inference_chunk_scratch) = (lit(plan.chunk_scratch), lit(plan.inference_chunk_scratch));
    let batch_stats = lit(plan.batch_stats_len);
    let partials = lit(plan.partials_len);
    let buffers_len = lit(plan.buffers_len);
    let output_offset = lit(output_offset);
    let layers = layer_table(net);
    // Batch norm's statistics span the whole batch: chunks stop at its barriers.
    let barriers: Vec<TokenStream> = net
        .layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let b = l.op.barrier()?;
            let (channels, per_sample, eps, momentum) = (lit(b.channels), lit(b.per_sample), b.eps, b.momentum);
            let (stats, partials, buffers) =
                (lit(plan.batch_stats[i].0), lit(plan.partials[i].0), lit(plan.buffers[i].0));
            Some(quote! {
                rt::batchnorm::Barrier {
                    channels: #channels,
                    per_sample: #per_sample,
                    stats: #stats,
                    partials: #partials,
                    buffers: #buffers,
                    eps: #eps,
                    momentum: #momentum,
                }
            })
        })
        .collect();
    let segments = lit(barriers.len() as u64 + 1);
    let (min_batch, min_batch_layer) = net
        .layers
        .iter()
        .map(|l| (l.op.min_training_batch(), l.key.as_str()))
        .filter(|(batch, _)| *batch > 1)
        .max_by_key(|(batch, _)| *batch)
        .unwrap_or((1, ""));
    let min_batch = lit(min_batch);
    let (init, init_fns) = split(
        init_calls(net, &plan),
        "__init",
        // The steps pass `&mut rng`, as `with_seed`'s own `rng` is the generator itself.
        quote!(params: &mut [F], buffers: &mut [F], mut rng: &mut rt::rng::Rng,),
        quote!(&mut params, &mut buffers, &mut rng),
    );

    let items = net.layers.iter().map(|l| l.op.items());
    let forward_parameters = quote! {
        all_params: &[F], all_buffers: &[F], rng: &mut rt::rng::Rng, training: bool, for_backward: bool,
        activations: &mut [F], scratch: &mut [F], all_batch_stats: &mut [F], all_partials: &mut [f64], input: &[F],
        batch: usize,
    };
    let forward_arguments = quote!(
        all_params,
        all_buffers,
        rng,
        training,
        for_backward,
        activations,
        scratch,
        all_batch_stats,
        all_partials,
        input,
        batch
    );
    let (forward, forward_fns) = segmented(
        forward_steps(net, &plan, &groups, &training_layout, Pass::Training),
        "__forward",
        forward_parameters.clone(),
        forward_arguments.clone(),
    );
    let (inference, inference_fns) = segmented(
        forward_steps(net, &plan, &groups, &inference_layout, Pass::Inference),
        "__infer",
        forward_parameters,
        forward_arguments,
    );
    let (backward, backward_fns) = segmented(
        backward_steps(net, &plan, &back, &grads),
        "__backward",
        quote! {
            all_params: &[F], all_grads: &mut [F], training: bool, activations: &mut [F], gradients: &mut [F],
            scratch: &mut [F], all_batch_stats: &mut [F], all_partials: &mut [f64], input_grad_buffer: &mut [F],
            input: &[F], batch: usize, input_grad: bool,
        },
        quote! {
            all_params, all_grads, training, activations, gradients, scratch, all_batch_stats, all_partials,
            input_grad_buffer, input, batch, input_grad
        },
    );

    let inherent = inherent_impl(
        name,
        &Inherent {
            input_shape: quote!([usize; #input_rank] = #input_shape),
            output_shape: quote!([usize; #output_rank] = #output_shape),
            input_len: quote!(#input_len),
            output_len: quote!(#output_len),
            params: quote!(#params),
            flops: quote!(#flops),
            activations: quote!(#activations),
            layers,
        },
    );
    let doc = format!(
        " Generated by `network!`: input {} → output {}, {} parameters, {} forward FLOPs per sample.",
        net.input_axes.render(&net.input),
        last.axes.render(&last.output),
        crate::diag::thousands(net.params),
        crate::diag::thousands(net.flops),
    );
    quote! {
        ::nn::__private::with_std! {
            #(#attrs)*
            #[doc = ""]
            #[doc = #doc]
            #vis struct #name<F: ::nn::__private::Float = f32> {
                params: ::std::vec::Vec<F>,
                grads: ::std::vec::Vec<F>,
                buffers: ::std::vec::Vec<F>,
                workspace: ::nn::__private::workspace::Workspace<F>,
                rng: ::nn::__private::rng::Rng,
                step: ::nn::__private::network::StepBuffers<F>,
                training: bool,
            }
        }

        #static_outside
        #int8_outside

        // The network's attributes may configure it out: its code goes with it.
        #(#cfgs)*
        // Its uses of a `#[deprecated]` network's struct are not the user's.
        #[allow(deprecated)]
        const _: () = {
            use ::nn::__private as rt;

            #(#items)*
            #static_inside
            #int8_inside

            rt::with_std! {
            #init_fns
            #forward_fns
            #inference_fns
            #backward_fns

            #inherent

            impl<F: rt::Float> rt::Network<F> for #name<F> {
                const NAME: &'static str = #name_str;
                const INPUT_SHAPE: &'static [usize] = &#input_shape;
                const OUTPUT_SHAPE: &'static [usize] = &#output_shape;
                const INPUT_AXES: &'static str = #input_axes;
                #loss_rows
                const INPUT_LEN: usize = #input_len;
                const OUTPUT_LEN: usize = #output_len;
                const PARAMS: usize = #params;
                const FLOPS: u64 = #flops;
                const ACTIVATION_ELEMENTS: usize = #activations;
                const LAYERS: &'static [rt::LayerInfo] = #name::LAYERS;
                const LAYOUT: rt::workspace::Layout = rt::workspace::Layout {
                    activations: #activations,
                    output_offset: #output_offset,
                    inference: #inference_activations,
                    inference_output_offset: #inference_output_offset,
                    gradient: #gradient,
                    scratch: #scratch,
                    scratch_per_sample: #scratch_per_sample,
                    chunk_scratch: #chunk_scratch,
                    inference_chunk_scratch: #inference_chunk_scratch,
                    batch_stats: #batch_stats,
                    partials: #partials,
                };
                const BUFFERS: usize = #buffers_len;
                const SEGMENTS: usize = #segments;
                const BARRIERS: &'static [rt::batchnorm::Barrier] = &[#(#barriers),*];
                const MIN_TRAINING_BATCH: (usize, &'static str) = (#min_batch, #min_batch_layer);

                fn try_with_seed(seed: u64) -> ::core::result::Result<Self, rt::Error> {
                    let mut rng = rt::rng::Rng::new(seed);
                    let [mut params, grads, mut buffers] =
                        rt::network::allocate::<F>(#name_str, #params, #buffers_len)?;
                    #init
                    ::core::result::Result::Ok(#name {
                        params,
                        grads,
                        buffers,
                        workspace: ::core::default::Default::default(),
                        rng,
                        step: rt::network::StepBuffers::new(seed),
                        training: true,
                    })
                }
                fn params(&self) -> &[F] {
                    &self.params
                }
                fn params_mut(&mut self) -> &mut [F] {
                    &mut self.params
                }
                fn grads(&self) -> &[F] {
                    &self.grads
                }
                fn buffers(&self) -> &[F] {
                    &self.buffers
                }
                fn buffers_mut(&mut self) -> &mut [F] {
                    &mut self.buffers
                }
                fn is_training(&self) -> bool {
                    self.training
                }
                fn set_training(&mut self, training: bool) {
                    self.training = training;
                }
                fn __parts(&mut self) -> rt::network::Parts<'_, F> {
                    rt::network::Parts {
                        params: &mut self.params,
                        grads: &mut self.grads,
                        buffers: &mut self.buffers,
                        workspace: &mut self.workspace,
                        rng: &mut self.rng,
                        training: self.training,
                        step: &mut self.step,
                    }
                }

                #[allow(unused_variables)]
                fn __forward_in(
                    all_params: &[F],
                    all_buffers: &[F],
                    rng: &mut rt::rng::Rng,
                    training: bool,
                    for_backward: bool,
                    workspace: &mut rt::workspace::Workspace<F>,
                    input: &[F],
                    batch: usize,
                    segment: usize,
                ) {
                    let rt::workspace::Workspace {
                        activations, scratch, batch_stats: all_batch_stats, partials: all_partials, ..
                    } = workspace;
                    // Training keeps every value for backward; inference only the live ones.
                    if for_backward {
                        #forward
                    } else {
                        #inference
                    }
                }

                #[allow(unused_variables)]
                fn __backward_in(
                    all_params: &[F],
                    all_grads: &mut [F],
                    training: bool,
                    workspace: &mut rt::workspace::Workspace<F>,
                    input: &[F],
                    batch: usize,
                    input_grad: bool,
                    segment: usize,
                ) {
                    let rt::workspace::Workspace {
                        activations,
                        gradients,
                        scratch,
                        batch_stats: all_batch_stats,
                        partials: all_partials,
                        input_grad: input_grad_buffer,
                        ..
                    } = workspace;
                    #backward
                }
            }
            }
        };
    }
}
