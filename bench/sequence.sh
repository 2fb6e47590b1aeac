#!/usr/bin/env bash
# Sequence networks, ours and the peers' in one run, 1 thread pinned to one CPU (CPU 0
# unless BENCH_CPU names another): the row-by-row MNIST LSTM (`lstm(28, 128) -> last ->
# linear(128, 10)`, 28 steps) — a training step (forward, mean softmax cross-entropy,
# backward through time, SGD lr 0.01) at batch 1, 8, 32 and 128, and inference of 10,240
# sequences in batches of 256 — against PyTorch eager, torch.compile and JAX jit; with the
# CPU model and the machine's single-thread SGEMM rate (numpy 2048², OpenBLAS) measured in
# the same run, our rate also as a share of it.
#
#   bash bench/sequence.sh [ROUNDS]       (default 5; ROUNDS is ours, the peers time as
#                                          bench/peers/graph_seq_peers.py says)
#
# Ours is examples/bench_sequence.rs, theirs `bench/peers/graph_seq_peers.py lstm`. Needs
# the peers' environment (.venv-peers, see bench/peers/README.md; PyTorch and JAX);
# PEERS_PYTHON names another interpreter. Raw outputs go to target/bench/sequence-*.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
cpu="${BENCH_CPU:-0}"
out=target/bench && mkdir -p "$out"
python="${PEERS_PYTHON:-.venv-peers/bin/python}"

cargo build --release --example bench_sequence -q
echo "== nn (1 thread, pinned to CPU $cpu)"
NN_THREADS=1 taskset -c "$cpu" target/release/examples/bench_sequence --rounds "$rounds" | tee "$out/sequence-nn.txt"
echo "== peers: LSTM training steps and inference (PyTorch eager, torch.compile, JAX)"
taskset -c "$cpu" "$python" bench/peers/graph_seq_peers.py lstm | grep '^RESULT ' | tee "$out/sequence-lstm.json"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
ours = open(f"{out}/sequence-nn.txt").read()

def rate(pattern):
    """(sequences/s, GFLOP/s) from our harness's line that matches."""
    m = re.search(pattern + r": ([0-9.]+) sequences/s \(([0-9.]+) GFLOP/s\)", ours)
    if m is None:
        raise SystemExit(f"sequence.sh: no line matching {pattern!r} in {out}/sequence-nn.txt")
    return float(m.group(1)), float(m.group(2))

result = json.loads(open(f"{out}/sequence-lstm.json").read()[len("RESULT "):])
machine, lstm = result["machine"], result["lstm"]
sgemm = machine["sgemm_1thread"]["numpy_gflops"]
peers = (("torch-eager", "PyTorch eager"), ("torch-compile", "torch.compile"), ("jax", "JAX"))
cpu, blas = machine["cpu"], machine["sgemm_1thread"]["blas"]
if isinstance(blas, list) and blas:  # threadpoolctl's records: name the first library
    blas = f"{blas[0].get('internal_api', '?')} {blas[0].get('version', '?')}"
print(f"\nCPU: {cpu.get('model name')} (family {cpu.get('cpu family')} model {cpu.get('model')}, {cpu.get('flags') or 'no AVX-512'}); "
      f"single-thread SGEMM (numpy 2048², {blas}): {sgemm} GFLOP/s")
audit = result.get("cpu_audit") or {}
if audit:
    print(f"Peers' run: {audit.get('wall_s')} s wall, other processes' CPU time {audit.get('foreign_cpu_s')} s, steal {audit.get('steal_s')} s")
print(f"LSTM: {lstm['forward_mflop_per_sequence']} MFLOP a sequence's forward, {lstm['train_mflop_per_sequence']} a training "
      f"sequence; JAX twin against eager, max |Δ| {lstm['jax_check']['max_abs_diff_vs_eager']:.1e}\n")
print("| workload (sequences/s) | nn | PyTorch eager | torch.compile | JAX | nn / best peer | nn, share of SGEMM |")
print("|---|---|---|---|---|---|---|")
rows = [(f"training step, batch {b}", rf"lstm training batch {b}", f"train_b{b}") for b in (1, 8, 32, 128)]
rows.append(("inference of 10,240 (batches of 256)", r"lstm inference of 10240 in batches of 256", "infer_10k"))
for label, pattern, key in rows:
    nn, gflops = rate(pattern)
    theirs = {name: lstm[name][key]["sequences_per_s"] for name, _ in peers}
    best = max(theirs, key=theirs.get)
    cells = " | ".join(f"{theirs[name]:,.0f}" for name, _ in peers)
    print(f"| {label} | {nn:,.0f} | {cells} | {nn / theirs[best]:.2f}× ({dict(peers)[best]}) | {gflops / sgemm:.0%} |")
PY
