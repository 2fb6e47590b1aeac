#!/usr/bin/env bash
# The embedded LeNet-5 (issue 16): `examples/embedded` built for a Cortex-M4F
# (`thumbv7em-none-eabihf`, `#![no_std]`, no allocator, weights embedded at compile
# time) and run on QEMU's `mps2-an386` board, then the same model on the host through
# the same static inference type with the portable kernels (`NN_SIMD=portable`,
# `examples/embedded_host.rs`). Their predictions must be the same, digit for digit.
# Both in f32 and in int8 (`--features int8`, the quantized model embedded by
# `#[int8_weights(..)]`). Prints the board's flash and RAM use from the ELFs (`size`).
#
#   bash tools/embedded.sh
#
# Installs what it needs: the target's standard library (rustup), QEMU and binutils
# (apt-get, as root). About 3 minutes on 2 cores, half of it QEMU emulating the board.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
target=thumbv7em-none-eabihf
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
if ! command -v qemu-system-arm >/dev/null || ! command -v size >/dev/null; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-arm binutils >/dev/null
fi
out=target/embedded
mkdir -p "$out"
for variant in f32 int8; do
  features=()
  [ "$variant" = int8 ] && features=(--features int8)
  (cd examples/embedded && cargo clippy --release "${features[@]}" -- -D warnings \
    && cargo build --release "${features[@]}")
  elf=examples/embedded/target/$target/release/lenet5-embedded
  cp "$elf" "$out/lenet5-$variant.elf"
  # The board ends QEMU through semihosting with the program's status; a hang (no
  # semihosting, a fault) ends at the time-out.
  timeout 600 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf" >"$out/board-$variant.txt"
  host_args=()
  [ "$variant" = int8 ] && host_args=(-- int8)
  NN_SIMD=portable cargo run -q --release --example embedded_host "${host_args[@]}" >"$out/host-$variant.txt"
  board=$(grep -c '^digit ' "$out/board-$variant.txt" || true)
  if [ "$board" -lt 100 ]; then
    echo "$variant: the board classified $board digits:" >&2
    cat "$out/board-$variant.txt" >&2
    exit 1
  fi
  if ! diff <(grep '^digit ' "$out/board-$variant.txt") <(grep '^digit ' "$out/host-$variant.txt"); then
    echo "$variant: the board's predictions differ from the host's (lines above)" >&2
    exit 1
  fi
  echo "$variant board: $(tail -n 1 "$out/board-$variant.txt")"
  echo "$variant host:  $(tail -n 1 "$out/host-$variant.txt")"
  echo "$variant: the same predictions for all $board digits"
  head -n 1 "$out/board-$variant.txt"
done
size "$out/lenet5-f32.elf" "$out/lenet5-int8.elf"
echo "embedded (QEMU mps2-an386, f32 and int8): passed in $((SECONDS - start)) s"
