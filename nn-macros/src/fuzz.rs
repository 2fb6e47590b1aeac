//! Property test: the macro never panics. Grammar-aware generated networks (every layer
//! kind in the registry, its arguments drawn from its schema, positionally or by name,
//! mostly fitting their type and sometimes not; typos of kinds and keywords; zero,
//! negative, huge and 2³²-sized numbers, floats where integers belong, words (`same`,
//! `valid`, `tanh`) where they belong and where they do not; input shapes of every rank,
//! rank 2 with its axes named right and wrong; deep chains; nested `residual`,
//! `concat`, `scale` and parenthesized chains, references, block definitions and
//! instances with arithmetic over their parameters, recursion),
//! then word-level mutations of those and of valid networks (dropped, duplicated,
//! swapped, reversed and replaced words, damaged numbers, cut-off endings). Every input
//! goes through the whole pipeline: parse, check, and code generation when the checks
//! pass.
//!
//! CI runs 2,000 cases; the long run sets `NN_FUZZ_CASES` (see the README).

use crate::args::{ArgType, Default};
use crate::{expand, layers};
use proc_macro2::TokenTree;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::cell::Cell;
use std::str::FromStr;

/// Layer kinds the registry does not know: typos and strangers.
const STRANGE_KINDS: &[&str] = &["convv", "Linear", "max_pool", "dense", "r", "self", "fn"];

/// Argument names no schema has.
const STRANGE_KEYS: &[&str] = &["strid", "kernel", "pading", "type"];

/// Valid networks, for mutations that stay close to what parses and checks.
const SEEDS: &[&str] = &[
    "pub LeNet5: [1, 32, 32] => c1: conv(1, 6, 5, stride = (1, 1), padding = 0) -> tanh -> avgpool(2) \
     -> conv(6, 16, 5) -> relu -> maxpool(2, stride = 2) -> flatten -> linear(400, 84, bias = true) \
     -> sigmoid -> linear(84, 10) -> log_softmax; B: [3] => softmax",
    "Stateful: [3, 8, 8] => separable_conv(3, 8, 3, padding = 1) -> batchnorm(8) -> prelu(8) \
     -> conv_transpose(8, 4, 2, stride = 2) -> global_maxpool -> flatten -> dropout(0.25) \
     -> leaky_relu(alpha = 0.2) -> elu -> softplus -> abs -> identity; \
     Resample: [2, 4, 4] => upsample((2, 1)) -> global_avgpool",
    "Image: [3, 16, 16] => conv(3, 8, (3, 5), stride = (2, 1), padding = (1, 2), dilation = (1, 2), groups = 1) \
     -> relu -> maxpool(3, stride = 2, padding = 1) -> conv(8, 8, 1, groups = 4, bias = false) \
     -> avgpool((2, 1)) -> logistic -> batchnorm(8, eps = 1e-3, momentum = 0.2)",
    "block Basic(c) = residual(conv1: conv(c, c, 3, padding = (3 - 1) / 2, bias = false) -> bn1: batchnorm(c) -> relu \
     -> conv2: conv(c, c, 3, padding = 1)) -> relu; \
     block Down(cin, cout, s) = residual(conv(cin, cout, 3, stride = s, padding = 1) -> relu, \
     shortcut = downsample: (conv(cin, cout, 1, stride = s) -> batchnorm(cout))); \
     Res: [3, 16, 16] => stem: conv(3, 8, 3, padding = 1) -> layer1: (Basic(8) -> Basic(4 * 2)) -> Down(8, 16, 2) \
     -> concat(identity, conv(16, 8, 1) -> relu, stem -> maxpool(2)) \
     -> scale(global_avgpool -> conv(32, 4, 1) -> relu -> conv(4, 32, 1) -> sigmoid) -> global_avgpool -> flatten \
     -> concat(linear(32, 4), identity) -> fc: linear(36, 10)",
    "Mobile: [3, 15, 15] => conv(3, 8, 4, padding = same, dilation = 2) -> relu6 -> maxpool(2, ceil_mode = true) \
     -> separable_conv(8, 8, (2, 3), padding = same) -> hardswish -> avgpool(3, 2, 1, true) \
     -> conv(8, 4, 3, padding = valid) -> hardsigmoid -> maxpool(2, stride = 1, padding = same) \
     -> conv_transpose(4, 2, 2, padding = valid)",
    "Seq: [T = 6, F = 3] => rnn(3, 4, nonlinearity = relu) -> lstm(4, 4, layers = 2, bidirectional = true) \
     -> gru(in = 8, hidden = 2, bias = false) -> concat(identity, rnn(2, 2)) -> residual(linear(4, 4)) -> softmax; \
     Tail: [T = 4, F = 2] => transpose -> transpose -> lstm(2, 3) -> last -> linear(3, 2)",
    "Wave: [C = 3, L = 40] => conv1d(3, 8, 5, stride = 2, padding = 2, dilation = 2, groups = 1, bias = false) -> relu \
     -> maxpool1d(3, stride = 2, padding = 1, ceil_mode = true) -> conv1d(8, 8, 3, padding = same, groups = 4) \
     -> avgpool1d(2) -> transpose -> linear(8, 4) -> transpose -> flatten; \
     Steps: [T = 12, F = 3] => transpose -> conv1d(3, 4, 3, padding = valid) -> avgpool1d(2, padding = 1)",
];

/// Block names the generated networks define and instantiate (and one they do not).
const BLOCKS: &[&str] = &["A", "B", "C"];

/// What a mutation may put in place of a word.
const REPLACEMENTS: &[&str] = &[
    "0",
    "-1",
    "1.5",
    "18446744073709551615",
    "4294967296",
    "(0, 1)",
    "true",
    "",
    "->",
    ":",
    "=",
    ",",
    "conv",
    "relu",
    "(",
    ")",
    "residual(",
    "concat(",
    "block",
    "A(2)",
    "c",
    "same",
    "valid",
    "T = 3",
    "lstm(3, 3)",
    "transpose",
];

/// What a mutation may put in place of the digits inside a word.
const DAMAGED_NUMBERS: &[&str] = &["0", "7", "1000000000", "4294967296", "99999999999999999999999"];

/// Every name the registry knows (aliases included), and some it does not.
fn kinds() -> Vec<&'static str> {
    layers::known_names().into_iter().chain(STRANGE_KINDS.iter().copied()).collect()
}

/// Every argument name of every schema, and some no schema has.
fn keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = layers::known_names()
        .into_iter()
        .filter_map(layers::lookup)
        .flat_map(|kind| kind.schema.iter().map(|param| param.name))
        .chain(STRANGE_KEYS.iter().copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Any number, mostly small.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1u64..9).prop_map(|v| v.to_string()),
        3 => (1u64..300).prop_map(|v| v.to_string()),
        1 => Just("0".to_string()),
        1 => Just("-3".to_string()),
        1 => Just("4294967296".to_string()),
        1 => Just("18446744073709551615".to_string()),
        1 => Just("4611686018427387904".to_string()),
        1 => Just("99999999999999999999999".to_string()),
    ]
}

/// A size that often matches another small size (channels, features).
fn size() -> impl Strategy<Value = String> {
    prop_oneof![3 => (1u64..4).prop_map(|v| v.to_string()), 1 => number()]
}

/// Any value the grammar has, and some it does not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => number(),
        2 => (number(), number()).prop_map(|(h, w)| format!("({h}, {w})")),
        1 => Just("0.5".to_string()),
        1 => Just("1e-5".to_string()),
        1 => Just("-0.25".to_string()),
        1 => Just("true".to_string()),
        1 => Just("false".to_string()),
        1 => Just("(1, 2, 3)".to_string()),
        1 => Just("(0.5, 1)".to_string()),
        2 => prop::sample::select(&["c", "c * 2", "(c - 1) / 2", "c / 0", "k + 1", "-c", "(c, c + 1)", "same"][..])
            .prop_map(str::to_string),
        1 => prop::sample::select(&["same", "valid", "Same", "relu", "full"][..]).prop_map(str::to_string),
    ]
}

/// A value for an argument of type `ty`: mostly one that fits it.
fn value_for(ty: ArgType) -> BoxedStrategy<String> {
    let small = |range: std::ops::Range<u64>| range.prop_map(|v| v.to_string());
    let fitting = match ty {
        ArgType::Size => size().boxed(),
        ArgType::SizePair => {
            prop_oneof![3 => size(), 1 => (size(), size()).prop_map(|(h, w)| format!("({h}, {w})"))].boxed()
        }
        ArgType::PaddingPair => {
            prop_oneof![3 => small(0..3), 1 => (small(0..3), small(0..3)).prop_map(|(h, w)| format!("({h}, {w})"))]
                .boxed()
        }
        ArgType::Padding => prop_oneof![
            3 => small(0..3),
            1 => (small(0..3), small(0..3)).prop_map(|(h, w)| format!("({h}, {w})")),
            2 => prop::sample::select(&["same", "valid"][..]).prop_map(str::to_string),
        ]
        .boxed(),
        ArgType::LengthPadding => prop_oneof![
            3 => small(0..3),
            2 => prop::sample::select(&["same", "valid"][..]).prop_map(str::to_string),
        ]
        .boxed(),
        ArgType::Bool => prop::sample::select(&["true", "false"][..]).prop_map(str::to_string).boxed(),
        ArgType::Probability => (0u32..100).prop_map(|p| format!("0.{p:02}")).boxed(),
        ArgType::Float => {
            prop::sample::select(&["0.01", "0.2", "1e-5", "-0.5", "2", "1.0"][..]).prop_map(str::to_string).boxed()
        }
        ArgType::Nonlinearity => prop::sample::select(&["tanh", "relu"][..]).prop_map(str::to_string).boxed(),
    };
    prop_oneof![5 => fitting, 1 => value()].boxed()
}

/// How a generated layer passes one of its parameters.
#[derive(Clone, Copy, Debug)]
enum Pass {
    LeftOut,
    Positional,
    Named,
}

/// `(name:)? kind(args)?`: any known kind with arguments drawn from its schema,
/// sometimes with an extra one; or a stranger.
fn layer() -> impl Strategy<Value = String> {
    (prop::option::weighted(0.1, "[a-z]{1,3}"), prop::sample::select(kinds()), any::<bool>())
        .prop_flat_map(|(name, kind, parens)| {
            let schema = layers::lookup(kind).map_or(&[][..], |k| k.schema);
            // Required parameters mostly positionally, optional ones mostly left out.
            let arguments: Vec<_> = schema
                .iter()
                .map(|param| {
                    let pass = if matches!(param.default, Default::Required) {
                        prop_oneof![1 => Just(Pass::LeftOut), 6 => Just(Pass::Positional), 1 => Just(Pass::Named)]
                    } else {
                        prop_oneof![4 => Just(Pass::LeftOut), 1 => Just(Pass::Positional), 1 => Just(Pass::Named)]
                    };
                    (pass, Just(param.name), value_for(param.ty))
                })
                .collect();
            let extra_positional = prop::option::weighted(0.1, (any::<prop::sample::Index>(), value()));
            let extra_keyword = prop::option::weighted(0.1, (prop::sample::select(keys()), value()));
            (Just(name), Just(kind), Just(parens), arguments, extra_positional, extra_keyword)
        })
        .prop_map(|(name, kind, parens, arguments, extra_positional, extra_keyword)| {
            let mut args: Vec<String> = arguments
                .into_iter()
                .filter_map(|(pass, key, value)| match pass {
                    Pass::LeftOut => None,
                    Pass::Positional => Some(value),
                    Pass::Named => Some(format!("{key} = {value}")),
                })
                .collect();
            if let Some((at, value)) = extra_positional {
                args.insert(at.index(args.len() + 1), value);
            }
            if let Some((key, value)) = extra_keyword {
                args.push(format!("{key} = {value}"));
            }
            let name = name.map(|n| format!("{n}: ")).unwrap_or_default();
            if args.is_empty() && !parens {
                format!("{name}{kind}")
            } else {
                format!("{name}{kind}({})", args.join(", "))
            }
        })
}

/// A chain element: a layer (mostly), a block instance or a reference, or — nested up
/// to three deep — a parenthesized chain, `residual`, `concat` or `scale`.
fn element() -> impl Strategy<Value = String> {
    let instance = (prop::sample::select(BLOCKS), prop::collection::vec(value(), 0..3))
        .prop_map(|(block, args)| format!("{block}({})", args.join(", ")));
    let leaf = prop_oneof![12 => layer(), 2 => instance, 1 => Just("x".to_string()), 1 => Just("identity".to_string())];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let chain = prop::collection::vec(inner, 1..4).prop_map(|v| v.join(" -> "));
        let name = prop::option::weighted(0.2, prop::sample::select(&["x", "layer1", "b"][..]));
        let merge = prop_oneof![
            2 => chain.clone().prop_map(|c| format!("({c})")),
            2 => (chain.clone(), prop::option::of(chain.clone())).prop_map(|(body, shortcut)| match shortcut {
                Some(s) => format!("residual({body}, shortcut = {s})"),
                None => format!("residual({body})"),
            }),
            2 => prop::collection::vec(chain.clone(), 1..4).prop_map(|b| format!("concat({})", b.join(", "))),
            1 => chain.prop_map(|c| format!("scale({c})")),
        ];
        (name, merge).prop_map(|(name, merge)| match name {
            Some(n) => format!("{n}: {merge}"),
            None => merge,
        })
    })
}

/// `block NAME(params) = chain;`, the parameters mostly `c`, which the values use.
fn block() -> impl Strategy<Value = String> {
    let params = prop_oneof![4 => Just("c"), 1 => Just(""), 1 => Just("c, k"), 1 => Just("c, c")];
    (prop::sample::select(BLOCKS), params, prop::collection::vec(element(), 1..4))
        .prop_map(|(name, params, chain)| format!("block {name}({params}) = {}; ", chain.join(" -> ")))
}

fn network() -> impl Strategy<Value = String> {
    // Rank-2 inputs name their axes (`[T = 5, F = 3]`), mostly as the language wants.
    let letters = prop::sample::select(&["T, F", "C, L", "T, F", "C, L", "F, T", "C, H", "x, y"][..]);
    let shape = prop_oneof![
        3 => (size(), number(), number()).prop_map(|(c, h, w)| format!("[{c}, {h}, {w}]")),
        2 => size().prop_map(|f| format!("[{f}]")),
        2 => (letters, size(), size()).prop_map(|(letters, a, b)| {
            let (first, second) = letters.split_once(", ").unwrap_or((letters, letters));
            format!("[{first} = {a}, {second} = {b}]")
        }),
        1 => Just("[C = 1, H = 4, W = 4]".to_string()),
        1 => (size(), number()).prop_map(|(c, l)| format!("[C = {c}, L = {l}]")),
        1 => prop::collection::vec(number(), 0..5).prop_map(|d| format!("[{}]", d.join(", "))),
    ];
    // Short chains pass the checks often enough to exercise code generation.
    let chain = prop_oneof![
        4 => prop::collection::vec(layer(), 1..4),
        4 => prop::collection::vec(layer(), 4..12),
        1 => prop::collection::vec(layer(), 12..200),
        3 => prop::collection::vec(element(), 1..6),
    ];
    let blocks = prop::collection::vec(block(), 0..3);
    (blocks, shape, chain)
        .prop_map(|(blocks, shape, chain)| format!("{}pub Net: {shape} => {}", blocks.concat(), chain.join(" -> ")))
}

/// Word-level damage to a generated or a valid network: drop, duplicate, swap, reverse
/// or replace a word, damage the digits in one, or cut the text short.
fn mutated() -> impl Strategy<Value = String> {
    let source = prop_oneof![network(), prop::sample::select(SEEDS).prop_map(str::to_string)];
    let edit = (0u8..7, any::<prop::sample::Index>(), any::<prop::sample::Index>());
    (source, prop::collection::vec(edit, 1..4)).prop_map(|(text, edits)| {
        let mut words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        for (op, first, second) in edits {
            if words.is_empty() {
                break;
            }
            let (i, j) = (first.index(words.len()), second.index(words.len()));
            match op {
                0 => {
                    words.remove(i);
                }
                1 => {
                    let w = words[i].clone();
                    words.insert(j, w);
                }
                2 => words.swap(i, j),
                3 => words.truncate(i.max(1)),
                4 => words[i] = words[i].chars().rev().collect(),
                5 => words[i] = REPLACEMENTS[second.index(REPLACEMENTS.len())].to_string(),
                _ => {
                    // The first run of digits, keeping the punctuation around it.
                    let word = &words[i];
                    if let Some(start) = word.find(|c: char| c.is_ascii_digit()) {
                        let end = word[start..].find(|c: char| !c.is_ascii_digit()).map_or(word.len(), |e| start + e);
                        let number = DAMAGED_NUMBERS[second.index(DAMAGED_NUMBERS.len())];
                        words[i] = format!("{}{number}{}", &word[..start], &word[end..]);
                    }
                }
            }
        }
        words.join(" ")
    })
}

/// Runs the macro on `text` if it tokenizes (panics propagate to the runner); whether
/// it expanded to code without errors.
fn expand_text(text: &str) -> bool {
    let Ok(tokens) = proc_macro2::TokenStream::from_str(text) else { return false };
    // Errors are `::core::compile_error! { … }` at the top level of the expansion.
    !expand(tokens).into_iter().any(|t| matches!(t, TokenTree::Ident(i) if i == "compile_error"))
}

fn cases() -> u32 {
    std::env::var("NN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

#[test]
fn generated_and_mutated_networks_never_panic() {
    let cases = cases();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = prop_oneof![1 => network(), 1 => mutated()];
    let generated = Cell::new(0u32);
    let result = runner.run(&strategy, |text| {
        generated.set(generated.get() + u32::from(expand_text(&text)));
        Ok(())
    });
    if let Err(e) = result {
        panic!("the macro panicked: {e}");
    }
    let generated = generated.get();
    eprintln!("fuzz: {cases} generated and mutated networks, no panic; {generated} expanded without errors");
    // Some inputs must pass the checks; none would mean the generator drifted from the language.
    assert!(cases < 1_000 || generated > 0, "no input passed the checks: code generation went unfuzzed");
}

/// The mutations start from valid networks: they must stay valid as the language grows.
#[test]
fn seeds_expand_without_errors() {
    for seed in SEEDS {
        assert!(expand_text(seed), "{seed}");
    }
}

/// Inputs that once panicked the macro, kept as regression tests.
const PAST_CRASHES: &[&str] = &[
    // A kernel of 2³² on a padded 1×1 image: the fan-in overflowed before the fix.
    "Net: [1, 1, 1] => conv(1, 1, (4294967296, 4294967296), padding = (4294967296, 4294967296))",
    // 2³² stacked layers: a tensor list per layer exhausted memory before the cap.
    "Net: [T = 2, F = 3] => lstm(3, 4, layers = 4294967296)",
    // A hidden size of 2⁶²: four gates of it overflowed unchecked before the check.
    "Net: [T = 2, F = 3] => lstm(3, 4611686018427387904) -> rnn(4611686018427387904, 9223372036854775808, bidirectional = true)",
    // 64 of the largest stacks, 8,000 tensors each: capped by the network's tensor count.
    "block A = lstm(3, 3, layers = 1000, bidirectional = true) -> linear(6, 3); block B = A -> A -> A -> A; \
     block C = B -> B -> B -> B; Net: [T = 2, F = 3] => C -> C -> C -> C",
];

#[test]
fn past_crashes() {
    for text in PAST_CRASHES {
        expand_text(text);
    }
}
