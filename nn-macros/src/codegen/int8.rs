//! The int8 type of a chain network whose every layer has an int8 form (convolutions,
//! linear layers, pooling, elementwise activations, views, dropout): `<Net>Int8`, its
//! quantized weights borrowed, its working memory a `<Net>Int8Memory` — no heap, no
//! `std`, like the static inference type. A weighted layer runs its activation in its
//! epilogue; the last weighted layer writes `f32`. With `std`, `Net::quantize`
//! calibrates a trained network into an `Int8Model` laid out as the plan below says.

use super::{lit, split_with, Buffer, Plan};
use crate::ir::Network;
use crate::layers::Int8Op;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

/// One step of the int8 forward and where it reads and writes.
struct Step {
    /// The node it starts at (a weighted layer's activation is fused in).
    node: usize,
    /// The node whose output it writes.
    last: usize,
    /// Its quantization slots: the input's, and the output's (`None`: it writes `f32`).
    input_slot: usize,
    output_slot: Option<usize>,
    /// Offsets in the quantized model's arrays (weighted steps).
    weights: u64,
    biases: u64,
    multipliers: u64,
    /// The fused activation of a weighted step: its `rt::activation` type and alpha.
    activation: Option<(TokenStream, f64)>,
}

/// The steps, or `None` where the network is not a chain of layers with int8 forms.
fn steps(net: &Network) -> Option<(Vec<Step>, [u64; 3])> {
    let ops: Vec<Int8Op> = net.layers.iter().map(|l| l.op.int8()).collect::<Option<_>>()?;
    let chain = net.layers.iter().enumerate().all(|(i, l)| l.inputs == [i]);
    if !chain {
        return None;
    }
    let (mut steps, mut slot, mut i) = (Vec::new(), 0, 0);
    let (mut weights, mut biases) = (0u64, 0u64);
    let mut weighted_outputs = Vec::new();
    while i < ops.len() {
        let input_slot = slot;
        let (last, output_slot, activation) = match &ops[i] {
            Int8Op::Conv { outputs, .. } | Int8Op::Linear { outputs, .. } => {
                let activation = match ops.get(i + 1) {
                    Some(Int8Op::Activation { kernel, alpha }) => Some((kernel.clone(), *alpha)),
                    _ => None,
                };
                let last = if activation.is_some() { i + 1 } else { i };
                let per_output = match &ops[i] {
                    Int8Op::Conv { per_output, .. } => *per_output,
                    Int8Op::Linear { inputs, .. } => *inputs,
                    _ => unreachable!("weighted"),
                };
                // Past this many products a sum of `i8 × i8` could leave `i32`.
                if per_output > MAX_PRODUCTS {
                    return None;
                }
                // The last weighted layer, with only views after it, writes `f32`.
                let output_slot = (!ops[last + 1..].iter().all(|op| matches!(op, Int8Op::Same))).then(|| {
                    slot += 1;
                    slot
                });
                steps.push(Step {
                    node: i,
                    last,
                    input_slot,
                    output_slot,
                    weights,
                    biases,
                    multipliers: 0,
                    activation: activation.clone(),
                });
                weighted_outputs.push(*outputs);
                weights = weights.checked_add(outputs.checked_mul(per_output)?)?;
                biases = biases.checked_add(*outputs)?;
                i = last + 1;
                continue;
            }
            Int8Op::Activation { .. } => {
                slot += 1;
                (i, Some(slot), None)
            }
            Int8Op::Pool { .. } => (i, Some(slot), None),
            // A view after the last weighted layer (which wrote `f32`) carries nothing.
            Int8Op::Same => {
                let after_f32 = steps.last().is_some_and(|s: &Step| s.output_slot.is_none());
                (i, (!after_f32).then_some(slot), None)
            }
        };
        steps.push(Step { node: i, last, input_slot, output_slot, weights: 0, biases: 0, multipliers: 0, activation });
        i = last + 1;
    }
    // The multipliers follow the slots' (scale, zero) pairs.
    let mut multipliers = 2 * (slot as u64 + 1);
    let mut outputs = weighted_outputs.into_iter();
    for step in steps.iter_mut().filter(|s| matches!(ops[s.node], Int8Op::Conv { .. } | Int8Op::Linear { .. })) {
        step.multipliers = multipliers;
        multipliers = multipliers.checked_add(outputs.next().unwrap_or(0))?;
    }
    Some((steps, [weights, biases, multipliers]))
}

/// The most products one output of an int8 layer sums: `2¹⁷ · 127 · 128 < 2³¹`.
const MAX_PRODUCTS: u64 = 1 << 17;

/// Why `net` has no int8 form, in words, or `None` where it has one.
pub fn why_not(net: &Network) -> Option<String> {
    if let Some(layer) = net.layers.iter().find(|l| l.op.int8().is_none()) {
        return Some(format!("`{}` (layer {}) has no int8 form yet", layer.written, layer.key));
    }
    let wide = |l: &&crate::ir::CheckedLayer| match l.op.int8() {
        Some(Int8Op::Conv { per_output, .. }) => per_output > MAX_PRODUCTS,
        Some(Int8Op::Linear { inputs, .. }) => inputs > MAX_PRODUCTS,
        _ => false,
    };
    if let Some(layer) = net.layers.iter().find(wide) {
        return Some(format!(
            "`{}` (layer {}) sums more than {MAX_PRODUCTS} products an output, which could overflow `i32`",
            layer.written, layer.key
        ));
    }
    if let Some((i, _)) = net.layers.iter().enumerate().find(|(i, l)| l.inputs != [*i]) {
        return Some(format!("`{}` (layer {}) is not in a plain chain", net.layers[i].written, net.layers[i].key));
    }
    steps(net).is_none().then(|| "its sizes overflow".to_string())
}

/// The element counts of a quantized model's weights, biases and scales for `net`, or
/// `None` where it has no int8 form.
pub fn sizes(net: &Network) -> Option<[u64; 3]> {
    steps(net).map(|(_, sizes)| sizes)
}

/// How many quantized values (each a scale and a zero point at the start of the scales)
/// `net`'s int8 form has, or `None` where it has none.
pub fn slots(net: &Network) -> Option<u64> {
    steps(net).map(|(steps, _)| {
        steps.iter().flat_map(|s| [Some(s.input_slot), s.output_slot]).flatten().max().unwrap_or(0) as u64 + 1
    })
}

/// `(items beside the network's struct, items inside its `const _` block)`; nothing for
/// a network that has no int8 form.
pub(super) fn generate(net: &Network, plan: &Plan, embedded: Option<&[TokenStream; 3]>) -> (TokenStream, TokenStream) {
    let Some((steps, [weight_len, bias_len, scale_len])) = steps(net) else {
        return (TokenStream::new(), TokenStream::new());
    };
    let ops: Vec<Int8Op> = net.layers.iter().filter_map(|l| l.op.int8()).collect();
    let value_len = |node: usize| net.layers[node].output_len;
    let largest = net.layers.iter().map(|l| l.output_len).chain([net.input_len()]).max().unwrap_or(0);
    let cols = ops.iter().map(|op| if let Int8Op::Conv { scratch, .. } = op { *scratch } else { 0 }).max().unwrap_or(0);
    let pairs = ops.iter().map(|op| if let Int8Op::Conv { pairs, .. } = op { *pairs } else { 0 }).max().unwrap_or(0);
    // f32 scratch: a pooling's planes.
    let tmp = ops.iter().map(|op| if let Int8Op::Pool { scratch, .. } = op { *scratch } else { 0 }).max().unwrap_or(0);
    let output_len = net.output().output_len;
    // Every size below fits 64 bits once these do; past them, no int8 type.
    let bytes = |parts: [u64; 4], words: [u64; 3]| -> Option<u64> {
        let words = words.iter().try_fold(0u64, |sum, &w| sum.checked_add(w))?.checked_mul(4)?;
        parts.iter().try_fold(words, |sum, &p| sum.checked_add(p))
    };
    let memory_bytes = bytes([largest, largest, cols, 0], [pairs, tmp, output_len]);
    let weight_bytes = bytes([weight_len, 0, 0, 0], [bias_len, scale_len, 0]);
    let (Some(memory_bytes), Some(weight_bytes)) = (memory_bytes, weight_bytes) else {
        return (TokenStream::new(), TokenStream::new());
    };
    if weight_bytes.max(memory_bytes) > i64::MAX as u64 / 8 {
        return (TokenStream::new(), TokenStream::new());
    }

    // The calls, alternating between the two value buffers.
    let mut calls = Vec::new();
    let mut in_a = true;
    // Whether the last step that computes (views compute nothing) wrote `f32`.
    let ends_weighted =
        steps.iter().rev().find(|s| !matches!(ops[s.node], Int8Op::Same)).is_some_and(|s| s.output_slot.is_none());
    let input_len = lit(net.input_len());
    calls.push(quote!(rt::int8::ops::quantize_input(input, rt::int8::Quant::at(scales, 0), &mut a[..#input_len]);));
    let mut current_len = net.input_len();
    let mut table = Vec::new();
    for step in &steps {
        let op = &ops[step.node];
        let (in_slot, out_len) = (step.input_slot, value_len(step.last));
        let (current, next) = if in_a { (quote!(a), quote!(b)) } else { (quote!(b), quote!(a)) };
        let (x_len, y_len) = (lit(current_len), lit(out_len));
        let x = quote!(&#current[..#x_len]);
        let out = match step.output_slot {
            Some(slot) => quote!(rt::int8::ops::Out::Int8(&mut #next[..#y_len], rt::int8::Quant::at(scales, #slot))),
            None => quote!(rt::int8::ops::Out::F32(&mut output[..])),
        };
        let (kernel, alpha) = step.activation.clone().unwrap_or((quote!(rt::activation::Identity), 0.0));
        let alpha = alpha as f32;
        let weighted = |outputs: u64, per_output: u64| {
            let (w0, w1) = (lit(step.weights), lit(step.weights + outputs * per_output));
            let (b0, b1) = (lit(step.biases), lit(step.biases + outputs));
            let (m0, m1) = (lit(step.multipliers), lit(step.multipliers + outputs));
            (quote!(&weights[#w0..#w1]), quote!(&biases[#b0..#b1]), quote!(&scales[#m0..#m1]))
        };
        let params = plan.params[step.node].0 as usize;
        let value = match plan.buffer(net.layers[step.last].value) {
            Buffer::Activation { offset, len } => (offset as usize, len as usize),
            Buffer::Input => (0, 0),
        };
        let (value_offset, value_len) = (lit(value.0 as u64), lit(value.1 as u64));
        let output_slot = match step.output_slot {
            Some(slot) => quote!(::core::option::Option::Some(#slot)),
            None => quote!(::core::option::Option::None),
        };
        let row = |kind: TokenStream| quote!(rt::int8::Step { kind: #kind, input_slot: #in_slot, output_slot: #output_slot, value: (#value_offset, #value_len) });
        let call = match op {
            Int8Op::Conv { geometry, outputs, per_output, bias, .. } => {
                let (w, b, m) = weighted(*outputs, *per_output);
                table.push(row(weighted_kind(params, *outputs, *per_output, *bias, step)));
                quote!(rt::int8::ops::conv::<#geometry, #kernel>(#x, rt::int8::Quant::at(scales, #in_slot).zero, #w, #b, #m, #alpha, #out, &mut cols[..], &mut pairs[..]);)
            }
            Int8Op::Linear { inputs, outputs, bias } => {
                let (w, b, m) = weighted(*outputs, *inputs);
                table.push(row(weighted_kind(params, *outputs, *inputs, *bias, step)));
                let (i, o) = (lit(*inputs), lit(*outputs));
                quote!(rt::int8::ops::linear::<#kernel, #i, #o>(#x, #w, #b, #m, #alpha, #out);)
            }
            Int8Op::Pool { plane, channels, .. } => {
                table.push(row(quote!(rt::int8::StepKind::Carry)));
                let c = lit(*channels);
                quote!(rt::int8::ops::pool::<#plane, #c>(#x, rt::int8::Quant::at(scales, #in_slot), &mut #next[..#y_len], &mut tmp[..]);)
            }
            Int8Op::Activation { kernel, alpha } => {
                table.push(row(quote!(rt::int8::StepKind::Activation)));
                let slot = step.output_slot.unwrap_or(in_slot);
                let alpha = *alpha as f32;
                quote!(rt::int8::ops::activation::<#kernel>(#x, rt::int8::Quant::at(scales, #in_slot), &mut #next[..#y_len], rt::int8::Quant::at(scales, #slot), #alpha);)
            }
            Int8Op::Same => {
                table.push(row(quote!(rt::int8::StepKind::Carry)));
                current_len = out_len;
                continue;
            }
        };
        calls.push(call);
        in_a = !in_a;
        current_len = out_len;
    }
    if !ends_weighted {
        let current = if in_a { quote!(a) } else { quote!(b) };
        let len = lit(current_len);
        let slot = steps.iter().rev().find_map(|s| s.output_slot).unwrap_or(0);
        calls.push(
            quote!(rt::int8::ops::dequantize(&#current[..#len], rt::int8::Quant::at(scales, #slot), &mut output[..]);),
        );
    }

    let (steps, functions) = split_with(
        calls,
        "__int8",
        TokenStream::new(),
        quote! {
            input: &[f32], a: &mut [i8], b: &mut [i8], cols: &mut [i8], pairs: &mut [i32], tmp: &mut [f32],
            output: &mut [f32], weights: &[i8], biases: &[i32], scales: &[f32],
        },
        quote!(input, a, b, cols, pairs, tmp, output, weights, biases, scales),
    );
    let name = &net.name;
    let vis = &net.vis;
    let int8 = format_ident!("{}Int8", name);
    let memory = format_ident!("{}Int8Memory", name);
    let cfgs = super::cfg_attrs(&net.attrs);
    let [weights, biases, scales] = [weight_len, bias_len, scale_len].map(Literal::u64_suffixed);
    let [largest, cols, pairs, tmp] = [largest, cols, pairs, tmp].map(Literal::u64_suffixed);
    let output = lit(output_len);
    let (weight_bytes, memory_bytes) = (lit(weight_bytes), lit(memory_bytes));
    let name_str = name.to_string();
    let slots = slots(net).unwrap_or(1) as usize;
    let int8_doc = format!(
        " [`{name}`] in int8: weights symmetric per output channel, activations with a scale and zero point \
         each, products summed in `i32`; no heap, no `std`. `{name}::quantize` makes its model from a trained \
         network and a calibration batch."
    );
    let memory_doc = format!(" The working memory of [`{int8}`]; `const`-constructed and all zeros, for a `static`.");
    let outside = quote! {
        #(#cfgs)*
        #[doc = #int8_doc]
        #[derive(Clone, Copy)]
        #[allow(non_camel_case_types)]
        #vis struct #int8<'q> {
            weights: &'q [i8; #weights as usize],
            biases: &'q [i32; #biases as usize],
            scales: &'q [f32; #scales as usize],
        }

        #(#cfgs)*
        #[doc = #memory_doc]
        #[allow(non_camel_case_types)]
        #vis struct #memory {
            a: [i8; #largest as usize],
            b: [i8; #largest as usize],
            cols: [i8; #cols as usize],
            pairs: [i32; #pairs as usize],
            tmp: [f32; #tmp as usize],
            output: [f32; #output],
        }
    };
    let embedded = embedded.map(|[w, b, s]| {
        quote! {
            impl #int8<'static> {
                /// The quantized model `#[int8_weights(..)]` embedded when the program was compiled.
                pub const EMBEDDED: Self = Self::new(&#w, &#b, &#s);
            }
        }
    });
    let inside = quote! {
        #functions

        impl #memory {
            /// Bytes of the working memory: the RAM one int8 inference needs.
            pub const BYTES: usize = #memory_bytes;

            /// All zeros; `const`, for a `static`.
            pub const fn new() -> Self {
                #memory {
                    a: [0; #largest as usize],
                    b: [0; #largest as usize],
                    cols: [0; #cols as usize],
                    pairs: [0; #pairs as usize],
                    tmp: [0.0; #tmp as usize],
                    output: [0.0; #output],
                }
            }
        }

        impl ::core::default::Default for #memory {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<'q> #int8<'q> {
            /// The lengths of the quantized model's weights, biases and scales.
            pub const SIZES: rt::int8::Sizes =
                rt::int8::Sizes { weights: #weights as usize, biases: #biases as usize, scales: #scales as usize };
            /// Bytes of the quantized model: the flash it takes.
            pub const WEIGHT_BYTES: usize = #weight_bytes;
            /// Bytes of the working memory.
            pub const MEMORY_BYTES: usize = #memory_bytes;
            /// The steps calibration follows.
            pub const PLAN: &'static [rt::int8::Step] = &[#(#table),*];

            /// The network with a quantized model's three arrays.
            pub const fn new(
                weights: &'q [i8; #weights as usize], biases: &'q [i32; #biases as usize],
                scales: &'q [f32; #scales as usize],
            ) -> Self {
                #int8 { weights, biases, scales }
            }

            /// The output for one `input` sample, computed in `memory`.
            #[allow(unused_variables)]
            pub fn forward<'m>(&self, memory: &'m mut #memory, input: &[f32; #input_len]) -> &'m [f32; #output] {
                let (weights, biases, scales) = (&self.weights[..], &self.biases[..], &self.scales[..]);
                let #memory { a, b, cols, pairs, tmp, output } = memory;
                let (a, b, cols, pairs, tmp, output_slice) = (&mut a[..], &mut b[..], &mut cols[..], &mut pairs[..], &mut tmp[..], &mut output[..]);
                {
                    let output = output_slice;
                    #steps
                }
                output
            }
        }

        #embedded

        rt::with_std! {
            impl<'q> #int8<'q> {
                /// The network with `model`'s arrays, once their lengths are checked.
                pub fn from_model(model: &'q rt::int8::model::Int8Model) -> ::core::result::Result<Self, rt::Error> {
                    let wrong = |what: &str, found: usize, expected: usize| rt::Error::Weights {
                        source: ::std::format!("an int8 model into {}", #name_str),
                        problems: ::std::vec![::std::format!("its {what} hold {found} values, the network needs {expected}")],
                    };
                    rt::int8::model::check_scales(&model.scales, #slots).map_err(|problem| rt::Error::Weights {
                        source: ::std::format!("an int8 model into {}", #name_str),
                        problems: ::std::vec![problem],
                    })?;
                    ::core::result::Result::Ok(#int8 {
                        weights: model.weights.as_slice().try_into().map_err(|_| wrong("weights", model.weights.len(), #weights as usize))?,
                        biases: model.biases.as_slice().try_into().map_err(|_| wrong("biases", model.biases.len(), #biases as usize))?,
                        scales: model.scales.as_slice().try_into().map_err(|_| wrong("scales", model.scales.len(), #scales as usize))?,
                    })
                }

                /// Reads a model [`rt::int8::model::Int8Model::save`] wrote for this network.
                pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<rt::int8::model::Int8Model, rt::Error> {
                    rt::int8::model::Int8Model::load(path, #name_str, Self::SIZES)
                }
            }

            impl #name {
                /// The int8 model of this network in eval mode, its activations' ranges
                /// measured on `calibration` (a batch of inputs; a few hundred samples of
                /// the training data are typical).
                pub fn quantize(&mut self, calibration: &[f32]) -> ::core::result::Result<rt::int8::model::Int8Model, rt::Error> {
                    rt::int8::model::calibrate(self, calibration, #int8::PLAN, #int8::SIZES)
                }
            }
        }
    };
    (outside, inside)
}

fn weighted_kind(params: usize, outputs: u64, per_output: u64, bias: bool, step: &Step) -> TokenStream {
    let (outputs, per_output) = (lit(outputs), lit(per_output));
    let (weights, biases, multipliers) = (lit(step.weights), lit(step.biases), lit(step.multipliers));
    quote!(rt::int8::StepKind::Weighted {
        params: #params, outputs: #outputs, per_output: #per_output, bias: #bias,
        weights: #weights, biases: #biases, multipliers: #multipliers,
    })
}
