//! The static inference type every network gets beside its struct: eval mode, batch 1,
//! no heap and no `std` (issue 16). Its weights are a borrowed array (in flash on a
//! microcontroller, where `#[weights("file")]` embeds them at compile time) and its
//! working memory one array the caller places (a `static`, never the stack), sized by
//! the same liveness plan as the network's own inference.

use super::{forward_groups, forward_steps, inference_placement, lit, split, Buffer, Pass, Plan};
use crate::ir::Network;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The element counts the static type is built from.
struct Sizes {
    /// Parameters then buffers (batch-norm statistics), in the network's order.
    weights: u64,
    params: u64,
    /// Activations alive at once, then scratch.
    activations: u64,
    memory: u64,
    output_offset: u64,
}

/// The bytes of `elements` values of `f32`, or `None` past `u64`.
fn f32_bytes(elements: u64) -> Option<u64> {
    elements.checked_mul(4)
}

/// `(items beside the network's struct, items inside its `const _` block)`: the two
/// types, then their constructors and `forward`. `embedded` is the path of a static
/// `[f32; WEIGHTS]` holding the weights that `#[weights(..)]` embedded, if any.
pub(super) fn generate(net: &Network, plan: &Plan, embedded: Option<&TokenStream>) -> (TokenStream, TokenStream) {
    let groups = forward_groups(net, plan);
    let placement = inference_placement(net, plan, &groups, Pass::Static);
    let last = net.output();
    let Buffer::Activation { offset: output_offset, .. } = placement.buffer(plan, last.value) else {
        unreachable!("the output is never the input")
    };
    let scratch = net.layers.iter().map(|l| l.op.static_scratch().unwrap_or(u64::MAX)).max().unwrap_or(0);
    let sizes = Sizes {
        weights: net.params + plan.buffers_len,
        params: net.params,
        activations: placement.total,
        memory: placement.total.saturating_add(scratch),
        output_offset,
    };
    let (steps, functions) = split(
        forward_steps(net, plan, &groups, &placement, Pass::Static).concat(),
        "__static",
        quote!(all_params: &[F], all_buffers: &[F], activations: &mut [F], scratch: &mut [F], input: &[F], batch: usize,),
        quote!(all_params, all_buffers, activations, scratch, input, batch),
    );

    let name = &net.name;
    let vis = &net.vis;
    let inference = format_ident!("{}Inference", name);
    let memory = format_ident!("{}Memory", name);
    // Suffixed: a length past the target's `usize` must reach the assertion below, not
    // fail as an out-of-range literal.
    let (weights, memory_len) =
        (proc_macro2::Literal::u64_suffixed(sizes.weights), proc_macro2::Literal::u64_suffixed(sizes.memory));
    let (params, activations, output_offset) = (lit(sizes.params), lit(sizes.activations), lit(sizes.output_offset));
    let (input_len, output_len) = (lit(net.input_len()), lit(last.output_len));
    let weight_bytes = f32_bytes(sizes.weights).unwrap_or(u64::MAX);
    let memory_bytes = f32_bytes(sizes.memory).unwrap_or(u64::MAX);
    let fits = format!(
        "`{inference}` needs {} bytes of weights and {} bytes of working memory in `f32`: more than this \
         target can address",
        crate::diag::thousands(weight_bytes),
        crate::diag::thousands(memory_bytes),
    );
    // Past every target's address space: no static type (the network's own struct still
    // compiles, and refuses to allocate at run time).
    if weight_bytes.max(memory_bytes) > i64::MAX as u64 {
        return (TokenStream::new(), TokenStream::new());
    }
    let largest = lit(weight_bytes.max(memory_bytes));
    let inference_doc = format!(
        " [`{name}`] for inference without a heap or `std`: eval mode, `f32`, one sample at a time, its \
         weights borrowed (parameters then buffers, in [`{name}`]'s order), its working memory a \
         [`{memory}`] the caller places — in a `static`, since large arrays overflow small stacks."
    );
    let memory_doc = format!(
        " The working memory of [`{inference}`]: every value alive at once and the kernels' scratch, \
         one array sized at compile time. `{memory}::new()` is `const` and all zeros, so a `static` of \
         it takes no flash."
    );
    let embedded = embedded.map(|weights| {
        quote! {
            impl #inference<'static> {
                /// The weights `#[weights(..)]` embedded when the program was compiled.
                pub const EMBEDDED: Self = Self::new(&#weights);
            }
        }
    });
    let cfgs = super::cfg_attrs(&net.attrs);
    let outside = quote! {
        #(#cfgs)*
        #[doc = #inference_doc]
        #[derive(Clone, Copy)]
        #[allow(non_camel_case_types)]
        #vis struct #inference<'w> {
            weights: &'w [f32; #weights as usize],
        }

        #(#cfgs)*
        #[doc = #memory_doc]
        #[allow(non_camel_case_types)]
        #vis struct #memory {
            values: [f32; #memory_len as usize],
        }
    };
    let inside = quote! {
        #functions

        // The sizes were computed on the host in 64 bits; the target's `usize` may be
        // narrower.
        const _: () = ::core::assert!(#largest <= isize::MAX as u64, #fits);

        impl #memory {
            /// Elements of the working memory.
            pub const LEN: usize = #memory_len as usize;
            /// Bytes of the working memory: the RAM one inference needs.
            pub const BYTES: usize = Self::LEN * ::core::mem::size_of::<f32>();

            /// All zeros; `const`, for a `static`.
            pub const fn new() -> Self {
                #memory { values: [0.0; #memory_len as usize] }
            }
        }

        impl ::core::default::Default for #memory {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<'w> #inference<'w> {
            /// Elements of the weights: parameters, then buffers.
            pub const WEIGHTS: usize = #weights as usize;
            /// Bytes of the weights: the flash they take.
            pub const WEIGHT_BYTES: usize = Self::WEIGHTS * ::core::mem::size_of::<f32>();
            /// Bytes of the working memory: the RAM one inference needs.
            pub const MEMORY_BYTES: usize = #memory::BYTES;
            /// Elements in one input sample.
            pub const INPUT_LEN: usize = #input_len;
            /// Elements in one output sample.
            pub const OUTPUT_LEN: usize = #output_len;

            /// The network with `weights`: its parameters, then its buffers (batch
            /// norm's running statistics), each laid out as PyTorch lays it out.
            pub const fn new(weights: &'w [f32; #weights as usize]) -> Self {
                #inference { weights }
            }

            /// The weights it computes with.
            pub const fn weights(&self) -> &'w [f32; #weights as usize] {
                self.weights
            }

            /// The output for one `input` sample, in eval mode, computed in `memory`.
            pub fn forward<'m>(
                &self, memory: &'m mut #memory, input: &[f32; #input_len],
            ) -> &'m [f32; #output_len] {
                // Generic, as the network's own steps: `F`'s methods are then `Float`'s
                // alone, whatever other traits the caller has in scope for `f32`.
                #[inline(always)]
                #[allow(unused_variables)]
                fn steps<F: rt::Float>(
                    all_params: &[F], all_buffers: &[F], activations: &mut [F], scratch: &mut [F], input: &[F],
                ) {
                    let batch = 1usize;
                    #steps
                }
                let (all_params, all_buffers) = self.weights.split_at(#params);
                let (activations, scratch) = memory.values.split_at_mut(#activations);
                steps::<f32>(all_params, all_buffers, activations, scratch, input);
                let output = &activations[#output_offset..#output_offset + #output_len];
                match output.try_into() {
                    ::core::result::Result::Ok(output) => output,
                    ::core::result::Result::Err(_) => ::core::unreachable!(),
                }
            }
        }

        #embedded
    };
    (outside, inside)
}
