"""Pre-activation wide ResNets: TRADES' WideResNet-34-10 (paper 001) and He et al.'s CIFAR ResNet-32 (paper 004)."""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from ..layers import Normalize

# the architectures of this module (the config's `training:` keys) and their titles in figures
TITLES = {
    "wrn34_10": "WideResNet-34-10",
    "resnet32": "ResNet-32",
}


class PreActBlock(nn.Module):
    """Pre-activation residual unit (BN–ReLU–Conv3×3 twice), 1×1 projection when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(in_channels), nn.BatchNorm2d(out_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class WideResNet(nn.Module):
    """Pre-activation wide ResNet for 32×32 inputs: a 16-channel stem, three stages of ``units``
    residual units with widths 16k, 32k, 64k (strides 1, 2, 2), BN–ReLU, global average pool, FC."""

    def __init__(self, in_shape, num_classes, mean, std, units: int, widen: int):
        super().__init__()
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.normalize = Normalize(mean, std)
        self.stem = nn.Conv2d(in_shape[0], widths[0], 3, 1, 1, bias=False)
        layers, cin = [], widths[0]
        for stage, (cout, stride) in enumerate(zip(widths[1:], (1, 2, 2))):
            for unit in range(units):
                layers.append(PreActBlock(cin, cout, stride if unit == 0 else 1))
                cin = cout
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(cin, num_classes))  # fmt: skip

    def forward(self, x):
        return self.head(self.stages(self.stem(self.normalize(x))))


def wrn34_10(in_shape, num_classes, mean, std) -> nn.Module:
    # TRADES' WideResNet-34-10 (paper 001, CIFAR-100): depth 34 = 6·5 + 4 → 5 pre-activation units per
    # stage, widen factor 10, ReLU, 1×1-conv shortcuts, dataset normalisation (Madry et al.'s ResNet
    # above has the same widths but leaky ReLU, pooled zero-padded shortcuts and per-image standardisation).
    return WideResNet(in_shape, num_classes, mean, std, units=5, widen=10)


def resnet32(in_shape, num_classes, mean, std) -> nn.Module:
    # He et al.'s CIFAR ResNet-32 (6·5 + 2 layers, widths 16-32-64), pre-activation form (paper 004)
    return WideResNet(in_shape, num_classes, mean, std, units=5, widen=1)
