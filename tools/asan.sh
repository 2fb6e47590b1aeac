#!/usr/bin/env bash
# AddressSanitizer on the runtime's unit tests (issue 12): the AVX-512 kernels, which
# Miri cannot run (tools/miri.sh covers the portable and AVX2 paths), plus every other
# path this processor runs. The build instruments the runtime, its dependencies and,
# through -Zbuild-std, the standard library itself:
#
#   RUSTFLAGS="-Zsanitizer=address" cargo +nightly test -Zbuild-std \
#       --target <host> -p nn-runtime --lib
#
# (--target keeps the sanitizer off build scripts and proc macros; -Zbuild-std needs
# the rust-src component. Without it the build also works, with std uninstrumented.)
# A heap or stack access outside its object, a use after free or a leak aborts the
# run with ASan's report.
#
# The tests run every level the processor has (`simd::levels_here`): on a processor
# with AVX-512F that includes the AVX-512 tanh kernel, and NN_EXPECT_SIMD=avx512 makes
# `kernels::simd::tests::the_level_a_check_expects_is_the_one_running` fail if it is
# not the level in use. Without AVX-512F this script says so and checks the AVX2 (or
# portable) paths only: the AVX-512 kernels cannot run on such a processor at all.
# About 3.5 minutes on 2 cores, most of it building std and the dependencies.
#
#   bash tools/asan.sh
#
# Installs what it needs with rustup: ASAN_TOOLCHAIN (default nightly) with rust-src.
# Prints the time taken; exits non-zero on any finding or failed test.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=${ASAN_TOOLCHAIN:-nightly}
if ! command -v rustup >/dev/null 2>&1; then
  echo "asan.sh: rustup is needed to install $toolchain with rust-src" >&2
  exit 1
fi
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  echo "== installing $toolchain with rust-src"
  rustup toolchain install "$toolchain" --profile minimal --component rust-src
elif ! rustup component list --toolchain "$toolchain" --installed | grep -q '^rust-src'; then
  rustup component add --toolchain "$toolchain" rust-src
fi
host=$(rustup run "$toolchain" rustc -vV | sed -n 's/^host: //p')

# The level the tests must run: what this processor has.
has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
case "$host" in
  x86_64-*)
    if has avx512f && has avx2 && has fma; then
      expect=avx512
      echo "== asan: this processor has AVX-512F: the AVX-512, AVX2 and portable paths run"
    elif has avx2 && has fma; then
      expect=avx2
      echo "== asan: NOTE: this processor has no AVX-512F, so the AVX-512 kernels cannot run here;"
      echo "== asan: checking the AVX2 and portable paths only (run on an AVX-512 machine for the rest)"
    else
      expect=portable
      echo "== asan: NOTE: this processor has neither AVX-512F nor AVX2+FMA;"
      echo "== asan: checking the portable paths only (the vector kernels cannot run here)"
    fi
    ;;
  *)
    expect=portable
    echo "== asan: NOTE: $host is not x86_64: only the portable paths exist here"
    ;;
esac

start=$SECONDS
status=0
env -u NN_SIMD NN_EXPECT_SIMD="$expect" RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
  ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
  CARGO_TARGET_DIR=target/asan \
  cargo +"$toolchain" test -Zbuild-std --target "$host" -p nn-runtime --lib || status=$?
took=$((SECONDS - start))
printf '== asan (%s paths): %s in %dm%02ds\n' "$expect" "$([ $status = 0 ] && echo ok || echo FAILED)" \
  $((took / 60)) $((took % 60))
exit $status
