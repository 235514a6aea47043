"""Madry et al. (2018)'s MNIST LeNet and CIFAR-10 ResNet (paper 000 §2.2)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers import Normalize

# the architectures of this module (the config's `training:` keys) and their titles in figures
TITLES = {
    "madry_lenet": "LeNet (Madry et al.)",
    "madry_resnet": "ResNet (Madry et al.)",
}


class MadryLeNet(nn.Module):
    """MNIST model of Madry et al.: Conv5×5-32 (same)–MaxPool–Conv5×5-64 (same)–MaxPool–FC1024–FC10."""

    def __init__(self, in_shape, num_classes, mean, std):
        super().__init__()
        c, h, w = in_shape
        self.normalize = Normalize(mean, std)
        self.features = nn.Sequential(
            nn.Conv2d(c, 32, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * (h // 4) * (w // 4), 1024), nn.ReLU(inplace=True), nn.Linear(1024, num_classes)
        )  # fmt: skip

    def forward(self, x):
        return self.classifier(self.features(self.normalize(x)))


def madry_lenet(in_shape, num_classes, mean, std) -> nn.Module:
    return MadryLeNet(in_shape, num_classes, mean, std)


class PerImageStandardization(nn.Module):
    """TensorFlow's ``per_image_standardization``: each image minus its mean, divided by
    max(its std, 1/√(number of its values)) — the input layer of Madry et al.'s CIFAR ResNet."""

    def forward(self, x):
        flat = x.flatten(1)
        std = flat.std(1, unbiased=False).clamp_min(1.0 / math.sqrt(flat.shape[1]))
        return (x - flat.mean(1).view(-1, 1, 1, 1)) / std.view(-1, 1, 1, 1)


def _same_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A 3×3 convolution with TensorFlow's 'SAME' padding: symmetric at stride 1, one extra row and
    column at the bottom/right (none at the top/left) at stride 2 on even sizes."""
    if conv.stride[0] == 1:
        return F.conv2d(x, conv.weight, None, 1, 1)
    total = max((math.ceil(x.shape[-1] / conv.stride[0]) - 1) * conv.stride[0] + 3 - x.shape[-1], 0)
    return F.conv2d(F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2)), conv.weight, None,
                    conv.stride)  # fmt: skip


class MadryUnit(nn.Module):
    """A residual unit of cifar10_challenge's ``model.py``: BN–leaky ReLU (0.1)–conv3×3 twice; the
    shortcut is the input (or, in the first unit, its activation), average-pooled by the stride and
    zero-padded in channels when the width changes (no projection)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, activate_before_residual: bool):
        super().__init__()
        self.activate_before_residual, self.stride = activate_before_residual, stride
        self.pad = (out_channels - in_channels) // 2
        # TF's batch_norm: decay 0.9 (momentum 0.1), epsilon 0.001
        self.bn1 = nn.BatchNorm2d(in_channels, eps=1e-3, momentum=0.1)
        self.bn2 = nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, bias=False)

    def forward(self, x):
        activated = F.leaky_relu(self.bn1(x), 0.1)
        shortcut = activated if self.activate_before_residual else x
        out = _same_conv(F.leaky_relu(self.bn2(_same_conv(activated, self.conv1)), 0.1), self.conv2)
        if self.pad or self.stride > 1:
            shortcut = F.avg_pool2d(shortcut, self.stride, self.stride)
            shortcut = F.pad(shortcut, (0, 0, 0, 0, self.pad, self.pad))
        return out + shortcut


class MadryResNet(nn.Module):
    """Madry et al.'s CIFAR-10 model (MadryLab/cifar10_challenge ``model.py``): per-image
    standardisation, a 16-channel 3×3 stem, three stages of 5 ``MadryUnit``s with widths 160, 320,
    640 (strides 1, 2, 2; only the first unit activates before its shortcut), BN–leaky ReLU,
    global average pool, FC.  45,901,914 parameters on CIFAR-10.  ``mean``/``std`` are unused: the
    model standardises each image itself, as theirs does."""

    def __init__(self, in_shape, num_classes, mean=None, std=None):
        super().__init__()
        self.standardize = PerImageStandardization()
        self.stem = nn.Conv2d(in_shape[0], 16, 3, 1, bias=False)
        units, cin = [], 16
        for stage, (cout, stride) in enumerate(zip((160, 320, 640), (1, 2, 2))):
            for unit in range(5):
                units.append(MadryUnit(cin, cout, stride if unit == 0 else 1, stage == 0 and unit == 0))
                cin = cout
        self.stages = nn.Sequential(*units)
        self.bn = nn.BatchNorm2d(cin, eps=1e-3, momentum=0.1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.stages(_same_conv(self.standardize(x), self.stem))
        return self.fc(F.leaky_relu(self.bn(x), 0.1).mean((2, 3)))


def madry_resnet(in_shape, num_classes, mean, std) -> nn.Module:
    return MadryResNet(in_shape, num_classes, mean, std)
