#!/usr/bin/env python3
"""PyTorch reference fixtures for the parity tests (tests/parity.rs).

Builds, as PyTorch `nn.Sequential`s (for the sequence networks a `Chain`, the same with
recurrent layers' tuples reduced to their output sequence; for the graph network a
module tree with the same keys), the networks that tests/parity.rs declares with
`network!` (together they use every layer the compiler has; pooling's `padding = same`,
which PyTorch lacks, aside), and writes for each network, precision (float64, float32)
and mode (train, eval) a safetensors file with:
the initial state dict (`init/<key>`), an input batch, labels or targets, the output,
the loss, every parameter gradient, the input gradient, the buffers after the forward
pass, and the parameters after one SGD step and after one Adam step. The initial state
dict is also written on its own, exactly as `safetensors.torch.save_file` writes a
PyTorch model, to show such a file loads with no renaming.

Sequences: an input `[T, F]` is PyTorch's batch-first `(batch, T, F)`, and a `[C, L]` one
`nn.Conv1d`'s `(batch, C, L)`; `rnn`, `lstm` and `gru` are `nn.RNN`, `nn.LSTM` and
`nn.GRU` with `batch_first=True`, their value the whole output sequence. A network whose
output is a sequence of class scores `(batch, T, classes)` (lstmnet) has one label per
time step: its cross-entropy is the mean over batch × T, and its target is saved
flattened, batch-major then time, as the Rust side passes it.

    python3 -m venv .venv-peers && .venv-peers/bin/pip install torch safetensors
    .venv-peers/bin/python tools/pytorch_reference.py     # writes tests/fixtures/parity/
    .venv-peers/bin/python tools/pytorch_reference.py mobile   # only the networks named

(`.venv-peers`, which git ignores, is the peer benchmarks' environment: with
bench/peers/requirements.txt installed it already has both.)
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "parity"


class SeparableConv2d(nn.Module):
    """Keras' SeparableConv2D as the SPEC maps it: depthwise then pointwise."""

    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, k, stride=stride, padding=padding, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class Abs(nn.Module):
    def forward(self, x):
        return torch.abs(x)


def convnet():
    # [3, 12, 12] -> conv s2 p1 -> [4, 6, 6] -> maxpool(2, 1, 1) -> [4, 7, 7]
    # -> conv (3,2) dil (1,2) g2 -> [6, 5, 5] -> avgpool(2, 1, 1) -> [6, 6, 6] -> 216
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2, stride=1, padding=1),
        nn.Conv2d(4, 6, (3, 2), dilation=(1, 2), groups=2), nn.Tanh(), nn.AvgPool2d(2, stride=1, padding=1),
        nn.Flatten(), nn.Linear(216, 10), nn.Sigmoid(), nn.Linear(10, 7),
    )


def normnet():
    return nn.Sequential(
        nn.Conv2d(4, 8, 3, groups=4, bias=False), nn.BatchNorm2d(8), nn.PReLU(8),
        SeparableConv2d(8, 6, 3, padding=1), nn.LeakyReLU(0.1), nn.ELU(0.5), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Dropout(0.0), nn.Linear(6, 5, bias=False), nn.BatchNorm1d(5),
        # (no bias before a batch norm: its gradient is zero, and Adam would amplify the noise)
    )


def decoder():
    # [3, 4, 4] -> convT s2 p1 op1 -> [4, 8, 8] -> upsample 2 -> [4, 16, 16]
    # -> convT (2,3) dil (2,1) g2 -> [2, 18, 18] -> global max -> [2, 1, 1] -> 2
    return nn.Sequential(
        nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), nn.Softplus(),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.ConvTranspose2d(4, 2, (2, 3), dilation=(2, 1), groups=2, bias=False), Abs(),
        nn.AdaptiveMaxPool2d(1), nn.Identity(), nn.Flatten(), nn.Softmax(dim=1),
    )


def mobile():
    # The MobileNetV3-era layers, in padding='same' convolutions and ceil-mode pooling:
    # [3, 11, 11] -> conv (4,3) dil (1,2) same (rows padded 1 above, 2 below) -> [6, 11, 11]
    # -> maxpool(2, 2, 1, ceil) -> [6, 6, 6] (ceil would give 7, but the 7th window would
    # start past the input and its left padding) -> conv 2 same (one row and column after)
    # -> [8, 6, 6] -> avgpool(3, 2, 1, ceil) -> [8, 4, 4] (the last window runs one past
    # the padded input: divided by 2 per axis) -> maxpool(3, 2, ceil) -> [8, 2, 2] (the
    # last window clipped to the input) -> 32
    return nn.Sequential(
        nn.Conv2d(3, 6, (4, 3), padding="same", dilation=(1, 2)), nn.ReLU6(),
        nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
        nn.Conv2d(6, 8, 2, padding="same"), nn.Hardswish(),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), nn.Hardsigmoid(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Flatten(), nn.Linear(32, 5),
    )


class Res(nn.Module):
    """`block Res(c) = residual(conv1 -> bn1 -> relu -> conv2) -> relu`."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return F.relu(x + self.conv2(F.relu(self.bn1(self.conv1(x)))))


class Down(nn.Module):
    """`down: residual(conv -> batchnorm -> relu -> conv, shortcut = proj: conv)`: a named
    merge opens a level, its body's elements numbered 0, 1, (2: relu), 3."""

    def __init__(self):
        super().__init__()
        # No bias before a batch norm: its gradient is zero, and Adam would amplify the noise.
        self.add_module("0", nn.Conv2d(10, 6, 3, stride=2, padding=1, bias=False))
        self.add_module("1", nn.BatchNorm2d(6))
        self.add_module("3", nn.Conv2d(6, 6, 3, padding=1))
        self.proj = nn.Conv2d(10, 6, 1, stride=2)

    def forward(self, x):
        m = self._modules
        return m["3"](F.relu(m["1"](m["0"](x)))) + self.proj(x)


class Graphnet(nn.Module):
    """tests/parity.rs's `Graphnet`: a residual block, a concat of three branches (one the
    identity), squeeze-and-excitation, and a named residual with a projection shortcut.
    Unnamed elements are numbered across the merges' branches, as the keys rule says."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block1 = Res(4)
        self.b1 = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Tanh())
        self.b2 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(4, 2, 3, padding=1))
        self.add_module("7", nn.Conv2d(10, 3, 1))
        self.add_module("9", nn.Conv2d(3, 10, 1))
        self.down = Down()
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        x = self.block1(F.relu(self.stem(x)))
        x = torch.cat([x, self.b1(x), self.b2(x)], dim=1)
        gate = torch.sigmoid(self._modules["9"](F.relu(self._modules["7"](F.adaptive_avg_pool2d(x, 1)))))
        x = F.relu(self.down(x * gate))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def graphnet():
    return Graphnet()


def mlp():
    return nn.Sequential(
        nn.Linear(20, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 8, bias=False),
        nn.LogSoftmax(dim=1),
    )


class Chain(nn.Sequential):
    """An `nn.Sequential` (keys `<index>.<name>`, every element counted) through which a
    recurrent layer passes its output sequence, the `[0]` of the tuple it returns."""

    def forward(self, x):
        for m in self:
            x = m(x)
            if isinstance(x, tuple):
                x = x[0]
        return x


class Last(nn.Module):
    """`last`: the sequence's final step, `(batch, T, F) -> (batch, F)`."""

    def forward(self, x):
        return x[:, -1, :]


class Transpose(nn.Module):
    """`transpose`: `(batch, C, L) -> (batch, L, C)`, channels into features per step."""

    def forward(self, x):
        return x.transpose(1, 2)


def rnnnet():
    # [5, 4] -> rnn 6 -> [5, 6] -> 2-layer bidirectional relu rnn 3 -> [5, 6] -> last -> 6 -> 3
    # `last` of a bidirectional layer takes the reverse direction's first step, computed from
    # h0 = 0: `1.weight_hh_l1_reverse` has a gradient of exactly zero (so has grunet's
    # `2.weight_hh_l1_reverse`). With these weights three of relu's six last-step features
    # are zero for the whole batch.
    return Chain(
        nn.RNN(4, 6, batch_first=True),
        nn.RNN(6, 3, num_layers=2, nonlinearity="relu", bidirectional=True, batch_first=True),
        Last(), nn.Linear(6, 3),
    )


def lstmnet():
    # [5, 4] -> 2-layer bidirectional lstm 6 -> [5, 12] -> linear per step -> [5, 3]
    return Chain(
        nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True),
        nn.Linear(12, 3),
    )


def grunet():
    # [5, 4] -> gru 5, no biases -> [5, 5] -> tanh -> 2-layer bidirectional gru 4 -> [5, 8]
    # -> last -> 8 -> 3
    return Chain(
        nn.GRU(4, 5, bias=False, batch_first=True), nn.Tanh(),
        nn.GRU(5, 4, num_layers=2, bidirectional=True, batch_first=True),
        Last(), nn.Linear(8, 3),
    )


def conv1dnet():
    # [3, 16] -> conv1d s2 p1 -> [4, 8] -> maxpool1d(2, 1, 1) -> [4, 9] -> conv1d dil 2 g2
    # -> [6, 5] -> avgpool1d(2) -> [6, 2] -> transpose -> [2, 6] -> lstm 4 -> [2, 4]
    # -> last -> 4 -> 3
    return Chain(
        nn.Conv1d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool1d(2, stride=1, padding=1),
        nn.Conv1d(4, 6, 3, dilation=2, groups=2), nn.Tanh(), nn.AvgPool1d(2),
        Transpose(), nn.LSTM(6, 4, batch_first=True), Last(), nn.Linear(4, 3),
    )


# name -> (builder, input shape, loss, modes, input scale)
NETWORKS = {
    "convnet": (convnet, (3, 12, 12), "cross_entropy", ("train", "eval"), 1.0),
    "normnet": (normnet, (4, 8, 8), "cross_entropy", ("train", "eval"), 1.0),
    "decoder": (decoder, (3, 4, 4), "mse", ("train", "eval"), 1.0),
    # Dropout(0.5) draws its mask from PyTorch's generator: only eval mode can match.
    "mlp": (mlp, (20,), "bce_with_logits", ("eval",), 1.0),
    # Inputs of standard deviation 4, so that relu6 reaches 6 and hardswish ±3.
    "mobile": (mobile, (3, 11, 11), "cross_entropy", ("train", "eval"), 4.0),
    "graphnet": (graphnet, (3, 8, 8), "cross_entropy", ("train", "eval"), 1.0),
    # Sequences, batch-first: [T, F] = [5, 4]; conv1dnet's [C, L] = [3, 16].
    "rnnnet": (rnnnet, (5, 4), "cross_entropy", ("train", "eval"), 1.0),
    # Scores per time step, (batch, 5, 3): a label per step.
    "lstmnet": (lstmnet, (5, 4), "cross_entropy", ("train", "eval"), 1.0),
    "grunet": (grunet, (5, 4), "cross_entropy", ("train", "eval"), 1.0),
    "conv1dnet": (conv1dnet, (3, 16), "cross_entropy", ("train", "eval"), 1.0),
}
BATCH = 4


def loss_of(kind, out, target):
    if kind == "cross_entropy":
        if out.dim() > 2:  # scores per time step, (batch, T, classes): a label per step
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), target)
        return F.cross_entropy(out, target)
    if kind == "mse":
        return F.mse_loss(out, target)
    return F.binary_cross_entropy_with_logits(out, target)


def main(names):
    unknown = set(names) - set(NETWORKS)
    if unknown:
        sys.exit(f"unknown networks {sorted(unknown)}; known: {', '.join(NETWORKS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (build, shape, loss_kind, modes, scale) in NETWORKS.items():
        if names and name not in names:
            continue
        torch.manual_seed(0)
        base = build().double()
        # Non-trivial running statistics, so eval mode is tested for real.
        for m in base.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(3)
            if isinstance(m, nn.PReLU):
                m.weight.data.uniform_(0.05, 0.4)
        gen = torch.Generator().manual_seed(1)
        x64 = torch.randn(BATCH, *shape, generator=gen, dtype=torch.float64) * scale
        with torch.no_grad():
            out_shape = base.eval()(x64).shape  # eval: no side effect on the running statistics
        out_len = out_shape[1]
        if loss_kind == "cross_entropy":
            # One label per row of scores: (batch,), or (batch, T) flattened batch-major.
            labels = out_shape[:-1].numel()
            target64 = torch.randint(0, out_shape[-1], (labels,), generator=gen)
        else:
            target64 = torch.rand(BATCH, out_len, generator=gen, dtype=torch.float64)
        save_file({k: v.float() if v.is_floating_point() else v for k, v in base.state_dict().items()},
                  str(OUT / f"{name}_pytorch_state_dict.safetensors"))
        for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            x = x64.to(dtype)
            target = target64 if loss_kind == "cross_entropy" else target64.to(dtype)
            init = {k: v.to(dtype) if v.is_floating_point() else v.clone() for k, v in base.state_dict().items()}
            for mode in modes:
                tensors = {f"init/{k}": v.contiguous() for k, v in init.items()}
                tensors["input"] = x.contiguous()
                tensors["target"] = target.contiguous()

                def fresh():
                    model = build().to(dtype)
                    model.load_state_dict(init)
                    model.train(mode == "train")
                    return model

                model = fresh()
                xg = x.clone().requires_grad_(True)
                out = model(xg)
                loss = loss_of(loss_kind, out, target)
                loss.backward()
                tensors["output"] = out.detach().contiguous()
                tensors["loss"] = loss.detach().reshape(())
                tensors["input_grad"] = xg.grad.contiguous()
                for k, p in model.named_parameters():
                    tensors[f"grad/{k}"] = p.grad.contiguous()
                for k, b in model.named_buffers():
                    tensors[f"buffers_after/{k}"] = b.clone().contiguous()
                for opt_name, make in (
                    ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3)),
                    ("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2)),
                ):
                    model = fresh()
                    opt = make(model.parameters())
                    opt.zero_grad()
                    loss_of(loss_kind, model(x), target).backward()
                    opt.step()
                    for k, p in model.named_parameters():
                        tensors[f"{opt_name}/{k}"] = p.detach().clone().contiguous()
                save_file(tensors, str(OUT / f"{name}_{tag}_{mode}.safetensors"))
                print(f"{name} {tag} {mode}: loss {loss.item():.6f}")


if __name__ == "__main__":
    main(sys.argv[1:])
