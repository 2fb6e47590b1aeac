#!/usr/bin/env python3
"""torchvision fixtures for graph networks (issue 13): key listings and a ResNet-18 logits check.

Writes into tests/fixtures/torchvision/ (run from the repository root):

    resnet18.keys, resnet50.keys, googlenet.keys
        torchvision's resnet18(), resnet50() and googlenet(aux_logits=False,
        init_weights=False) state_dict(), in order, one line per tensor:
            key<TAB>shape<TAB>dtype<TAB>kind
        shape as 64x3x7x7 (empty for a scalar), dtype f32 or i64, kind param or buffer;
        a first line `# params N` with N = sum of p.numel() over model.parameters()
        (11689512, 25557032, 6624904).

    resnet18_logits.txt
        ResNet-18's eval-mode logits (batch 2, 3x224x224) with every tensor of its state
        dict filled from the closed-form formula below, so a Rust test can rebuild the
        weights and the input without torch, write them under torchvision's keys, load
        them, and compare. Rows `f32 <image> <1000 values>` (float32 eval mode, 9
        significant digits) and `f64 <image> <1000 values>` (the same float32 weights and
        input promoted to float64, model.double(): the f32 noise level, 12 digits).

    resnet18_fill.txt
        For each tensor of the filled state dict: key, t, rule, fan_in, the sum (in f64)
        of its float32 values, and its first and last float32 values; for the input the
        same: a debugging aid for an implementation of the formula.

THE FORMULA (the same text is in tests/fixtures/torchvision/README.md). Every value is
computed in f64 and then rounded to f32 (round to nearest even, Rust's `as f32`):

    t  = index of the tensor among the floating-point tensors of resnet18().state_dict(),
         in state_dict order, 0-based (the i64 `num_batches_tracked` buffers are not
         counted: conv1.weight is t=0, bn1.weight t=1, bn1.bias t=2, bn1.running_mean t=3,
         bn1.running_var t=4, layer1.0.conv1.weight t=5, ..., fc.weight t=100, fc.bias t=101; 102 in all)
    i  = flat row-major element index within that tensor, 0-based
    s  = sin(2.0*i + 0.7*t)             # f64: (2.0 * i as f64 + 0.7 * t as f64).sin()

    weight with >= 2 dims (conv, linear):  w = s * sqrt(2.0 / fan_in)
        fan_in = numel / shape[0]  (= in_channels/groups * kh * kw for a conv,
        in_features for a linear); sqrt(2.0 / fan_in) computed once per tensor in f64
    weight with 1 dim (batch-norm gamma):  1.0 + 0.2*s
    bias (batch norm beta, fc.bias):       0.1*s
    running_mean:                          0.1*s
    running_var:                           0.6 + 0.4*(s*s)
    num_batches_tracked (i64):             1 (not used in eval mode)

    input x, shape 2x3x224x224, flat row-major index i (0 <= i < 301056):
        x[i] = (0.5 + 1e-5*i) * sin(1e-5*(i*i))   # f64: let f = i as f64;
                                                 # (0.5 + 1e-5 * f) * (1e-5 * (f * f)).sin()
    (i*i < 2^53 is exact in f64.) The amplitude ramp makes the two images' statistics
    differ, so their logits differ by about 17% of the largest (a batch mix-up shows).

Why these constants: with a slow weight frequency (0.37, say) every filter is nearly a
low-pass sum, the network answers mostly the mean of its input, and the logits hardly see
spatial detail (flipping one 3x3 kernel moved them by 4e-5 of their largest). At 2.0
rad per element a kernel's elements nearly cancel, the logits follow spatial detail, and
`--sensitivity` shows what a bug would move them by (one kernel flipped: 2e-3 of the
largest logit; input shifted by one pixel: 1e-2; maxpool padding 0: 4e-2), all well
above a 1e-4 tolerance. Activations stay of order 1 through all 18 layers (the rms per
stage is in resnet18_logits.txt); logits rms about 3, largest about 4.6.

sin is the C library's (Python's math.sin; Rust's f64::sin calls the same libm on Linux):
the f64 values agree to the last bit or near it, and after rounding to f32 the
differences vanish (at most one f32 ulp in rare elements).

Committed files produced with torch 2.15.0, torchvision 0.29.2 (PyPI, CPU, Python 3.11),
on an x86-64 AMD EPYC (Zen 4). Environment (the peer benchmarks' one works):

    python3 -m venv .venv-peers && .venv-peers/bin/pip install -r bench/peers/requirements.txt
    .venv-peers/bin/pip install --no-deps torchvision==0.29.2 pillow
    .venv-peers/bin/python tools/torchvision_fixtures.py        # about 10 s
    .venv-peers/bin/python tools/torchvision_fixtures.py --sensitivity   # writes nothing:
        # how far some plausible bugs move the logits (relative to the largest logit)
"""

import math
import sys
from array import array
from pathlib import Path

import torch
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torchvision"

# The formula's constants (see the docstring).
FREQ, PHASE, GAIN = 2.0, 0.7, 2.0
INPUT_SHAPE = (2, 3, 224, 224)


def shape_text(shape):
    return "x".join(str(d) for d in shape)


def dtype_text(dtype):
    return {torch.float32: "f32", torch.int64: "i64"}[dtype]


def write_keys(name, model):
    params = {k for k, _ in model.named_parameters()}
    total = sum(p.numel() for p in model.parameters())
    lines = [f"# params {total}"]
    for key, v in model.state_dict().items():
        kind = "param" if key in params else "buffer"
        lines.append(f"{key}\t{shape_text(v.shape)}\t{dtype_text(v.dtype)}\t{kind}")
    (OUT / f"{name}.keys").write_text("\n".join(lines) + "\n")
    print(f"{name}: {len(lines) - 1} tensors, {total} parameters")
    return total


def formula_tensor(key, shape, t):
    """The f64 values of float tensor number t (see the docstring), as a float64 tensor."""
    n = math.prod(shape)
    leaf = key.rsplit(".", 1)[1]
    base = PHASE * t  # 0.7 * t in f64, exactly as 0.7 * (t as f64)
    s = array("d", (math.sin(FREQ * i + base) for i in range(n)))
    if leaf == "weight" and len(shape) >= 2:
        fan_in = n // shape[0]
        gain = math.sqrt(GAIN / fan_in)
        vals, rule = array("d", (v * gain for v in s)), "s*sqrt(2/fan_in)"
    elif leaf == "weight":
        fan_in = None
        vals, rule = array("d", (1.0 + 0.2 * v for v in s)), "1+0.2*s"
    elif leaf == "bias":
        fan_in = None
        vals, rule = array("d", (0.1 * v for v in s)), "0.1*s"
    elif leaf == "running_mean":
        fan_in = None
        vals, rule = array("d", (0.1 * v for v in s)), "0.1*s"
    elif leaf == "running_var":
        fan_in = None
        vals, rule = array("d", (0.6 + 0.4 * (v * v) for v in s)), "0.6+0.4*s*s"
    else:
        raise SystemExit(f"no rule for float tensor {key}")
    return torch.frombuffer(vals, dtype=torch.float64).reshape(shape).clone(), rule, fan_in


def formula_input():
    n = math.prod(INPUT_SHAPE)
    vals = array("d", ((0.5 + 1e-5 * i) * math.sin(1e-5 * (float(i) * float(i))) for i in range(n)))
    return torch.frombuffer(vals, dtype=torch.float64).reshape(INPUT_SHAPE).clone()


def check_line(name, t, rule, fan_in, v32):
    flat = v32.reshape(-1)
    return (f"{name}\t{t}\t{rule}\t{'' if fan_in is None else fan_in}\t"
            f"{flat.double().sum().item():.17g}\t{flat[0].item():.9g}\t{flat[-1].item():.9g}")


def filled_resnet18():
    """torchvision's resnet18() with every tensor from the formula (f32), the input, and the fill report."""
    from torchvision import models

    model = models.resnet18()
    state, fill_lines, t = {}, ["# key\tt\trule\tfan_in\tsum_f64_of_f32\tfirst_f32\tlast_f32"], 0
    for key, v in model.state_dict().items():
        if not v.is_floating_point():
            state[key] = torch.ones_like(v)  # num_batches_tracked: any integer, unused in eval
            fill_lines.append(f"{key}\t\tone\t\t1\t1\t1")
            continue
        vals, rule, fan_in = formula_tensor(key, tuple(v.shape), t)
        v32 = vals.float()  # f64 -> f32, round to nearest even
        state[key] = v32
        fill_lines.append(check_line(key, t, rule, fan_in, v32))
        t += 1
    x32 = formula_input().float()
    fill_lines.append(check_line("input", "", "(0.5+1e-5*i)*sin(1e-5*i*i)", None, x32))
    model.load_state_dict(state)
    return model.eval(), x32, fill_lines


def resnet18_logits():
    model, x32, fill_lines = filled_resnet18()
    (OUT / "resnet18_fill.txt").write_text("\n".join(fill_lines) + "\n")

    stage_rms = {}
    hooks = [getattr(model, name).register_forward_hook(
        lambda _m, _i, out, name=name: stage_rms.__setitem__(name, out.pow(2).mean().sqrt().item()))
        for name in ("conv1", "bn1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool")]
    with torch.no_grad():
        y32 = model(x32)
        for h in hooks:
            h.remove()
        y64 = model.double()(x32.double())
    diff = (y32.double() - y64).abs()
    rel_elem = (diff / y64.abs()).max().item()
    rel_max = (diff.max() / y64.abs().max()).item()
    rel_row = (diff.amax(dim=1) / y64.abs().amax(dim=1)).max().item()
    images_apart = ((y64[0] - y64[1]).abs().max() / y64.abs().max()).item()

    header = [
        "# ResNet-18 (torchvision resnet18()) eval-mode logits, batch 2, input 2x3x224x224.",
        "# Weights, buffers and input from the formula in tests/fixtures/torchvision/README.md",
        "# (tools/torchvision_fixtures.py), rounded to f32. Rows: <precision> <image> <1000 logits>.",
        "# f32: float32 eval mode, 9 significant digits. f64: the same f32 weights and input",
        "#   promoted to float64 (model.double()), 12 significant digits.",
        f"# torch {torch.__version__}, torchvision {__import__('torchvision').__version__}",
        f"# |f32 - f64|: max {diff.max().item():.3g}; max over elements of |d|/|f64| {rel_elem:.3g};"
        f" max |d| / max |f64| {rel_max:.3g} (per image {rel_row:.3g})",
        f"# logits: max |f64| {y64.abs().max().item():.6g}, min |f64| {y64.abs().min().item():.3g},"
        f" rms {y64.pow(2).mean().sqrt().item():.6g}; images differ by max |y0-y1|/max|y| {images_apart:.3g}",
        "# rms per stage (f32): " + ", ".join(f"{k} {v:.3g}" for k, v in stage_rms.items()),
        "# shape 2 1000",
    ]
    rows = []
    for tag, y, fmt in (("f32", y32, "{:.9g}"), ("f64", y64, "{:.12g}")):
        for n in range(y.shape[0]):
            rows.append(f"{tag} {n} " + " ".join(fmt.format(v) for v in y[n].tolist()))
    (OUT / "resnet18_logits.txt").write_text("\n".join(header + rows) + "\n")
    for line in header[6:9]:
        print(line[2:])
    return y32, y64


def sensitivity():
    """How far plausible implementation bugs move the f64 logits, relative to the largest one."""
    import copy

    model, x32, _ = filled_resnet18()
    model, x = model.double(), x32.double()

    def run(m, xx):
        with torch.no_grad():
            return m(xx)

    y = run(model, x)
    print(f"logits: max |y| {y.abs().max().item():.4g}, rms {y.pow(2).mean().sqrt().item():.4g}, "
          f"images apart {((y[0] - y[1]).abs().max() / y.abs().max()).item():.3g}")

    def changed(what, edit=None, xx=None):
        m = copy.deepcopy(model)
        if edit:
            edit(m)
        z = run(m, x if xx is None else xx)
        print(f"  {what:52s} {((z - y).abs().max() / y.abs().max()).item():.3g}")

    def set_eps(m):
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.eps = 1e-4

    def flip(m):
        m.layer2[0].conv1.weight.data = m.layer2[0].conv1.weight.data.flip(3)

    def pool(m):
        m.maxpool.padding = 0
        m.maxpool.ceil_mode = True

    top = x.clone()
    top[:, :, 0, :] = 0
    changed("input shifted one pixel right", xx=torch.roll(x, 1, dims=3))
    changed("input transposed (H and W swapped)", xx=x.transpose(2, 3).contiguous())
    changed("top input row zeroed", xx=top)
    changed("batch-norm eps 1e-4 instead of 1e-5", set_eps)
    changed("layer2.0.conv1 kernels flipped left-right", flip)
    changed("maxpool padding 0 (ceil_mode, same shape)", pool)
    changed("layer4.1.bn2.running_var := 1", lambda m: m.layer4[1].bn2.running_var.data.fill_(1.0))
    changed("layer1.0.bn1.running_mean := 0", lambda m: m.layer1[0].bn1.running_mean.data.zero_())
    changed("layer3.0.downsample.0.weight := 0", lambda m: m.layer3[0].downsample[0].weight.data.zero_())


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    from torchvision import models

    print(f"torch {torch.__version__}, torchvision {__import__('torchvision').__version__}")
    if "--sensitivity" in sys.argv[1:]:
        sensitivity()
        return
    expected = {"resnet18": 11_689_512, "resnet50": 25_557_032, "googlenet": 6_624_904}
    built = {
        "resnet18": models.resnet18(),
        "resnet50": models.resnet50(),
        "googlenet": models.googlenet(aux_logits=False, init_weights=False),
    }
    for name, model in built.items():
        got = write_keys(name, model)
        if got != expected[name]:
            print(f"warning: {name} has {got} parameters, expected {expected[name]}", file=sys.stderr)
    resnet18_logits()
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
