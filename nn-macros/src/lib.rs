//! The `network!` procedural macro: a thin shim over three phases, each a plain
//! function on `proc_macro2` tokens so tests can call them without a compiler —
//! `parse` → `check` (the checked `ir`) → `codegen`.

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
mod weights;

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
    let (blocks, block_errors) = check::blocks(&definitions.blocks);
    if let Some(errors) = block_errors {
        out.extend(errors.to_compile_error());
    }
    let names = check::names(&definitions.networks);
    for (def, name_error) in definitions.networks.iter().zip(names) {
        let stub = fallback::Stub::of(def);
        match (check::check(def, &blocks), name_error) {
            (Ok(net), None) => {
                let mut embedded = codegen::Embedded::default();
                if let Some(path) = &def.weights {
                    let (items, weights) = weights::embed(&net, path);
                    out.extend(items);
                    embedded.weights = Some(weights);
                }
                if let Some(path) = &def.int8_weights {
                    let (items, arrays) = weights::embed_int8(&net, path);
                    out.extend(items);
                    embedded.int8 = arrays;
                }
                out.extend(codegen::generate(&net, &embedded));
            }
            (Err(errors), None) => {
                out.extend(errors.to_compile_error());
                out.extend(stub.generate());
            }
            // No code, and no stub: under that name either would only add rustc's errors.
            (checked, Some(mut errors)) => {
                if let Err(others) = checked {
                    errors.combine(others);
                }
                out.extend(errors.to_compile_error());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::expand;
    use quote::{quote, ToTokens};

    /// The expansion, pretty-printed as the user would read it in `cargo expand`.
    /// The expansion formatted, with what `with_std!` wraps shown as its items (marked
    /// by a comment before each), since a formatter leaves a macro's input as one line.
    fn pretty(input: proc_macro2::TokenStream) -> String {
        let file: syn::File = syn::parse2(expand(input)).expect("the expansion parses as Rust");
        let marked = |items: Vec<syn::Item>| {
            items.into_iter().map(|item| match item {
                syn::Item::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "with_std") => {
                    let tokens = m.mac.tokens;
                    syn::parse_quote!(#[doc = " with_std!"] mod with_std { #tokens })
                }
                other => other,
            })
        };
        let mut items: Vec<syn::Item> = marked(file.items).collect();
        for item in &mut items {
            if let syn::Item::Const(c) = item {
                if let syn::Expr::Block(block) = &mut *c.expr {
                    for stmt in &mut block.block.stmts {
                        if let syn::Stmt::Macro(m) = stmt {
                            if m.mac.path.segments.last().is_some_and(|s| s.ident == "with_std") {
                                let tokens = m.mac.tokens.clone();
                                *stmt =
                                    syn::Stmt::Item(syn::parse_quote!(#[doc = " with_std!"] mod with_std { #tokens }));
                            }
                        }
                    }
                }
            }
        }
        prettyplease::unparse(&syn::File { items, ..file })
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

    /// The 1-D layers as the 2-D kernels on unit-height images, relu and the max pooling
    /// fused into the direct convolution's epilogue, the average pooling after a shifted
    /// one.
    #[test]
    fn signal_layers_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            Wave: [C = 3, L = 32] => conv1d(3, 8, 5, padding = 2) -> relu -> maxpool1d(2)
                -> conv1d(8, 5, 3, padding = same, bias = false) -> avgpool1d(3, stride = 2, padding = 1, ceil_mode = true)
        }));
    }

    /// A sequence network: the LSTM's shape as a marker type, its training forward
    /// keeping every step's gates in `saved`, its inference forward (`infer`) without
    /// them; `linear` per step over `batch * 6` rows, `last`, the losses' rows.
    #[test]
    fn sequence_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            Tagger: [T = 6, F = 3] => lstm(3, 4, layers = 2, bidirectional = true) -> linear(8, 5)
                -> log_softmax;
            Reader: [T = 6, F = 3] => gru(3, 4) -> last -> linear(4, 2)
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
    fn residual_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            /// A basic block with a projection shortcut: the input is read twice, so its
            /// gradient is accumulated; the relu before the body stays unfused.
            pub Residual: [4, 8, 8] => conv(4, 4, 3, padding = 1) -> relu
                -> residual(conv(4, 8, 3, stride = 2, padding = 1) -> batchnorm(8) -> relu -> conv(8, 8, 3, padding = 1),
                    shortcut = downsample: (conv(4, 8, 1, stride = 2, bias = false) -> batchnorm(8)))
                -> relu -> global_avgpool -> flatten -> linear(8, 2)
        }));
    }

    #[test]
    fn concat_and_scale_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            pub Inception: [3, 8, 8] => conv(3, 4, 1)
                -> concat(identity, conv(4, 2, 3, padding = 1) -> tanh, maxpool(3, stride = 1, padding = 1))
                -> scale(global_avgpool -> conv(10, 2, 1) -> relu -> conv(2, 10, 1) -> sigmoid)
                -> flatten -> linear(640, 3)
        }));
    }

    #[test]
    fn nested_block_expansion() {
        insta::assert_snapshot!(pretty(quote! {
            block Unit(c, k) = conv(c, c, k, padding = (k - 1) / 2) -> relu;
            block Stage(c) = s: (Unit(c, 3) -> Unit(c, 1)) -> residual(Unit(c, 3));
            pub Nested: [2, 6, 6] => Stage(2) -> stage2: Stage(2) -> global_maxpool -> flatten -> linear(2, 2)
        }));
    }

    #[test]
    fn the_network_input_through_an_activation_reads_without_a_stray_parenthesis() {
        let out = expand(quote! {
            block B(c) = relu -> conv(2, 4, 1);
            Net: [3, 4, 4] => B(3)
        })
        .to_string();
        assert!(out.contains("but the network input, through `relu` produces 3 channels"), "{out}");
    }

    #[test]
    fn exponential_block_nesting_is_one_error_not_a_hang() {
        let out = expand(quote! {
            block A(c) = relu -> relu;
            block B(c) = A(c) -> A(c) -> A(c) -> A(c);
            block C(c) = B(c) -> B(c) -> B(c) -> B(c);
            block D(c) = C(c) -> C(c) -> C(c) -> C(c);
            block E(c) = D(c) -> D(c) -> D(c) -> D(c);
            block G(c) = E(c) -> E(c) -> E(c) -> E(c);
            block H(c) = G(c) -> G(c) -> G(c) -> G(c);
            block I(c) = H(c) -> H(c) -> H(c) -> H(c);
            block J(c) = I(c) -> I(c) -> I(c) -> I(c);
            block K(c) = J(c) -> J(c) -> J(c) -> J(c);
            Net: [4] => K(1) -> K(1) -> K(1) -> K(1)
        })
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 1, "{}", &out[..out.len().min(2000)]);
        assert!(out.contains("more than 100,000 layers"), "{}", &out[..out.len().min(2000)]);
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

    /// A valid network, one with mistakes (which expands to a stub) and one with a layer
    /// that defines items of its own, each with `attrs`.
    fn networks_with(attrs: proc_macro2::TokenStream) -> syn::File {
        let file: syn::File = syn::parse2(expand(quote! {
            #attrs pub Good: [4] => linear(4, 2) -> relu;
            #attrs pub Bad: [4] => linear(5, 2);
            #attrs pub Image: [1, 8, 8] => conv(1, 2, 3) -> maxpool(2) -> separable_conv(2, 2, 3)
        }))
        .expect("the expansion parses");
        syn::File { items: with_std_expanded(file.items), ..file }
    }

    /// `items` with every `with_std! { .. }` replaced by the items it holds (as with
    /// `nn`'s `std` feature), in `const _` blocks too.
    fn with_std_expanded(items: Vec<syn::Item>) -> Vec<syn::Item> {
        let inner = |mac: &syn::Macro| {
            (mac.path.segments.last().is_some_and(|s| s.ident == "with_std"))
                .then(|| with_std_expanded(syn::parse2::<syn::File>(mac.tokens.clone()).expect("items").items))
        };
        let mut out = Vec::new();
        for mut item in items {
            match &mut item {
                syn::Item::Macro(m) => {
                    if let Some(items) = inner(&m.mac) {
                        out.extend(items);
                        continue;
                    }
                }
                syn::Item::Const(c) => {
                    if let syn::Expr::Block(block) = &mut *c.expr {
                        let stmts = std::mem::take(&mut block.block.stmts);
                        for stmt in stmts {
                            let expanded = match &stmt {
                                syn::Stmt::Item(syn::Item::Macro(m)) => inner(&m.mac),
                                syn::Stmt::Macro(m) => inner(&m.mac),
                                _ => None,
                            };
                            match expanded {
                                Some(items) => block.block.stmts.extend(items.into_iter().map(syn::Stmt::Item)),
                                None => block.block.stmts.push(stmt),
                            }
                        }
                    }
                }
                _ => {}
            }
            out.push(item);
        }
        out
    }

    #[test]
    fn cfg_on_a_network_applies_to_every_item_emitted_for_it() {
        for (attr, kept) in [
            (quote!(#[cfg(test)]), "cfg (test)"),
            (
                quote!(#[cfg_attr(feature = "x", derive(Debug), cfg(any()), allow(dead_code))]),
                "cfg_attr (feature = \"x\" , cfg (any ()))",
            ),
            (quote!(#[cfg_attr(unix, cfg_attr(test, cfg(any())))]), "cfg_attr (unix , cfg_attr (test , cfg (any ())))"),
        ] {
            let file = networks_with(quote!(#[doc = " Docs."] #attr));
            let items: Vec<_> = file.items.iter().filter(|i| !matches!(i, syn::Item::Macro(_))).collect();
            // The network's struct, its static inference and memory types, a block, and
            // for `Good` (with an int8 form) and `Bad` (the stub has every type) their
            // int8 and int8 memory types.
            assert_eq!(items.len(), 16, "the structs and a block of each network");
            for item in items {
                let attrs = match item {
                    syn::Item::Struct(s) => &s.attrs,
                    syn::Item::Const(c) => &c.attrs,
                    other => panic!("unexpected item {}", quote!(#other)),
                };
                let configured: Vec<String> = attrs
                    .iter()
                    .filter(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
                    .map(|a| a.meta.to_token_stream().to_string())
                    .collect();
                if let syn::Item::Const(_) = item {
                    // Only what configures: no derive on a const.
                    assert_eq!(configured, [kept], "{}", quote!(#item));
                } else {
                    assert!(!configured.is_empty(), "{}", quote!(#item));
                }
            }
        }
    }

    #[test]
    fn attributes_that_do_not_configure_stay_on_the_struct() {
        let file = networks_with(quote!(#[derive(Debug)] #[cfg_attr(test, derive(Clone))]));
        for item in &file.items {
            if let syn::Item::Const(c) = item {
                let kept: Vec<_> = c.attrs.iter().map(|a| a.meta.to_token_stream().to_string()).collect();
                assert_eq!(kept, ["allow (deprecated)"]);
            }
        }
    }

    /// Every public item of the expansion, by name, with whether it has a doc comment.
    fn public_items(file: &syn::File) -> Vec<(String, bool)> {
        let public = |vis: &syn::Visibility| matches!(vis, syn::Visibility::Public(_));
        let documented = |attrs: &[syn::Attribute]| attrs.iter().any(|a| a.path().is_ident("doc"));
        let mut found = Vec::new();
        let mut items: Vec<&syn::Item> = file.items.iter().collect();
        while let Some(item) = items.pop() {
            match item {
                syn::Item::Struct(s) if public(&s.vis) => found.push((s.ident.to_string(), documented(&s.attrs))),
                syn::Item::Const(c) => {
                    if let syn::Expr::Block(block) = &*c.expr {
                        items.extend(block.block.stmts.iter().filter_map(|s| match s {
                            syn::Stmt::Item(item) => Some(item),
                            _ => None,
                        }));
                    }
                }
                // Trait impls need no docs of their own.
                syn::Item::Impl(imp) if imp.trait_.is_none() => {
                    for item in &imp.items {
                        match item {
                            syn::ImplItem::Const(c) if public(&c.vis) => {
                                found.push((c.ident.to_string(), documented(&c.attrs)))
                            }
                            syn::ImplItem::Fn(f) if public(&f.vis) => {
                                found.push((f.sig.ident.to_string(), documented(&f.attrs)))
                            }
                            _ => {}
                        }
                    }
                }
                syn::Item::Fn(f) if public(&f.vis) => found.push((f.sig.ident.to_string(), documented(&f.attrs))),
                _ => {}
            }
        }
        found
    }

    #[test]
    fn every_public_generated_item_is_documented() {
        let found = public_items(&networks_with(quote!(#[doc = " A network."])));
        // Three networks, each with its constants and constructors, and its static types
        // (the stub of the one with mistakes also has `EMBEDDED`).
        // `Good` has an int8 form too (13 more), and the stub of `Bad` every type (14 more).
        assert_eq!(found.len(), 3 * 26 + 1 + 13 + 14, "{found:?}");
        let undocumented: Vec<_> = found.iter().filter(|(_, documented)| !documented).collect();
        assert!(undocumented.is_empty(), "{undocumented:?}");
    }

    #[test]
    fn names_the_generated_code_uses_are_one_error_each_and_no_code() {
        let out = expand(quote! {
            F: [4] => linear(4, 2);
            rt: [4] => linear(4, 2);
            f32: [4] => linear(5, 2);
            r#u8: [4] => linear(4, 2);
            __forward_0: [4] => linear(4, 2);
            Fine: [4] => linear(4, 2)
        })
        .to_string();
        // `f32` also has a mistake in its layers: reported too.
        assert_eq!(out.matches("compile_error").count(), 6, "{out}");
        assert_eq!(out.matches("cannot be named").count(), 5, "{out}");
        for name in ["F", "rt", "f32", "r#u8", "__forward_0"] {
            assert!(!out.contains(&format!("struct {name} <")), "{name} is not declared: {out}");
        }
        assert!(out.contains("struct Fine <"), "{out}");
    }

    #[test]
    fn a_name_declared_twice_is_one_error_at_each_later_declaration() {
        let out = expand(quote! {
            A: [4] => linear(4, 2);
            B: [4] => linear(4, 2);
            A: [4] => linear(4, 3);
            r#A: [4] => linear(4, 5);
            B: [4] => relu
        })
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert_eq!(out.matches("already declared above").count(), 3, "{out}");
        assert_eq!(out.matches("struct A <").count() + out.matches("struct B <").count(), 2, "{out}");
        assert!(out.contains("OUTPUT_LEN : usize = 2"), "the first `A` is kept: {out}");
    }

    #[test]
    fn one_name_under_different_cfgs_is_left_to_the_compiler() {
        let out = expand(quote! {
            #[cfg(test)] A: [4] => linear(4, 2);
            #[cfg(not(test))] A: [4] => linear(4, 3);
            #[cfg(test)] A: [4] => linear(4, 5)
        })
        .to_string();
        assert_eq!(out.matches("already declared above").count(), 1, "{out}");
        assert_eq!(out.matches("struct A <").count(), 2, "{out}");
    }
}
