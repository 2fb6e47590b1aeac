#!/usr/bin/env bash
# Miri on the runtime's unit tests (`cargo miri test -p nn-runtime --lib`), issue 12, in
# two configurations:
#
#   portable  no target features: every kernel family runs its portable loops, f32
#             products go to matrixmultiply.
#   avx2      RUSTFLAGS="-C target-feature=+avx2,+fma": `simd::compiled()` reports AVX2,
#             so the hand-written AVX2 kernels run (gathered, small_gemm, tanh, the
#             AVX2 builds of the activation loops), beside the portable ones in the
#             tests that compare every level.
#
# Miri cannot run AVX-512 intrinsics (and detects none at run time): tools/asan.sh
# checks those paths. Each configuration sets NN_EXPECT_SIMD to the level it means to
# test, and the test `kernels::simd::tests::the_level_a_check_expects_is_the_one_running`
# fails if another one runs, so neither can silently test the other's paths.
#
# Each configuration is two runs: every unit test with Miri's leak check, then the
# worker-pool test (exec::threads) alone with -Zmiri-ignore-leaks (the helper threads
# are never joined, by design; that test is `#[cfg_attr(miri, ignore)]` in the first run).
# Flags: -Zmiri-disable-isolation (the I/O tests use files; NN_EXPECT_SIMD reaches the
# program), -Zmiri-deterministic-floats (tests compare vector and portable results bit
# for bit; Miri otherwise perturbs exp, sin, … by a random ULP). Extra MIRIFLAGS from
# the environment are appended.
#
# Tests are Miri-sized under `cfg(miri)` (small shapes that still reach every tile, strip
# and tail of the kernels); the few that cannot shrink are ignored under Miri and have a
# small twin. Miri interprets on one core, so the configurations run side by side when
# there are at least 2 cores (MIRI_JOBS=1: one after the other): about 6 minutes for
# both on 2 cores, compilation included (each run's log: target/miri-logs/).
#
#   bash tools/miri.sh [portable] [avx2]        (default: both)
#
# Installs what it needs with rustup: the toolchain MIRI_TOOLCHAIN (default nightly)
# with the miri and rust-src components, then `cargo miri setup`. Prints the time of
# each configuration; exits non-zero on any finding (undefined behaviour, a leak, a
# failed test) or if a configuration did not run what it should.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=${MIRI_TOOLCHAIN:-nightly}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(portable avx2)
for config in "${configs[@]}"; do
  case "$config" in
    portable | avx2) ;;
    *) echo "miri.sh: unknown configuration '$config' (portable, avx2)" >&2; exit 2 ;;
  esac
done

# --- toolchain -------------------------------------------------------------------------
if ! command -v rustup >/dev/null 2>&1; then
  echo "miri.sh: rustup is needed to install $toolchain with miri and rust-src" >&2
  exit 1
fi
if ! rustup run "$toolchain" cargo miri --version >/dev/null 2>&1 ||
  ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
  echo "== installing $toolchain with miri and rust-src"
  rustup component add --toolchain "$toolchain" miri rust-src 2>/dev/null ||
    rustup toolchain install "$toolchain" --profile minimal --component miri,rust-src --allow-downgrade
fi
cargo +"$toolchain" miri --version
cargo +"$toolchain" miri setup

# --- one configuration -----------------------------------------------------------------
thread_test=exec::threads::tests::work_spreads_over_threads_once_per_item_and_carries_panics
level_test=kernels::simd::tests::the_level_a_check_expects_is_the_one_running
flags="-Zmiri-disable-isolation -Zmiri-deterministic-floats ${MIRIFLAGS:-}"
logs=target/miri-logs
mkdir -p "$logs"

run_config() {
  local config=$1 rustflags=""
  [ "$config" = avx2 ] && rustflags="-C target-feature=+avx2,+fma"
  # Its own target directory: switching RUSTFLAGS would otherwise rebuild everything.
  local -a env=(env -u NN_SIMD -u NN_THREADS "NN_EXPECT_SIMD=$config" "RUSTFLAGS=$rustflags"
    "CARGO_TARGET_DIR=target/miri-$config")
  local out="$logs/$config.tests" one="$logs/$config.thread"
  # (errexit does not apply inside a function called with `||`: every step says
  # `|| return 1`.)
  echo "== miri $config: every unit test (RUSTFLAGS='$rustflags')"
  "${env[@]}" MIRIFLAGS="$flags" cargo +"$toolchain" miri test -p nn-runtime --lib 2>&1 | tee "$out" || return 1
  grep -q "^test $level_test \.\.\. ok" "$out" || {
    echo "miri $config: $level_test did not run and pass" >&2
    return 1
  }
  echo "== miri $config: the helper-thread test alone, -Zmiri-ignore-leaks"
  "${env[@]}" MIRIFLAGS="$flags -Zmiri-ignore-leaks" cargo +"$toolchain" miri test -p nn-runtime --lib \
    -- --ignored --exact "$thread_test" 2>&1 | tee "$one" || return 1
  grep -q "test result: ok. 1 passed" "$one" || {
    echo "miri $config: $thread_test did not run (renamed?)" >&2
    return 1
  }
}

timed() {
  local config=$1 start=$SECONDS status=0
  run_config "$config" || status=$?
  local took=$((SECONDS - start))
  printf '== miri %s: %s in %dm%02ds\n' "$config" "$([ $status = 0 ] && echo ok || echo FAILED)" \
    $((took / 60)) $((took % 60))
  return $status
}

jobs=${MIRI_JOBS:-$(nproc 2>/dev/null || echo 1)}
start=$SECONDS
failed=()
if [ "$jobs" -ge 2 ] && [ ${#configs[@]} -gt 1 ]; then
  # Miri interprets on one core: the configurations side by side, each into its log,
  # shown when it ends.
  declare -A pids
  for config in "${configs[@]}"; do
    timed "$config" >"$logs/$config.log" 2>&1 &
    pids[$config]=$!
  done
  for config in "${configs[@]}"; do
    status=0
    wait "${pids[$config]}" || status=$?
    cat "$logs/$config.log"
    [ $status = 0 ] || failed+=("$config")
  done
else
  for config in "${configs[@]}"; do
    timed "$config" 2>&1 | tee "$logs/$config.log" || failed+=("$config")
  done
fi
took=$((SECONDS - start))
for config in "${configs[@]}"; do grep -h '^== miri .* in ' "$logs/$config.log" 2>/dev/null || true; done
printf '== miri: %s in %dm%02ds\n' "${configs[*]}" $((took / 60)) $((took % 60))
if [ ${#failed[@]} -gt 0 ]; then
  echo "miri: FAILED: ${failed[*]} (logs in $logs/)" >&2
  exit 1
fi
