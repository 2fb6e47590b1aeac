#!/usr/bin/env bash
# LeNet-5 on this machine's CPU (issue 15), one thread pinned to CPU 0, all in one run:
# the processor and the kernels chosen for it, our training steps (batch 32 and 128)
# and inference (10,000 images in batches of 256) with the chosen kernels and with
# each register-tile width forced (NN_TILES, rounds interleaved), the peers (ONNX
# Runtime, PyTorch eager, torch.compile, JAX) on the same work, and the machine's
# single-thread SGEMM rate (numpy 2048², OpenBLAS). Where the processor has AVX-512
# BF16 it also times the opt-in bfloat16 inference. Prints one Markdown table.
#
#   bash bench/cpu.sh [ROUNDS]           (default 3; about 10 minutes)
#
# Peers: the environment of bench/run.sh (PEERS_PYTHON, default .venv-peers/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
out=target/bench && mkdir -p "$out"
python="${PEERS_PYTHON:-.venv-peers/bin/python}"
"$python" -c "import torch, jax, onnxruntime, numpy" 2>/dev/null || {
  echo "bench/cpu.sh needs the peers' environment (see bench/run.sh): $python cannot import torch, jax, onnxruntime" >&2
  exit 1
}

cargo build --release --example bench -q
bench=target/release/examples/bench
tiles="default avx2"
grep -qw avx512f /proc/cpuinfo && tiles="$tiles avx512"
grep -qw avx512_bf16 /proc/cpuinfo && tiles="$tiles bf16"
for round in $(seq 1 "$rounds"); do
  for t in $tiles; do
    case "$t" in
      default) env=(); flags=() ;;
      bf16) env=(); flags=(--precision bf16) ;;
      *) env=(NN_TILES="$t"); flags=() ;;
    esac
    env "${env[@]}" NN_THREADS=1 taskset -c 0 "$bench" --rounds 1 --nets lenet5 "${flags[@]}" \
      --json "$out/cpu-$t-$round.json" > "$out/cpu-$t-$round.txt"
  done
done
echo "== peers ($rounds rounds)"
"$python" bench/peers/run_python_peers.py --rounds "$rounds" --nets lenet5 \
    --peers torch-eager,torch-compile,jax,onnxruntime --threads 1 --out "$out/cpu-peers" > "$out/cpu-peers.log"
echo "== machine: SGEMM"
taskset -c 0 "$python" bench/peers/graph_seq_peers.py machine | grep '^RESULT ' > "$out/cpu-machine.json"

python3 - "$out" "$rounds" "$tiles" <<'PY'
import json, statistics, sys
out, rounds, tiles = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
# FLOP per LeNet-5 image, counted from the layers (forward 0.83 M; a training step
# adds the weight and input gradients: 2.26 M). The issue quotes 2.5 M for training.
FORWARD, TRAIN = 0.83e6, 2.26e6
machine = json.loads(open(f"{out}/cpu-machine.json").read()[len("RESULT "):])["machine"]
sgemm = machine["sgemm_1thread"]["numpy_gflops"]
selection = open(f"{out}/cpu-default-1.txt").read().split("\n\n")[0]
def ours(t):
    runs = [json.load(open(f"{out}/cpu-{t}-{r}.json"))[0] for r in range(1, rounds + 1)]
    med = lambda get: statistics.median(get(x) for x in runs)
    return {"b32": med(lambda x: x["train"]["32"]["images_per_s"]["median"]),
            "b128": med(lambda x: x["train"]["128"]["images_per_s"]["median"]),
            "infer": med(lambda x: x["infer"]["images_per_s"]["median"])}
peers = [p for p in json.load(open(f"{out}/cpu-peers/python-peers.json"))["runs"] if p.get("threads") == 1]
def peer(name, what):
    for p in peers:
        if p["peer"] == name and p["net"] == "lenet5":
            try:
                return p["infer"]["images_per_s"]["median"] if what == "infer" else p["train"][what[1:]]["images_per_s"]["median"]
            except (KeyError, TypeError):
                return None
    return None
cpu = machine["cpu"]
print(f"\nCPU: {cpu.get('model name')} (family {cpu.get('cpu family')}, model {cpu.get('model')}); flags: {cpu.get('flags')}")
print(f"single-thread SGEMM (numpy 2048², {', '.join(b.get('internal_api', '?') + ' ' + b.get('version', '') for b in machine['sgemm_1thread']['blas'])}): {sgemm} GFLOP/s")
print(selection.replace("\n", "; "))
print(f"median of {rounds} rounds, 1 thread pinned to CPU 0, images/s\n")
names = ["onnxruntime", "torch-compile", "torch-eager", "jax"]
label_of = lambda t: "nn, bf16 inference" if t == "bf16" else f"nn, NN_TILES={t}"
print("| LeNet-5 | nn (chosen) | " + " | ".join(label_of(t) for t in tiles if t != "default") +
      " | ONNX Runtime | torch.compile | PyTorch eager | JAX | nn / best peer | nn, GFLOP/s (share of SGEMM) |")
print("|---" * (len(tiles) + 7) + "|")
results = {t: ours(t) for t in tiles}
for what, flop in (("b32", TRAIN), ("b128", TRAIN), ("infer", FORWARD)):
    mine = results["default"][what]
    theirs = {n: peer(n, what) for n in names}
    best = max((v, n) for n, v in theirs.items() if v)
    cells = ["—" if t == "bf16" and what != "infer" else f"{results[t][what]:,.0f}" for t in tiles if t != "default"]
    label = {"b32": "train, batch 32", "b128": "train, batch 128", "infer": "inference 10k/256"}[what]
    ratio = f"{mine / theirs['onnxruntime']:.2f}× ORT" if what == "infer" else f"{mine / best[0]:.2f}× ({best[1]})"
    print(f"| {label} | **{mine:,.0f}** | " + " | ".join(cells) + " | " +
          " | ".join("—" if theirs[n] is None else f"{theirs[n]:,.0f}" for n in names) +
          f" | **{ratio}** | {mine * flop / 1e9:.1f} ({mine * flop / 1e9 / sgemm:.0%}) |")
PY
