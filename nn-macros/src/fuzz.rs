//! Property test: the macro never panics. Grammar-aware generated networks (every layer
//! kind, typos of kinds and keywords, zero, negative, huge and 2³²-sized numbers, floats
//! where integers belong, deep chains), then token-level mutations of their text
//! (dropped, duplicated and swapped words, cut-off endings). Every input goes through
//! the whole pipeline: parse, check, and code generation when the checks pass.
//!
//! CI runs 2,000 cases; the long run sets `NN_FUZZ_CASES` (see the README).

use crate::expand;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::str::FromStr;

const KINDS: &[&str] = &[
    "linear",
    "conv",
    "separable_conv",
    "conv_transpose",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "global_maxpool",
    "upsample",
    "flatten",
    "batchnorm",
    "dropout",
    "relu",
    "tanh",
    "sigmoid",
    "logistic",
    "abs",
    "softplus",
    "leaky_relu",
    "elu",
    "identity",
    "prelu",
    "softmax",
    "log_softmax",
    // typos and strangers
    "convv",
    "Linear",
    "max_pool",
    "dense",
    "r",
    "self",
    "fn",
];

const KEYS: &[&str] = &[
    "in",
    "out",
    "k",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "output_padding",
    "p",
    "alpha",
    "eps",
    "momentum",
    "c",
    "scale",
    "strid",
    "kernel",
    "pading",
    "type",
];

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1u64..9).prop_map(|v| v.to_string()),
        3 => (1u64..300).prop_map(|v| v.to_string()),
        1 => Just("0".to_string()),
        1 => Just("-3".to_string()),
        1 => Just("4294967296".to_string()),
        1 => Just("18446744073709551615".to_string()),
        1 => Just("99999999999999999999999".to_string()),
    ]
}

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
    ]
}

fn layer() -> impl Strategy<Value = String> {
    let positional = prop::collection::vec(value(), 0..5);
    let keywords = prop::collection::vec((prop::sample::select(KEYS), value()), 0..3);
    (prop::option::weighted(0.1, "[a-z]{1,3}"), prop::sample::select(KINDS), positional, keywords, any::<bool>())
        .prop_map(|(name, kind, positional, keywords, parens)| {
            let mut args: Vec<String> = positional;
            args.extend(keywords.into_iter().map(|(k, v)| format!("{k} = {v}")));
            let name = name.map(|n| format!("{n}: ")).unwrap_or_default();
            if args.is_empty() && !parens {
                format!("{name}{kind}")
            } else {
                format!("{name}{kind}({})", args.join(", "))
            }
        })
}

fn network() -> impl Strategy<Value = String> {
    let shape = prop_oneof![
        3 => (number(), number(), number()).prop_map(|(c, h, w)| format!("[{c}, {h}, {w}]")),
        2 => number().prop_map(|f| format!("[{f}]")),
        1 => prop::collection::vec(number(), 0..5).prop_map(|d| format!("[{}]", d.join(", "))),
    ];
    let chain = prop_oneof![
        8 => prop::collection::vec(layer(), 1..12),
        1 => prop::collection::vec(layer(), 12..200),
    ];
    (shape, chain).prop_map(|(shape, chain)| format!("pub Net: {shape} => {}", chain.join(" -> ")))
}

/// Word-level damage: drop, duplicate, swap, or cut the text short.
fn mutated() -> impl Strategy<Value = String> {
    (network(), prop::collection::vec((0u8..5, any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..4))
        .prop_map(|(text, edits)| {
            let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
            for (op, i, j) in edits {
                if words.is_empty() {
                    break;
                }
                let (i, j) = (i.index(words.len()), j.index(words.len()));
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
                    _ => words[i] = words[i].chars().rev().collect(),
                }
            }
            words.join(" ")
        })
}

/// Runs the macro on `text` if it tokenizes; panics propagate to the runner.
fn expand_text(text: &str) {
    if let Ok(tokens) = proc_macro2::TokenStream::from_str(text) {
        let _ = expand(tokens);
    }
}

fn cases() -> u32 {
    std::env::var("NN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

#[test]
fn generated_and_mutated_networks_never_panic() {
    let cases = cases();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = prop_oneof![1 => network(), 1 => mutated()];
    let result = runner.run(&strategy, |text| {
        expand_text(&text);
        Ok(())
    });
    if let Err(e) = result {
        panic!("the macro panicked: {e}");
    }
    eprintln!("fuzz: {cases} generated and mutated networks, no panic");
}

/// Inputs that once panicked the macro, kept as regression tests.
#[test]
fn past_crashes() {
    for text in [
        // A kernel of 2³² on a padded 1×1 image: the fan-in overflowed before the fix.
        "Net: [1, 1, 1] => conv(1, 1, (4294967296, 4294967296), padding = (4294967296, 4294967296))",
    ] {
        expand_text(text);
    }
}
