#!/usr/bin/env bash
# LeNet-5 int8 against f32 (issue 16), ours and ONNX Runtime's, in one run, one thread
# pinned to CPU 0: the weights examples/lenet5.rs trained, quantized after training with
# the same 1,000 training digits by each (ours: `LeNet5::quantize`; ONNX Runtime:
# `quantize_static`, QDQ, per-channel int8 weights, int8 activations), then accuracy on
# the same 2,000 held-out digits, size, and the time per digit one at a time and in
# batches of 256. Prints one Markdown table.
#
#   bash bench/int8.sh [ROUNDS]          (default 5; about a minute)
#
# Peers: the environment of bench/run.sh (PEERS_PYTHON, default .venv-peers/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
out=target/int8 && mkdir -p "$out"
python="${PEERS_PYTHON:-.venv-peers/bin/python}"
"$python" -c "import torch, onnxruntime, onnx, safetensors" 2>/dev/null || {
  echo "bench/int8.sh needs the peers' environment (see bench/run.sh): $python cannot import torch, onnxruntime" >&2
  exit 1
}
cargo build --release --example int8 -q
NN_THREADS=1 taskset -c 0 target/release/examples/int8 --rounds "$rounds" --out "$out" | tee "$out/ours.txt"
taskset -c 0 "$python" bench/peers/int8_ort.py "$out" 2>/dev/null | grep '^RESULT ' > "$out/ort.json"
python3 - "$out" <<'PY'
import json, subprocess, sys
out = sys.argv[1]
ours = json.loads([l for l in open(f"{out}/ours.txt") if l.startswith("RESULT ")][0][len("RESULT "):])
ort = json.loads(open(f"{out}/ort.json").read()[len("RESULT "):])
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
print(f"\nLeNet-5 on {cpu}, 1 thread pinned to CPU 0; ONNX Runtime {ort['onnxruntime']}")
print("| | accuracy (2,000 digits) | µs per digit, one at a time | µs per digit, batches of 256 |")
print("|---|---|---|---|")
print(f"| nn f32 | {100*ours['f32_accuracy']:.2f}% | {ours['f32_us']:.1f} | {ours['f32_batched_us']:.1f} |")
print(f"| nn int8 | {100*ours['int8_accuracy']:.2f}% | {ours['int8_us']:.1f} | — |")
print(f"| ONNX Runtime f32 | {100*ort['f32_accuracy']:.2f}% | {ort['f32_us']:.1f} | {ort['f32_batched_us']:.1f} |")
print(f"| ONNX Runtime int8 | {100*ort['int8_accuracy']:.2f}% | {ort['int8_us']:.1f} | {ort['int8_batched_us']:.1f} |")
print(f"\nweights: nn f32 {ours['f32_bytes']:,} bytes; nn int8 {ours['int8_bytes']:,} bytes "
      f"({ours['int8_weight_bytes']:,} of int8 weights, the rest i32 biases and f32 scales: "
      f"{ours['f32_bytes']/ours['int8_bytes']:.2f}× smaller); ONNX Runtime's int8 model file {ort['int8_file_bytes']:,} bytes")
PY
