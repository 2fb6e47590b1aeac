//! What a network with mistakes expands to besides its errors: a struct of the same
//! name implementing the same trait, so code that uses it type-checks and the user
//! sees only the errors that matter (thiserror's approach).

use crate::parse::NetworkDef;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Ident, Visibility};

pub struct Stub {
    attrs: Vec<Attribute>,
    cfgs: Vec<TokenStream>,
    vis: Visibility,
    name: Ident,
}

impl Stub {
    pub fn of(def: &NetworkDef) -> Self {
        // Only doc comments, and whatever configures the network out: a derive on a
        // stub could itself fail and add noise.
        let attrs = def.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
        let cfgs = crate::codegen::cfg_attrs(&def.attrs);
        Stub { attrs, cfgs, vis: def.vis.clone(), name: def.name.clone() }
    }

    pub fn generate(&self) -> TokenStream {
        let Stub { attrs, cfgs, vis, name } = self;
        let name_str = name.to_string();
        let zero = quote!(0);
        let inherent = crate::codegen::inherent_impl(
            name,
            &crate::codegen::Inherent {
                input_shape: quote!([usize; 0] = []),
                output_shape: quote!([usize; 0] = []),
                input_len: zero.clone(),
                output_len: zero.clone(),
                params: zero.clone(),
                flops: zero.clone(),
                activations: zero,
                layers: quote!(&[]),
            },
        );
        let inference = quote::format_ident!("{}Inference", name);
        let memory = quote::format_ident!("{}Memory", name);
        let int8 = quote::format_ident!("{}Int8", name);
        let int8_memory = quote::format_ident!("{}Int8Memory", name);
        quote! {
            ::nn::__private::with_std! {
                #(#cfgs)*
                #(#attrs)*
                // Braced, as the network's own struct: nothing of that name in the value
                // namespace, where the generated code looks up `Some` and `None`.
                #vis struct #name<F: ::nn::__private::Float = f32> {
                    __marker: ::core::marker::PhantomData<F>,
                }
            }

            // The static inference types, so that code using them adds no errors.
            #(#cfgs)*
            /// Not generated: `network!` reported errors for this network.
            #[allow(non_camel_case_types)]
            #vis struct #inference<'w> {
                __marker: ::core::marker::PhantomData<&'w f32>,
            }
            #(#cfgs)*
            /// Not generated: `network!` reported errors for this network.
            #[allow(non_camel_case_types)]
            #vis struct #memory {
                __marker: ::core::marker::PhantomData<f32>,
            }
            #(#cfgs)*
            /// Not generated: `network!` reported errors for this network.
            #[allow(non_camel_case_types)]
            #vis struct #int8<'q> {
                __marker: ::core::marker::PhantomData<&'q f32>,
            }
            #(#cfgs)*
            /// Not generated: `network!` reported errors for this network.
            #[allow(non_camel_case_types)]
            #vis struct #int8_memory {
                __marker: ::core::marker::PhantomData<f32>,
            }

            #(#cfgs)*
            #[allow(deprecated)]
            const _: () = {
                use ::nn::__private as rt;
                impl #memory {
                    /// Zero: `network!` reported errors for this network.
                    pub const LEN: usize = 0;
                    /// Zero: `network!` reported errors for this network.
                    pub const BYTES: usize = 0;
                    /// Not generated: `network!` reported errors for this network.
                    pub const fn new() -> Self {
                        #memory { __marker: ::core::marker::PhantomData }
                    }
                }
                impl<'w> #inference<'w> {
                    /// Zero: `network!` reported errors for this network.
                    pub const WEIGHTS: usize = 0;
                    /// Zero: `network!` reported errors for this network.
                    pub const WEIGHT_BYTES: usize = 0;
                    /// Zero: `network!` reported errors for this network.
                    pub const MEMORY_BYTES: usize = 0;
                    /// Zero: `network!` reported errors for this network.
                    pub const INPUT_LEN: usize = 0;
                    /// Zero: `network!` reported errors for this network.
                    pub const OUTPUT_LEN: usize = 0;
                    /// Not generated: `network!` reported errors for this network.
                    pub const EMBEDDED: Self = #inference { __marker: ::core::marker::PhantomData };
                    /// Not generated: `network!` reported errors for this network.
                    pub const fn new<W: ?Sized>(_weights: &'w W) -> Self {
                        #inference { __marker: ::core::marker::PhantomData }
                    }
                    /// Not generated: `network!` reported errors for this network.
                    pub fn weights(&self) -> &'w [f32] {
                        ::core::unreachable!("`network!` reported errors for this network")
                    }
                    /// Not generated: `network!` reported errors for this network.
                    pub fn forward<'m, I: ?Sized>(&self, _memory: &'m mut #memory, _input: &I) -> &'m [f32] {
                        ::core::unreachable!("`network!` reported errors for this network")
                    }
                }
                impl #int8_memory {
                    /// Zero: `network!` reported errors for this network.
                    pub const BYTES: usize = 0;
                    /// Not generated: `network!` reported errors for this network.
                    pub const fn new() -> Self {
                        #int8_memory { __marker: ::core::marker::PhantomData }
                    }
                }
                impl<'q> #int8<'q> {
                    /// Zeros: `network!` reported errors for this network.
                    pub const SIZES: rt::int8::Sizes = rt::int8::Sizes { weights: 0, biases: 0, scales: 0 };
                    /// Zero: `network!` reported errors for this network.
                    pub const WEIGHT_BYTES: usize = 0;
                    /// Zero: `network!` reported errors for this network.
                    pub const MEMORY_BYTES: usize = 0;
                    /// Empty: `network!` reported errors for this network.
                    pub const PLAN: &'static [rt::int8::Step] = &[];
                    /// Not generated: `network!` reported errors for this network.
                    pub const EMBEDDED: Self = #int8 { __marker: ::core::marker::PhantomData };
                    /// Not generated: `network!` reported errors for this network.
                    pub const fn new<W: ?Sized, B: ?Sized, S: ?Sized>(_weights: &'q W, _biases: &'q B, _scales: &'q S) -> Self {
                        #int8 { __marker: ::core::marker::PhantomData }
                    }
                    /// Not generated: `network!` reported errors for this network.
                    pub fn forward<'m, I: ?Sized>(&self, _memory: &'m mut #int8_memory, _input: &I) -> &'m [f32] {
                        ::core::unreachable!("`network!` reported errors for this network")
                    }
                }
                rt::with_std! {
                impl<'q> #int8<'q> {
                    /// Not generated: `network!` reported errors for this network.
                    pub fn from_model(_model: &'q rt::Int8Model) -> ::core::result::Result<Self, rt::Error> {
                        ::core::unreachable!("`network!` reported errors for this network")
                    }
                    /// Not generated: `network!` reported errors for this network.
                    pub fn load<P>(_path: P) -> ::core::result::Result<rt::Int8Model, rt::Error> {
                        ::core::unreachable!("`network!` reported errors for this network")
                    }
                }
                impl #name {
                    /// Not generated: `network!` reported errors for this network.
                    pub fn quantize(&mut self, _calibration: &[f32]) -> ::core::result::Result<rt::Int8Model, rt::Error> {
                        ::core::unreachable!("`network!` reported errors for this network")
                    }
                }
                #inherent
                impl<F: rt::Float> rt::Network<F> for #name<F> {
                    const NAME: &'static str = #name_str;
                    const INPUT_SHAPE: &'static [usize] = &[];
                    const OUTPUT_SHAPE: &'static [usize] = &[];
                    const INPUT_LEN: usize = 0;
                    const OUTPUT_LEN: usize = 0;
                    const PARAMS: usize = 0;
                    const FLOPS: u64 = 0;
                    const ACTIVATION_ELEMENTS: usize = 0;
                    const LAYERS: &'static [rt::LayerInfo] = &[];
                    const BUFFERS: usize = 0;
                    const SEGMENTS: usize = 1;
                    const BARRIERS: &'static [rt::batchnorm::Barrier] = &[];
                    const MIN_TRAINING_BATCH: (usize, &'static str) = (1, "");
                    const LAYOUT: rt::workspace::Layout = rt::workspace::Layout {
                        activations: 0, output_offset: 0, inference: 0, inference_output_offset: 0, gradient: 0, scratch: 0, scratch_per_sample: 0, chunk_scratch: 0, inference_chunk_scratch: 0, batch_stats: 0, partials: 0,
                    };
                    fn try_with_seed(_seed: u64) -> ::core::result::Result<Self, rt::Error> {
                        ::core::unreachable!("`network!` reported errors for this network")
                    }
                    fn params(&self) -> &[F] { ::core::unreachable!() }
                    fn params_mut(&mut self) -> &mut [F] { ::core::unreachable!() }
                    fn grads(&self) -> &[F] { ::core::unreachable!() }
                    fn buffers(&self) -> &[F] { ::core::unreachable!() }
                    fn buffers_mut(&mut self) -> &mut [F] { ::core::unreachable!() }
                    fn is_training(&self) -> bool { ::core::unreachable!() }
                    fn set_training(&mut self, _training: bool) { ::core::unreachable!() }
                    fn __parts(&mut self) -> rt::network::Parts<'_, F> { ::core::unreachable!() }
                    fn __forward_in(
                        _: &[F], _: &[F], _: &mut rt::rng::Rng, _: bool, _: bool, _: &mut rt::workspace::Workspace<F>, _: &[F], _: usize, _: usize,
                    ) {
                        ::core::unreachable!()
                    }
                    fn __backward_in(
                        _: &[F], _: &mut [F], _: bool, _: &mut rt::workspace::Workspace<F>, _: &[F], _: usize, _: bool, _: usize,
                    ) {
                        ::core::unreachable!()
                    }
                }
                }
            };
        }
    }
}
