"""Helpers the attacks share (ε in pixels or normalised units, input gradients), and ``make_attack``."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import catalog
from . import BACKENDS


def in_pixels(value, unit: torch.Tensor | None):
    """A radius or step given in an attack's ε space, in pixels: ``value`` itself when ``unit`` is None
    (pixel space); ``value · σ_c`` per channel when ``unit`` is the dataset's std σ shaped 1×C×1×1
    (normalised space); a plain float for one channel, so every backend takes it."""
    if unit is None:
        return value
    if unit.numel() == 1:
        return float(value) * float(unit)
    return value * unit


def channel_unit(std, device=None) -> torch.Tensor:
    """The dataset's per-channel std σ shaped 1×C×1×1: the pixels per unit of normalised ε."""
    return torch.as_tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)


def _as_eps(eps, x: torch.Tensor) -> torch.Tensor | float:
    if isinstance(eps, torch.Tensor) and eps.dim() == 1:
        return eps.to(x.device, x.dtype).view(-1, *([1] * (x.dim() - 1)))
    return eps


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad


def per_image_norm(x: torch.Tensor) -> torch.Tensor:
    """The ℓ2 norm of every image of a batch, shaped to broadcast against it (N×1×…×1)."""
    return x.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))


def make_attack(kind: str, model: nn.Module, eps, settings: dict, backend: str = "native",
                generator: torch.Generator | None = None, unit: torch.Tensor | None = None):  # fmt: skip
    """Build robustness attack ``kind`` (a plugin of ``invrob.attacks``: 'pgd', 'fgsm', …) at radius ``eps``
    with ``settings`` (e.g. steps, step_size, random_start), both in pixel units or, with ``unit`` (σ),
    in normalised units (see ``in_pixels``; the settings the attack declares as ``radii`` convert too)."""
    eps = in_pixels(eps, unit)
    if backend not in BACKENDS:
        raise ValueError(f"unknown attack backend '{backend}'; choose one of {BACKENDS}")
    try:
        declared = catalog.plugin(catalog.ATTACKS, kind).declared
    except catalog.CatalogError as exc:
        raise ValueError(str(exc)) from None
    if unit is not None:
        settings = {**settings, **{k: in_pixels(settings[k], unit) for k in declared.get("radii", ()) if k in settings}}
    if backend == "advertorch":
        from .advertorch import AdvertorchAttack

        if isinstance(eps, torch.Tensor):
            raise ValueError("the advertorch backend takes one scalar eps per batch (and one channel in "
                             "normalised units); use evaluation.attack_backend: native")
        return AdvertorchAttack(kind, model, eps, **settings)
    return catalog.implementation(catalog.ATTACKS, kind)(model, eps, settings, generator)
