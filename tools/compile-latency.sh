#!/usr/bin/env bash
# Compile latency of a crate that contains only one network (LeNet-5, AlexNet or VGG-16)
# and a main that trains it one step, so every kernel is instantiated: the release
# build of the crate alone, its dependencies (nn, syn, matrixmultiply…) already built.
# Prints one row per network: a full rebuild of the crate after `touch`, median of 3.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${TMPDIR:-/tmp}/nn-compile-latency"
rm -rf "$work" && mkdir -p "$work"
export CARGO_TARGET_DIR="$work/target"

network_source() {
  # The network definitions live in nn-macros' latency module; reuse them verbatim.
  sed -n "/pub const $1: &str = \"/,/\";/p" "$repo/nn-macros/src/latency.rs" \
    | sed -e "s/^pub const $1: &str = \"//" -e 's/";$//' -e 's/\\$//' | tr -s ' \n' ' '
}

printf '%-8s %12s %12s\n' network "rebuild s" "median of"
for net in LENET5 ALEXNET VGG16; do
  crate="$work/$net"
  mkdir -p "$crate/src"
  cat > "$crate/Cargo.toml" <<TOML
[package]
name = "latency-$(echo $net | tr A-Z a-z)"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
nn = { path = "$repo" }
[workspace]
TOML
  source="$(network_source $net)"
  name="${source%%:*}"
  cat > "$crate/src/main.rs" <<RS
use nn::prelude::*;
network! { $source }
fn main() {
    let mut net = $name::new(0);
    let x = vec![0.0f32; $name::INPUT_LEN];
    let mut sgd = Sgd::new(0.01);
    let loss = net.train_step(&x, &[0usize], &SoftmaxCrossEntropy, &mut sgd).unwrap();
    println!("{} {loss}", $name::PARAMS);
}
RS
  (cd "$crate" && cargo build --release -q 2>/dev/null)
  times=()
  for _ in 1 2 3; do
    touch "$crate/src/main.rs"
    start=$(date +%s.%N)
    (cd "$crate" && cargo build --release -q 2>/dev/null)
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  printf '%-8s %12.2f %12s\n' "$net" "$median" "3 builds"
done
