"""The small ResNet of issue 13 (Fashion-MNIST size), shared by graph_seq_peers.py
(`smallresnet`: training-step timing) and fashion_resnet_torch.py (reference accuracy).

Default (widths 16/32/64, one block per stage), 1x28x28 input:

    stem: conv(1, 16, 3, padding 1, no bias) -> BN(16) -> ReLU                  [16, 28, 28]
    BasicBlock(16, 16)                                                          [16, 28, 28]
    BasicBlock(16, 32, stride 2, downsample conv1x1 s2 + BN)                    [32, 14, 14]
    BasicBlock(32, 64, stride 2, downsample conv1x1 s2 + BN)                    [64, 7, 7]
    adaptive average pool 1 -> flatten -> Linear(64, 10)

BasicBlock as torchvision's: conv3x3(stride)-BN-ReLU-conv3x3-BN, plus the identity or
the downsample, then ReLU. Keys follow nn.Module naming (stem.0.weight,
stages.1.0.conv1.weight, stages.1.0.downsample.0.weight, fc.weight, ...).
"""

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class SmallResNet(nn.Module):
    def __init__(self, widths=(16, 32, 64), blocks=1, in_channels=1, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, cin = [], widths[0]
        for s, w in enumerate(widths):
            layers = []
            for b in range(blocks):
                layers.append(BasicBlock(cin, w, stride=2 if s > 0 and b == 0 else 1))
                cin = w
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


def params(model):
    return sum(p.numel() for p in model.parameters())


def forward_flops(model, input_shape=(1, 28, 28)):
    """Forward FLOPs per image of the convolutions and linear layers (a multiply-add = 2)."""
    total = [0]

    def hook(mod, _inp, out):
        if isinstance(mod, nn.Conv2d):
            total[0] += 2 * out[0].numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            total[0] += 2 * mod.in_features * mod.out_features

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return total[0]
