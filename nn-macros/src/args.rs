//! Binds a layer's written arguments to its schema, as Python binds a call: positional
//! arguments in order, then keywords; defaults fill the rest. Every mistake here is an
//! error on the argument at fault that shows the schema.

use crate::diag::did_you_mean;
use crate::parse::{LayerDef, ValueKind};
use proc_macro2::TokenStream;
use quote::ToTokens;

/// What values an argument accepts.
#[derive(Clone, Copy)]
pub enum ArgType {
    /// An integer ≥ 1.
    Size,
    /// An integer ≥ 1, or a `(height, width)` pair of them.
    SizePair,
    /// An integer ≥ 0, or a pair of them.
    PaddingPair,
    /// As [`ArgType::PaddingPair`], or `same` / `valid` (PyTorch's `padding='same'`).
    Padding,
    /// One axis's padding (the 1-D layers): an integer ≥ 0, `same` or `valid`.
    LengthPadding,
    Bool,
    /// A float in [0, 1).
    Probability,
    /// Any number.
    Float,
    /// A recurrent layer's activation: `tanh` or `relu` (`nn.RNN`'s `nonlinearity`).
    Nonlinearity,
}

impl ArgType {
    fn describe(self) -> &'static str {
        match self {
            ArgType::Size => "a positive integer",
            ArgType::SizePair => "a positive integer or a `(height, width)` pair",
            ArgType::PaddingPair => "a non-negative integer or a `(height, width)` pair",
            ArgType::Padding => "a non-negative integer, a `(height, width)` pair, `same` or `valid`",
            ArgType::LengthPadding => "a non-negative integer, `same` or `valid`",
            ArgType::Bool => "`true` or `false`",
            ArgType::Probability => "a probability in [0, 1), e.g. `0.5`",
            ArgType::Float => "a number, e.g. `0.01`",
            ArgType::Nonlinearity => "`tanh` or `relu`",
        }
    }
}

/// A default: a literal, or the value another argument received (pooling's
/// `stride = k`).
#[derive(Clone, Copy)]
pub enum Default {
    Required,
    Int(u64),
    Bool(bool),
    Float(f64),
    /// A keyword value (`nonlinearity = tanh`).
    Word(&'static str),
    SameAs(&'static str),
}

#[derive(Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: ArgType,
    pub default: Default,
}

pub const fn required(name: &'static str, ty: ArgType) -> Param {
    Param { name, ty, default: Default::Required }
}
pub const fn optional(name: &'static str, ty: ArgType, default: Default) -> Param {
    Param { name, ty, default }
}

/// A checked argument value.
#[derive(Clone, Copy)]
pub enum Resolved {
    Int(u64),
    Pair(u64, u64),
    Bool(bool),
    Float(f64),
    /// A keyword value the type accepts (`same`, `valid`).
    Word(&'static str),
}

/// The schema as a user would write the call, e.g. `conv(in, out, k, stride = 1, …)`.
pub fn signature(kind: &str, schema: &[Param]) -> String {
    let parts: Vec<String> = schema
        .iter()
        .map(|p| match p.default {
            Default::Required => p.name.to_string(),
            Default::Int(v) => format!("{} = {v}", p.name),
            Default::Bool(v) => format!("{} = {v}", p.name),
            Default::Float(v) => format!("{} = {}", p.name, crate::parse::format_float(v)),
            Default::Word(w) => format!("{} = {w}", p.name),
            Default::SameAs(other) => format!("{} = {other}", p.name),
        })
        .collect();
    if parts.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}({})", parts.join(", "))
    }
}

/// A layer's arguments bound to its schema.
pub struct Bound<'a> {
    pub layer: &'a LayerDef,
    schema: &'static [Param],
    values: Vec<Resolved>,
    /// Index into `layer.args` each parameter came from; `None` when defaulted.
    sources: Vec<Option<usize>>,
}

impl<'a> Bound<'a> {
    fn index(&self, name: &str) -> usize {
        self.schema
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| unreachable!("no parameter `{name}` in schema"))
    }

    /// Whether the layer kind takes an argument of this name.
    pub fn has(&self, name: &str) -> bool {
        self.schema.iter().any(|p| p.name == name)
    }

    pub fn get(&self, name: &str) -> Resolved {
        self.values[self.index(name)]
    }

    pub fn int(&self, name: &str) -> u64 {
        match self.get(name) {
            Resolved::Int(v) => v,
            Resolved::Pair(h, _) => h,
            _ => 0,
        }
    }

    /// An integer-or-pair argument as `(height, width)`.
    pub fn pair(&self, name: &str) -> (u64, u64) {
        match self.get(name) {
            Resolved::Int(v) => (v, v),
            Resolved::Pair(h, w) => (h, w),
            _ => (0, 0),
        }
    }

    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Resolved::Float(v) => v,
            Resolved::Int(v) => v as f64,
            _ => 0.0,
        }
    }

    /// A keyword value (`same`, `valid`), if the argument is one.
    pub fn word(&self, name: &str) -> Option<&'static str> {
        match self.get(name) {
            Resolved::Word(w) => Some(w),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Resolved::Bool(true))
    }

    /// The tokens to point an error about `name` at: the argument if written, else
    /// the whole layer.
    pub fn tokens(&self, name: &str) -> TokenStream {
        match self.sources[self.index(name)] {
            Some(i) => self.layer.args[i].tokens.clone(),
            None => self.layer.tokens.clone(),
        }
    }

    /// The layer as written (without its name), with some arguments replaced: the
    /// "write `conv(8, 16, 5)`" in a fix.
    pub fn written_with(&self, replacements: &[(&str, String)]) -> String {
        let mut args: Vec<String> = self
            .layer
            .args
            .iter()
            .map(|a| {
                let value = a.value.kind.render();
                match &a.key {
                    Some(k) => format!("{k} = {value}"),
                    None => value,
                }
            })
            .collect();
        for (name, value) in replacements {
            let i = self.index(name);
            match self.sources[i] {
                Some(arg) => {
                    args[arg] = match &self.layer.args[arg].key {
                        Some(k) => format!("{k} = {value}"),
                        None => value.clone(),
                    }
                }
                None => args.push(format!("{name} = {value}")),
            }
        }
        if args.is_empty() {
            self.layer.kind.to_string()
        } else {
            format!("{}({})", self.layer.kind, args.join(", "))
        }
    }

    /// The layer as written, normalized (`conv(1, 6, 5, stride = 2)`).
    pub fn written(&self) -> String {
        self.written_with(&[])
    }
}

fn type_error(tokens: impl ToTokens, kind: &str, param: &Param, found: &str, schema: &[Param]) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        format!(
            "`{}` of `{kind}` must be {}, found `{found}`\n  usage: {}",
            param.name,
            param.ty.describe(),
            signature(kind, schema)
        ),
    )
}

/// Checks one value against its parameter's type and range.
fn resolve(
    value: &ValueKind, tokens: &TokenStream, kind: &str, param: &Param, schema: &[Param],
) -> syn::Result<Resolved> {
    let found = value.render();
    let bad = || type_error(tokens, kind, param, &found, schema);
    let positive = |v: i128| -> syn::Result<u64> {
        if v < 1 {
            Err(syn::Error::new_spanned(tokens, format!("`{}` of `{kind}` must be at least 1, found {v}", param.name)))
        } else {
            Ok(v as u64)
        }
    };
    let non_negative = |v: i128| -> syn::Result<u64> {
        if v < 0 {
            Err(syn::Error::new_spanned(tokens, format!("`{}` of `{kind}` cannot be negative, found {v}", param.name)))
        } else {
            Ok(v as u64)
        }
    };
    match (param.ty, value) {
        (ArgType::Size, ValueKind::Int(v)) => Ok(Resolved::Int(positive(*v)?)),
        (ArgType::SizePair, ValueKind::Int(v)) => Ok(Resolved::Int(positive(*v)?)),
        (ArgType::SizePair, ValueKind::Pair(h, w)) => Ok(Resolved::Pair(positive(*h)?, positive(*w)?)),
        (ArgType::PaddingPair, ValueKind::Int(v)) => Ok(Resolved::Int(non_negative(*v)?)),
        (ArgType::PaddingPair | ArgType::Padding, ValueKind::Pair(h, w)) => {
            Ok(Resolved::Pair(non_negative(*h)?, non_negative(*w)?))
        }
        (ArgType::Padding | ArgType::LengthPadding, ValueKind::Int(v)) => Ok(Resolved::Int(non_negative(*v)?)),
        (ArgType::Padding | ArgType::LengthPadding, ValueKind::Word(w)) if w == "same" => Ok(Resolved::Word("same")),
        (ArgType::Padding | ArgType::LengthPadding, ValueKind::Word(w)) if w == "valid" => Ok(Resolved::Word("valid")),
        (ArgType::Nonlinearity, ValueKind::Word(w)) if w == "tanh" => Ok(Resolved::Word("tanh")),
        (ArgType::Nonlinearity, ValueKind::Word(w)) if w == "relu" => Ok(Resolved::Word("relu")),
        (ArgType::Bool, ValueKind::Bool(b)) => Ok(Resolved::Bool(*b)),
        (ArgType::Float, ValueKind::Float(f)) => Ok(Resolved::Float(*f)),
        (ArgType::Float, ValueKind::Int(v)) => Ok(Resolved::Float(*v as f64)),
        (ArgType::Probability, ValueKind::Float(_) | ValueKind::Int(_)) => {
            let p = match value {
                ValueKind::Float(f) => *f,
                ValueKind::Int(v) => *v as f64,
                _ => unreachable!("matched above"),
            };
            if (0.0..1.0).contains(&p) {
                Ok(Resolved::Float(p))
            } else {
                Err(syn::Error::new_spanned(
                    tokens,
                    format!("`{}` of `{kind}` is a probability and must lie in [0, 1), found {found}", param.name),
                ))
            }
        }
        _ => Err(bad()),
    }
}

/// Binds `layer`'s arguments to `schema`, reporting every binding mistake.
pub fn bind<'a>(layer: &'a LayerDef, schema: &'static [Param]) -> Result<Bound<'a>, syn::Error> {
    let kind = layer.kind.to_string();
    let usage = || signature(&kind, schema);
    let mut errors = crate::diag::Errors::default();
    let mut slots: Vec<Option<usize>> = vec![None; schema.len()];
    let mut seen_keyword = false;
    let mut positional = 0;
    for (i, arg) in layer.args.iter().enumerate() {
        match &arg.key {
            None => {
                if seen_keyword {
                    errors.push(syn::Error::new_spanned(
                        &arg.tokens,
                        format!("positional argument after a keyword argument in `{kind}`; name it, or move it before the keywords\n  usage: {}", usage()),
                    ));
                    // Still bind it by position, so no "missing argument" follows.
                }
                if positional >= schema.len() {
                    let msg = if schema.is_empty() {
                        format!("`{kind}` takes no arguments; write `{kind}`")
                    } else {
                        format!("`{kind}` takes at most {} arguments, found more\n  usage: {}", schema.len(), usage())
                    };
                    errors.push(syn::Error::new_spanned(&arg.tokens, msg));
                    positional += 1;
                    continue;
                }
                if slots[positional].is_none() {
                    slots[positional] = Some(i);
                }
                positional += 1;
            }
            Some(key) => {
                seen_keyword = true;
                let name = key.to_string();
                match schema.iter().position(|p| p.name == name) {
                    None => {
                        let names: Vec<&str> = schema.iter().map(|p| p.name).collect();
                        let hint = match did_you_mean(&name, &names) {
                            Some(s) => format!("; did you mean `{s}`?"),
                            None if names.is_empty() => format!("; `{kind}` takes no arguments"),
                            None => String::new(),
                        };
                        errors.push(syn::Error::new_spanned(
                            key,
                            format!("`{kind}` has no argument `{name}`{hint}\n  usage: {}", usage()),
                        ));
                    }
                    Some(p) if slots[p].is_some() => {
                        errors.push(syn::Error::new_spanned(
                            &arg.tokens,
                            format!("argument `{name}` of `{kind}` is given twice\n  usage: {}", usage()),
                        ));
                    }
                    Some(p) => slots[p] = Some(i),
                }
            }
        }
    }
    let mut values = Vec::with_capacity(schema.len());
    for (p, param) in schema.iter().enumerate() {
        let value = match (slots[p], param.default) {
            (Some(i), _) => {
                let arg = &layer.args[i];
                match resolve(&arg.value.kind, &arg.value.tokens, &kind, param, schema) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(e);
                        Resolved::Int(1)
                    }
                }
            }
            (None, Default::Required) => {
                errors.push(syn::Error::new_spanned(
                    &layer.tokens,
                    format!("`{kind}` is missing its argument `{}`\n  usage: {}", param.name, usage()),
                ));
                Resolved::Int(1)
            }
            (None, Default::Int(v)) => Resolved::Int(v),
            (None, Default::Bool(v)) => Resolved::Bool(v),
            (None, Default::Float(v)) => Resolved::Float(v),
            (None, Default::Word(w)) => Resolved::Word(w),
            (None, Default::SameAs(other)) => {
                let j = schema
                    .iter()
                    .position(|q| q.name == other)
                    .unwrap_or_else(|| unreachable!("default refers to `{other}`"));
                values[j]
            }
        };
        values.push(value);
    }
    errors.finish()?;
    Ok(Bound { layer, schema, values, sources: slots })
}
