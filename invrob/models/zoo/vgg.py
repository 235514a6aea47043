"""VGG16 and its P4 group-equivariant version P4-VGG16 for CIFAR-10 (paper 000)."""

from __future__ import annotations

import torch.nn as nn

from ..layers import GroupBatchNorm, GroupSpatialMaxPool, Normalize, P4ConvP4, P4ConvZ2, flat_features

# the architectures of this module (the config's `training:` keys) and their titles in figures
TITLES = {
    "vgg16": "VGG16",
    "p4vgg16": "P4-VGG16 (GCNN)",
}


VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


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
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(flat_features(self.features, in_shape), num_classes))

    def forward(self, x):
        return self.classifier(self.features(self.normalize(x)))


def vgg16(in_shape, num_classes, mean, std) -> nn.Module:
    return VGG(in_shape, num_classes, mean, std)


def p4vgg16(in_shape, num_classes, mean, std) -> nn.Module:
    return VGG(in_shape, num_classes, mean, std, group=True)
