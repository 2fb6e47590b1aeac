#!/usr/bin/env bash
# Graph networks, ours and the peers' in one run, 1 thread pinned to CPU 0: ResNet-18
# inference at 224×224, batch 1 and 8 (ONNX Runtime, PyTorch eager, torch.compile), and
# a training step of the small Fashion-MNIST ResNet at batch 32 (PyTorch eager,
# torch.compile); with the CPU model and the machine's single-thread SGEMM rate (numpy
# 2048², OpenBLAS) measured in the same run, every rate also as a share of it.
#
#   bash bench/graph.sh [ROUNDS]          (default 5)
#
# Needs the peers' environment (.venv-peers, see bench/peers/README.md) with torchvision
# (`pip install --no-deps torchvision pillow`); PEERS_PYTHON names another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
out=target/bench && mkdir -p "$out"
python="${PEERS_PYTHON:-.venv-peers/bin/python}"

cargo build --release --example bench_graph -q
echo "== nn (1 thread, pinned to CPU 0)"
NN_THREADS=1 taskset -c 0 target/release/examples/bench_graph --rounds "$rounds" | tee "$out/graph-nn.txt"
echo "== peers: ResNet-18 inference"
taskset -c 0 "$python" bench/peers/graph_seq_peers.py resnet18 | grep '^RESULT ' | tee "$out/graph-resnet18.json"
echo "== peers: small ResNet training step"
taskset -c 0 "$python" bench/peers/graph_seq_peers.py smallresnet | grep '^RESULT ' | tee "$out/graph-smallresnet.json"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
ours = open(f"{out}/graph-nn.txt").read()
rate = lambda pattern: float(re.search(pattern, ours).group(1))
r18 = json.loads(open(f"{out}/graph-resnet18.json").read()[len("RESULT "):])
small = json.loads(open(f"{out}/graph-smallresnet.json").read()[len("RESULT "):])
machine = r18["machine"]
sgemm = machine["sgemm_1thread"]["numpy_gflops"]
gflop = r18["resnet18"]["forward_gflop_per_image"]
print(f"\nCPU: {machine['cpu'].get('model name')}; single-thread SGEMM (numpy 2048², {machine['sgemm_1thread']['blas']}): {sgemm} GFLOP/s\n")
print("| workload | nn | ONNX Runtime | PyTorch eager | torch.compile | nn / ORT | nn / torch.compile | nn, share of SGEMM |")
print("|---|---|---|---|---|---|---|---|")
for batch in (1, 8):
    nn = rate(rf"resnet18 inference batch {batch}: ([0-9.]+) images/s")
    peers = r18["resnet18"][f"infer_b{batch}"]
    p = lambda k: peers[k]["images_per_s"]
    print(f"| ResNet-18 inference, batch {batch} (images/s) | {nn:.2f} | {p('onnxruntime'):.2f} | {p('torch-eager'):.2f} | "
          f"{p('torch-compile'):.2f} | {nn / p('onnxruntime'):.2f}× | {nn / p('torch-compile'):.2f}× | {nn * gflop / sgemm:.0%} |")
nn = rate(r"small resnet training batch 32: ([0-9.]+) images/s")
s = small["smallresnet"]
eager, compiled = s["train_b32_torch-eager"]["images_per_s"], s["train_b32_torch-compile"]["images_per_s"]
print(f"| small ResNet training step, batch 32 (images/s) | {nn:.1f} | — | {eager:.1f} | {compiled:.1f} | — | {nn / compiled:.2f}× | "
      f"{nn * s['train_gflop_per_image'] / sgemm:.0%} |")
PY
