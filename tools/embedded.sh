#!/usr/bin/env bash
# The embedded LeNet-5 (issue 16): `examples/embedded` built for a Cortex-M4F
# (`thumbv7em-none-eabihf`, `#![no_std]`, no allocator, weights embedded at compile
# time) and run on QEMU's `mps2-an386` board, then the same model on the host through
# the same static inference type with the portable kernels (`NN_SIMD=portable`,
# `examples/embedded_host.rs`). Their predictions must be the same, digit for digit.
# Prints the board's flash and RAM use from the ELF (`size`).
#
#   bash tools/embedded.sh
#
# Installs what it needs: the target's standard library (rustup), QEMU and binutils
# (apt-get, as root). About 2 minutes on 2 cores, half of it QEMU emulating the board.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
target=thumbv7em-none-eabihf
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
if ! command -v qemu-system-arm >/dev/null || ! command -v size >/dev/null; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-arm binutils >/dev/null
fi
(cd examples/embedded && cargo clippy --release -- -D warnings && cargo build --release)
elf=examples/embedded/target/$target/release/lenet5-embedded
out=target/embedded
mkdir -p "$out"
# The board ends QEMU through semihosting with the program's status; a hang (no
# semihosting, a fault) ends at the time-out.
timeout 600 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
  -semihosting-config enable=on,target=native -kernel "$elf" >"$out/board.txt"
NN_SIMD=portable cargo run -q --release --example embedded_host >"$out/host.txt"
board=$(grep -c '^digit ' "$out/board.txt" || true)
if [ "$board" -lt 100 ]; then
  echo "the board classified $board digits:" >&2
  cat "$out/board.txt" >&2
  exit 1
fi
if ! diff <(grep '^digit ' "$out/board.txt") <(grep '^digit ' "$out/host.txt"); then
  echo "the board's predictions differ from the host's (lines above)" >&2
  exit 1
fi
echo "board: $(tail -n 1 "$out/board.txt")"
echo "host:  $(tail -n 1 "$out/host.txt")"
echo "the same predictions for all $board digits"
head -n 1 "$out/board.txt"
size "$elf"
echo "embedded (QEMU mps2-an386): passed in $((SECONDS - start)) s"
