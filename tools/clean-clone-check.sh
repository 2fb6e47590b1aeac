#!/usr/bin/env bash
# Does a fresh clone, alone in an empty directory, run the README's commands? Clones the
# repository into a new `mktemp -d` directory that holds nothing but the clone (so any
# reference to a path outside the repository, such as a shared folder beside it, fails
# there), builds it with its own target directory inside the clone, and runs, each step
# timed:
#
#   sha256sum -c SHA256SUMS            in data/mnist10k and data/fashion
#   cargo run --release --example lenet5
#   cargo test --workspace
#   cargo run --release --example fashion      (skipped with --quick; ~3.5 min on 2 cores)
#
#   bash tools/clean-clone-check.sh [--quick] [--keep] [REPO]
#
# REPO is a path or URL to clone; by default the repository this script lives in, checked
# out at its committed HEAD (uncommitted changes are not part of the check). --keep leaves
# the temporary directory in place instead of removing it. Crates come from cargo's usual
# registry cache (CARGO_HOME), or the network.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

quick=0
keep=0
src=""
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --keep) keep=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option $arg" >&2; usage >&2; exit 2 ;;
    *) [ -z "$src" ] || { echo "one REPO at most" >&2; exit 2; }; src="$arg" ;;
  esac
done

here="$(cd "$(dirname "$0")/.." && pwd)"
rev=""
if [ -z "$src" ]; then
  src="$here"
  rev="$(git -C "$here" rev-parse HEAD)"
  if [ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]; then
    echo "note: $here has uncommitted changes; checking the committed HEAD ${rev:0:12} only"
  fi
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/nn-clean-clone.XXXXXX")"
cleanup() {
  local rc=$?
  if [ "$keep" = 1 ]; then
    echo "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clone="$tmp/clone"
export CARGO_TARGET_DIR="$clone/target"
# Nothing from the caller's environment that points outside the clone.
unset PEERS_DIR PEERS_PYTHON

names=()
times=()
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
step() {
  local name="$1" start end
  shift
  echo
  echo "== $name: $*"
  start="$(now)"
  if ! "$@"; then
    end="$(now)"
    echo "== $name FAILED after $(elapsed "$start" "$end") s"
    summary
    echo "RESULT: FAILED at: $name"
    exit 1
  fi
  end="$(now)"
  names+=("$name")
  times+=("$(elapsed "$start" "$end")")
  echo "== $name ok in ${times[-1]} s"
}
summary() {
  echo
  echo "== summary (clone of $src${rev:+ at ${rev:0:12}}, $(nproc) CPUs)"
  local i
  for i in "${!names[@]}"; do
    printf '  %-40s %8s s\n' "${names[$i]}" "${times[$i]}"
  done
}

t0="$(now)"
checkout() {
  git clone --quiet --no-hardlinks "$src" "$clone"
  if [ -n "$rev" ]; then
    git -C "$clone" checkout --quiet --detach "$rev"
  fi
  git -C "$clone" log -1 --format='   %h %s'
  # The clone must be alone: nothing beside it that a relative path could reach.
  [ "$(ls -A "$tmp")" = clone ]
}
echo "temporary directory: $tmp"
step "clone" checkout
cd "$clone"
step "data checksums" bash -c '(cd data/mnist10k && sha256sum -c --quiet SHA256SUMS) && (cd data/fashion && sha256sum -c --quiet SHA256SUMS)'
step "lenet5 example" cargo run --release --example lenet5
step "workspace tests" cargo test --workspace
if [ "$quick" = 1 ]; then
  echo
  echo "== fashion example: skipped (--quick)"
else
  step "fashion example" cargo run --release --example fashion
fi
summary
printf '  %-40s %8s s\n' total "$(elapsed "$t0" "$(now)")"
echo "RESULT: ok"
