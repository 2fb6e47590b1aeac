#!/usr/bin/env bash
# The one benchmark command: our networks and the Python peers (PyTorch eager,
# torch.compile, JAX, ONNX Runtime) in one run on this machine, then a table of ratios.
#
#   bash bench/run.sh [ROUNDS]            (default 3 rounds; the peers take ~15 min at 3)
#
# Peers: bench/peers (see its README.md), installed once into a virtual environment
# .venv-peers in the repository root (git ignores it; a few GB: PyPI's torch pulls its
# CUDA libraries even for the CPU):
#   python3 -m venv .venv-peers && .venv-peers/bin/pip install -r bench/peers/requirements.txt
# Set PEERS_PYTHON to another interpreter, PEERS_DIR to another copy of the scripts.
# Without the peers' environment the table compares against their recorded results
# (bench/peers/results/python-peers.json).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
out=target/bench && mkdir -p "$out"
peers_dir="${PEERS_DIR:-bench/peers}"
python="${PEERS_PYTHON:-.venv-peers/bin/python}"

cargo build --release --example bench -q
echo "== nn (1 thread, pinned to CPU 0)"
NN_THREADS=1 taskset -c 0 target/release/examples/bench --rounds "$rounds" --json "$out/nn.json"
echo "== nn (2 threads)"
NN_THREADS=2 target/release/examples/bench --rounds "$rounds" --json "$out/nn2.json"
echo "== nn (1 → 2 threads, rounds interleaved)"
target/release/examples/bench --rounds "$rounds" --scaling | tee "$out/scaling.txt"

if [ -x "$python" ] && "$python" -c "import torch, jax, onnxruntime" 2>/dev/null; then
  echo "== Python peers ($rounds rounds)"
  "$python" "$peers_dir/run_python_peers.py" --rounds "$rounds" --nets lenet5,kerasnet,mlp \
      --peers torch-eager,torch-compile,jax,onnxruntime --out "$out/peers" > "$out/peers.log"
  peers_json="$out/peers/python-peers.json"
  recorded=""
else
  echo "== Python peers not installed: comparing with their recorded results"
  peers_json="$peers_dir/results/python-peers.json"
  recorded="--recorded"
fi
echo
python3 bench/compare.py "$out/nn.json" "$peers_json" --threads 1 $recorded | tee "$out/compare.md"
echo
python3 bench/compare.py "$out/nn2.json" "$peers_json" --threads 2 $recorded | tee -a "$out/compare.md"
echo
tee -a "$out/compare.md" < "$out/scaling.txt"
