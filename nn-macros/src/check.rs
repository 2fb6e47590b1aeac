//! Phase 2: every compile-time check of SPEC §3. Turns the syntax tree into the checked
//! IR, collecting every independent mistake rather than stopping at the first.

use crate::args::bind;
use crate::diag::{did_you_mean, Errors};
use crate::ir::{CheckedLayer, Network};
use crate::layers::{self, merge, product, Axes, Context, Shape, NETWORK_INPUT};
use crate::parse::{BlockDef, Chain, Element, Expr, ExprError, LayerDef, MergeDef, MergeKind, NetworkDef, ValueKind};
use proc_macro2::{Span, TokenStream};
use std::collections::{HashMap, HashSet};
use syn::ext::IdentExt;

/// The input shape and what its axes mean: `[F]`, `[C, H, W]`, or rank 2 with its axes
/// named (`[T = 28, F = 28]` or `[C = 4, L = 100]`, SPEC §6). Letters are optional at
/// ranks 1 and 3, where they must be the usual ones.
fn input_shape(def: &NetworkDef) -> syn::Result<(Vec<u64>, Axes)> {
    let mut dims = Vec::new();
    for value in &def.input {
        match value.kind {
            ValueKind::Int(v) if v >= 1 => dims.push(v as u64),
            ValueKind::Int(v) => {
                return Err(syn::Error::new_spanned(value, format!("input sizes must be at least 1, found {v}")))
            }
            _ => return Err(syn::Error::new_spanned(value, "input sizes are positive integers, e.g. `[1, 28, 28]`")),
        }
    }
    if !(1..=3).contains(&dims.len()) {
        return Err(syn::Error::new_spanned(
            &def.input_tokens,
            format!(
                "the input shape is per sample: `[channels, height, width]` for images, `[T = steps, F = features]` \
                 for sequences, `[C = channels, L = length]` for signals, or `[features]`; found {} dimensions",
                dims.len()
            ),
        ));
    }
    let letters: Vec<Option<String>> = def.input_labels.iter().map(|l| l.as_ref().map(|l| l.to_string())).collect();
    let written: Vec<&str> = letters.iter().flatten().map(String::as_str).collect();
    let axes = match Axes::of_rank(dims.len()) {
        Some(axes) if written.is_empty() || written == axes.letters() => axes,
        Some(axes) => {
            return Err(syn::Error::new_spanned(
                &def.input_tokens,
                format!(
                    "a rank-{} input's axes are `{}`; write the letters in that order, or none",
                    dims.len(),
                    axes.letters().join(", ")
                ),
            ))
        }
        None => match written.as_slice() {
            ["T", "F"] => Axes::Sequence,
            ["C", "L"] => Axes::Signal,
            _ => {
                return Err(syn::Error::new_spanned(
                    &def.input_tokens,
                    format!(
                        "a two-dimensional input must name its axes: `[T = {0}, F = {1}]` for a sequence of {0} \
                         steps of {1} features (recurrent layers, PyTorch's `batch_first=True`), or \
                         `[C = {0}, L = {1}]` for {0} channels of length {1} (`conv1d`); a one-channel image is \
                         `[1, {0}, {1}]`",
                        dims[0], dims[1]
                    ),
                ))
            }
        },
    };
    if product(&dims).is_none() {
        return Err(syn::Error::new_spanned(&def.input_tokens, "the input has more elements than fit in 64 bits"));
    }
    Ok((dims, axes))
}

/// Names the generated code gives meanings of its own, next to the network's.
const GENERATED_NAMES: &[(&str, &str)] =
    &[("F", "its element type `F` (`struct Net<F: Float = f32>`)"), ("rt", "the runtime `rt`")];

/// The primitive types: a struct of such a name hides the type, which the generated code
/// (`f32`, `usize`, `u64`, `bool`, `str`) and the rest of the module use.
const PRIMITIVE_TYPES: &[&str] = &[
    "bool", "char", "str", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
    "usize",
];

/// Why a network cannot be called `name`, if it cannot.
fn reserved(name: &str) -> Option<String> {
    let why = if let Some((_, meaning)) = GENERATED_NAMES.iter().find(|(n, _)| *n == name) {
        format!("the generated code names {meaning}")
    } else if PRIMITIVE_TYPES.contains(&name) {
        format!("the struct would hide the primitive type `{name}` from the generated code and the rest of the module")
    } else if name.starts_with(layers::RESERVED_PREFIX) {
        format!("names beginning with `{}` are reserved for the items `network!` generates", layers::RESERVED_PREFIX)
    } else {
        return None;
    };
    Some(format!("a network cannot be named `{name}`: {why}; choose another name"))
}

/// The error for each network whose name cannot be used, in order: a reserved name, or
/// one an earlier network of the same invocation has (pointing at the later one). Two
/// networks of one name under different `cfg`s may be alternatives, only one compiled:
/// rustc decides those.
pub fn names(defs: &[NetworkDef]) -> Vec<Option<syn::Error>> {
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    defs.iter()
        .enumerate()
        .map(|(index, def)| {
            let name = def.name.unraw().to_string();
            if let Some(message) = reserved(&name) {
                return Some(syn::Error::new(def.name.span(), message));
            }
            let cfgs = crate::codegen::cfg_attrs(&def.attrs).into_iter().map(|c| c.to_string()).collect();
            let first = *seen.entry((name.clone(), cfgs)).or_insert(index);
            (first != index).then(|| {
                syn::Error::new(
                    def.name.span(),
                    format!(
                        "a network named `{name}` is already declared above in this `network!`; rename one of them"
                    ),
                )
            })
        })
        .collect()
}

/// How many of the shape-preserving layers since the last change of shape messages name.
const THROUGH_NAMED: usize = 3;

/// The most layers a network may expand to. Blocks that instantiate blocks several times
/// grow exponentially with their nesting: past this, expanding further would only make
/// the compiler run out of memory or time.
const MAX_LAYERS: usize = 100_000;

/// The most parameter tensors a network may have: each is a row of the layer table and
/// a weight-file key in the generated code (stacked recurrent layers have up to 8,000).
const MAX_TENSORS: usize = 400_000;

/// Who produced a value, for messages: the layer that last changed its shape and the
/// shape-preserving layers (activations) it went through since — where the user looks.
#[derive(Clone)]
struct Source {
    /// "`conv(1, 6, 5)` (layer 0", its parenthesis closed when rendered; or "the
    /// network input", which has none.
    origin: String,
    through: Vec<String>,
    through_more: usize,
}

impl Source {
    fn new(origin: String) -> Source {
        Source { origin, through: Vec::new(), through_more: 0 }
    }
    fn render(&self) -> String {
        let close = if self.origin == NETWORK_INPUT { "" } else { ")" };
        match self.through_more {
            _ if self.through.is_empty() => format!("{}{close}", self.origin),
            0 => format!("{}, through {}{close}", self.origin, self.through.join(", ")),
            more => format!(
                "{}, through {} and {more} more that keep its shape{close}",
                self.origin,
                self.through.join(", ")
            ),
        }
    }
}

/// A value of the graph while checking: its shape and who made it. Values after a
/// mistake may have no producing node (their shape assumed); no code is generated then.
struct ValueInfo {
    shape: Shape,
    axes: Axes,
    source: Source,
}

/// One level of the key path (SPEC §5): the network, a parenthesized chain, a block
/// instance, or a named merge.
struct Level<'d> {
    /// Key prefix, `layer2.0.` (empty at the top).
    prefix: String,
    /// The next element's index at this level: every element counts, except merges,
    /// whose branches count here.
    counter: usize,
    /// The block parameters in scope and their values.
    env: HashMap<String, i128>,
    /// Inside a block instance: the block, and the instance as written, for messages.
    block: Option<(&'d BlockDef, String)>,
}

impl Level<'_> {
    /// Where an element is, for messages: `layer 5` at the top, `layer2.0.conv1` inside.
    fn location(&self, index: usize, key: &str) -> String {
        if self.prefix.is_empty() {
            format!("layer {index}")
        } else {
            format!("at `{key}`")
        }
    }
}

/// Turns one network's syntax tree into the checked graph, collecting every independent
/// mistake.
struct Lowering<'d> {
    blocks: &'d HashMap<String, &'d BlockDef>,
    layers: Vec<CheckedLayer>,
    values: Vec<ValueInfo>,
    errors: Errors,
    /// Errors already reported, by place and message: a mistake inside a block is
    /// reported once, not once per instance.
    reported: HashSet<(String, String)>,
    /// The blocks being expanded, outermost first: recursion is an error.
    expanding: Vec<String>,
    /// Named values in scope for references: (name, value).
    named: Vec<(String, usize)>,
    /// Every key used, for duplicates.
    keys: HashMap<String, String>,
    params: u64,
    flops: u64,
    /// Parameter tensors so far (see [`MAX_TENSORS`]).
    tensors: usize,
    /// Whether a size limit was reported (once).
    overflow: bool,
}

/// The error with `suffix` added to each of its messages (what block instance it is in).
fn with_suffix(error: syn::Error, suffix: &str) -> Vec<syn::Error> {
    error.into_iter().map(|e| syn::Error::new(e.span(), format!("{e}{suffix}"))).collect()
}

impl<'d> Lowering<'d> {
    fn error(&mut self, level: &Level, error: syn::Error) {
        for e in error {
            let key = (format!("{:?}", e.span()), e.to_string());
            if !self.reported.insert(key) {
                continue;
            }
            match &level.block {
                Some((block, instance)) => {
                    let suffix = format!("\n  in block `{}`, instantiated as {instance}", block.name);
                    for e in with_suffix(e, &suffix) {
                        self.errors.push(e);
                    }
                }
                None => self.errors.push(e),
            }
        }
    }

    fn value(&mut self, shape: Shape, axes: Axes, source: Source) -> usize {
        self.values.push(ValueInfo { shape, axes, source });
        self.values.len() - 1
    }

    /// Records a written name's key; a second element of the same key is an error.
    fn register_key(&mut self, level: &Level, name: &syn::Ident, key: &str, index: usize) {
        let location =
            if level.prefix.is_empty() { format!("layer {index}") } else { format!("the element at `{key}`") };
        if let Some(first) = self.keys.get(key) {
            let message = format!("layer name `{name}` is already used by {first}; weight-file keys must be unique");
            self.error(level, syn::Error::new_spanned(name, message));
        } else {
            self.keys.insert(key.to_string(), location);
        }
    }

    /// Lowers `chain` reading `input`; the value it produces, if it could be checked.
    fn chain(
        &mut self, chain: &'d Chain, mut input: Option<usize>, level: &mut Level<'d>, branch: bool,
    ) -> Option<usize> {
        for (position, element) in chain.elements.iter().enumerate() {
            input = self.element(element, input, level, branch && position == 0);
        }
        input
    }

    fn element(
        &mut self, element: &'d Element, input: Option<usize>, level: &mut Level<'d>, may_reference: bool,
    ) -> Option<usize> {
        match element {
            Element::Layer(layer) => self.layer_or_instance(layer, input, level, may_reference),
            Element::Group { name, chain, .. } => {
                let index = level.counter;
                level.counter += 1;
                let segment = name.as_ref().map_or_else(|| index.to_string(), |n| n.to_string());
                if let Some(name) = name {
                    self.register_key(level, name, &format!("{}{segment}", level.prefix), index);
                }
                let mut inner = Level {
                    prefix: format!("{}{segment}.", level.prefix),
                    counter: 0,
                    env: level.env.clone(),
                    block: level.block.clone(),
                };
                let named_before = self.named.len();
                let out = self.chain(chain, input, &mut inner, false);
                self.named.truncate(named_before);
                if let (Some(name), Some(out)) = (name, out) {
                    self.named.push((name.to_string(), out));
                }
                out
            }
            Element::Merge(merge) => self.merge(merge, input, level),
        }
    }

    fn layer_or_instance(
        &mut self, layer: &'d LayerDef, input: Option<usize>, level: &mut Level<'d>, may_reference: bool,
    ) -> Option<usize> {
        let kind_name = layer.kind.to_string();
        if let Some(block) = self.blocks.get(&kind_name).copied() {
            return self.instance(block, layer, input, level);
        }
        let Some(kind) = layers::lookup(&kind_name) else {
            if layer.args.is_empty() && layer.name.is_none() {
                if let Some(&(_, value)) = self.named.iter().rev().find(|(n, _)| *n == kind_name) {
                    if may_reference {
                        return Some(value);
                    }
                    self.error(level, syn::Error::new_spanned(&layer.kind, format!(
                        "`{kind_name}` names an earlier value; a reference can only begin a branch of `concat`, `residual` or `scale`, e.g. `concat(identity, {kind_name})`"
                    )));
                    return None;
                }
            }
            level.counter += 1;
            let mut known = layers::known_names();
            let mut blocks: Vec<&str> = self.blocks.keys().map(String::as_str).collect();
            blocks.sort_unstable();
            known.extend(blocks.iter().copied());
            let hint = match did_you_mean(&kind_name, &known) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            let blocks_known =
                if blocks.is_empty() { String::new() } else { format!("; blocks: {}", blocks.join(", ")) };
            self.error(
                level,
                syn::Error::new_spanned(
                    &layer.kind,
                    format!(
                        "unknown layer{} `{kind_name}`; {hint}known layers: {}{blocks_known}",
                        if blocks.is_empty() { "" } else { " or block" },
                        layers::known_names().join(", ")
                    ),
                ),
            );
            return None;
        };
        let index = level.counter;
        level.counter += 1;
        let key =
            format!("{}{}", level.prefix, layer.name.as_ref().map_or_else(|| index.to_string(), |n| n.to_string()));
        if let Some(name) = &layer.name {
            self.register_key(level, name, &key, index);
        }
        let concrete = match self.instantiate(layer, level) {
            Ok(concrete) => concrete,
            Err(e) => {
                self.error(level, e);
                return None;
            }
        };
        let bound = match bind(&concrete, kind.schema) {
            Ok(b) => b,
            Err(e) => {
                self.error(level, e);
                return None;
            }
        };
        // After an earlier mistake the input is unknown: the layer is still checked for
        // its own syntax and arguments above, but not for shapes.
        let input = input?;
        let input_shape = self.values[input].shape.clone();
        let input_axes = self.values[input].axes;
        let source = self.values[input].source.render();
        let written = bound.written();
        let described = match &layer.name {
            Some(name) => format!("`{name}: {written}`"),
            None => format!("`{written}`"),
        };
        let location = level.location(index, &key);
        let node = self.layers.len();
        let cx = Context { index: node, input: &input_shape, axes: input_axes, source: &source };
        let op = match (kind.build)(&bound, &cx) {
            Ok(op) => op,
            Err(e) => {
                self.error(level, e);
                // Recover by assuming the input this layer declares, so that later,
                // independent mistakes are reported in the same build.
                let shape = kind.recover(&bound, &cx)?;
                let axes = kind.recover_axes(&shape, input_axes);
                return Some(self.value(shape, axes, Source::new(format!("{described} ({location}"))));
            }
        };
        let output = op.output_shape();
        let structured = if output == input_shape
            && op.output_axes().is_none_or(|a| a == input_axes)
            && !(level.prefix.is_empty() && index == 0)
        {
            let mut s = self.values[input].source.clone();
            // At most a few by name: a description as long as the chain would make
            // checking quadratic in its length, and the message unreadable.
            if s.through.len() < THROUGH_NAMED {
                s.through.push(described);
            } else {
                s.through_more += 1;
            }
            s
        } else if op.is_view() && output.len() < input_shape.len() {
            // A reshape: say what it reshaped, since that is where the number comes from.
            Source::new(format!("{described} ({location}, of {}", input_axes.render(&input_shape)))
        } else {
            Source::new(format!("{described} ({location}"))
        };
        let axes = layers::output_axes(&*op, input_axes);
        self.push_node(
            level,
            layer.span(),
            &concrete.tokens,
            key,
            kind.name,
            written,
            vec![input],
            axes,
            op,
            structured,
        )
        .inspect(|&value| {
            if let Some(name) = &layer.name {
                self.named.push((name.to_string(), value));
            }
        })
    }

    /// Adds a checked node; its output value, unless its sizes overflow.
    #[allow(clippy::too_many_arguments)]
    fn push_node(
        &mut self, level: &Level, span: Span, tokens: &TokenStream, key: String, kind: &'static str, written: String,
        inputs: Vec<usize>, axes: Axes, op: Box<dyn layers::Layer>, structured: Source,
    ) -> Option<usize> {
        let output = op.output_shape();
        let tensors = op.params();
        self.tensors += tensors.len();
        if self.tensors > MAX_TENSORS {
            if !self.overflow {
                self.overflow = true;
                let message = format!(
                    "`{written}`: the network has more than {} parameter tensors here",
                    crate::diag::thousands(MAX_TENSORS as u64)
                );
                self.error(level, syn::Error::new_spanned(tokens, message));
            }
            return None;
        }
        let overflow =
            |what: &str| syn::Error::new_spanned(tokens, format!("`{written}`: its {what} overflows 64 bits"));
        let Some(output_len) = product(&output) else {
            self.error(level, overflow("output size"));
            return None;
        };
        let layer_params = tensors.iter().try_fold(0u64, |acc, t| acc.checked_add(product(&t.shape)?));
        let buffers = op.buffers();
        let buffer_len = buffers.iter().try_fold(0u64, |acc, t| acc.checked_add(product(&t.shape)?));
        let sizes = (layer_params, op.flops(), op.scratch(), op.scratch_per_sample(), op.saved(), buffer_len);
        let (
            Some(layer_params),
            Some(layer_flops),
            Some(scratch),
            Some(scratch_per_sample),
            Some(saved),
            Some(buffer_len),
        ) = sizes
        else {
            self.error(level, overflow("parameter count, FLOP count or working memory"));
            return None;
        };
        let (Some(chunk_scratch), Some(inference_chunk_scratch)) = (op.chunk_scratch(true), op.chunk_scratch(false))
        else {
            self.error(level, overflow("working memory"));
            return None;
        };
        let (Some(p), Some(f)) = (self.params.checked_add(layer_params), self.flops.checked_add(layer_flops)) else {
            if !self.overflow {
                self.overflow = true;
                self.error(level, overflow("running parameter or FLOP total"));
            }
            return None;
        };
        (self.params, self.flops) = (p, f);
        let value = self.value(output.clone(), axes, structured);
        self.layers.push(CheckedLayer {
            key,
            kind,
            written,
            inputs,
            value,
            output,
            axes,
            output_len,
            tensors,
            buffers,
            buffer_len,
            saved,
            batch_stats: op.batch_stats(),
            scratch_per_sample,
            chunk_scratch,
            inference_chunk_scratch,
            params: layer_params,
            flops: layer_flops,
            scratch,
            op,
            span,
        });
        Some(value)
    }

    /// The layer with its arguments evaluated in the block parameters in scope.
    fn instantiate(&self, layer: &LayerDef, level: &Level) -> syn::Result<LayerDef> {
        let mut concrete = layer.clone();
        let mut errors = Errors::default();
        for arg in &mut concrete.args {
            match evaluate(&arg.value.kind, level) {
                Ok(kind) => arg.value.kind = kind,
                Err(message) => errors.push(syn::Error::new_spanned(&arg.value.tokens, message)),
            }
        }
        errors.finish()?;
        Ok(concrete)
    }

    fn instance(
        &mut self, block: &'d BlockDef, layer: &'d LayerDef, input: Option<usize>, level: &mut Level<'d>,
    ) -> Option<usize> {
        let index = level.counter;
        level.counter += 1;
        let name = block.name.to_string();
        let segment = layer.name.as_ref().map_or_else(|| index.to_string(), |n| n.to_string());
        let key = format!("{}{segment}", level.prefix);
        if let Some(n) = &layer.name {
            self.register_key(level, n, &key, index);
        }
        if self.layers.len() >= MAX_LAYERS {
            if !self.overflow {
                self.overflow = true;
                let message = format!(
                    "the network expands to more than {} layers here, in block `{name}`; blocks that use blocks several \
                     times grow exponentially with their nesting",
                    crate::diag::thousands(MAX_LAYERS as u64)
                );
                self.error(level, syn::Error::new_spanned(&layer.kind, message));
            }
            return None;
        }
        if let Some(first) = self.expanding.iter().position(|b| *b == name) {
            let cycle: Vec<&str> = self.expanding[first..].iter().map(String::as_str).chain([name.as_str()]).collect();
            self.error(
                level,
                syn::Error::new_spanned(
                    &layer.kind,
                    format!("block `{name}` contains itself ({}); blocks cannot be recursive", cycle.join(" → ")),
                ),
            );
            return None;
        }
        // Bind the arguments: positional in order, or `param = value`.
        let usage = format!("{name}({})", block.params.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "));
        let mut env = HashMap::new();
        let mut failed = false;
        let positional = layer.args.iter().filter(|a| a.key.is_none()).count();
        for (i, arg) in layer.args.iter().enumerate() {
            let param = match &arg.key {
                None if i < block.params.len() => block.params[i].to_string(),
                None => continue,
                Some(key) => match block.params.iter().find(|p| *p == key) {
                    Some(p) => p.to_string(),
                    None => {
                        failed = true;
                        self.error(
                            level,
                            syn::Error::new_spanned(
                                key,
                                format!("block `{name}` has no parameter `{key}`\n  usage: {usage}"),
                            ),
                        );
                        continue;
                    }
                },
            };
            match evaluate(&arg.value.kind, level) {
                Ok(ValueKind::Int(v)) => {
                    env.insert(param, v);
                }
                Ok(other) => {
                    failed = true;
                    self.error(
                        level,
                        syn::Error::new_spanned(
                            &arg.value.tokens,
                            format!("block arguments are integers, found `{}`\n  usage: {usage}", other.render()),
                        ),
                    );
                }
                Err(message) => {
                    failed = true;
                    self.error(level, syn::Error::new_spanned(&arg.value.tokens, message));
                }
            }
        }
        if positional > block.params.len() || (!failed && env.len() < block.params.len()) {
            let found = layer.args.len();
            self.error(
                level,
                syn::Error::new_spanned(
                    &layer.tokens,
                    format!(
                        "block `{name}` takes {} ({}), found {found}; write `{usage}` with values",
                        crate::diag::count(block.params.len() as u64, "argument"),
                        block.params.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
                    ),
                ),
            );
            return None;
        }
        if failed {
            return None;
        }
        let written = {
            let args: Vec<String> = block.params.iter().map(|p| env[&p.to_string()].to_string()).collect();
            format!("{name}({})", args.join(", "))
        };
        let instance = if level.prefix.is_empty() && layer.name.is_none() {
            format!("`{written}` (layer {index})")
        } else {
            format!("`{written}` at `{key}`")
        };
        let mut inner = Level { prefix: format!("{key}."), counter: 0, env, block: Some((block, instance)) };
        self.expanding.push(name);
        let named_before = self.named.len();
        let out = self.chain(&block.chain, input, &mut inner, false);
        self.named.truncate(named_before);
        self.expanding.pop();
        if let (Some(n), Some(out)) = (&layer.name, out) {
            self.named.push((n.to_string(), out));
        }
        out
    }

    /// Every branch of a merge, then its shortcut, in written order.
    #[allow(clippy::type_complexity)]
    fn branches(
        &mut self, def: &'d MergeDef, input: Option<usize>, level: &mut Level<'d>,
    ) -> (Vec<Option<usize>>, Option<Option<usize>>) {
        let outputs = def.branches.iter().map(|branch| self.chain(branch, input, level, true)).collect();
        let shortcut = def.shortcut.as_ref().map(|s| self.chain(s, input, level, true));
        (outputs, shortcut)
    }

    fn merge(&mut self, def: &'d MergeDef, input: Option<usize>, level: &mut Level<'d>) -> Option<usize> {
        // Named, a merge opens a level of its own (and takes an index); unnamed, its
        // branches count here.
        let named_before = self.named.len();
        let (outputs, shortcut, prefix) = match &def.name {
            Some(name) => {
                level.counter += 1;
                let key = format!("{}{name}", level.prefix);
                self.register_key(level, name, &key, level.counter - 1);
                let mut own =
                    Level { prefix: format!("{key}."), counter: 0, env: level.env.clone(), block: level.block.clone() };
                let (outputs, shortcut) = self.branches(def, input, &mut own);
                (outputs, shortcut, own.prefix)
            }
            None => {
                let (outputs, shortcut) = self.branches(def, input, level);
                (outputs, shortcut, level.prefix.clone())
            }
        };
        self.named.truncate(named_before);
        let input = input?;
        let mut inputs: Vec<usize> = outputs.into_iter().collect::<Option<_>>()?;
        if def.kind == MergeKind::Residual {
            inputs.push(shortcut.unwrap_or(Some(input))?);
        }
        if def.kind == MergeKind::Scale {
            // `x * gate(x)`: the input first, as the kernel reads them.
            inputs.insert(0, input);
        }
        let shapes: Vec<Shape> = inputs.iter().map(|&v| self.values[v].shape.clone()).collect();
        let axes: Vec<Axes> = inputs.iter().map(|&v| self.values[v].axes).collect();
        let sources: Vec<String> = inputs.iter().map(|&v| self.values[v].source.render()).collect();
        let checked = merge::build(def, &shapes, &axes, &sources, def.shortcut.is_some());
        let op = match checked {
            Ok(op) => op,
            Err(e) => {
                self.error(level, e);
                return None;
            }
        };
        let kind = def.kind.name();
        let key = match &def.name {
            Some(_) => prefix.trim_end_matches('.').to_string(),
            None => format!("{prefix}{kind}"),
        };
        let written = format!("{kind}(…)");
        let origin = Source::new(format!(
            "the `{kind}` ({})",
            if key.is_empty() { kind.to_string() } else { format!("at `{key}`") }
        ));
        let span = def.keyword.span();
        let out_axes = layers::output_axes(&*op, axes[0]);
        let out = self.push_node(level, span, &def.tokens, key, kind, written, inputs, out_axes, op, origin);
        if let (Some(name), Some(out)) = (&def.name, out) {
            self.named.push((name.to_string(), out));
        }
        out
    }
}

/// Words that are values in their own right (`padding = same`), not block parameters.
const KEYWORD_VALUES: &[&str] = &["same", "valid", "tanh", "relu"];

/// A written value with the block parameters in scope substituted and arithmetic done.
fn evaluate(value: &ValueKind, level: &Level) -> Result<ValueKind, String> {
    let lookup = |name: &syn::Ident| level.env.get(&name.to_string()).copied();
    let undeclared = |name: &str| {
        match &level.block {
        Some((block, _)) => {
            let params: Vec<String> = block.params.iter().map(|p| p.to_string()).collect();
            format!(
                "`{name}` is not a parameter of block `{}`{}; declare it: `block {}({})`",
                block.name,
                if params.is_empty() { String::new() } else { format!(" (its parameters: {})", params.join(", ")) },
                block.name,
                params.iter().map(String::as_str).chain([name]).collect::<Vec<_>>().join(", "),
            )
        }
        None => format!("`{name}` is not a value here: names in arguments are parameters of a `block`, e.g. `block Conv(c) = conv(c, c, 3)`"),
    }
    };
    let eval = |e: &Expr| {
        e.evaluate(&lookup).map_err(|e| match e {
            ExprError::Undeclared(name) => undeclared(&name.to_string()),
            ExprError::DivisionByZero => "division by zero".to_string(),
            ExprError::Overflow => "the value is too large: sizes must fit in 64 bits".to_string(),
        })
    };
    Ok(match value {
        ValueKind::Word(word) => match level.env.get(word) {
            Some(&v) => ValueKind::Int(v),
            None if KEYWORD_VALUES.contains(&word.as_str()) => value.clone(),
            // Outside blocks, the argument's type says what it takes (`padding = full`).
            None if level.block.is_none() => value.clone(),
            None => return Err(undeclared(word)),
        },
        ValueKind::Expr(e) => ValueKind::Int(eval(e)?),
        ValueKind::PairExpr(h, w) => ValueKind::Pair(eval(h)?, eval(w)?),
        other => other.clone(),
    })
}

/// The blocks by name, each checked for its name.
pub fn blocks(defs: &[BlockDef]) -> (HashMap<String, &BlockDef>, Option<syn::Error>) {
    let mut errors = Errors::default();
    let mut map = HashMap::new();
    for def in defs {
        let name = def.name.to_string();
        if layers::lookup(&name).is_some() || MergeKind::from_name(&name).is_some() {
            errors.push(syn::Error::new_spanned(
                &def.name,
                format!("a block cannot be named `{name}`: that is a layer; choose another name"),
            ));
            continue;
        }
        let mut seen = HashSet::new();
        for p in &def.params {
            if !seen.insert(p.to_string()) {
                errors.push(syn::Error::new_spanned(p, format!("parameter `{p}` of block `{name}` is declared twice")));
            }
        }
        if map.insert(name.clone(), def).is_some() {
            errors.push(syn::Error::new_spanned(
                &def.name,
                format!("a block named `{name}` is already defined in this `network!`; rename one of them"),
            ));
        }
    }
    (map, errors.finish().err())
}

/// Checks a network definition against the blocks; `Err` holds every error found.
pub fn check(def: &NetworkDef, blocks: &HashMap<String, &BlockDef>) -> syn::Result<Network> {
    let mut errors = Errors::default();
    let input = input_shape(def);
    let mut lowering = Lowering {
        blocks,
        layers: Vec::new(),
        values: Vec::new(),
        errors: Errors::default(),
        reported: HashSet::new(),
        expanding: Vec::new(),
        named: Vec::new(),
        keys: HashMap::new(),
        params: 0,
        flops: 0,
        tensors: 0,
        overflow: false,
    };
    let start = match &input {
        Ok((dims, axes)) => Some(lowering.value(dims.clone(), *axes, Source::new(NETWORK_INPUT.to_string()))),
        Err(e) => {
            errors.push(e.clone());
            lowering.value(Vec::new(), Axes::Features, Source::new(String::new()));
            None
        }
    };
    let mut level = Level { prefix: String::new(), counter: 0, env: HashMap::new(), block: None };
    let output = lowering.chain(&def.chain, start, &mut level, false);
    if let Some(e) = lowering.errors.first_take() {
        errors.push(e);
    }
    errors.finish()?;
    let Ok((input, input_axes)) = input else { unreachable!("input errors are reported above") };
    let Lowering { layers, params, flops, .. } = lowering;
    match output {
        Some(value) if value > 0 && layers.last().is_some_and(|l| l.value == value) => {}
        _ => {
            return Err(syn::Error::new_spanned(&def.name, "the network's output must be computed by its last element"))
        }
    }
    // Every buffer must be addressable: total activations and parameters in 64 bits.
    if layers.iter().try_fold(0u64, |acc, l| acc.checked_add(l.output_len)?.checked_add(l.saved)).is_none() {
        return Err(syn::Error::new_spanned(&def.name, "the network's activations overflow 64 bits"));
    }
    Ok(Network {
        attrs: def.attrs.clone(),
        vis: def.vis.clone(),
        name: def.name.clone(),
        input,
        input_axes,
        layers,
        params,
        flops,
    })
}
