"""ℓ∞ PGD (the papers' robustness attack, advertorch's semantics step by step) and ℓ2 PGD (paper 003)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .base import _as_eps, _input_gradient, per_image_norm

# a robustness attack (invrob.catalog): its title in figures and the settings in ε units; its settings are
# the dataset's `pgd:` (steps, step_size, random_start: config/schema.yaml), shared with PGD training
ATTACKS = {"pgd": {"title": "PGD", "radii": ["step_size"]}}


@dataclass
class LinfPGD:
    model: nn.Module
    eps: float | torch.Tensor
    steps: int = 40
    step_size: float = 0.01
    random_start: bool = True
    generator: torch.Generator | None = None

    def perturb(self, x: torch.Tensor, y: torch.Tensor, delta_init: torch.Tensor | None = None) -> torch.Tensor:
        eps = _as_eps(self.eps, x)
        if delta_init is not None:
            delta = delta_init.detach().clone()
        elif self.random_start:
            delta = torch.empty_like(x).uniform_(-1, 1, generator=self.generator) * eps
        else:
            delta = torch.zeros_like(x)
        delta = (x + delta).clamp_(0, 1) - x
        for _ in range(self.steps):
            grad = _input_gradient(self.model, x + delta, y)
            delta = delta + self.step_size * grad.sign()
            delta = torch.max(torch.min(delta, eps), -eps) if isinstance(eps, torch.Tensor) else delta.clamp(-eps, eps)
            delta = (x + delta).clamp_(0, 1) - x
        return (x + delta).clamp_(0, 1).detach()


@dataclass
class L2PGD:
    """ℓ2 PGD (paper 003, after Ilyas et al.): from x itself, ``steps`` steps of ``step_size`` along the
    ℓ2-normalised gradient of the summed cross-entropy, each followed by the [0, 1] clip and the
    projection onto the ε-ball (advertorch's ``L2PGDAttack`` without random start, step by step)."""

    model: nn.Module
    eps: float
    steps: int = 100
    step_size: float = 0.1

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        delta = torch.zeros_like(x)
        for _ in range(self.steps):
            grad = _input_gradient(self.model, x + delta, y)
            delta = delta + self.step_size * grad / per_image_norm(grad).clamp_min(1e-6)
            delta = (x + delta).clamp(0, 1) - x
            delta = delta * (self.eps / per_image_norm(delta)).clamp(max=1.0)
        return (x + delta).clamp(0, 1).detach()


def pgd(model: nn.Module, eps, settings: dict, generator: torch.Generator | None = None) -> LinfPGD:
    """ℓ∞ PGD at radius ``eps`` (pixels) with ``settings`` steps, step_size (pixels) and random_start."""
    return LinfPGD(model, eps, settings["steps"], settings["step_size"], settings["random_start"], generator)
