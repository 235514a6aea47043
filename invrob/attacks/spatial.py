"""Worst-case spatial robustness (papers 003 and 004): grid attacks, worst-of-k and S-PGD
(training against them: ``invrob.training.losses``; accuracy under them: ``invrob.evaluation.measures``).

An image counts as robust to an attack only if *every* transform the attack tries is classified
correctly.  Transforms are a rotation about the centre (degrees) followed by a translation in
pixels; images are zero-padded (black fill) and resampled with bilinear interpolation, so
sub-pixel shifts and small rotations are smooth (as the invariance-regularisation code does).
Grids are evaluated batched over transforms on the device: each forward pass takes
``batch_size`` transformed images (several images × a chunk of the grid), and an image stops being
transformed once one transform fools the model, so 775 × the test set is at most a few thousand
forward passes and usually far fewer.

Grids (paper 003 §3): ``grid775`` = translations linspace(−3, 3, 5) px on each axis × rotations
linspace(−30°, 30°, 31); ``grid135`` = 3 × 3 × 15 within the same limits; ``grid775-10`` = grid775
with rotations within ±10°; ``rot30`` / ``rot10`` = the 31 rotations only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ..transforms import affine_transform
from . import GRIDS

INTERPOLATION = "bilinear"


def grid_transforms(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(angles in degrees ``T``, shifts in pixels ``T×2`` as (dx, dy)) of a named grid."""
    if name not in GRIDS:
        raise ValueError(f"unknown spatial grid '{name}'; known: {sorted(GRIDS)}")
    n_shift, n_rot, max_px, max_deg = GRIDS[name]
    shifts = torch.linspace(-max_px, max_px, n_shift) if n_shift > 1 else torch.zeros(1)
    angles = torch.linspace(-max_deg, max_deg, n_rot)
    a, dx, dy = torch.meshgrid(angles, shifts, shifts, indexing="ij")
    return a.reshape(-1), torch.stack([dx.reshape(-1), dy.reshape(-1)], 1)


def transform_pixels(x: torch.Tensor, angles_deg: torch.Tensor, shifts_px: torch.Tensor,
                     mode: str = INTERPOLATION) -> torch.Tensor:  # fmt: skip
    """Rotate image ``i`` by ``angles_deg[i]`` and shift it by ``shifts_px[i]`` pixels (zero fill)."""
    h, w = x.shape[-2:]
    scale = torch.tensor([1.0 / w, 1.0 / h], device=x.device, dtype=shifts_px.dtype)
    return affine_transform(x, angles_deg, shifts_px * scale, mode=mode)


@torch.no_grad()
def correct_under_all(model, x: torch.Tensor, y: torch.Tensor, angles: torch.Tensor, shifts: torch.Tensor,
                      batch_size: int = 2048, mode: str = INTERPOLATION) -> torch.Tensor:  # fmt: skip
    """Per image: is it classified correctly under every one of the ``T`` transforms?

    The grid is walked in chunks of transforms, and an image leaves the work as soon as one transform
    fools the model (its answer is then known), so the cost follows the images still robust: exact,
    and several times cheaper than the exhaustive ``n × T`` on a model that is not spatially robust.
    Each forward pass holds up to ``batch_size`` transformed images (images × a chunk of the grid)."""
    n, t = len(x), len(angles)
    angles, shifts = angles.to(x.device), shifts.to(x.device)
    robust = torch.ones(n, dtype=torch.bool, device=x.device)
    active = torch.arange(n, device=x.device)
    t0 = 0
    while t0 < t and len(active):
        c = max(1, min(t - t0, batch_size // len(active)))
        a, s = angles[t0 : t0 + c], shifts[t0 : t0 + c]
        per_pass = max(1, batch_size // c)  # images per forward pass
        for i0 in range(0, len(active), per_pass):
            idx = active[i0 : i0 + per_pass]
            xi, b = x[idx], len(idx)
            batch = xi.unsqueeze(1).expand(b, c, *xi.shape[1:]).reshape(b * c, *xi.shape[1:])
            pred = model(transform_pixels(batch, a.repeat(b), s.repeat(b, 1), mode)).argmax(1).view(b, c)
            robust[idx] &= (pred == y[idx, None]).all(1)
        active = active[robust[active]]
        t0 += c
    return robust


def random_transforms(n: int, max_deg: float, max_px: float, generator: torch.Generator | None = None,
                      device="cpu") -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """``n`` transforms uniform in [−max_deg, max_deg] × [−max_px, max_px]²."""
    gen_device = generator.device if generator is not None else device
    u = torch.rand(n, 3, generator=generator, device=gen_device).to(device) * 2 - 1
    return u[:, 0] * max_deg, u[:, 1:] * max_px


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="none")


@torch.no_grad()
def worst_of_k(model, x: torch.Tensor, y: torch.Tensor, k: int, max_deg: float, max_px: float,
               generator: torch.Generator | None = None, score=None,
               mode: str = INTERPOLATION) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Worst of ``k`` random transforms per image (Engstrom et al.): the transformed batch that
    maximises ``score(logits, y)`` per image (default: the cross-entropy), and whether every one of
    the k transforms was classified correctly."""
    score = score or _cross_entropy
    best, best_score = x.clone(), torch.full((len(x),), -float("inf"), device=x.device)
    robust = torch.ones(len(x), dtype=torch.bool, device=x.device)
    for _ in range(k):
        a, s = random_transforms(len(x), max_deg, max_px, generator, x.device)
        xt = transform_pixels(x, a, s, mode)
        logits = model(xt)
        robust &= logits.argmax(1) == y
        value = score(logits, y)
        better = value > best_score
        best[better], best_score[better] = xt[better], value[better]
    return best, robust


@dataclass
class SpatialPGD:
    """S-PGD: projected sign-gradient ascent of the loss on the transformation parameters
    (angle, dx, dy) through the differentiable (bilinear) transform, from a random start within
    the limits; every iterate stays within [−max_deg, max_deg] × [−max_px, max_px]².  ``perturb``
    returns the last transformed batch, its parameters, and whether no iterate fooled the model.
    ``score(logits, y)`` (per image) replaces the cross-entropy as the objective, e.g. the
    invariance regulariser h for paper 004's "x̃ by h"."""

    model: torch.nn.Module
    max_deg: float = 30.0
    max_px: float = 3.0
    steps: int = 10
    step_deg: float = 5.0
    step_px: float = 0.5
    generator: torch.Generator | None = None
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def perturb(self, x: torch.Tensor, y: torch.Tensor):
        a, s = random_transforms(len(x), self.max_deg, self.max_px, self.generator, x.device)
        robust = torch.ones(len(x), dtype=torch.bool, device=x.device)
        limits = torch.tensor([self.max_px, self.max_px], device=x.device)
        for _ in range(self.steps):
            a, s = a.detach().requires_grad_(True), s.detach().requires_grad_(True)
            logits = self.model(transform_pixels(x, a, s))
            robust &= (logits.argmax(1) == y).detach()
            loss = (self.score or _cross_entropy)(logits, y).sum()
            ga = gs = None
            if loss.requires_grad:  # None when the model ignores its input: nothing to ascend
                ga, gs = torch.autograd.grad(loss, (a, s), allow_unused=True)
            ga = torch.zeros_like(a) if ga is None else ga
            gs = torch.zeros_like(s) if gs is None else gs
            a = (a.detach() + self.step_deg * ga.sign()).clamp(-self.max_deg, self.max_deg)
            s = torch.max(torch.min(s.detach() + self.step_px * gs.sign(), limits), -limits)
        with torch.no_grad():
            xt = transform_pixels(x, a, s)
            robust &= self.model(xt).argmax(1) == y
        return xt, (a, s), robust
