//! The `network!` procedural macro: a thin shim over three phases, each a plain
//! function on `proc_macro2` tokens so tests can call them without a compiler —
//! [`parse`] → [`check`] (the checked [`ir`]) → [`codegen`].

mod args;
mod check;
mod codegen;
mod diag;
mod fallback;
mod ir;
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
