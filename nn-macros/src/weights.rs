//! `#[weights("file.safetensors")]`: a weight file read while compiling, checked against
//! the network as `load` checks it at run time (every missing, extra, mis-shaped or
//! mistyped tensor, in one compile error), and embedded in the binary in the static
//! inference type's order — parameters, then buffers — so a microcontroller needs no
//! file system. The path is relative to the file invoking the macro, as
//! `include_bytes!` takes it, and the expansion includes the file too, so that cargo
//! rebuilds when it changes.

use crate::ir::Network;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;
use syn::ext::IdentExt;

/// Where `path` lies: beside the invoking source file where the compiler says which it
/// is, else under the crate's root.
fn resolve(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        return path;
    }
    let beside_source = proc_macro::is_available()
        .then(|| proc_macro::Span::call_site().local_file())
        .flatten()
        .and_then(|file| file.parent().map(|dir| dir.join(&path)));
    beside_source.unwrap_or_else(|| {
        let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
        root.join(&path)
    })
}

/// Batch norm's `num_batches_tracked`, a 64-bit integer in PyTorch's files.
fn is_counter(key: &str) -> bool {
    key.ends_with("num_batches_tracked")
}

/// One tensor the network has: its key and shape.
struct Slot {
    key: String,
    shape: Vec<usize>,
}

/// The network's tensors in the static type's order: every layer's parameters, then
/// every layer's buffers.
fn slots(net: &Network) -> Vec<Slot> {
    let of = |tensors: fn(&crate::ir::CheckedLayer) -> &Vec<crate::layers::ParamTensor>| {
        net.layers.iter().flat_map(move |l| {
            tensors(l).iter().map(move |t| Slot {
                key: format!("{}.{}", l.key, t.suffix),
                shape: t.shape.iter().map(|&d| d as usize).collect(),
            })
        })
    };
    of(|l| &l.tensors).chain(of(|l| &l.buffers)).collect()
}

/// The values of `data`, a tensor of `dtype` that `load` accepts for `key`, as `f32`
/// (f64 rounded, as PyTorch's `copy_` rounds; a counter converted).
fn decode(key: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<f32>, String> {
    Ok(match dtype {
        Dtype::F32 if !is_counter(key) => {
            data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        }
        Dtype::F64 if !is_counter(key) => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
        Dtype::I64 if is_counter(key) => data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
        other => {
            let expected = if is_counter(key) { "I64" } else { "F32 or F64" };
            return Err(format!("{key}: element type {other:?}, expected {expected}"));
        }
    })
}

/// The weights of `file` (its bytes) for `net`, in the static type's order, or every
/// problem: missing, mis-shaped and mistyped tensors in the network's order, then the
/// unexpected ones sorted — `load`'s wording.
fn read(net: &Network, bytes: &[u8]) -> Result<Vec<f32>, Problems> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| Problems::Format(e.to_string()))?;
    let slots = slots(net);
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for slot in &slots {
        match file.tensor(&slot.key) {
            Err(_) => problems.push(format!("missing key {:?} (shape {:?})", slot.key, slot.shape)),
            Ok(tensor) if tensor.shape() != slot.shape => problems.push(format!(
                "size mismatch for {:?}: the file has shape {:?}, the network expects {:?}",
                slot.key,
                tensor.shape(),
                slot.shape
            )),
            Ok(tensor) => match decode(&slot.key, tensor.dtype(), tensor.data()) {
                Ok(decoded) => values.extend(decoded),
                Err(problem) => problems.push(problem),
            },
        }
    }
    let mut unexpected: Vec<String> =
        file.names().into_iter().filter(|name| !slots.iter().any(|s| s.key == *name)).map(str::to_string).collect();
    unexpected.sort_unstable();
    problems.extend(unexpected.into_iter().map(|key| format!("unexpected key {key:?}")));
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(Problems::Tensors(problems))
    }
}

/// Why a file's weights cannot be embedded.
enum Problems {
    /// Not the safetensors format.
    Format(String),
    /// Tensors that do not fit the network, one line each.
    Tensors(Vec<String>),
}

/// The embedded weights: a `static` array of `f32` named for the network, and the
/// `include_bytes!` that makes cargo rebuild when the file changes. A file that cannot
/// be read or does not fit is a compile error at `path`, beside a zero-filled array of
/// the right length (so that code using the weights adds no errors of its own).
pub fn embed(net: &Network, path: &syn::LitStr) -> (TokenStream, TokenStream) {
    let name = format_ident!("__nn_weights_{}", net.name.unraw());
    let len = net.params + net.layers.iter().map(|l| l.buffer_len).sum::<u64>();
    let resolved = resolve(&path.value());
    let result = std::fs::read(&resolved)
        .map_err(|e| format!("cannot read the weight file {:?} (at {}): {e}", path.value(), resolved.display()))
        .and_then(|bytes| {
            read(net, &bytes).map_err(|problems| match problems {
                Problems::Format(why) => {
                    format!("the weight file {:?} is not a valid safetensors file: {why}", path.value())
                }
                Problems::Tensors(lines) => format!(
                    "the weight file {:?} does not fit `{}` (its keys and shapes are those `load` takes, listed \
                     by `{}::summary()`):\n    {}",
                    path.value(),
                    net.name,
                    net.name,
                    lines.join("\n    ")
                ),
            })
        });
    let count = Literal::u64_suffixed(len);
    let cfgs = crate::codegen::cfg_attrs(&net.attrs);
    let tokens = match result {
        Ok(values) => {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let data = Literal::byte_string(&bytes);
            let message = format!("`{}`'s embedded weights are little-endian, and this target is big-endian", net.name);
            quote! {
                #(#cfgs)*
                const _: () = ::core::assert!(::core::cfg!(target_endian = "little"), #message);
                #(#cfgs)*
                const _: &[u8] = ::core::include_bytes!(#path);
                #(#cfgs)*
                #[doc(hidden)]
                #[allow(non_upper_case_globals)]
                // SAFETY: the two arrays have the same size, and every bit pattern is a
                // valid `f32`; the bytes are little-endian, which the assertion above
                // checks the target is.
                static #name: [f32; #count as usize] =
                    unsafe { ::core::mem::transmute::<[u8; #count as usize * 4], [f32; #count as usize]>(*#data) };
            }
        }
        Err(message) => {
            let error = syn::Error::new(path.span(), message).to_compile_error();
            quote! {
                // Only where the network is compiled: its file may exist only there.
                #(#cfgs)*
                const _: () = { #error };
                #(#cfgs)*
                #[doc(hidden)]
                #[allow(non_upper_case_globals)]
                static #name: [f32; #count as usize] = [0.0; #count as usize];
            }
        }
    };
    (tokens, quote!(#name))
}

/// A `static` of `len` values of `ty` from their little-endian `bytes`.
fn array_static(
    name: &proc_macro2::Ident, ty: TokenStream, len: u64, bytes: &[u8], cfgs: &[TokenStream],
) -> TokenStream {
    let (count, width) = (Literal::u64_suffixed(len), Literal::u64_suffixed(bytes.len() as u64));
    let data = Literal::byte_string(bytes);
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        // SAFETY: the arrays have the same size, every bit pattern is a valid value of
        // the element type, and the bytes are little-endian, which the embedding's
        // assertion checks the target is.
        static #name: [#ty; #count as usize] = unsafe { ::core::mem::transmute::<[u8; #width as usize], [#ty; #count as usize]>(*#data) };
    }
}

/// A quantized model's arrays (`rt::int8::model::Int8Model::save`'s file) for `net`:
/// three statics, or a compile error at `path` naming every mismatch (beside zeroed
/// statics, so that code using them adds no errors of its own). `None` when the network
/// has no int8 form, which is an error too.
pub fn embed_int8(net: &Network, path: &syn::LitStr) -> (TokenStream, Option<[TokenStream; 3]>) {
    let Some(sizes) = crate::codegen::int8_sizes(net) else {
        let message = format!(
            "`{}` has no int8 form to embed a quantized model in: {}; int8 networks are chains of \
             convolutions, linear layers, pooling, elementwise activations, views and dropout",
            net.name,
            crate::codegen::no_int8_form(net).unwrap_or_default()
        );
        let error = syn::Error::new(path.span(), message).to_compile_error();
        let cfgs = crate::codegen::cfg_attrs(&net.attrs);
        return (quote!(#(#cfgs)* const _: () = { #error };), None);
    };
    let network = net.name.unraw();
    let names = ["weights", "biases", "scales"].map(|what| format_ident!("__nn_int8_{what}_{network}"));
    let resolved = resolve(&path.value());
    let result = std::fs::read(&resolved)
        .map_err(|e| format!("cannot read the quantized model {:?} (at {}): {e}", path.value(), resolved.display()))
        .and_then(|bytes| {
            read_int8(net, &bytes, sizes).map_err(|problems| {
                format!(
                    "the quantized model {:?} does not fit `{}`:\n    {}",
                    path.value(),
                    net.name,
                    problems.join("\n    ")
                )
            })
        });
    let cfgs = crate::codegen::cfg_attrs(&net.attrs);
    let types = [quote!(i8), quote!(i32), quote!(f32)];
    let mut tokens = TokenStream::new();
    match result {
        Ok(arrays) => {
            let message =
                format!("`{}`'s embedded int8 model is little-endian, and this target is big-endian", net.name);
            tokens.extend(quote! {
                #(#cfgs)*
                const _: () = ::core::assert!(::core::cfg!(target_endian = "little"), #message);
                #(#cfgs)*
                const _: &[u8] = ::core::include_bytes!(#path);
            });
            for i in 0..3 {
                tokens.extend(array_static(&names[i], types[i].clone(), sizes[i], &arrays[i], &cfgs));
            }
        }
        Err(message) => {
            // Only where the network is compiled, beside zeroed arrays written as
            // repetitions: nothing of the model's size is built here.
            let error = syn::Error::new(path.span(), message).to_compile_error();
            tokens.extend(quote!(#(#cfgs)* const _: () = { #error };));
            for ((name, ty), &len) in names.iter().zip(&types).zip(&sizes) {
                let count = Literal::u64_suffixed(len);
                tokens.extend(quote! {
                    #(#cfgs)*
                    #[doc(hidden)]
                    #[allow(non_upper_case_globals)]
                    static #name: [#ty; #count as usize] = [0 as #ty; #count as usize];
                });
            }
        }
    }
    (tokens, Some(names.map(|n| quote!(#n))))
}

/// The three arrays' little-endian bytes from a quantized model's file, checked: the
/// format, the network it was made for, and each array's type and length.
fn read_int8(net: &Network, bytes: &[u8], sizes: [u64; 3]) -> Result<[Vec<u8>; 3], Vec<String>> {
    let invalid = |e: safetensors::SafeTensorError| vec![format!("not a valid safetensors file: {e}")];
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(invalid)?;
    let file = SafeTensors::deserialize(bytes).map_err(invalid)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut problems = Vec::new();
    if metadata.get("format").map(String::as_str) != Some("nn-int8") {
        problems.push(format!(
            "not a quantized model of `nn` (its format is {:?}, expected \"nn-int8\"; `Int8Model::save` writes them)",
            metadata.get("format")
        ));
    }
    let name = net.name.to_string();
    match metadata.get("network") {
        Some(network) if *network == name => {}
        Some(network) => problems.push(format!("it was quantized for {network:?}, not {name:?}")),
        None => problems.push(format!("it names no network; {name:?} expected")),
    }
    let mut arrays = [Vec::new(), Vec::new(), Vec::new()];
    for (i, (key, dtype)) in
        [("weights", Dtype::I8), ("biases", Dtype::I32), ("scales", Dtype::F32)].into_iter().enumerate()
    {
        let len = sizes[i] as usize;
        match file.tensor(key) {
            Ok(t) if t.dtype() == dtype && t.shape() == [len] => arrays[i] = t.data().to_vec(),
            Ok(t) => problems.push(format!(
                "{key:?} is {:?} of shape {:?}; the network needs {dtype:?} of shape [{len}]",
                t.dtype(),
                t.shape()
            )),
            Err(_) => problems.push(format!("missing key {key:?} ({dtype:?}, shape [{len}])")),
        }
    }
    // The quantizations a loaded model is checked for too (`check_scales`).
    let slots = crate::codegen::int8_slots(net).unwrap_or(0) as usize;
    let scales: Vec<f32> = arrays[2].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    for (slot, pair) in scales.chunks_exact(2).take(slots).enumerate() {
        let usable =
            pair[0].is_finite() && pair[0] > 0.0 && pair[1].fract() == 0.0 && (-128.0..=127.0).contains(&pair[1]);
        if !usable {
            problems.push(format!(
                "value {slot}'s quantization (scale {}, zero point {}) is not one int8 can use",
                pair[0], pair[1]
            ));
        }
    }
    if let Some(bad) = scales.iter().skip(2 * slots).position(|m| !m.is_finite()) {
        problems.push(format!("multiplier {bad} is {}", scales[2 * slots + bad]));
    }
    if problems.is_empty() {
        Ok(arrays)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_load_accepts_as_f32() {
        let f64_bytes: Vec<u8> = [0.1f64, -2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(decode("0.weight", Dtype::F64, &f64_bytes).unwrap(), [0.1f32, -2.5]);
        let f32_bytes: Vec<u8> = [1.5f32, f32::MIN_POSITIVE].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(decode("0.bias", Dtype::F32, &f32_bytes).unwrap(), [1.5, f32::MIN_POSITIVE]);
        let counter = 7i64.to_le_bytes();
        assert_eq!(decode("1.num_batches_tracked", Dtype::I64, &counter).unwrap(), [7.0]);
    }

    #[test]
    fn refuses_the_element_types_load_refuses() {
        assert_eq!(
            decode("0.weight", Dtype::I64, &[0; 8]).unwrap_err(),
            "0.weight: element type I64, expected F32 or F64"
        );
        assert_eq!(
            decode("1.num_batches_tracked", Dtype::F32, &[0; 4]).unwrap_err(),
            "1.num_batches_tracked: element type F32, expected I64"
        );
        assert!(decode("0.weight", Dtype::BF16, &[0; 2]).is_err());
    }
}
