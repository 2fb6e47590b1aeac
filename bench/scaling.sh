#!/usr/bin/env bash
# Scaling (issue 17), LeNet-5 training at batch 128 (SGD, momentum 0.9), medians:
#
#   1. threads: 1, 2, 3, 4 and 7 threads on the same steps, rounds interleaved
#      (examples/scaling.rs), and what the planned chunks cost one thread against the
#      whole batch as one chunk;
#   2. MPI processes: 1, 2 and 4 ranks × 1 thread (examples/distributed.rs, 3 epochs of
#      the embedded MNIST subset), with the exact chained gradient sum and with
#      MPI_Allreduce; each figure the median of ROUNDS runs.
#
#   bash bench/scaling.sh [ROUNDS (3)]
#
# Needs MPICH (bash tools/mpi.sh --install). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
grep -m1 "model name" /proc/cpuinfo || true
echo "cores: $(nproc)"
cargo build -q --release --example scaling
cargo build -q --release --features mpi --example distributed
target/release/examples/scaling --net lenet5 --batch 128 --threads 1,2,3,4,7 --rounds 7
taskset -c 0 target/release/examples/scaling --net lenet5 --batch 128 --chunks 128,21 --rounds 7
target/release/examples/scaling --net lenet5 --batch 32 --threads 1,2 --rounds 7
for processes in 1 2 4; do
  for reduction in exact allreduce; do
    rates=()
    for _ in $(seq "$rounds"); do
      rate=$(NN_THREADS=1 mpiexec -n "$processes" target/release/examples/distributed --epochs 3 \
        --reduction "$reduction" | sed -n 's/.*(\([0-9]*\) images\/s).*/\1/p')
      rates+=("$rate")
    done
    median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(( (rounds + 1) / 2 ))p")
    echo "MPI: $processes processes × 1 thread, $reduction: $median images/s (runs: ${rates[*]})"
  done
done
