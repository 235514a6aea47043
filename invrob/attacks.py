"""ℓ∞ attacks: PGD and FGSM, as small classes with one ``perturb(x, y)`` method.

Two backends compute the same thing:

* ``native`` — written here for speed: the gradient is taken with respect to the input only
  (no parameter gradients are computed or accumulated), the whole batch stays on the device,
  and ``eps`` may be a per-image tensor so that several ε of a robustness profile can share
  one batch.
* ``advertorch`` — the papers' reference implementation (``LinfPGDAttack``,
  ``GradientSignAttack``), imported through ``invrob.compat``.

Semantics (advertorch's, which the native engine reproduces step by step): random start
uniform in [−ε, ε] then clipped to the image domain [0, 1]; each step adds ``step_size ·
sign(∇ loss)`` (loss = summed cross-entropy against the true labels), projects onto the ε-ball
and clips to [0, 1]; the last iterate is returned.  With ``generator=None`` the random start
uses the global RNG exactly as advertorch does, so both backends agree for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

BACKENDS = ("native", "advertorch")


def _as_eps(eps, x: torch.Tensor) -> torch.Tensor | float:
    if isinstance(eps, torch.Tensor) and eps.dim() == 1:
        return eps.to(x.device, x.dtype).view(-1, *([1] * (x.dim() - 1)))
    return eps


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad


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
class FGSM:
    model: nn.Module
    eps: float | torch.Tensor

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        eps = _as_eps(self.eps, x)
        return (x + eps * _input_gradient(self.model, x, y).sign()).clamp_(0, 1).detach()


class AdvertorchAttack:
    """advertorch's ``LinfPGDAttack`` / ``GradientSignAttack`` behind the same interface."""

    def __init__(self, kind: str, model: nn.Module, eps: float, steps: int = 40, step_size: float = 0.01,
                 random_start: bool = True):  # fmt: skip
        from .compat import import_advertorch

        attacks = import_advertorch()
        loss = nn.CrossEntropyLoss(reduction="sum")
        if kind == "pgd":
            self.attack = attacks.LinfPGDAttack(
                model, loss_fn=loss, eps=eps, nb_iter=steps, eps_iter=step_size, rand_init=random_start,
                clip_min=0.0, clip_max=1.0, targeted=False,
            )  # fmt: skip
        elif kind == "fgsm":
            self.attack = attacks.GradientSignAttack(model, loss_fn=loss, eps=eps, clip_min=0.0, clip_max=1.0)
        else:
            raise ValueError(f"unknown attack '{kind}'")
        self.model = model

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x_adv = self.attack.perturb(x, y)
        self.model.zero_grad(set_to_none=True)  # advertorch accumulates parameter gradients
        return x_adv.detach()


def make_attack(kind: str, model: nn.Module, eps, settings: dict, backend: str = "native",
                generator: torch.Generator | None = None):  # fmt: skip
    """Build attack ``kind`` ('pgd' or 'fgsm') at radius ``eps`` with ``settings`` (steps, step_size, random_start)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown attack backend '{backend}'; choose one of {BACKENDS}")
    if kind not in ("pgd", "fgsm"):
        raise ValueError(f"unknown attack '{kind}'; choose 'pgd' or 'fgsm'")
    if backend == "advertorch":
        if isinstance(eps, torch.Tensor):
            raise ValueError("the advertorch backend takes one scalar eps per batch")
        if kind == "fgsm":
            return AdvertorchAttack("fgsm", model, eps)
        return AdvertorchAttack("pgd", model, eps, settings["steps"], settings["step_size"], settings["random_start"])
    if kind == "fgsm":
        return FGSM(model, eps)
    return LinfPGD(model, eps, settings["steps"], settings["step_size"], settings["random_start"], generator)
