//! Phase 3: the checked IR into Rust. Per layer, one straight-line call into a runtime
//! kernel whose every dimension is a literal const generic; backward is the same
//! sequence reversed. Buffers are planned here, once, as per-sample offsets.

use crate::ir::{CheckedLayer, Network};
use crate::layers::{lit, Init};
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::quote;

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

/// Where a layer's output lives.
#[derive(Clone, Copy)]
enum Buffer {
    /// The caller's input slice.
    Input,
    /// Per-sample `offset..offset + len` in the activation buffer (times the batch).
    Activation { offset: u64, len: u64 },
}

struct Plan {
    /// Each layer's output buffer.
    outputs: Vec<Buffer>,
    /// Each layer's per-sample `saved` range, right after its output.
    saved: Vec<(u64, u64)>,
    /// Layers whose output is their input, unmoved (views such as `flatten`).
    aliased: Vec<bool>,
    activations: u64,
    gradient: u64,
    scratch: u64,
    scratch_per_sample: u64,
    /// Each layer's range in the parameters, the buffers and the batch statistics.
    params: Vec<(u64, u64)>,
    buffers: Vec<(u64, u64)>,
    batch_stats: Vec<(u64, u64)>,
    buffers_len: u64,
    batch_stats_len: u64,
}

fn plan(net: &Network) -> Plan {
    let mut plan = Plan {
        outputs: Vec::new(),
        saved: Vec::new(),
        aliased: Vec::new(),
        activations: 0,
        gradient: net.layers.iter().map(|l| l.output_len).chain([net.input_len()]).max().unwrap_or(0),
        scratch: net.layers.iter().map(|l| l.scratch).max().unwrap_or(0),
        scratch_per_sample: net.layers.iter().map(|l| l.scratch_per_sample).max().unwrap_or(0),
        params: Vec::new(),
        buffers: Vec::new(),
        batch_stats: Vec::new(),
        buffers_len: 0,
        batch_stats_len: 0,
    };
    let mut params = 0;
    for layer in &net.layers {
        let input = plan.outputs.last().copied().unwrap_or(Buffer::Input);
        let alias = layer.op.is_view() && matches!(input, Buffer::Activation { .. });
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

/// The forward calls in order. A layer followed by an activation whose derivative
/// reads only its output (relu, tanh, sigmoid) runs that activation in its own epilogue
/// where its kernel has one, writing the activation's output directly: one pass over
/// memory fewer. The layer's own output buffer is then never written; nothing reads it
/// (its backward reads its input, the activation's backward its output). A pooling
/// layer after that (or right after the layer) pools each plane in the same epilogue
/// while it is still in L1; the pooling's input is written only for backward.
fn forward_steps(net: &Network, plan: &Plan) -> Vec<TokenStream> {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < net.layers.len() {
        let layer = &net.layers[i];
        if plan.aliased[i] {
            i += 1;
            continue;
        }
        // A following layer that reads only this step's output, in place of a pass.
        let fusable = |j: usize| net.layers.get(j).filter(|next| !plan.aliased[j] && next.saved == 0);
        let activation = fusable(i + 1).filter(|_| layer.saved == 0).and_then(|next| next.op.fusable_activation());
        let last = if activation.is_some() { i + 1 } else { i };
        let pool = fusable(last + 1).filter(|_| net.layers[last].saved == 0).and_then(|next| next.op.plane_pool());
        let fused = if activation.is_none() && pool.is_none() {
            None
        } else {
            let (kernel, alpha) = activation.clone().unwrap_or((quote!(rt::activation::Identity), 0.0));
            layer.op.forward_then(&kernel, alpha, pool.as_ref())
        };
        match fused {
            Some(call) => {
                let pooled = pool.is_some().then_some(last + 1);
                steps.push(forward_step(i, last, pooled, call, layer, plan));
                i = pooled.unwrap_or(last) + 1;
            }
            None => {
                steps.push(forward_step(i, i, None, layer.op.forward(), layer, plan));
                i += 1;
            }
        }
    }
    steps
}

/// Layer `index`'s forward `call`, writing the output buffer of layer `output_index`
/// (itself, or the activation fused into it) and, where a pooling is fused after it,
/// layer `pooled_index`'s as `pooled`.
fn forward_step(
    index: usize, output_index: usize, pooled_index: Option<usize>, call: TokenStream, layer: &CheckedLayer,
    plan: &Plan,
) -> TokenStream {
    let Buffer::Activation { offset, len } = plan.outputs[output_index] else {
        unreachable!("outputs are never the input")
    };
    let (_, saved_end) = plan.saved[output_index];
    // The pooled buffer follows the output (the planner lays buffers out in order):
    // one range holds both, split after the output.
    let (written_end, pooled) = match pooled_index.map(|j| plan.outputs[j]) {
        Some(Buffer::Activation { offset: pooled_offset, len: pooled_len }) => {
            let (split, pooled_elements) = (lit(pooled_offset - offset), lit(pooled_len));
            // Only backward reads the pooling's input: inference leaves it unwritten.
            let split = quote! {
                let (y, pooled) = y.split_at_mut(#split * batch);
                let pooled = &mut pooled[..#pooled_elements * batch];
                let y: &mut [F] = if for_backward { y } else { &mut [] };
            };
            (pooled_offset + pooled_len, Some(split))
        }
        _ => (saved_end, None),
    };
    let output = range(offset, written_end);
    let io = match index.checked_sub(1).map(|i| plan.outputs[i]) {
        None | Some(Buffer::Input) => quote! {
            let x = input;
            let y = &mut activations[#output];
        },
        Some(Buffer::Activation { offset: in_offset, len: in_len }) => {
            let input = range(in_offset, in_offset + in_len);
            quote!(let (x, y) = rt::workspace::split_io(activations, #input, #output);)
        }
    };
    let saved = (layer.saved > 0).then(|| {
        let len = lit(len);
        quote!(let (y, saved) = y.split_at_mut(#len * batch);)
    });
    let params = bind_slice(quote!(params), quote!(all_params), plan.params[index], false);
    let buffers = bind_slice(quote!(buffers), quote!(all_buffers), plan.buffers[index], true);
    let batch_stats = bind_slice(quote!(batch_stats), quote!(all_batch_stats), plan.batch_stats[index], true);
    let step = quote! {
        {
            #params
            #buffers
            #batch_stats
            #io
            #saved
            #pooled
            #call;
        }
    };
    respan(step, layer.span)
}

/// The backward calls, last layer first, alternating between the two gradient buffers.
/// A pooling preceded by an activation whose derivative reads only its output runs
/// that activation's backward in the same pass, plane by plane (the activation's output
/// is the pooling's input, which training keeps): one pass over memory fewer.
fn backward_steps(net: &Network, plan: &Plan) -> Vec<TokenStream> {
    let mut steps = Vec::new();
    let mut dy_in_a = true;
    let mut i = net.layers.len();
    while i > 0 {
        i -= 1;
        let layer = &net.layers[i];
        if plan.aliased[i] {
            continue;
        }
        // Not the first layer's activation: its input gradient has a buffer of its own.
        let fused = i
            .checked_sub(1)
            .filter(|&before| before > 0 && !plan.aliased[before] && net.layers[before].saved == 0)
            .and_then(|before| net.layers[before].op.fusable_activation())
            .and_then(|(activation, alpha)| layer.op.backward_after(&activation, alpha));
        let call = fused.clone().unwrap_or_else(|| layer.op.backward());
        steps.push(backward_step(i, layer, call, plan, dy_in_a, net.input_len()));
        dy_in_a = !dy_in_a;
        if fused.is_some() {
            i -= 1;
        }
    }
    steps
}

fn backward_step(
    index: usize, layer: &CheckedLayer, call: TokenStream, plan: &Plan, dy_in_a: bool, input_len: u64,
) -> TokenStream {
    let Buffer::Activation { offset, len } = plan.outputs[index] else { unreachable!("outputs are never the input") };
    let output = range(offset, offset + len);
    let (dy_buffer, dx_buffer) =
        if dy_in_a { (quote!(grad_a), quote!(grad_b)) } else { (quote!(grad_b), quote!(grad_a)) };
    let x = match index.checked_sub(1).map(|i| plan.outputs[i]) {
        None | Some(Buffer::Input) => quote!(input),
        Some(Buffer::Activation { offset, len }) => {
            let r = range(offset, offset + len);
            quote!(&activations[#r])
        }
    };
    let dy_len = range(0, len);
    let dx_len = range(0, if index == 0 { input_len } else { layer.input.iter().product() });
    let first = index == 0;
    let has_params = layer.params > 0;
    let dx = match (first, has_params) {
        (false, false) => quote!(let dx = &mut #dx_buffer[#dx_len];),
        (false, true) => quote!(let dx = Some(&mut #dx_buffer[#dx_len]);),
        (true, false) => quote!(let dx = &mut input_grad_buffer[#dx_len];),
        (true, true) => {
            quote!(let dx = if input_grad { Some(&mut input_grad_buffer[#dx_len]) } else { None };)
        }
    };
    let params = has_params.then(|| {
        let p = param_slice(quote!(all_params), plan.params[index], false);
        let g = param_slice(quote!(all_grads), plan.params[index], true);
        quote! {
            let params = #p;
            let grads = #g;
        }
    });
    let saved = (layer.saved > 0).then(|| {
        let r = range(plan.saved[index].0, plan.saved[index].1);
        quote!(let saved = &activations[#r];)
    });
    let batch_stats = bind_slice(quote!(batch_stats), quote!(all_batch_stats), plan.batch_stats[index], false);
    let step = quote! {
        {
            #params
            #saved
            #batch_stats
            let x = #x;
            let y = &activations[#output];
            let dy = &#dy_buffer[#dy_len];
            #dx
            #call;
        }
    };
    let step = if first && !has_params { quote!(if input_grad #step) } else { step };
    respan(step, layer.span)
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
        quote! {
            rt::LayerInfo {
                key: #key, kind: #kind, written: #written, output_shape: &#shape, params: #params,
                flops: #flops, tensors: #tensors, buffers: #buffers,
            }
        }
    });
    quote!(&[#(#rows),*])
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
            fn #name<F: rt::Float>(#parameters) {
                #(#chunk)*
            }
        });
    }
    (calls, functions)
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

/// The whole expansion for one checked network.
pub fn generate(net: &Network) -> TokenStream {
    let plan = plan(net);
    let Network { attrs, vis, name, .. } = net;
    let cfgs = cfg_attrs(attrs);
    let name_str = name.to_string();
    let last = net.output();
    let Buffer::Activation { offset: output_offset, .. } = plan.outputs[net.layers.len() - 1] else {
        unreachable!("the output is never the input")
    };

    let input_shape = usize_array(&net.input);
    let output_shape = usize_array(&last.output);
    let (input_rank, output_rank) = (lit(net.input.len() as u64), lit(last.output.len() as u64));
    let input_len = lit(net.input_len());
    let output_len = lit(last.output_len);
    let params = lit(net.params);
    let flops = lit(net.flops);
    let activations = lit(plan.activations);
    let gradient = lit(plan.gradient);
    let scratch = lit(plan.scratch);
    let scratch_per_sample = lit(plan.scratch_per_sample);
    let batch_stats = lit(plan.batch_stats_len);
    let buffers_len = lit(plan.buffers_len);
    let output_offset = lit(output_offset);
    let layers = layer_table(net);
    // Batch norm's statistics span the whole batch: such networks never split it.
    let splittable = net.layers.iter().all(|l| l.buffer_len == 0 && l.batch_stats == 0);
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
    let (forward, forward_fns) = split(
        forward_steps(net, &plan),
        "__forward",
        quote! {
            all_params: &[F], all_buffers: &mut [F], rng: &mut rt::rng::Rng, training: bool, for_backward: bool,
            activations: &mut [F], scratch: &mut [F], all_batch_stats: &mut [F], input: &[F], batch: usize,
        },
        quote!(
            all_params,
            all_buffers,
            rng,
            training,
            for_backward,
            activations,
            scratch,
            all_batch_stats,
            input,
            batch
        ),
    );
    let (backward, backward_fns) = split(
        backward_steps(net, &plan),
        "__backward",
        quote! {
            all_params: &[F], all_grads: &mut [F], training: bool, activations: &mut [F], grad_a: &mut [F],
            grad_b: &mut [F], scratch: &mut [F], all_batch_stats: &mut [F], input_grad_buffer: &mut [F],
            input: &[F], batch: usize, input_grad: bool,
        },
        quote! {
            all_params, all_grads, training, activations, grad_a, grad_b, scratch, all_batch_stats, input_grad_buffer,
            input, batch, input_grad
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
        crate::diag::shape(&net.input),
        crate::diag::shape(&last.output),
        crate::diag::thousands(net.params),
        crate::diag::thousands(net.flops),
    );
    quote! {
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

        // The network's attributes may configure it out: its code goes with it.
        #(#cfgs)*
        // Its uses of a `#[deprecated]` network's struct are not the user's.
        #[allow(deprecated)]
        const _: () = {
            use ::nn::__private as rt;

            #(#items)*
            #init_fns
            #forward_fns
            #backward_fns

            #inherent

            impl<F: rt::Float> rt::Network<F> for #name<F> {
                const NAME: &'static str = #name_str;
                const INPUT_SHAPE: &'static [usize] = &#input_shape;
                const OUTPUT_SHAPE: &'static [usize] = &#output_shape;
                const INPUT_LEN: usize = #input_len;
                const OUTPUT_LEN: usize = #output_len;
                const PARAMS: usize = #params;
                const FLOPS: u64 = #flops;
                const ACTIVATION_ELEMENTS: usize = #activations;
                const LAYERS: &'static [rt::LayerInfo] = #name::LAYERS;
                const LAYOUT: rt::workspace::Layout = rt::workspace::Layout {
                    activations: #activations,
                    output_offset: #output_offset,
                    gradient: #gradient,
                    scratch: #scratch,
                    scratch_per_sample: #scratch_per_sample,
                    batch_stats: #batch_stats,
                };
                const BUFFERS: usize = #buffers_len;
                const SPLITTABLE: bool = #splittable;
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
                    all_buffers: &mut [F],
                    rng: &mut rt::rng::Rng,
                    training: bool,
                    for_backward: bool,
                    workspace: &mut rt::workspace::Workspace<F>,
                    input: &[F],
                    batch: usize,
                ) {
                    let rt::workspace::Workspace { activations, scratch, batch_stats: all_batch_stats, .. } = workspace;
                    #forward
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
                ) {
                    let rt::workspace::Workspace {
                        activations, grad_a, grad_b, scratch, batch_stats: all_batch_stats, input_grad: input_grad_buffer, ..
                    } = workspace;
                    #backward
                }
            }
        };
    }
}
