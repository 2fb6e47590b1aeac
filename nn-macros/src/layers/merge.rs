//! The merges of SPEC §5 — `residual` (`x + body(x)`, or `shortcut(x) + body(x)`),
//! `concat` (branches along channels, or features for flat values) and `scale`
//! (`x * gate(x)`, squeeze-and-excitation) — as graph nodes with several inputs. Their
//! shape checks name every branch's shape and where it comes from, and the fix.

use super::{lit, Axes, Layer, Shape};
use crate::parse::{MergeDef, MergeKind};
use proc_macro2::TokenStream;
use quote::quote;

/// Checks the branches' shapes (`shapes`, from `sources`, in the node's input order:
/// `residual` body then shortcut, `concat` branches, `scale` input then gate) and
/// makes the node. `axes` says what each input's axes mean: a sequence joins a
/// sequence, a signal a signal.
pub fn build(
    def: &MergeDef, shapes: &[Shape], axes: &[Axes], sources: &[String], has_shortcut: bool,
) -> syn::Result<Box<dyn Layer>> {
    let error = |message: String| Err(syn::Error::new_spanned(&def.keyword, message));
    let rank2 = |a: Axes| matches!(a, Axes::Sequence | Axes::Signal);
    if let Some(i) = axes.iter().position(|&a| a != axes[0] && (rank2(a) || rank2(axes[0]))) {
        let (j, render) = (0, |i: usize| axes[i].render(&shapes[i]));
        return error(format!(
            "`{}`: input {} is {} (from {}) but input {} is {} (from {}); values with different axes cannot be \
             joined (a [T, F] sequence becomes a [C, L] signal and back through `transpose`)",
            def.kind.name(),
            j + 1,
            render(j),
            sources[j],
            i + 1,
            render(i),
            sources[i],
        ));
    }
    // Every input has the first one's axes where rank 2 is involved, so one renders all.
    let shape = |s: &Shape| axes[0].render(s);
    match def.kind {
        MergeKind::Residual => {
            let (body, shortcut) = (&shapes[0], &shapes[1]);
            if body != shortcut {
                let what = if has_shortcut {
                    format!("the shortcut gives {} (from {})", shape(shortcut), sources[1])
                } else {
                    format!("the shortcut (the input, unchanged) is {} (from {})", shape(shortcut), sources[1])
                };
                let fix = if has_shortcut {
                    "change the shortcut or the body so that both give the same shape".to_string()
                } else {
                    match shortcut_fix(shortcut, body) {
                        Some(fix) => {
                            format!("add a shortcut that maps one onto the other: `residual(…, shortcut = {fix})`")
                        }
                        None => "make the body keep its input's shape, or add `shortcut = …` giving the body's shape"
                            .to_string(),
                    }
                };
                return error(format!(
                    "`residual`: the body gives {} (from {}) but {what}; the two are added, so their shapes must match — {fix}",
                    shape(body),
                    sources[0]
                ));
            }
            let len = body.iter().product();
            Ok(Box::new(Add { shape: body.clone(), len }))
        }
        MergeKind::Concat => {
            let first = &shapes[0];
            let describe = |i: usize| format!("branch {} gives {} (from {})", i + 1, shape(&shapes[i]), sources[i]);
            if let Some(i) = shapes.iter().position(|s| s.len() != first.len()) {
                return error(format!(
                    "`concat`: {} but {}; join images with images, or `flatten` every branch",
                    describe(0),
                    describe(i)
                ));
            }
            if axes[0] == Axes::Sequence {
                // Per time step, along features: `torch.cat(…, dim=2)` on `(N, T, F)`.
                if let Some(i) = shapes.iter().position(|s| s[0] != first[0]) {
                    return error(format!(
                        "`concat` joins sequences along their features, step by step, so their steps must agree: \
                         {} but {}",
                        describe(0),
                        describe(i)
                    ));
                }
                let lens: Vec<u64> = shapes.iter().map(|s| s[1]).collect();
                let output = vec![first[0], lens.iter().sum()];
                return Ok(Box::new(Concat { lens, output, steps: Some(first[0]) }));
            }
            if let Some(i) = shapes.iter().position(|s| s[1..] != first[1..]) {
                return error(format!(
                    "`concat` joins its branches along channels, so their other sizes must agree: {} but {}; \
                     make every branch keep the same size (stride 1 and `padding = same`, or the same pooling)",
                    describe(0),
                    describe(i)
                ));
            }
            let lens: Vec<u64> = shapes.iter().map(|s| s.iter().product()).collect();
            let mut output = first.clone();
            output[0] = shapes.iter().map(|s| s[0]).sum();
            Ok(Box::new(Concat { lens, output, steps: None }))
        }
        MergeKind::Scale if rank2(axes[0]) => error(format!(
            "`scale` gates images ([C, H, W], a factor per channel) and flat features; its input is {} (from {}): \
             `flatten` it first, or use `residual` to combine sequence branches",
            shape(&shapes[0]),
            sources[0]
        )),
        MergeKind::Scale => {
            let (input, gate) = (&shapes[0], &shapes[1]);
            let wanted: Shape = if input.len() == 3 { vec![input[0], 1, 1] } else { input.clone() };
            if *gate != wanted {
                let example = if input.len() == 3 {
                    let c = input[0];
                    let r = (c / 4).max(1);
                    format!("`scale(global_avgpool -> conv({c}, {r}, 1) -> relu -> conv({r}, {c}, 1) -> sigmoid)`")
                } else {
                    let f = input[0];
                    format!("`scale(linear({f}, {f}) -> sigmoid)`")
                };
                return error(format!(
                    "`scale` multiplies its input {} (from {}) by its gate, which must give {} (one factor per {}), but \
                     the gate gives {} (from {}); e.g. {example}",
                    shape(input),
                    sources[0],
                    shape(&wanted),
                    if input.len() == 3 { "channel" } else { "feature" },
                    shape(gate),
                    sources[1],
                ));
            }
            let channels = input[0];
            let positions = input[1..].iter().product();
            Ok(Box::new(Scale { shape: input.clone(), channels, positions }))
        }
    }
}

/// A shortcut that maps `from` onto `to` (torchvision's `downsample`), where one exists.
fn shortcut_fix(from: &[u64], to: &[u64]) -> Option<String> {
    match (from, to) {
        ([cin, h, w], [cout, oh, ow]) => {
            let stride = (h.div_ceil(*oh), w.div_ceil(*ow));
            let fits = |n: u64, s: u64, o: u64| (n - 1) / s + 1 == o;
            if !fits(*h, stride.0, *oh) || !fits(*w, stride.1, *ow) {
                return None;
            }
            let stride = match stride {
                (1, 1) => String::new(),
                (s, t) if s == t => format!(", stride = {s}"),
                (s, t) => format!(", stride = ({s}, {t})"),
            };
            Some(format!("(conv({cin}, {cout}, 1{stride}, bias = false) -> batchnorm({cout}))"))
        }
        ([fin], [fout]) => Some(format!("linear({fin}, {fout})")),
        _ => None,
    }
}

/// `residual`'s sum.
struct Add {
    shape: Shape,
    len: u64,
}

impl Layer for Add {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn flops(&self) -> Option<u64> {
        Some(self.len)
    }
    fn forward(&self) -> TokenStream {
        quote!(rt::merge::add(x0, x1, y))
    }
    fn backward(&self) -> TokenStream {
        TokenStream::new()
    }
    fn backward_input(&self, _input: usize, accumulate: bool) -> TokenStream {
        quote!(rt::merge::pass(dy, dx, #accumulate))
    }
}

/// `concat`'s join: each sample's output is its branches' samples one after another
/// (for sequences, each time step's: `rows` = T rows per sample).
struct Concat {
    lens: Vec<u64>,
    output: Shape,
    steps: Option<u64>,
}

impl Concat {
    /// Branch `i`'s length and offset in an output sample, and that sample's length.
    fn part(&self, i: usize) -> (proc_macro2::Literal, proc_macro2::Literal, proc_macro2::Literal) {
        let offset: u64 = self.lens[..i].iter().sum();
        (lit(self.lens[i]), lit(self.lens.iter().sum()), lit(offset))
    }
}

impl Layer for Concat {
    fn output_shape(&self) -> Shape {
        self.output.clone()
    }
    fn flops(&self) -> Option<u64> {
        Some(0)
    }
    fn forward(&self) -> TokenStream {
        let parts = (0..self.lens.len()).map(|i| {
            let (len, total, offset) = self.part(i);
            let x = quote::format_ident!("x{i}");
            let rows = super::rows(self.steps);
            quote!(rt::merge::concat_part::<F, #len, #total, #offset>(#x, y, #rows);)
        });
        quote!(#(#parts)*)
    }
    fn backward(&self) -> TokenStream {
        TokenStream::new()
    }
    fn backward_input(&self, input: usize, accumulate: bool) -> TokenStream {
        let ((len, total, offset), rows) = (self.part(input), super::rows(self.steps));
        quote!(rt::merge::split_part::<F, #len, #total, #offset>(dy, dx, #rows, #accumulate))
    }
}

/// `scale`'s product: input 0 times the gate (input 1), one factor per channel.
struct Scale {
    shape: Shape,
    channels: u64,
    positions: u64,
}

impl Layer for Scale {
    fn output_shape(&self) -> Shape {
        self.shape.clone()
    }
    fn flops(&self) -> Option<u64> {
        self.channels.checked_mul(self.positions)
    }
    fn forward(&self) -> TokenStream {
        let (c, s) = (lit(self.channels), lit(self.positions));
        quote!(rt::merge::scale::<F, #c, #s>(x0, x1, y, batch))
    }
    fn backward(&self) -> TokenStream {
        TokenStream::new()
    }
    fn backward_input(&self, input: usize, accumulate: bool) -> TokenStream {
        let (c, s) = (lit(self.channels), lit(self.positions));
        if input == 0 {
            quote!(rt::merge::scale_backward_input::<F, #c, #s>(x1, dy, dx, batch, #accumulate))
        } else {
            quote!(rt::merge::scale_backward_gate::<F, #c, #s>(x0, dy, dx, batch, #accumulate))
        }
    }
}
