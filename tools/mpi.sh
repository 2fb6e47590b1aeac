#!/usr/bin/env bash
# Data-parallel training over MPI (issue 17): builds with `--features mpi` (rsmpi over
# MPICH), lints that configuration, and runs tests/distributed.rs — `mpiexec -n 1, 2,
# 3` × 1 to 3 threads reach the same weights bit for bit, a rank killed mid-run ends
# the job with an error (no hang), and a resumed checkpoint matches an uninterrupted
# run — all on loopback.
#
#   bash tools/mpi.sh              install what is missing, then lint and test
#   bash tools/mpi.sh --install    install only
#
# MPICH, not OpenMPI: its launcher runs as root (CI does) and over-subscribes the cores
# without extra flags (OpenMPI needs --allow-run-as-root and --oversubscribe), and it
# ends the whole job when one process dies. rsmpi's build generates its bindings with
# bindgen, which needs libclang. Installs with apt-get (as root): mpich, libmpich-dev,
# libclang-dev. About 1.5 minutes on 2 cores once installed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpiexec >/dev/null || ! command -v mpicc >/dev/null || ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mpich libmpich-dev libclang-dev >/dev/null
fi
mpiexec --version | head -2
[ "${1:-}" = --install ] && exit 0
cargo clippy --all-targets --features mpi -- -D warnings
# The test runs the example, which `cargo test --test distributed` alone does not build.
cargo build --release --features mpi --example distributed
cargo test --release --features mpi --test distributed -- --nocapture
