#!/usr/bin/env python3
"""PyTorch reference values for the training toolbox (tests/training_parity.rs).

Writes tests/fixtures/training/reference.safetensors (float64) with:
- optimizers: `optim.<name>.params` — a 13-value parameter vector after each of 6 steps
  (`[6, 13]`) of `torch.optim.RMSprop` and `Adagrad` under several settings, fed the
  gradients `optim.grads` (`[6, 13]`) from `optim.init`;
- losses: `loss.<name>.value` and `.grad` (∂loss/∂input) of `nn.NLLLoss` and
  `nn.CrossEntropyLoss` with probability targets, on outputs `[4, 5]` and `[4, 3, 2, 2]`;
- schedules: `schedule.<name>` — the learning rate before each of 40 steps of
  `torch.optim.lr_scheduler` schedulers (base rate 0.1).

    python3 -m venv .venv-peers && .venv-peers/bin/pip install torch safetensors
    .venv-peers/bin/python tools/training_reference.py
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "training" / "reference.safetensors"
torch.manual_seed(0)
tensors = {}

# Optimizers: the gradients are given, not computed, so only the update rule is tested.
init = torch.randn(13, dtype=torch.float64)
grads = torch.randn(6, 13, dtype=torch.float64)
grads[3] *= 10.0  # one large step
tensors["optim.init"] = init
tensors["optim.grads"] = grads
OPTIMIZERS = {
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01),
    "rmsprop_tuned": lambda p: torch.optim.RMSprop(p, lr=0.003, alpha=0.9, eps=1e-6, weight_decay=0.1),
    "rmsprop_momentum": lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.9),
    "rmsprop_centered": lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5, weight_decay=0.01),
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1),
    "adagrad_tuned": lambda p: torch.optim.Adagrad(
        p, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.1, eps=1e-8
    ),
}
for name, make in OPTIMIZERS.items():
    p = nn.Parameter(init.clone())
    opt = make([p])
    after = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        after.append(p.detach().clone())
    tensors[f"optim.{name}.params"] = torch.stack(after)

# Losses, on outputs [4, 5] (one label per sample) and [4, 3, 2, 2] (one per position).
for shape in [(4, 5), (4, 3, 2, 2)]:
    tag = "x".join(map(str, shape))
    x = torch.randn(*shape, dtype=torch.float64)
    classes = shape[1]
    labels = torch.randint(0, classes, (shape[0],) + shape[2:])
    probs = torch.softmax(torch.randn(*shape, dtype=torch.float64) * 2, dim=1)
    probs[0] *= 0.5  # PyTorch does not ask targets to sum to one
    tensors[f"loss.{tag}.input"] = x
    tensors[f"loss.{tag}.labels"] = labels.reshape(-1).to(torch.int64)
    tensors[f"loss.{tag}.probs"] = probs
    for name, fn, target in [
        ("nll", nn.NLLLoss(), labels),
        ("nll_log_softmax", lambda y, t: nn.NLLLoss()(torch.log_softmax(y, 1), t), labels),
        ("probability_ce", nn.CrossEntropyLoss(), probs),
    ]:
        y = x.clone().requires_grad_(True)
        value = fn(y, target)
        value.backward()
        tensors[f"loss.{tag}.{name}.value"] = value.detach().reshape(1)
        tensors[f"loss.{tag}.{name}.grad"] = y.grad

# Schedules: the rate each step uses, read before `optimizer.step()`.
S = torch.optim.lr_scheduler
SCHEDULES = {
    "step": lambda o: S.StepLR(o, step_size=7, gamma=0.5),
    "multistep": lambda o: S.MultiStepLR(o, milestones=[5, 12, 30], gamma=0.1),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=40, eta_min=0.001),
    "cosine_short": lambda o: S.CosineAnnealingLR(o, T_max=15),
    "onecycle": lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=40),
    "onecycle_tuned": lambda o: S.OneCycleLR(
        o, max_lr=0.1, total_steps=40, pct_start=0.25, div_factor=10.0, final_div_factor=100.0
    ),
    "warmup_cosine": lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.CosineAnnealingLR(o, T_max=35)], milestones=[5]
    ),
}
for name, make in SCHEDULES.items():
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    rates = []
    for _ in range(40):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    tensors[f"schedule.{name}"] = torch.tensor(rates, dtype=torch.float64)

OUT.parent.mkdir(parents=True, exist_ok=True)
save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT))
print(f"wrote {OUT} ({len(tensors)} tensors)")
