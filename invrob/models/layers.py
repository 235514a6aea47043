"""Layers the architectures share: input normalisation and the P4 group layers.

The P4 layers follow Cohen & Welling (2016): a P4 feature map has an orientation axis of
size 4; P4ConvZ2 correlates the input with the 4 rotated copies of each filter, P4ConvP4
additionally cyclically shifts the filter's orientation axis with the rotation.  Rotating
the input by 90° rotates every feature map by 90° and shifts its orientation axis by one.
"""

from __future__ import annotations

import math

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


class GroupBatchNorm(nn.Module):
    """Batch norm of a P4 feature map ``B×C×4×H×W``: one mean/scale per channel, shared by the 4
    orientations (so that normalisation commutes with rotating the input)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bn = nn.BatchNorm3d(channels)

    def forward(self, x):
        return self.bn(x)


def flat_features(features: nn.Module, in_shape) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *in_shape)).numel())
