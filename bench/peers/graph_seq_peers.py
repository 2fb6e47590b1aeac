"""Anchors for graph and sequence networks, 1 thread (run pinned, from the repository root:
taskset -c 0 .venv-peers/bin/python bench/peers/graph_seq_peers.py ...; resnet18 also needs
torchvision, installed with --no-deps, and pillow):

    python graph_seq_peers.py resnet18      # ResNet-18 inference, 224x224, batch 1 and 8: PyTorch eager, torch.compile, ONNX Runtime
    python graph_seq_peers.py smallresnet   # small ResNet (small_resnet.py, 16/32/64, 1x28x28): training step at batch 32
                                            # (cross-entropy, SGD lr 0.01 momentum 0.9), PyTorch eager and torch.compile
    python graph_seq_peers.py lstm          # row-by-row MNIST LSTM (28 steps x 28, hidden 128, last step, linear 10):
                                            # training step (cross-entropy, SGD lr 0.01) at batch 1/8/32/128 and inference
                                            # of 10,240 sequences (40 batches of 256): PyTorch eager, torch.compile and
                                            # JAX jit (a hand-written cell under lax.scan, same weights, checked against eager)

Same timing method as peers.py (median of >= 20 calls and >= 1 s; inference median of 5 passes;
ResNet-18 median of >= 10 calls and >= 2 s). Every mode also reports the CPU model and, in
the same run, the machine's single-thread SGEMM rate (numpy 2048x2048 float32 matmul through
its OpenBLAS limited to 1 thread, peers.run_matmul), and each peer's rate as GFLOP/s (the
convolutions' and linear layers' multiply-adds, 2 FLOPs each; a training step counted as 3x
the forward; for the LSTM 2 * 4H * (F + H) per step, 28 steps, plus the linear layer: 4.475
MFLOP forward, 13.43 MFLOP a training sequence) and as a share of that SGEMM rate. `lstm`
runs JAX in the same process with XLA held to one thread (run_python_peers'
ONE_THREAD_XLA_FLAGS, set before jax is imported). Prints one RESULT line of JSON.
"""
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import cpu_audit, run_matmul, summarize, time_calls, warm_up  # noqa: E402
from small_resnet import SmallResNet, forward_flops, params  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def machine():
    """The CPU model (/proc/cpuinfo) and the single-thread SGEMM rate, measured now."""
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model") and key not in info:
                info[key] = value.strip()
            if key == "flags" and "flags" not in info:
                info["flags"] = " ".join(x for x in value.split() if x in ("avx2", "fma") or x.startswith(("avx512", "amx")))
    info["cpus"] = os.cpu_count()
    mm = run_matmul(1)
    return {"cpu": info, "sgemm_1thread": {"numpy_gflops": round(mm["numpy"]["gflops"], 1),
                                             "torch_gflops": round(mm["torch"]["gflops"], 1),
                                             "blas": mm["numpy"]["blas"]}}


def with_share(rates, flop_per_image, sgemm_gflops, unit="images_per_s"):
    """images/s -> also GFLOP/s and the share of the SGEMM rate."""
    return {name: {unit: round(r, 2), "gflops": round(r * flop_per_image / 1e9, 1),
                   "share_of_sgemm": round(r * flop_per_image / 1e9 / sgemm_gflops, 3)}
            for name, r in rates.items()}


def resnet18(sgemm_gflops):
    import onnxruntime as ort
    from torchvision import models

    torch.manual_seed(0)
    model = models.resnet18().eval()
    flop = forward_flops(model, (3, 224, 224))
    out = {"forward_gflop_per_image": round(flop / 1e9, 3)}
    for batch in (1, 8):
        x = torch.rand(batch, 3, 224, 224)
        res = {}
        with torch.inference_mode():
            for name, fn in (("torch-eager", model), ("torch-compile", torch.compile(model, dynamic=False))):
                call = lambda: fn(x)  # noqa: E731
                warm_up(call, calls=3)
                t = summarize(time_calls(call, min_calls=10, min_seconds=2.0))
                res[name] = batch / t["median_s"]
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "r18.onnx")
            torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["logits"], verbose=False)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        xn = x.numpy()
        call = lambda: session.run(None, {"input": xn})  # noqa: E731
        warm_up(call, calls=3)
        t = summarize(time_calls(call, min_calls=10, min_seconds=2.0))
        res["onnxruntime"] = batch / t["median_s"]
        out[f"infer_b{batch}"] = with_share(res, flop, sgemm_gflops)
    return out


def smallresnet(sgemm_gflops, batch=32):
    out = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        model = SmallResNet()
        out["params"] = params(model)
        flop = 3 * forward_flops(model)
        out["train_gflop_per_image"] = round(flop / 1e9, 4)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def forward_loss(x, y):
            return F.cross_entropy(model(x), y)

        fl = torch.compile(forward_loss, dynamic=False) if compiled else forward_loss
        rng = np.random.default_rng(batch)
        x = torch.from_numpy(rng.random((batch, 1, 28, 28), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, size=batch).astype(np.int64))

        def step():
            opt.zero_grad(set_to_none=True)
            fl(x, y).backward()
            opt.step()

        first = warm_up(step)
        t = summarize(time_calls(step))
        name = "torch-compile" if compiled else "torch-eager"
        res = with_share({name: batch / t["median_s"]}, flop, sgemm_gflops)[name]
        res.update(step_ms=round(1e3 * t["median_s"], 3), min_step_ms=round(1e3 * t["min_s"], 3), steps=t["n"],
                   first_step_s=round(first, 2))
        out[f"train_b{batch}_{name}"] = res
    return out


class RowLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.lstm(x)[0][:, -1, :])


def lstm_forward_flops(steps=28, features=28, hidden=128, classes=10):
    """Multiply-adds x 2 of one sequence's forward: per step the four gates' input and recurrent
    products, 2 * 4H * (F + H), then the linear layer on the last step. (The element-wise gate
    arithmetic, about 10 * H per step, is left out, as activations are for the CNNs.)"""
    return steps * 2 * 4 * hidden * (features + hidden) + 2 * hidden * classes


def jax_lstm(model):
    """A hand-written JAX twin of RowLstm with the same weights: gates in PyTorch's order
    (i, f, g, o), both biases, the input projection of all steps done as one matmul before a
    lax.scan over the recurrence. Returns (params, forward(params, x [B, T, F]) -> logits)."""
    import jax
    import jax.numpy as jnp

    sd = {k: jnp.asarray(v.detach().numpy()) for k, v in model.state_dict().items()}
    params = {"w_ih": sd["lstm.weight_ih_l0"], "w_hh": sd["lstm.weight_hh_l0"], "b_ih": sd["lstm.bias_ih_l0"],
              "b_hh": sd["lstm.bias_hh_l0"], "fc_w": sd["fc.weight"], "fc_b": sd["fc.bias"]}

    def forward(p, x):
        batch, hidden = x.shape[0], p["w_hh"].shape[1]
        xs = jnp.swapaxes(x, 0, 1) @ p["w_ih"].T + (p["b_ih"] + p["b_hh"])  # [T, B, 4H]

        def cell(carry, xg):
            h, c = carry
            gates = xg + h @ p["w_hh"].T
            i, f, g, o = jnp.split(gates, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), None

        zeros = jnp.zeros((batch, hidden), x.dtype)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), xs)
        return h @ p["fc_w"].T + p["fc_b"]

    return params, forward


LSTM_BATCHES = (1, 8, 32, 128)


def lstm_data(batch):
    rng = np.random.default_rng(batch)
    return rng.random((batch, 28, 28), dtype=np.float32), rng.integers(0, 10, size=batch).astype(np.int64)


def lstm_infer_batches():
    """40 batches of 256 (10,240 sequences): every batch the same shape, so nothing recompiles."""
    rng = np.random.default_rng(1)
    return [rng.random((256, 28, 28), dtype=np.float32) for _ in range(0, 10_000, 256)]


def lstm_torch(compiled):
    torch.manual_seed(0)
    model = RowLstm()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def forward_loss(x, y):
        return F.cross_entropy(model(x), y)

    fl = torch.compile(forward_loss, dynamic=False) if compiled else forward_loss
    res, first_s = {}, {}
    for batch in LSTM_BATCHES:
        xn, yn = lstm_data(batch)
        x, y = torch.from_numpy(xn), torch.from_numpy(yn)

        def step():
            opt.zero_grad(set_to_none=True)
            fl(x, y).backward()
            opt.step()

        first_s[f"train_b{batch}"] = round(warm_up(step), 2)
        t = summarize(time_calls(step))
        res[f"train_b{batch}"] = batch / t["median_s"]
    model.eval()
    infer = torch.compile(model, dynamic=False) if compiled else model
    xs = [torch.from_numpy(b) for b in lstm_infer_batches()]
    with torch.inference_mode():
        def run_all():
            for b in xs:
                infer(b)
        first_s["infer_10k"] = round(warm_up(run_all, calls=1), 2)
        t = summarize(time_calls(run_all, min_calls=5, min_seconds=0.0))
    res["infer_10k"] = 256 * len(xs) / t["median_s"]
    return res, first_s


def lstm_jax():
    import jax
    import jax.numpy as jnp

    torch.manual_seed(0)
    model = RowLstm().eval()
    params0, forward = jax_lstm(model)

    def loss_fn(params, x, y):
        logp = jax.nn.log_softmax(forward(params, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def train_step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree.map(lambda p, g: p - 0.01 * g, params, grads), loss

    infer = jax.jit(forward)
    check = np.random.default_rng(2).random((4, 28, 28), dtype=np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(check)).numpy()
    max_abs_diff = float(np.abs(np.asarray(infer(params0, check)) - want).max())

    res, first_s = {}, {}
    for batch in LSTM_BATCHES:
        xn, yn = lstm_data(batch)
        x, y = jnp.asarray(xn), jnp.asarray(yn.astype(np.int32))
        state = {"params": params0}

        def step():
            state["params"], _ = train_step(state["params"], x, y)
            jax.block_until_ready(state["params"])

        first_s[f"train_b{batch}"] = round(warm_up(step), 2)
        t = summarize(time_calls(step))
        res[f"train_b{batch}"] = batch / t["median_s"]
    xs = [jnp.asarray(b) for b in lstm_infer_batches()]

    def run_all():
        jax.block_until_ready([infer(params0, b) for b in xs])

    first_s["infer_10k"] = round(warm_up(run_all, calls=1), 2)
    t = summarize(time_calls(run_all, min_calls=5, min_seconds=0.0))
    res["infer_10k"] = 256 * len(xs) / t["median_s"]
    return res, first_s, {"max_abs_diff_vs_eager": max_abs_diff, "jax": jax.__version__,
                          "jax_devices": [str(d) for d in jax.devices()],
                          "xla_flags": os.environ.get("XLA_FLAGS")}


def lstm(sgemm_gflops):
    # XLA reads its thread settings when it starts: set them before jax is first imported.
    from run_python_peers import ONE_THREAD_XLA_FLAGS

    os.environ["XLA_FLAGS"] = ONE_THREAD_XLA_FLAGS
    os.environ["JAX_PLATFORMS"] = "cpu"
    forward = lstm_forward_flops()
    out = {"forward_mflop_per_sequence": round(forward / 1e6, 3), "train_mflop_per_sequence": round(3 * forward / 1e6, 3)}
    first = {}
    rates = {}
    rates["torch-eager"], first["torch-eager"] = lstm_torch(compiled=False)
    rates["torch-compile"], first["torch-compile"] = lstm_torch(compiled=True)
    rates["jax"], first["jax"], out["jax_check"] = lstm_jax()
    for name, res in rates.items():
        out[name] = {key: with_share({name: r}, (forward if key == "infer_10k" else 3 * forward), sgemm_gflops,
                                     unit="sequences_per_s")[name]
                     for key, r in res.items()}
    out["first_call_s"] = first
    return out


if __name__ == "__main__":
    what = sys.argv[1]
    if what not in ("resnet18", "smallresnet", "lstm", "machine"):
        raise SystemExit(f"usage: graph_seq_peers.py resnet18|smallresnet|lstm|machine (got {what!r})")
    mach = machine()
    if what == "machine":
        print("RESULT " + json.dumps({"machine": mach}), flush=True)
        raise SystemExit(0)
    sgemm = mach["sgemm_1thread"]["numpy_gflops"]
    if what == "resnet18":
        result = resnet18(sgemm)
    elif what == "smallresnet":
        result = smallresnet(sgemm)
    else:
        result = lstm(sgemm)
    print("RESULT " + json.dumps({what: result, "machine": mach, "torch": torch.__version__,
                                  "affinity": sorted(os.sched_getaffinity(0)), "cpu_audit": cpu_audit()}), flush=True)
