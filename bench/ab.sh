#!/usr/bin/env bash
# Same-run A/B of two commits: LeNet-5 inference (`profile_infer lenet5 20`, 200,000
# images in batches of 256) and training (`profile_step 32 1500`), 1 thread pinned to
# CPU 0, rounds interleaved with the order alternating, so the VM's slow stretches weigh
# on both alike. Prints every round and the medians (seconds; lower is faster).
#
#   bash bench/ab.sh OLD_REV [NEW_REV=HEAD] [ROUNDS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
old="${1:?usage: bash bench/ab.sh OLD_REV [NEW_REV] [ROUNDS]}"
new="${2:-HEAD}"
rounds="${3:-7}"
work="target/ab"
mkdir -p "$work"
for side in old new; do
  rev=$([ "$side" = old ] && echo "$old" || echo "$new")
  tree="$work/$side-tree"
  rm -rf "$tree"
  git worktree add -q --detach "$tree" "$rev"
  (cd "$tree" && CARGO_TARGET_DIR="../$side-target" cargo build --release -q --example profile_infer --example profile_step)
  git worktree remove --force "$tree"
done
out="$work/rounds.txt"
: > "$out"
for round in $(seq 1 "$rounds"); do
  if (( round % 2 )); then order="old new"; else order="new old"; fi
  for side in $order; do
    bin="$work/$side-target/release/examples"
    infer=$( { /usr/bin/time -f %e env NN_THREADS=1 taskset -c 0 "$bin/profile_infer" lenet5 20 >/dev/null; } 2>&1 )
    step=$( { /usr/bin/time -f %e env NN_THREADS=1 taskset -c 0 "$bin/profile_step" 32 1500 lenet5 >/dev/null; } 2>&1 )
    echo "$round $side infer $infer step $step" | tee -a "$out"
  done
done
python3 - "$out" "$old" "$new" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for side, rev in (("old", sys.argv[2]), ("new", sys.argv[3])):
    infer = [float(r[3]) for r in rows if r[1] == side]
    step = [float(r[5]) for r in rows if r[1] == side]
    print(f"{side} ({rev}): inference median {statistics.median(infer):.2f} s (min {min(infer):.2f}), "
          f"training median {statistics.median(step):.2f} s (min {min(step):.2f})")
PY
