"""Anchors for graph and sequence networks, 1 thread (run pinned, from the repository root:
taskset -c 0 .venv-peers/bin/python bench/peers/graph_seq_peers.py ...; resnet18 also needs
torchvision, installed with --no-deps, and pillow):

    python graph_seq_peers.py resnet18      # ResNet-18 inference, 224x224, batch 1 and 8: PyTorch eager, torch.compile, ONNX Runtime
    python graph_seq_peers.py lstm          # row-by-row MNIST LSTM (28 steps x 28, hidden 128, last step, linear 10):
                                            # training step (SGD lr 0.01) at batch 1/8/32/128 and inference of 10,000, PyTorch eager and torch.compile

Same timing method as peers.py (median of >= 20 calls and >= 1 s; inference median of 5 passes).
Prints one RESULT line of JSON.
"""
import json
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
from peers import summarize, time_calls, warm_up  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def resnet18():
    import onnxruntime as ort
    from torchvision import models

    torch.manual_seed(0)
    model = models.resnet18().eval()
    out = {}
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
        out[f"infer_b{batch}_images_per_s"] = res
    return out


class RowLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.lstm(x)[0][:, -1, :])


def lstm():
    out = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        model = RowLstm()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def forward_loss(x, y):
            return F.cross_entropy(model(x), y)

        fl = torch.compile(forward_loss, dynamic=False) if compiled else forward_loss
        name = "torch-compile" if compiled else "torch-eager"
        res = {}
        for batch in (1, 8, 32, 128):
            rng = np.random.default_rng(batch)
            x = torch.from_numpy(rng.random((batch, 28, 28), dtype=np.float32))
            y = torch.from_numpy(rng.integers(0, 10, size=batch).astype(np.int64))

            def step():
                opt.zero_grad(set_to_none=True)
                fl(x, y).backward()
                opt.step()

            warm_up(step)
            t = summarize(time_calls(step))
            res[f"train_b{batch}"] = batch / t["median_s"]
        model.eval()
        infer = torch.compile(model, dynamic=False) if compiled else model
        xs = [torch.rand(256, 28, 28) for _ in range(0, 10_000, 256)]
        with torch.inference_mode():
            def run_all():
                for b in xs:
                    infer(b)
            warm_up(run_all, calls=1)
            t = summarize(time_calls(run_all, min_calls=5, min_seconds=0.0))
        res["infer_10k"] = 256 * len(xs) / t["median_s"]
        out[name] = res
    return out


if __name__ == "__main__":
    what = sys.argv[1]
    result = resnet18() if what == "resnet18" else lstm()
    print("RESULT " + json.dumps({what: result}), flush=True)
