"""Paper 003's robust dataset D_R (Ilyas et al. 2019, "Adversarial examples are not bugs").

For every training image x with label y, D_R holds an image x_r with the same label whose
*robust-model* representation matches that of x: starting from a different training image
(chosen at random), gradient descent on the input minimises ‖g(x_r) − g(x)‖₂, where g is the
penultimate layer (the input of the last linear layer) of an adversarially trained model.  The
steps are ℓ2-normalised gradient steps of ``step_size`` followed by the [0, 1] clip (Ilyas et
al.: 1000 steps of 0.1, unconstrained).  Images are stored as uint8, like every other split, so
training on D_mix reads them exactly as it reads D.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from ..attacks.base import per_image_norm
from ..data.registry import get_spec
from ..data.splits import TensorDataset, to_float
from ..io import UnreadableFile, atomic_torch_save, load_pt

_FORMAT = "invrob-robust-dataset-1"


def last_linear(model: nn.Module) -> nn.Linear:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no linear layer: its penultimate representation is undefined")
    return linears[-1]


def representation(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The penultimate representation g(x): the (flattened) input of the model's last linear layer."""
    captured = []
    handle = last_linear(model).register_forward_hook(lambda mod, inputs, out: captured.append(inputs[0]))
    try:
        model(x)
    finally:
        handle.remove()
    return captured[-1].flatten(1)


def match_representation(model: nn.Module, target: torch.Tensor, start: torch.Tensor, steps: int,
                         step_size: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Gradient descent from ``start`` on ‖g(x) − g(target)‖₂: (x_r, its final distance per image)."""
    with torch.no_grad():
        goal = representation(model, target)
    x = start.detach().clone()
    for _ in range(steps):
        x.requires_grad_(True)
        loss = (representation(model, x) - goal).norm(dim=1).sum()
        (grad,) = torch.autograd.grad(loss, x)
        x = (x.detach() - step_size * grad / per_image_norm(grad).clamp_min(1e-12)).clamp(0, 1)
    with torch.no_grad():
        distance = (representation(model, x) - goal).norm(dim=1)
    return x.detach(), distance


def build_robust_dataset(model: nn.Module, data: TensorDataset, steps: int, step_size: float, batch_size: int,
                         seed: int = 0, log: Callable[[str], None] = print) -> tuple[TensorDataset, dict]:  # fmt: skip
    """D_R of ``data`` (on the model's device) and statistics of how well representations match."""
    n = len(data)
    if n < 2:
        raise ValueError("a robust dataset needs at least two training images (each starts from another one)")
    gen = torch.Generator().manual_seed(seed)
    starts = (torch.arange(n) + torch.randint(1, n, (n,), generator=gen)) % n  # never the image itself
    device = data.images.device
    images, before, after = [], [], []
    for i0 in range(0, n, batch_size):
        idx = torch.arange(i0, min(n, i0 + batch_size))
        target = to_float(data.images[idx.to(device)])
        start = to_float(data.images[starts[idx].to(device)])
        with torch.no_grad():
            before.append((representation(model, start) - representation(model, target)).norm(dim=1).cpu())
        x_r, distance = match_representation(model, target, start, steps, step_size)
        images.append(x_r.mul(255).round().to(torch.uint8).cpu())
        after.append(distance.cpu())
        log(f"D_R images {i0 + len(idx)}/{n}: mean representation distance {float(before[-1].mean()):.3f} → "
            f"{float(after[-1].mean()):.3f}")  # fmt: skip
    stats = {"images": n, "distance_start": float(torch.cat(before).mean()), "distance_end": float(torch.cat(after).mean())}
    return TensorDataset(torch.cat(images), data.labels.cpu(), data.spec), stats


def save_robust_dataset(robust: TensorDataset, source: dict, settings: dict, stats: dict, path: str | Path) -> None:
    atomic_torch_save({"format": _FORMAT, "images": robust.images, "labels": robust.labels, "dataset": robust.spec.name,
                       "source": source, "settings": settings, "stats": stats}, path)  # fmt: skip


def load_robust_dataset(path: str | Path, hp: dict) -> TensorDataset:
    """The D_R file of a ``mix{α}`` recipe, checked against the source model and settings it asks for."""
    try:
        blob = load_pt(path)
    except UnreadableFile as exc:
        raise ValueError(f"robust dataset {path} is unreadable ({exc.detail}); delete it and rerun snakemake") from exc
    if not isinstance(blob, dict) or blob.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a robust dataset written by invrob; delete it and rerun snakemake")
    want = hp["mix"]
    source = {k: want["source"][k] for k in ("arch", "recipe", "seed")}
    settings = {k: want[k] for k in ("steps", "step_size")}
    if blob["dataset"] != hp["dataset"] or blob["source"] != source or blob["settings"] != settings:
        raise ValueError(f"{path} was built for {blob['dataset']} from {blob['source']} with {blob['settings']}, but "
                         f"recipe '{hp['recipe']}' asks for {hp['dataset']} from {source} with {settings}")  # fmt: skip
    return TensorDataset(blob["images"], blob["labels"], get_spec(hp["dataset"]))
