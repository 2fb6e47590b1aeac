//! The `network!` procedural macro: a thin shim over three phases, each a plain
//! function on `proc_macro2` tokens so tests can call them without a compiler —
//! [`parse`] → [`check`] (the checked [`ir`]) → [`codegen`].

mod args;
mod check;
mod codegen;
mod diag;
mod fallback;
#[cfg(test)]
mod fuzz;
mod ir;
#[cfg(test)]
mod latency;
mod layers;
mod parse;

use proc_macro2::TokenStream;

/// Declares one or more networks; see the crate `nn` for the language.
#[proc_macro]
pub fn network(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(input.into()).into()
}

/// The whole pipeline. Never panics: every mistake becomes a compile error, and a
/// network with mistakes still gets a stub so the user's own code using it does not
/// pile up secondary errors.
fn expand(input: TokenStream) -> TokenStream {
    let definitions = match syn::parse2::<parse::Definitions>(input) {
        Ok(d) => d,
        Err(e) => return e.to_compile_error(),
    };
    let mut out = TokenStream::new();
    for def in definitions.networks {
        let stub = fallback::Stub::of(&def);
        match check::check(def) {
            Ok(net) => out.extend(codegen::generate(&net)),
            Err(errors) => {
                out.extend(errors.to_compile_error());
                out.extend(stub.generate());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::expand;
    use quote::quote;

    /// The expansion, pretty-printed as the user would read it in `cargo expand`.
    fn pretty(input: proc_macro2::TokenStream) -> String {
        let file: syn::File = syn::parse2(expand(input)).expect("the expansion parses as Rust");
        prettyplease::unparse(&file)
    }

    #[test]
    fn lenet5_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            /// LeNet-5 (LeCun et al., 1998).
            pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
                -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
                -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
        }));
    }

    #[test]
    fn three_layer_mlp_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            pub(crate) Mlp: [784] => hidden: linear(784, 256) -> relu -> linear(256, 128) -> sigmoid
                -> out: linear(128, 10, bias = false) -> log_softmax
        }));
    }

    #[test]
    fn every_layer_kind_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            Kinds: [3, 16, 16] => flatten -> linear(768, 192) -> logistic -> softmax;
            Image: [3, 16, 16] => conv(3, 8, (3, 5), stride = (2, 1), padding = (1, 2), dilation = (1, 2), groups = 1)
                -> relu -> maxpool(3, stride = 2, padding = 1) -> conv(8, 8, 1, groups = 4, bias = false)
                -> avgpool((2, 1)) -> log_softmax
        }));
    }

    #[test]
    fn layers_with_state_and_saved_values_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            Stateful: [3, 8, 8] => separable_conv(3, 8, 3, padding = 1) -> batchnorm(8) -> prelu(8)
                -> conv_transpose(8, 4, 2, stride = 2) -> global_maxpool -> flatten -> dropout(0.25)
                -> leaky_relu(alpha = 0.2) -> elu -> softplus -> abs -> identity;
            Resample: [2, 4, 4] => upsample((2, 1)) -> global_avgpool
        }));
    }

    #[test]
    fn a_network_with_mistakes_expands_to_errors_and_a_stub() {
        let out = expand(quote! { Net: [1, 28, 28] => conv(1, 8, 5) -> conv(6, 16, 5) }).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("struct Net"), "{out}");
        assert!(out.contains("PhantomData"), "{out}");
    }

    #[test]
    fn every_reported_error_is_counted_once() {
        let out = expand(quote! { Net: [1, 28, 28] => conv(1, 6, 5, strid = 2) -> relu -> maxpol(2) -> linear(0, 1) });
        assert_eq!(out.to_string().matches("compile_error").count(), 3, "{out}");
    }
}
