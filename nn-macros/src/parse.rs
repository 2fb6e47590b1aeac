//! Phase 1: the `network!` language (SPEC §1) into a syntax tree that keeps every
//! token, so later phases can point their errors at exactly what the user wrote.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::buffer::Cursor;
use syn::parse::{Parse, ParseStream};
use syn::{bracketed, parenthesized, Attribute, Ident, LitBool, LitFloat, LitInt, Token, Visibility};

/// Every network and block in one macro invocation.
pub struct Definitions {
    pub networks: Vec<NetworkDef>,
    pub blocks: Vec<BlockDef>,
}

/// `attrs vis NAME: [dims] => chain`
pub struct NetworkDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Vec<Value>,
    /// Each size's axis letter where written: `[T = 28, F = 28]`.
    pub input_labels: Vec<Option<Ident>>,
    /// The whole `[..]` input shape, for errors about it.
    pub input_tokens: TokenStream,
    pub chain: Chain,
    /// `#[weights("file.safetensors")]`: weights to check and embed at compile time.
    pub weights: Option<syn::LitStr>,
    /// `#[int8_weights("file")]`: a quantized model (`Int8Model::save`) to embed.
    pub int8_weights: Option<syn::LitStr>,
}

/// `block NAME(params) = chain`: a reusable, parameterized piece of a chain (SPEC §5).
pub struct BlockDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub chain: Chain,
}

/// `element -> element -> …`
pub struct Chain {
    pub elements: Vec<Element>,
}

/// One element of a chain.
pub enum Element {
    /// A layer, a block instance or (as a branch of a merge) a reference to a named
    /// value: which one is decided when checking, where the blocks are known.
    Layer(LayerDef),
    /// `(name:)? (chain)`: opens one level of the key path.
    Group { name: Option<Ident>, chain: Chain },
    /// `(name:)? residual(…)`, `concat(…)` or `scale(…)`.
    Merge(MergeDef),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MergeKind {
    /// `x + body(x)`, or `shortcut(x) + body(x)`.
    Residual,
    /// The branches' outputs along channels (features for flat shapes).
    Concat,
    /// `x * body(x)`, the gate broadcast over height and width.
    Scale,
}

impl MergeKind {
    pub fn from_name(name: &str) -> Option<MergeKind> {
        match name {
            "residual" => Some(MergeKind::Residual),
            "concat" => Some(MergeKind::Concat),
            "scale" => Some(MergeKind::Scale),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            MergeKind::Residual => "residual",
            MergeKind::Concat => "concat",
            MergeKind::Scale => "scale",
        }
    }
}

pub struct MergeDef {
    pub name: Option<Ident>,
    pub kind: MergeKind,
    pub keyword: Ident,
    /// The body (`residual`, `scale`) or every branch (`concat`), in written order.
    pub branches: Vec<Chain>,
    /// `residual`'s `shortcut = chain`.
    pub shortcut: Option<Chain>,
    pub tokens: TokenStream,
}

/// `(name:)? kind ((args))?`
#[derive(Clone)]
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
#[derive(Clone)]
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Value,
    pub tokens: TokenStream,
}

#[derive(Clone)]
pub struct Value {
    pub kind: ValueKind,
    pub tokens: TokenStream,
}

#[derive(Debug, Clone, PartialEq)]
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
    /// Integer arithmetic over a block's parameters, evaluated per instance.
    Expr(Expr),
    /// A pair of which at least one side is such arithmetic.
    PairExpr(Expr, Expr),
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
            ValueKind::Expr(e) => e.render(),
            ValueKind::PairExpr(h, w) => format!("({}, {})", h.render(), w.render()),
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
        let (mut networks, mut blocks) = (Vec::new(), Vec::new());
        while !input.is_empty() {
            let fork = input.fork();
            let _ = fork.call(Attribute::parse_outer);
            if fork.peek(Ident) && fork.peek2(Ident) && fork.parse::<Ident>().is_ok_and(|word| word == "block") {
                blocks.push(input.parse()?);
            } else {
                networks.push(input.parse()?);
            }
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
        Ok(Definitions { networks, blocks })
    }
}

impl Parse for BlockDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // Doc comments on a block document the source only.
        input.call(Attribute::parse_outer)?;
        input.parse::<Ident>()?;
        let name: Ident = input.parse()?;
        let mut params = Vec::new();
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            while !content.is_empty() {
                params.push(content.parse::<Ident>().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "a block's parameters are names, e.g. `block Down(cin, cout, stride) = …`",
                    )
                })?);
                if content.is_empty() {
                    break;
                }
                content.parse::<Token![,]>()?;
            }
        }
        input.parse::<Token![=]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `=` and the block's chain, e.g. `block {name}(c) = conv(c, c, 3) -> relu`"),
            )
        })?;
        let chain = input.parse()?;
        Ok(BlockDef { name, params, chain })
    }
}

impl Parse for NetworkDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let (mut weights, mut int8_weights) = (None, None);
        for attr in attrs.extract_if(.., |a| a.path().is_ident("weights") || a.path().is_ident("int8_weights")) {
            let int8 = attr.path().is_ident("int8_weights");
            let name = if int8 { "int8_weights" } else { "weights" };
            let path: syn::LitStr = attr.parse_args().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!(
                        "expected a {} file's path in quotes, relative to this source file (as `include_bytes!` \
                         takes it): `#[{name}(\"{}\")]`",
                        if int8 { "quantized model" } else { "safetensors" },
                        if int8 { "lenet5.int8" } else { "lenet5.safetensors" }
                    ),
                )
            })?;
            let slot = if int8 { &mut int8_weights } else { &mut weights };
            if slot.replace(path).is_some() {
                return Err(syn::Error::new_spanned(attr, format!("a network takes one `#[{name}(..)]` file")));
            }
        }
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
        let (mut dims, mut labels) = (Vec::new(), Vec::new());
        while !content.is_empty() {
            let label = if content.peek(Ident) && content.peek2(Token![=]) {
                let letter: Ident = content.parse()?;
                content.parse::<Token![=]>()?;
                Some(letter)
            } else {
                None
            };
            labels.push(label);
            dims.push(content.parse::<Value>()?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        input
            .parse::<Token![=>]>()
            .map_err(|e| syn::Error::new(e.span(), "expected `=>` between the input shape and the first layer"))?;
        let chain = input.parse()?;
        Ok(NetworkDef {
            attrs,
            vis,
            name,
            input: dims,
            input_labels: labels,
            input_tokens,
            chain,
            weights,
            int8_weights,
        })
    }
}

impl Parse for Chain {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut elements = vec![input.parse::<Element>()?];
        while input.peek(Token![->]) {
            let arrow = input.parse::<Token![->]>()?;
            // Nothing after the arrow: say so at the arrow, not at the end of the call.
            if input.is_empty() || input.peek(Token![;]) || input.peek(Token![,]) {
                return Err(syn::Error::new_spanned(
                    arrow,
                    "expected a layer after `->`; remove the trailing `->`, or add a layer, e.g. `-> relu`",
                ));
            }
            elements.push(input.parse()?);
        }
        Ok(Chain { elements })
    }
}

/// The chains between the parentheses of `(…)`, separated by commas, and `shortcut = …`.
fn branches(content: ParseStream, keyword: &Ident) -> syn::Result<(Vec<Chain>, Option<Chain>)> {
    let (mut chains, mut shortcut) = (Vec::new(), None);
    while !content.is_empty() {
        if content.peek(Ident) && content.peek2(Token![=]) && !content.peek2(Token![==]) {
            let key: Ident = content.parse()?;
            if key != "shortcut" || keyword != "residual" || shortcut.is_some() {
                let message = if keyword == "residual" && shortcut.is_none() {
                    format!("`residual` takes a body and `shortcut = …`, not `{key} = …`")
                } else if keyword == "residual" {
                    "`shortcut` is given twice".to_string()
                } else {
                    format!("`{keyword}` takes chains only, not `{key} = …`")
                };
                return Err(syn::Error::new(key.span(), message));
            }
            content.parse::<Token![=]>()?;
            shortcut = Some(content.parse()?);
        } else {
            if shortcut.is_some() {
                return Err(content.error("the body comes before `shortcut = …`"));
            }
            chains.push(content.parse()?);
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok((chains, shortcut))
}

impl Parse for Element {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let begin = input.cursor();
        let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let name = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(name)
        } else {
            None
        };
        if input.peek(syn::token::Paren) {
            let content;
            let parens = parenthesized!(content in input);
            if content.is_empty() {
                return Err(syn::Error::new(
                    parens.span.join(),
                    "expected a chain between the parentheses, e.g. `(conv(3, 8, 3) -> relu)`",
                ));
            }
            let chain: Chain = content.parse()?;
            if !content.is_empty() {
                return Err(content.error("expected `->` and another layer, or `)` closing the chain"));
            }
            return Ok(Element::Group { name, chain });
        }
        let merge = input.fork().parse::<Ident>().ok().and_then(|word| MergeKind::from_name(&word.to_string()));
        if let (Some(kind), true) = (merge, input.peek2(syn::token::Paren)) {
            let keyword: Ident = input.parse()?;
            let content;
            let parens = parenthesized!(content in input);
            let (branches, shortcut) = branches(&content, &keyword)?;
            let wanted = match kind {
                MergeKind::Residual | MergeKind::Scale => branches.len() == 1,
                MergeKind::Concat => !branches.is_empty(),
            };
            if !wanted {
                let usage = match kind {
                    MergeKind::Residual => "`residual(body)` or `residual(body, shortcut = chain)`, e.g. `residual(conv(8, 8, 3, padding = 1) -> relu)`",
                    MergeKind::Scale => "`scale(gate)`, one chain, e.g. `scale(global_avgpool -> conv(8, 2, 1) -> relu -> conv(2, 8, 1) -> sigmoid)`",
                    MergeKind::Concat => "`concat(branch, branch, …)`, e.g. `concat(identity, conv(8, 8, 3, padding = 1))`",
                };
                return Err(syn::Error::new(parens.span.join(), format!("`{keyword}` takes {usage}")));
            }
            let tokens = tokens_between(begin, input.cursor());
            return Ok(Element::Merge(MergeDef { name, kind, keyword, branches, shortcut, tokens }));
        }
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
        Ok(Element::Layer(LayerDef { name, kind, args, tokens }))
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let begin = input.cursor();
        // `in` is a Rust keyword but a parameter name (`linear(in = 784, out = 10)`).
        let key = if (input.peek(Ident) || input.peek(Token![in])) && input.peek2(Token![=]) && !input.peek2(Token![==])
        {
            let key = input.call(syn::ext::IdentExt::parse_any)?;
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

/// Integer arithmetic in a block's arguments: `(k - 1) / 2`, `c * 4`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Int(i128),
    /// A block parameter.
    Param(Ident),
    Neg(Box<Expr>),
    Binary(char, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The value with `lookup` giving the parameters; `Err` names what went wrong:
    /// the undeclared parameter, a division by zero or an overflow.
    pub fn evaluate(&self, lookup: &dyn Fn(&Ident) -> Option<i128>) -> Result<i128, ExprError> {
        Ok(match self {
            Expr::Int(v) => *v,
            Expr::Param(name) => lookup(name).ok_or_else(|| ExprError::Undeclared(name.clone()))?,
            Expr::Neg(e) => e.evaluate(lookup)?.checked_neg().ok_or(ExprError::Overflow)?,
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.evaluate(lookup)?, b.evaluate(lookup)?);
                match op {
                    '+' => a.checked_add(b),
                    '-' => a.checked_sub(b),
                    '*' => a.checked_mul(b),
                    _ if b == 0 => return Err(ExprError::DivisionByZero),
                    _ => a.checked_div(b),
                }
                .filter(|v| v.unsigned_abs() <= u64::MAX as u128)
                .ok_or(ExprError::Overflow)?
            }
        })
    }

    /// How the expression reads, normalized: `(k - 1) / 2`.
    pub fn render(&self) -> String {
        fn level(e: &Expr) -> u8 {
            match e {
                Expr::Binary('+' | '-', ..) => 1,
                Expr::Binary(..) => 2,
                _ => 3,
            }
        }
        match self {
            Expr::Int(v) => v.to_string(),
            Expr::Param(name) => name.to_string(),
            Expr::Neg(e) if level(e) < 3 => format!("-({})", e.render()),
            Expr::Neg(e) => format!("-{}", e.render()),
            Expr::Binary(op, a, b) => {
                let mine = level(self);
                let left = if level(a) < mine { format!("({})", a.render()) } else { a.render() };
                let right = if level(b) <= mine { format!("({})", b.render()) } else { b.render() };
                format!("{left} {op} {right}")
            }
        }
    }
}

pub enum ExprError {
    Undeclared(Ident),
    DivisionByZero,
    Overflow,
}

/// `-`, without taking the `-` of `->`.
fn peek_minus(input: ParseStream) -> bool {
    input.peek(Token![-]) && !input.peek(Token![->]) && !input.peek(Token![-=])
}

/// A sum of products of (possibly negated) integers, parameters and parenthesized sums.
fn parse_sum(input: ParseStream) -> syn::Result<Expr> {
    let mut left = parse_product(input)?;
    loop {
        let op = if input.peek(Token![+]) && !input.peek(Token![+=]) {
            input.parse::<Token![+]>()?;
            '+'
        } else if peek_minus(input) {
            input.parse::<Token![-]>()?;
            '-'
        } else {
            return Ok(left);
        };
        left = Expr::Binary(op, Box::new(left), Box::new(parse_product(input)?));
    }
}

fn parse_product(input: ParseStream) -> syn::Result<Expr> {
    let mut left = parse_unary(input)?;
    loop {
        let op = if input.peek(Token![*]) && !input.peek(Token![*=]) {
            input.parse::<Token![*]>()?;
            '*'
        } else if input.peek(Token![/]) && !input.peek(Token![/=]) {
            input.parse::<Token![/]>()?;
            '/'
        } else {
            return Ok(left);
        };
        left = Expr::Binary(op, Box::new(left), Box::new(parse_unary(input)?));
    }
}

fn parse_unary(input: ParseStream) -> syn::Result<Expr> {
    if peek_minus(input) {
        input.parse::<Token![-]>()?;
        if input.peek(LitInt) {
            return Ok(Expr::Int(parse_int(&input.parse()?, true)?));
        }
        return Ok(Expr::Neg(Box::new(parse_unary(input)?)));
    }
    if input.peek(LitInt) {
        Ok(Expr::Int(parse_int(&input.parse()?, false)?))
    } else if input.peek(Ident) && !input.peek(LitBool) {
        Ok(Expr::Param(input.parse()?))
    } else if input.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        let inner = parse_sum(&content)?;
        if !content.is_empty() {
            return Err(content.error("expected `)`: inside parentheses, one integer expression such as `(k - 1) / 2`"));
        }
        Ok(inner)
    } else if input.peek(LitFloat) {
        Err(input.error("expected an integer here: sizes and block arguments are whole numbers"))
    } else {
        Err(input.error("expected a value: an integer, a float, `true`/`false`, or a `(height, width)` pair"))
    }
}

/// Folds an expression without parameters to its value.
fn constant(expr: Expr, tokens: impl FnOnce() -> TokenStream) -> syn::Result<ValueKind> {
    let has_param = |e: &Expr| e.evaluate(&|_| None).is_err_and(|e| matches!(e, ExprError::Undeclared(_)));
    if let Expr::Param(name) = &expr {
        return Ok(ValueKind::Word(name.to_string()));
    }
    if has_param(&expr) {
        return Ok(ValueKind::Expr(expr));
    }
    match expr.evaluate(&|_| None) {
        Ok(v) => Ok(ValueKind::Int(v)),
        Err(ExprError::DivisionByZero) => Err(syn::Error::new_spanned(tokens(), "division by zero")),
        Err(_) => Err(syn::Error::new_spanned(tokens(), "the value is too large: sizes must fit in 64 bits")),
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let begin = input.cursor();
        let fork = input.fork();
        if peek_minus(&fork) {
            fork.parse::<Token![-]>()?;
        }
        let kind = if fork.peek(LitFloat) {
            let negative = peek_minus(input);
            if negative {
                input.parse::<Token![-]>()?;
            }
            let lit: LitFloat = input.parse()?;
            let v: f64 = lit.base10_parse()?;
            ValueKind::Float(if negative { -v } else { v })
        } else if input.peek(LitBool) {
            ValueKind::Bool(input.parse::<LitBool>()?.value)
        } else if input.peek(syn::token::Paren) && is_pair(input) {
            let content;
            parenthesized!(content in input);
            if content.peek(LitFloat) || (peek_minus(&content) && content.peek2(LitFloat)) {
                let tokens = tokens_between(begin, input.cursor());
                return Err(syn::Error::new_spanned(tokens, "a pair holds two integers: `(height, width)`"));
            }
            let h = parse_sum(&content)?;
            content.parse::<Token![,]>()?;
            let w = parse_sum(&content).map_err(|e| {
                if content.peek(LitFloat) {
                    syn::Error::new(e.span(), "a pair holds two integers: `(height, width)`")
                } else {
                    e
                }
            })?;
            if content.peek(Token![,]) {
                content.parse::<Token![,]>()?;
            }
            if !content.is_empty() {
                return Err(content.error("a pair has exactly two numbers: `(height, width)`"));
            }
            let tokens = || tokens_between(begin, input.cursor());
            match (constant(h.clone(), tokens)?, constant(w.clone(), tokens)?) {
                (ValueKind::Int(h), ValueKind::Int(w)) => ValueKind::Pair(h, w),
                _ => ValueKind::PairExpr(h, w),
            }
        } else {
            let expr = parse_sum(input)?;
            if input.peek(syn::token::Paren) {
                return Err(input.error("unexpected parentheses after a value"));
            }
            constant(expr, || tokens_between(begin, input.cursor()))?
        };
        Ok(Value { kind, tokens: tokens_between(begin, input.cursor()) })
    }
}

/// Whether the parenthesized group next is a `(height, width)` pair: it has a comma at
/// its top level.
fn is_pair(input: ParseStream) -> bool {
    let Some((mut cursor, _, _)) = input.cursor().group(proc_macro2::Delimiter::Parenthesis) else { return false };
    while let Some((tt, next)) = cursor.token_tree() {
        if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
            return true;
        }
        cursor = next;
    }
    false
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

    /// The chain's elements as layers (a chain of layers only).
    fn layers(chain: &Chain) -> Vec<&LayerDef> {
        chain
            .elements
            .iter()
            .map(|e| match e {
                Element::Layer(layer) => layer,
                _ => panic!("not a layer"),
            })
            .collect()
    }

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
        let a_layers = layers(&a.chain);
        assert_eq!(a.attrs.len(), 2);
        assert_eq!(a.name, "A");
        assert_eq!(a_layers.len(), 4);
        assert_eq!(a_layers[0].name.as_ref().unwrap(), "c1");
        assert_eq!(a_layers[0].args.len(), 5);
        assert_eq!(a_layers[0].args[2].value.kind, ValueKind::Pair(3, 5));
        assert_eq!(a_layers[0].args[3].key.as_ref().unwrap(), "stride");
        assert_eq!(a_layers[2].args[0].value.kind, ValueKind::Float(0.5));
        assert_eq!(a_layers[3].args[2].value.kind, ValueKind::Bool(false));
        let b = &defs.networks[1];
        let b_layers = layers(&b.chain);
        assert_eq!(b_layers[0].args[1].value.kind, ValueKind::Int(-2));
        assert_eq!(b_layers[1].args[0].value.kind, ValueKind::Float(-0.01));
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
