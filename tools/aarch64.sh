#!/usr/bin/env bash
# The portable paths on a processor with none of our vector kernels (issue 15): the
# runtime's unit tests and the bfloat16-refusal test built for aarch64 Linux and run
# under QEMU's user-mode emulation. There the kernels are the portable loops (and
# matrixmultiply's own NEON GEMM), `simd::selection()` reports no vector level, and
# `set_precision(Bf16)` must be refused with the reason.
#
#   bash tools/aarch64.sh
#
# Installs what it needs: the aarch64-unknown-linux-gnu standard library (rustup),
# Debian's cross linker and QEMU (apt-get, as root). About 3 minutes on 2 cores, most
# of it building. Exits non-zero on any failed test.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
target=aarch64-unknown-linux-gnu
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
cargo test --target "$target" -p nn-runtime --lib
cargo test --target "$target" --test precision -- --nocapture
echo "aarch64 (QEMU user mode): passed in $((SECONDS - start)) s"
