#!/usr/bin/env bash
# The runtime without the standard library (issue 16, first step): `nn-runtime` and
# `nn` with `--no-default-features` build for a Cortex-M4F (`thumbv7em-none-eabihf`:
# no operating system, no allocator) and pass clippy there, and the runtime's unit
# tests pass in that configuration on the host (portable kernels, `libm` for exp, ln,
# tanh, sqrt and fused multiply-add, the portable GEMM instead of matrixmultiply).
#
#   bash tools/no_std.sh
#
# Installs the target's standard library with rustup if missing. About a minute on 2
# cores. Exits non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
target=thumbv7em-none-eabihf
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
cargo clippy -p nn-runtime -p nn --no-default-features --target "$target" -- -D warnings
cargo build -p nn-runtime -p nn --no-default-features --target "$target" --release
cargo test -p nn-runtime --lib --no-default-features
echo "no_std ($target): passed in $((SECONDS - start)) s"
