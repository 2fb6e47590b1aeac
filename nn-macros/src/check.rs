//! Phase 2: every compile-time check of SPEC §3. Turns the syntax tree into the checked
//! IR, collecting every independent mistake rather than stopping at the first.

use crate::args::bind;
use crate::diag::{did_you_mean, Errors};
use crate::ir::{CheckedLayer, Network};
use crate::layers::{self, product, Context};
use crate::parse::{NetworkDef, ValueKind};
use std::collections::HashMap;

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
    let (mut origin, mut through) = (String::new(), Vec::new());
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
                through.clear();
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
            through.push(described);
        } else if op.is_view() && output.len() < input.len() {
            // A reshape: say what it reshaped, since that is where the number comes from.
            origin = format!("{described} (layer {index}, of {}", crate::diag::shape(&input));
            through.clear();
        } else {
            origin = format!("{described} (layer {index}");
            through.clear();
        }
        source = if through.is_empty() {
            format!("{origin})")
        } else {
            format!("{origin}, through {})", through.join(", "))
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
