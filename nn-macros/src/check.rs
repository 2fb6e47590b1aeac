//! Phase 2: every compile-time check of SPEC §3. Turns the syntax tree into the checked
//! IR, collecting every independent mistake rather than stopping at the first.

use crate::args::bind;
use crate::diag::{did_you_mean, Errors};
use crate::ir::{CheckedLayer, Network};
use crate::layers::{self, product, Context};
use crate::parse::{NetworkDef, ValueKind};
use std::collections::HashMap;
use syn::ext::IdentExt;

/// The input shape: one or three positive sizes.
fn input_shape(def: &NetworkDef) -> syn::Result<Vec<u64>> {
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
    if dims.len() != 1 && dims.len() != 3 {
        return Err(syn::Error::new_spanned(
            &def.input_tokens,
            format!(
                "the input shape is per sample: `[channels, height, width]` for images or `[features]`; found {} dimensions",
                dims.len()
            ),
        ));
    }
    if product(&dims).is_none() {
        return Err(syn::Error::new_spanned(&def.input_tokens, "the input has more elements than fit in 64 bits"));
    }
    Ok(dims)
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

/// Checks a network definition; `Err` holds every error found.
pub fn check(def: NetworkDef) -> syn::Result<Network> {
    let mut errors = Errors::default();
    let input = input_shape(&def);
    let mut shape = match &input {
        Ok(dims) => Some(dims.clone()),
        Err(e) => {
            errors.push(e.clone());
            None
        }
    };
    let mut source = "the network input".to_string();
    let (mut origin, mut through, mut through_more) = (String::new(), Vec::new(), 0usize);
    let mut layers = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let (mut params, mut flops) = (0u64, 0u64);
    for (index, layer) in def.layers.iter().enumerate() {
        if let Some(name) = &layer.name {
            if let Some(first) = names.insert(name.to_string(), index) {
                errors.push(syn::Error::new_spanned(
                    name,
                    format!("layer name `{name}` is already used by layer {first}; weight-file keys must be unique"),
                ));
            }
        }
        let kind_name = layer.kind.to_string();
        let Some(kind) = layers::lookup(&kind_name) else {
            let known = layers::known_names();
            let hint = match did_you_mean(&kind_name, &known) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            errors.push(syn::Error::new_spanned(
                &layer.kind,
                format!("unknown layer `{kind_name}`; {hint}known layers: {}", known.join(", ")),
            ));
            shape = None;
            continue;
        };
        let bound = match bind(layer, kind.schema) {
            Ok(b) => b,
            Err(e) => {
                errors.push(e);
                shape = None;
                continue;
            }
        };
        // After an earlier mistake the input shape is unknown: later layers are still
        // checked for their own syntax and arguments above, but not for shapes.
        let Some(input) = shape.take() else { continue };
        let written = bound.written();
        let described = match &layer.name {
            Some(name) => format!("`{name}: {written}`"),
            None => format!("`{written}`"),
        };
        let op = match (kind.build)(&bound, &Context { index, input: &input, source: &source }) {
            Ok(op) => op,
            Err(e) => {
                errors.push(e);
                // Recover by assuming the input this layer declares, so that later,
                // independent mistakes are reported in the same build.
                shape = kind.recover(&bound, &Context { index, input: &input, source: &source });
                origin = format!("{described} (layer {index}");
                (through, through_more) = (Vec::new(), 0);
                source = format!("{origin})");
                continue;
            }
        };
        let output = op.output_shape();
        let tensors = op.params();
        let overflow =
            |what: &str| syn::Error::new_spanned(&layer.tokens, format!("`{written}`: its {what} overflows 64 bits"));
        let Some(output_len) = product(&output) else {
            errors.push(overflow("output size"));
            continue;
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
            errors.push(overflow("parameter count, FLOP count or working memory"));
            continue;
        };
        let (Some(p), Some(f)) = (params.checked_add(layer_params), flops.checked_add(layer_flops)) else {
            errors.push(overflow("running parameter or FLOP total"));
            continue;
        };
        (params, flops) = (p, f);
        let key = layer.name.as_ref().map_or_else(|| index.to_string(), |n| n.to_string());
        // Messages name the layer that last changed the shape, and the shape-preserving
        // layers (activations) it went through since: that is where the user looks.
        if output == input && index > 0 {
            // At most a few by name: a description as long as the chain would make
            // checking quadratic in its length, and the message unreadable.
            if through.len() < THROUGH_NAMED {
                through.push(described);
            } else {
                through_more += 1;
            }
        } else if op.is_view() && output.len() < input.len() {
            // A reshape: say what it reshaped, since that is where the number comes from.
            origin = format!("{described} (layer {index}, of {}", crate::diag::shape(&input));
            (through, through_more) = (Vec::new(), 0);
        } else {
            origin = format!("{described} (layer {index}");
            (through, through_more) = (Vec::new(), 0);
        }
        source = match through_more {
            _ if through.is_empty() => format!("{origin})"),
            0 => format!("{origin}, through {})", through.join(", ")),
            more => format!("{origin}, through {} and {more} more that keep its shape)", through.join(", ")),
        };
        shape = Some(output.clone());
        layers.push(CheckedLayer {
            key,
            kind: kind.name,
            written,
            input,
            output,
            output_len,
            tensors,
            buffers,
            buffer_len,
            saved,
            batch_stats: op.batch_stats(),
            scratch_per_sample,
            params: layer_params,
            flops: layer_flops,
            scratch,
            op,
            span: layer.span(),
        });
    }
    errors.finish()?;
    let Ok(input) = input else { unreachable!("input errors are reported above") };
    // Every buffer must be addressable: total activations and parameters in 64 bits.
    if layers.iter().try_fold(0u64, |acc, l| acc.checked_add(l.output_len)?.checked_add(l.saved)).is_none() {
        return Err(syn::Error::new_spanned(&def.name, "the network's activations overflow 64 bits"));
    }
    Ok(Network { attrs: def.attrs, vis: def.vis, name: def.name, input, layers, params, flops })
}
