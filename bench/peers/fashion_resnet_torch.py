"""Reference accuracy for the ResNet example (issue 13): the small ResNet of small_resnet.py
trained on Fashion-MNIST in PyTorch, with the optimizer of the repository's CNN experiment
(examples/fashion.rs, docs/fashion-mnist.md): Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8),
learning rate cosine-decayed to zero per step over the whole run, reshuffled every epoch,
pixels /255 then normalized with the training set's mean and standard deviation, no
augmentation. The CNN uses batch 64 for 12 epochs; the defaults here are batch 128 for 10
epochs (`--batch 64 --epochs 12` for the CNN's), about half the time on a shared 2-core
machine. Prints per epoch the train loss, test loss and test accuracy, the epoch's
training time and throughput, and at the end one RESULT line of JSON and a markdown row
for results/fashion-resnet-torch.md.

    .venv-peers/bin/python bench/peers/fashion_resnet_torch.py                    # 16/32/64, 1 block per stage
    .venv-peers/bin/python bench/peers/fashion_resnet_torch.py --widths 32 64 128 --blocks 1
    .venv-peers/bin/python bench/peers/fashion_resnet_torch.py --batch 64 --epochs 12 --threads 2

Run from the repository root; the data are data/fashion/*.gz (--data DIR for others).
"""

import argparse
import gzip
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from small_resnet import SmallResNet, forward_flops, params  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def read_idx(path):
    with gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir):
    def part(kind):
        x = read_idx(data_dir / f"fashion-{kind}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
        y = read_idx(data_dir / f"fashion-{kind}-labels-idx1-ubyte.gz").astype(np.int64)
        return x[:, None, :, :], y

    (xtr, ytr), (xte, yte) = part("train"), part("test")
    mean, std = float(xtr.astype(np.float64).mean()), float(xtr.astype(np.float64).std())
    return (torch.from_numpy((xtr - mean) / std), torch.from_numpy(ytr),
            torch.from_numpy((xte - mean) / std), torch.from_numpy(yte), mean, std)


def evaluate(model, x, y, batch=1000):
    model.eval()
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return loss / len(x), correct / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs=3, default=[16, 32, 64])
    parser.add_argument("--blocks", type=int, default=1, help="BasicBlocks per stage")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--channels-last", action="store_true",
                        help="NHWC activations (oneDNN's preferred layout; same numbers, often faster)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "fashion")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    xtr, ytr, xte, yte, mean, std = load(args.data)
    model = SmallResNet(tuple(args.widths), args.blocks)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        xtr, xte = (x.contiguous(memory_format=torch.channels_last) for x in (xtr, xte))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(xtr) / args.batch)
    total_steps = args.epochs * steps_per_epoch
    name = f"{'/'.join(map(str, args.widths))} x{args.blocks}"
    print(f"small ResNet {name}: {params(model)} parameters, {forward_flops(model) / 1e6:.1f} MFLOP forward/image; "
          f"Adam lr {args.lr} cosine, batch {args.batch}, {args.epochs} epochs, {args.threads} thread(s), "
          f"{'channels_last, ' if args.channels_last else ''}torch {torch.__version__}; pixels mean {mean:.4f} std {std:.4f}", flush=True)

    gen = torch.Generator().manual_seed(args.seed)
    history, step, train_seconds = [], 0, 0.0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr), generator=gen)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            for g in opt.param_groups:
                g["lr"] = args.lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            step += 1
        epoch_s = time.perf_counter() - t0
        train_seconds += epoch_s
        test_loss, test_acc = evaluate(model, xte, yte)
        row = {"epoch": epoch, "train_loss": round(loss_sum / len(xtr), 4), "test_loss": round(test_loss, 4),
               "test_accuracy": round(test_acc, 4), "epoch_train_s": round(epoch_s, 1),
               "images_per_s": round(len(xtr) / epoch_s)}
        history.append(row)
        print(f"{name} epoch {epoch:>2}: train loss {row['train_loss']:.4f}  test loss {test_loss:.4f}  "
              f"test accuracy {test_acc:.4f}  {epoch_s:.1f} s  {row['images_per_s']} images/s", flush=True)
    wall = time.perf_counter() - start
    best = max(h["test_accuracy"] for h in history)
    result = {"model": name, "params": params(model), "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
              "threads": args.threads, "channels_last": args.channels_last, "final_test_accuracy": history[-1]["test_accuracy"], "best_test_accuracy": best,
              "final_test_loss": history[-1]["test_loss"], "train_seconds": round(train_seconds, 1),
              "wall_seconds": round(wall, 1), "history": history, "torch": torch.__version__}
    print("RESULT " + json.dumps(result), flush=True)
    print(f"| {name} | {params(model):,} | {args.epochs} | {history[-1]['test_accuracy']:.4f} | {best:.4f} | "
          f"{history[-1]['test_loss']:.4f} | {train_seconds:.0f} s | {wall:.0f} s |")


if __name__ == "__main__":
    main()
