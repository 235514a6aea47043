"""Models of paper 000: StdCNN / GCNN (Table 3), Madry et al.'s LeNet and ResNet, VGG16 / P4-VGG16.

Models take pixels in [0, 1]; the first layer normalises with the dataset's mean/std, so
attacks and ε live in pixel units.  Add an architecture by writing an ``nn.Module`` factory
``f(in_shape, num_classes) -> nn.Module`` and registering it in ``ARCHITECTURES``.

The P4 layers follow Cohen & Welling (2016): a P4 feature map has an orientation axis of
size 4; P4ConvZ2 correlates the input with the 4 rotated copies of each filter, P4ConvP4
additionally cyclically shifts the filter's orientation axis with the rotation.  Rotating
the input by 90° rotates every feature map by 90° and shifts its orientation axis by one.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


# --------------------------------------------------------------------------- P4 group convolutions


class P4ConvZ2(nn.Module):
    """Lifting convolution Z² → P4: output ``B×out×4×H'×W'``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 0, bias: bool = True):
        super().__init__()
        self.out_channels, self.padding = out_channels, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def filter_bank(self) -> torch.Tensor:
        # filters for output orientation r are the base filters rotated by r·90°
        bank = torch.stack([torch.rot90(self.weight, r, dims=(2, 3)) for r in range(4)], dim=1)
        return bank.reshape(self.out_channels * 4, *self.weight.shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias.repeat_interleave(4) if self.bias is not None else None
        y = F.conv2d(x, self.filter_bank(), bias, padding=self.padding)
        return y.view(y.shape[0], self.out_channels, 4, *y.shape[2:])


class P4ConvP4(nn.Module):
    """Group convolution P4 → P4 on ``B×in×4×H×W`` feature maps."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 0, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels, self.padding = in_channels, out_channels, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 4, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def filter_bank(self) -> torch.Tensor:
        # output orientation r: rotate each filter plane by r·90° and shift its orientation axis by r
        bank = torch.stack(
            [torch.rot90(torch.roll(self.weight, shifts=r, dims=2), r, dims=(3, 4)) for r in range(4)], dim=1
        )
        return bank.reshape(self.out_channels * 4, self.in_channels * 4, *self.weight.shape[3:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        bias = self.bias.repeat_interleave(4) if self.bias is not None else None
        y = F.conv2d(x.reshape(b, self.in_channels * 4, *x.shape[3:]), self.filter_bank(), bias, padding=self.padding)
        return y.view(b, self.out_channels, 4, *y.shape[2:])


class GroupSpatialMaxPool(nn.Module):
    """Spatial max pooling applied to each orientation plane of a P4 feature map."""

    def __init__(self, kernel_size: int = 2, stride: int = 2):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, g, h, w = x.shape
        y = F.max_pool2d(x.reshape(b, c * g, h, w), self.kernel_size, self.stride)
        return y.view(b, c, g, *y.shape[2:])


# --------------------------------------------------------------------------- paper 000, Table 3


def _flat_features(features: nn.Module, in_shape) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *in_shape)).numel())


class TableThreeNet(nn.Module):
    """Conv–Conv–Pool–Conv–Conv–Pool–FC(50)–Dropout(0.5)–FC(classes), ReLU, no padding."""

    def __init__(self, features: nn.Module, in_shape, num_classes: int, mean, std):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.features = features
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(_flat_features(features, in_shape), 50),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(50, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.normalize(x)))


def stdcnn(in_shape, num_classes, mean, std) -> nn.Module:
    c = in_shape[0]
    features = nn.Sequential(
        nn.Conv2d(c, 10, 3), nn.ReLU(inplace=True),
        nn.Conv2d(10, 10, 3), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(10, 20, 3), nn.ReLU(inplace=True),
        nn.Conv2d(20, 20, 3), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )  # fmt: skip
    return TableThreeNet(features, in_shape, num_classes, mean, std)


def gcnn(in_shape, num_classes, mean, std) -> nn.Module:
    c = in_shape[0]
    features = nn.Sequential(
        P4ConvZ2(c, 10), nn.ReLU(inplace=True),
        P4ConvP4(10, 10), nn.ReLU(inplace=True),
        GroupSpatialMaxPool(2),
        P4ConvP4(10, 20), nn.ReLU(inplace=True),
        P4ConvP4(20, 20), nn.ReLU(inplace=True),
        GroupSpatialMaxPool(2),
    )  # fmt: skip
    return TableThreeNet(features, in_shape, num_classes, mean, std)


# --------------------------------------------------------------------------- Madry et al. (2018)


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


def wrn34_10(in_shape, num_classes, mean, std) -> nn.Module:
    # TRADES' WideResNet-34-10 (paper 001, CIFAR-100): depth 34 = 6·5 + 4 → 5 pre-activation units per
    # stage, widen factor 10, ReLU, 1×1-conv shortcuts, dataset normalisation (Madry et al.'s ResNet
    # above has the same widths but leaky ReLU, pooled zero-padded shortcuts and per-image standardisation).
    return WideResNet(in_shape, num_classes, mean, std, units=5, widen=10)


# --------------------------------------------------------------------------- ResNet18 (paper 001)


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


def resnet34(in_shape, num_classes, mean, std) -> nn.Module:
    return ResNet18(in_shape, num_classes, mean, std, blocks=(3, 4, 6, 3))


def resnet32(in_shape, num_classes, mean, std) -> nn.Module:
    # He et al.'s CIFAR ResNet-32 (6·5 + 2 layers, widths 16-32-64), pre-activation form (paper 004)
    return WideResNet(in_shape, num_classes, mean, std, units=5, widen=1)


# --------------------------------------------------------------------------- VGG16 and P4-VGG16 (CIFAR-10)

VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class GroupBatchNorm(nn.Module):
    """Batch norm of a P4 feature map ``B×C×4×H×W``: one mean/scale per channel, shared by the 4
    orientations (so that normalisation commutes with rotating the input)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bn = nn.BatchNorm3d(channels)

    def forward(self, x):
        return self.bn(x)


class VGG(nn.Module):
    """VGG16 for 32×32 inputs (conv3×3–BN–ReLU, five max pools, one FC), the usual CIFAR variant."""

    def __init__(self, in_shape, num_classes, mean, std, group: bool = False):
        super().__init__()
        self.normalize = Normalize(mean, std)
        layers, cin = [], in_shape[0]
        for i, item in enumerate(VGG16_LAYOUT):
            if item == "M":
                layers.append(GroupSpatialMaxPool(2) if group else nn.MaxPool2d(2))
            elif group:
                # half the channels per orientation: the same parameter count as VGG16 (Cohen & Welling)
                cout = item // 2
                conv = P4ConvZ2(cin, cout, 3, padding=1, bias=False) if i == 0 else P4ConvP4(cin, cout, 3, 1, False)
                layers += [conv, GroupBatchNorm(cout), nn.ReLU(inplace=True)]
                cin = cout
            else:
                layers += [nn.Conv2d(cin, item, 3, padding=1, bias=False), nn.BatchNorm2d(item), nn.ReLU(inplace=True)]
                cin = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(_flat_features(self.features, in_shape), num_classes))

    def forward(self, x):
        return self.classifier(self.features(self.normalize(x)))


def vgg16(in_shape, num_classes, mean, std) -> nn.Module:
    return VGG(in_shape, num_classes, mean, std)


def p4vgg16(in_shape, num_classes, mean, std) -> nn.Module:
    return VGG(in_shape, num_classes, mean, std, group=True)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "stdcnn": stdcnn,
    "gcnn": gcnn,
    "madry_lenet": MadryLeNet,
    "madry_resnet": madry_resnet,
    "vgg16": vgg16,
    "p4vgg16": p4vgg16,
    "resnet18": ResNet18,
    "resnet34": resnet34,
    "resnet32": resnet32,
    "wrn34_10": wrn34_10,
}
ARCH_TITLES = {
    "stdcnn": "StdCNN",
    "gcnn": "GCNN",
    "madry_lenet": "LeNet (Madry et al.)",
    "madry_resnet": "ResNet (Madry et al.)",
    "vgg16": "VGG16",
    "p4vgg16": "P4-VGG16 (GCNN)",
    "resnet18": "ResNet18",
    "resnet34": "ResNet34",
    "resnet32": "ResNet-32",
    "wrn34_10": "WideResNet-34-10",
}


def build_model(arch: str, spec) -> nn.Module:
    """Instantiate architecture ``arch`` for dataset ``spec`` (a ``DatasetSpec``)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture '{arch}'; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](spec.shape, spec.num_classes, spec.mean, spec.std)
