"""PyTorch reference accuracy for examples/sequence.rs: MNIST read row by row (issue 14).

The embedded subset data/mnist10k (8,000 training and 2,000 held-out test digits) as
sequences of 28 time steps (the image rows, top to bottom) of 28 features (the pixels of a
row). Two models, softmax cross-entropy:

    lstm    nn.LSTM(28, 128, batch_first=True) -> last time step -> nn.Linear(128, 10)
    cnn1d   the same [T=28, F=28] sequence as 28 channels over a length of 28 (x.transpose(1, 2)):
            conv1d(28, 64, 3, padding=1) -> relu -> maxpool1d(2) -> conv1d(64, 64, 3, padding=1)
            -> relu -> maxpool1d(2) -> flatten -> linear(64 * 7, 10)

Everything here can be reproduced by the project's own training loop:
- pixels / 255 (divided, as nn-runtime's ImageSet::from_idx), then (x - mean) / std with the
  mean and population standard deviation of all training pixels (ImageSet::pixel_stats and
  normalize, as examples/lenet5.rs and fashion.rs do; here on the unpadded 28x28 images);
- PyTorch's default initialization under torch.manual_seed(seed);
- Adam (betas 0.9/0.999, eps 1e-8, no weight decay), no gradient clipping, mean loss over the batch;
- a per-epoch learning rate, cosine from --lr down: lr_e = lr * (1 + cos(pi * e / epochs)) / 2
  for e = 0 .. epochs-1 (constant within an epoch; the last epoch is not at zero);
- a fresh random permutation of the training set every epoch (numpy default_rng(seed)),
  the last batch of an epoch smaller (8,000 = 250 x 32 exactly at the default batch).

Prints per-epoch loss, test accuracy and time, then one line `RESULT {json}`. 1 thread.

    taskset -c 1 python bench/peers/sequence_torch.py lstm  [--epochs 20] [--seeds 1 2 3] [--lr 2e-3] [--batch 32]
    taskset -c 1 python bench/peers/sequence_torch.py cnn1d [--epochs 20] [--seeds 1 2 3]
"""
import argparse
import gzip
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

DATA = Path(__file__).resolve().parents[2] / "data" / "mnist10k"


def read_idx(path):
    raw = gzip.open(path, "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir):
    """(train_x, train_y, test_x, test_y, mean, std): x as float32 [n, 28, 28], normalized."""
    parts = [read_idx(Path(data_dir) / f"mnist10k-{s}-ubyte.gz")
             for s in ("train-images-idx3", "train-labels-idx1", "test-images-idx3", "test-labels-idx1")]
    # Divided by 255 in f32, as the Rust loader; statistics in f64 over every training pixel.
    train = parts[0].astype(np.float32) / np.float32(255.0)
    test = parts[2].astype(np.float32) / np.float32(255.0)
    mean = float(train.astype(np.float64).mean())
    std = float(np.sqrt(((train.astype(np.float64) - mean) ** 2).mean()))
    # (x - mean) * (1 / std) in f32, as ImageSet::normalize.
    m, inv = np.float32(mean), np.float32(1.0 / std)
    train, test = (train - m) * inv, (test - m) * inv
    return (torch.from_numpy(train), torch.from_numpy(parts[1].astype(np.int64)),
            torch.from_numpy(test), torch.from_numpy(parts[3].astype(np.int64)), mean, std)


class RowLstm(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.lstm = nn.LSTM(28, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x):  # [B, T=28, F=28]
        return self.fc(self.lstm(x)[0][:, -1, :])


class RowCnn1d(nn.Module):
    def __init__(self, channels=64):
        super().__init__()
        self.conv1 = nn.Conv1d(28, channels, 3, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=1)
        self.fc = nn.Linear(channels * 7, 10)

    def forward(self, x):  # [B, T=28, F=28] -> [B, C=28, L=28]
        x = x.transpose(1, 2)
        x = F.max_pool1d(F.relu(self.conv1(x)), 2)
        x = F.max_pool1d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


MODELS = {"lstm": RowLstm, "cnn1d": RowCnn1d}


def accuracy(model, x, y, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    model.train()
    return correct / len(y)


def train_one(name, data, seed, epochs, lr, batch, schedule):
    train_x, train_y, test_x, test_y = data
    torch.manual_seed(seed)
    model = MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    n = len(train_y)
    history = []
    train_s = 0.0
    for epoch in range(epochs):
        epoch_lr = lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs)) if schedule == "cosine" else lr
        for group in opt.param_groups:
            group["lr"] = epoch_lr
        order = torch.from_numpy(rng.permutation(n))
        t0 = time.perf_counter()
        loss_sum = 0.0
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
        train_s += time.perf_counter() - t0
        acc = accuracy(model, test_x, test_y)
        history.append({"epoch": epoch + 1, "lr": epoch_lr, "loss": round(loss_sum / n, 4), "test_acc": acc,
                        "train_s": round(train_s, 1)})
        print(f"{name} seed {seed} epoch {epoch + 1:>2}: lr {epoch_lr:.2e} loss {loss_sum / n:.4f} "
              f"test accuracy {100 * acc:.2f}%  ({train_s:.1f} s training)", flush=True)
    return {"seed": seed, "test_acc": history[-1]["test_acc"], "best_test_acc": max(h["test_acc"] for h in history),
            "train_s": round(train_s, 1), "history": history}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--seed", type=int, help="one seed (the same as --seeds S)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    seeds = [args.seed] if args.seed is not None else args.seeds

    start = time.perf_counter()
    train_x, train_y, test_x, test_y, mean, std = load(args.data)
    print(f"{len(train_y)} training, {len(test_y)} test sequences of 28 x 28; pixel mean {mean:.6f} std {std:.6f}; "
          f"Adam lr {args.lr} ({args.schedule} per epoch), batch {args.batch}, {args.epochs} epochs", flush=True)
    params = sum(p.numel() for p in MODELS[args.model]().parameters())
    runs = [train_one(args.model, (train_x, train_y, test_x, test_y), s, args.epochs, args.lr, args.batch,
                      args.schedule) for s in seeds]
    accs = [r["test_acc"] for r in runs]
    result = {
        "model": args.model, "params": params, "epochs": args.epochs, "lr": args.lr, "batch": args.batch,
        "schedule": args.schedule, "optimizer": "Adam(0.9, 0.999, eps 1e-8)", "train": len(train_y),
        "test": len(test_y), "pixel_mean": mean, "pixel_std": std,
        "seeds": [{k: v for k, v in r.items() if k != "history"} for r in runs],
        "mean_test_acc": statistics.mean(accs), "min_test_acc": min(accs),
        "mean_train_s": round(statistics.mean(r["train_s"] for r in runs), 1),
        "wall_s": round(time.perf_counter() - start, 1), "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
