"""advertorch 0.2.3, the papers' attack library, behind the native attacks' interface (backend ``advertorch``).

advertorch imports ``torch.autograd.gradcheck.zero_gradients``, which PyTorch removed in 1.9,
so ``import advertorch`` fails on modern PyTorch.  ``import_advertorch()`` puts back the
original helper (same semantics as PyTorch 1.8's) before importing.  This is the only place
that imports advertorch; everything else asks this module for it.
"""

from __future__ import annotations

import collections.abc
import importlib
import sys

import torch
import torch.nn as nn

from . import ADVERTORCH_ATTACKS


def zero_gradients(x) -> None:
    """PyTorch ≤ 1.8's helper: zero the ``.grad`` of a tensor or of every tensor in an iterable."""
    if isinstance(x, torch.Tensor):
        if x.grad is not None:
            x.grad.detach_()
            x.grad.zero_()
    elif isinstance(x, collections.abc.Iterable):
        for elem in x:
            zero_gradients(elem)


def import_advertorch():
    """Return the ``advertorch.attacks`` module, patching PyTorch first if needed."""
    # ``torch.autograd.gradcheck`` the attribute is a function; the module lives in sys.modules.
    gradcheck_module = sys.modules.get("torch.autograd.gradcheck") or importlib.import_module("torch.autograd.gradcheck")
    if not hasattr(gradcheck_module, "zero_gradients"):
        gradcheck_module.zero_gradients = zero_gradients
    return importlib.import_module("advertorch.attacks")


class AdvertorchAttack:
    """advertorch's ``LinfPGDAttack`` / ``GradientSignAttack`` behind the same interface."""

    def __init__(self, kind: str, model: nn.Module, eps: float, steps: int = 40, step_size: float = 0.01,
                 random_start: bool = True):  # fmt: skip
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
            raise ValueError(f"unknown attack '{kind}'; advertorch runs {', '.join(ADVERTORCH_ATTACKS)}")
        self.model = model

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x_adv = self.attack.perturb(x, y)
        self.model.zero_grad(set_to_none=True)  # advertorch accumulates parameter gradients
        return x_adv.detach()
