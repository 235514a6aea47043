"""He et al.'s ResNet18 and ResNet34 for 32×32 and 64×64 inputs (paper 001)."""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from ..layers import Normalize

# the architectures of this module (the config's `training:` keys) and their titles in figures
TITLES = {
    "resnet18": "ResNet18",
    "resnet34": "ResNet34",
}


class BasicBlock(nn.Module):
    """He et al.'s basic residual block (Conv3×3–BN–ReLU–Conv3×3–BN, identity or 1×1 projection)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))  # fmt: skip

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet18 in its CIFAR form (3×3 stem, no stem pooling; stages of 2 blocks, widths 64–512,
    strides 1-2-2-2; global average pool, so 64×64 Tiny ImageNet works unchanged).  ``blocks``
    (3, 4, 6, 3) gives ResNet34 (paper 003)."""

    def __init__(self, in_shape, num_classes, mean, std, blocks=(2, 2, 2, 2)):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.stem = nn.Sequential(nn.Conv2d(in_shape[0], 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers, cin = [], 64
        for (cout, stride), n in zip(((64, 1), (128, 2), (256, 2), (512, 2)), blocks):
            layers += [BasicBlock(cin, cout, stride), *(BasicBlock(cout, cout, 1) for _ in range(n - 1))]
            cin = cout
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))

    def forward(self, x):
        return self.head(self.stages(self.stem(self.normalize(x))))


def resnet18(in_shape, num_classes, mean, std) -> nn.Module:
    return ResNet18(in_shape, num_classes, mean, std)


def resnet34(in_shape, num_classes, mean, std) -> nn.Module:
    return ResNet18(in_shape, num_classes, mean, std, blocks=(3, 4, 6, 3))
