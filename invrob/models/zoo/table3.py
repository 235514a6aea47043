"""Paper 000's StdCNN and GCNN (Table 3): the same layout, with plain or P4 group convolutions."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..layers import GroupSpatialMaxPool, Normalize, P4ConvP4, P4ConvZ2, flat_features

# the architectures of this module (the config's `training:` keys) and their titles in figures
TITLES = {
    "stdcnn": "StdCNN",
    "gcnn": "GCNN",
}


class TableThreeNet(nn.Module):
    """Conv–Conv–Pool–Conv–Conv–Pool–FC(50)–Dropout(0.5)–FC(classes), ReLU, no padding."""

    def __init__(self, features: nn.Module, in_shape, num_classes: int, mean, std):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.features = features
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat_features(features, in_shape), 50),
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
