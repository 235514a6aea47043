"""Compatibility shim for advertorch 0.2.3, the papers' attack library.

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
