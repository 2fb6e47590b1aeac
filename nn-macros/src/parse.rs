//! Phase 1: the `network!` language (SPEC §1) into a syntax tree that keeps every
//! token, so later phases can point their errors at exactly what the user wrote.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::buffer::Cursor;
use syn::parse::{Parse, ParseStream};
use syn::{bracketed, parenthesized, Attribute, Ident, LitBool, LitFloat, LitInt, Token, Visibility};

/// Every network in one macro invocation.
pub struct Definitions {
    pub networks: Vec<NetworkDef>,
}

/// `attrs vis NAME: [dims] => chain`
pub struct NetworkDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Vec<Value>,
    /// The whole `[..]` input shape, for errors about it.
    pub input_tokens: TokenStream,
    pub layers: Vec<LayerDef>,
}

/// `(name:)? kind ((args))?`
pub struct LayerDef {
    pub name: Option<Ident>,
    pub kind: Ident,
    pub args: Vec<Arg>,
    /// The layer exactly as written, name included.
    pub tokens: TokenStream,
}

impl LayerDef {
    /// Where the layer is written: all of it where the compiler joins spans (nightly),
    /// else its kind.
    pub fn span(&self) -> Span {
        let mut tokens = self.tokens.clone().into_iter().map(|t| t.span());
        let first = tokens.next();
        first.zip(tokens.last()).and_then(|(first, last)| first.join(last)).unwrap_or_else(|| self.kind.span())
    }
}

/// A positional (`5`) or keyword (`stride = 2`) argument.
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Value,
    pub tokens: TokenStream,
}

pub struct Value {
    pub kind: ValueKind,
    pub tokens: TokenStream,
}

#[derive(Debug, PartialEq)]
pub enum ValueKind {
    /// Any integer that fits in i128 (negative ones are parsed so they can be rejected
    /// with a useful message).
    Int(i128),
    Float(f64),
    Bool(bool),
    /// `(height, width)`
    Pair(i128, i128),
    /// A bare name: a keyword value (`padding = same`) or, inside a block, a parameter.
    Word(String),
}

impl ValueKind {
    /// How the value reads in messages and in the summary, normalized.
    pub fn render(&self) -> String {
        match self {
            ValueKind::Int(v) => v.to_string(),
            ValueKind::Float(v) => format_float(*v),
            ValueKind::Bool(v) => v.to_string(),
            ValueKind::Pair(h, w) => format!("({h}, {w})"),
            ValueKind::Word(w) => w.clone(),
        }
    }
}

/// Shortest decimal that reads back as the same f64, always with a point.
pub fn format_float(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// The tokens between two cursors at the same nesting level.
fn tokens_between(begin: Cursor, end: Cursor) -> TokenStream {
    let mut tokens = TokenStream::new();
    let mut cursor = begin;
    while cursor < end {
        match cursor.token_tree() {
            Some((tt, next)) => {
                tokens.extend(std::iter::once(tt));
                cursor = next;
            }
            None => break,
        }
    }
    tokens
}

impl Parse for Definitions {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut networks = Vec::new();
        while !input.is_empty() {
            networks.push(input.parse()?);
            if input.is_empty() {
                break;
            }
            if input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
            } else {
                return Err(input.error("expected `->` and another layer, or `;` before the next network"));
            }
        }
        if networks.is_empty() {
            return Err(input.error("expected a network, e.g. `pub Mlp: [784] => linear(784, 10)`"));
        }
        Ok(Definitions { networks })
    }
}

impl Parse for NetworkDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected the network's name, e.g. `pub LeNet5: [1, 32, 32] => …`")
        })?;
        input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(e.span(), "expected `:` and the input shape after the network's name, e.g. `: [1, 28, 28]`")
        })?;
        if !input.peek(syn::token::Bracket) {
            return Err(input.error(
                "expected the per-sample input shape in brackets, e.g. `[1, 28, 28]` (channels first) or `[784]`",
            ));
        }
        let begin = input.cursor();
        let content;
        bracketed!(content in input);
        let input_tokens = tokens_between(begin, input.cursor());
        let mut dims = Vec::new();
        while !content.is_empty() {
            dims.push(content.parse::<Value>()?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        input
            .parse::<Token![=>]>()
            .map_err(|e| syn::Error::new(e.span(), "expected `=>` between the input shape and the first layer"))?;
        let mut layers = vec![input.parse::<LayerDef>()?];
        while input.peek(Token![->]) {
            let arrow = input.parse::<Token![->]>()?;
            // Nothing after the arrow: say so at the arrow, not at the end of the call.
            if input.is_empty() || input.peek(Token![;]) {
                return Err(syn::Error::new_spanned(
                    arrow,
                    "expected a layer after `->`; remove the trailing `->`, or add a layer, e.g. `-> relu`",
                ));
            }
            layers.push(input.parse()?);
        }
        Ok(NetworkDef { attrs, vis, name, input: dims, input_tokens, layers })
    }
}

impl Parse for LayerDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let begin = input.cursor();
        let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let name = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(name)
        } else {
            None
        };
        let kind: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a layer, e.g. `conv(1, 6, 5)`, `relu` or `linear(120, 84)`")
        })?;
        let mut args = Vec::new();
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            while !content.is_empty() {
                args.push(content.parse::<Arg>()?);
                if content.is_empty() {
                    break;
                }
                content.parse::<Token![,]>()?;
            }
        }
        let tokens = tokens_between(begin, input.cursor());
        Ok(LayerDef { name, kind, args, tokens })
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let begin = input.cursor();
        let key = if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(key)
        } else {
            None
        };
        let value = input.parse()?;
        Ok(Arg { key, value, tokens: tokens_between(begin, input.cursor()) })
    }
}

fn parse_int(lit: &LitInt, negative: bool) -> syn::Result<i128> {
    if !lit.suffix().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("write the number without a type suffix: `{}`", lit.base10_digits()),
        ));
    }
    let magnitude: i128 = lit
        .base10_parse::<u64>()
        .map_err(|_| {
            syn::Error::new(lit.span(), format!("`{}` is too large: sizes must fit in 64 bits", lit.base10_digits()))
        })?
        .into();
    Ok(if negative { -magnitude } else { magnitude })
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let begin = input.cursor();
        let negative = if input.peek(Token![-]) {
            input.parse::<Token![-]>()?;
            true
        } else {
            false
        };
        let kind = if input.peek(LitInt) {
            ValueKind::Int(parse_int(&input.parse()?, negative)?)
        } else if input.peek(LitFloat) {
            let lit: LitFloat = input.parse()?;
            let v: f64 = lit.base10_parse()?;
            ValueKind::Float(if negative { -v } else { v })
        } else if !negative && input.peek(LitBool) {
            ValueKind::Bool(input.parse::<LitBool>()?.value)
        } else if !negative && input.peek(Ident) {
            ValueKind::Word(input.parse::<Ident>()?.to_string())
        } else if !negative && input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let h: Value = content.parse()?;
            content.parse::<Token![,]>()?;
            let w: Value = content.parse()?;
            if content.peek(Token![,]) {
                content.parse::<Token![,]>()?;
            }
            if !content.is_empty() {
                return Err(content.error("a pair has exactly two numbers: `(height, width)`"));
            }
            match (h.kind, w.kind) {
                (ValueKind::Int(h), ValueKind::Int(w)) => ValueKind::Pair(h, w),
                _ => {
                    let tokens = tokens_between(begin, input.cursor());
                    return Err(syn::Error::new_spanned(tokens, "a pair holds two integers: `(height, width)`"));
                }
            }
        } else {
            return Err(
                input.error("expected a value: an integer, a float, `true`/`false`, or a `(height, width)` pair")
            );
        };
        Ok(Value { kind, tokens: tokens_between(begin, input.cursor()) })
    }
}

impl ToTokens for Value {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.tokens.to_tokens(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_every_form_of_the_grammar() {
        let defs: Definitions = syn::parse2(quote! {
            /// docs
            #[derive(Clone)]
            pub(crate) A: [1, 28, 28] => c1: conv(1, 8, (3, 5), stride = 2, padding = (1, 2),) -> relu
                -> dropout(0.5) -> linear(10, 2, bias = false);
            B: [4] => linear(4, -2) -> leaky_relu(alpha = -1e-2);
        })
        .unwrap();
        assert_eq!(defs.networks.len(), 2);
        let a = &defs.networks[0];
        assert_eq!(a.attrs.len(), 2);
        assert_eq!(a.name, "A");
        assert_eq!(a.layers.len(), 4);
        assert_eq!(a.layers[0].name.as_ref().unwrap(), "c1");
        assert_eq!(a.layers[0].args.len(), 5);
        assert_eq!(a.layers[0].args[2].value.kind, ValueKind::Pair(3, 5));
        assert_eq!(a.layers[0].args[3].key.as_ref().unwrap(), "stride");
        assert_eq!(a.layers[2].args[0].value.kind, ValueKind::Float(0.5));
        assert_eq!(a.layers[3].args[2].value.kind, ValueKind::Bool(false));
        let b = &defs.networks[1];
        assert_eq!(b.layers[0].args[1].value.kind, ValueKind::Int(-2));
        assert_eq!(b.layers[1].args[0].value.kind, ValueKind::Float(-0.01));
    }

    #[test]
    fn rejects_garbage_with_a_message() {
        for (src, needle) in [
            (quote!(A [1] => relu), "expected `:`"),
            (quote!(A: 1 => relu), "input shape in brackets"),
            (quote!(A: [1] relu), "expected `=>`"),
            (quote!(A: [1] => relu relu), "expected `->`"),
            (quote!(A: [1] => relu ->), "remove the trailing `->`"),
            (quote!(A: [1] => relu -> ; B: [1] => relu), "remove the trailing `->`"),
            (quote!(A: [1] => linear(99999999999999999999999, 1)), "too large"),
            (quote!(A: [1] => conv(1, 1, (1, 2, 3))), "exactly two numbers"),
            (quote!(), "expected a network"),
        ] {
            let err = syn::parse2::<Definitions>(src).err().expect("should fail");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
