"""FGSM (Goodfellow et al. 2015): one sign-gradient step of size ε, clipped to [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .base import _as_eps, _input_gradient

# a robustness attack (invrob.catalog): its title in figures (no settings: one step of size ε)
ATTACKS = {"fgsm": {"title": "FGSM"}}


@dataclass
class FGSM:
    model: nn.Module
    eps: float | torch.Tensor

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        eps = _as_eps(self.eps, x)
        return (x + eps * _input_gradient(self.model, x, y).sign()).clamp_(0, 1).detach()


def fgsm(model: nn.Module, eps, settings: dict, generator: torch.Generator | None = None) -> FGSM:
    return FGSM(model, eps)
