"""AutoAttack (Croce & Hein 2020), ℓ∞ and ℓ2: APGD-CE, APGD-T on the targeted DLR loss, FAB-T and Square, native.

An image counts as robust at radius ε only if it is classified correctly and *every* attack of the
version fails on it; each attack runs on the images all earlier ones failed on (RobustBench's
``standard`` evaluation).  Two versions:

* ``standard`` — APGD-CE (``apgd_steps`` iterations, one restart), APGD-T (the ``targets`` classes
  the clean logits rank 2nd … 10th, ``apgd_steps`` each), FAB-T (``fab_steps`` per target class) and
  Square (``square_queries`` queries, ``p_init`` 0.8), as ``autoattack.AutoAttack(version='standard')``;
* ``fast`` — APGD-CE then APGD-T only (the gradient-based half; no gradient-free attack, so it cannot
  see through gradient masking: ``standard``'s Square can).

What each attack does, step by step, follows the reference code (fra31/auto-attack; torchattacks'
copies are what the tests compare against):

* **APGD** — from a random point of the ε-ball's surface, sign-gradient steps of size η (2ε at first)
  with momentum 0.75, projected onto the ε-ball and the image box; at checkpoints spaced
  0.22 N, then shrinking by 0.03 N to at least 0.06 N, the step halves and the iterate returns to
  its best point when fewer than 75 % of the steps since the last checkpoint raised the loss, or when
  neither the step nor the best loss changed since then.  It keeps the first misclassified iterate.
* **DLR targeted** — −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), scale-invariant in the logits.
* **Square** — random search: from vertical stripes at ±ε, each query sets one random square window
  (side √(p·h·w), p shrinking on the reference schedule) to ±ε per channel and keeps it if the margin
  z_y − max_{j≠y} z_j falls; no gradients at all.
* **FAB-T** (``invrob.attacks.fab``) — minimal-ℓ∞ adversarial examples by projection on the
  linearised boundary to the target class; it succeeds where its smallest example lies within ε.

In ℓ2 (``norm='l2'``, paper 003's norm) the same four attacks bound ‖x′ − x‖₂ ≤ ε, as the reference's
``norm='L2'``: APGD starts from a random point of the ball's surface (a normalised Gaussian) and steps along
the ℓ2-normalised gradient, projecting by rescaling onto the ball, then clipping to the box; Square moves
perturbation mass between two random windows with the reference's centred "pseudo-Gaussian" pattern and
keeps the perturbation on the sphere; FAB-T projects on the linearised boundary with the smallest ℓ2 step
(``fab.project_l2``).

``eps`` is in pixels, a float, a per-image tensor (N) or a per-channel one (1×C×1×1, the normalised
space: ``base.in_pixels``; in ℓ2 the ball is then ‖(x′ − x)/σ‖₂ ≤ ε, every attack working in units of
ε·σ per coordinate, where the ball is round).  Random choices use ``generator`` (or the global RNG when None).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

# a robustness attack (invrob.catalog); its settings are the dataset's `autoattack:` (config/schema.yaml)
ATTACKS = {
    "autoattack": {
        "title": "AutoAttack",
        "settings": {"version": "standard", "apgd_steps": 100, "targets": 9, "fab_steps": 100,
                     "square_queries": 5000, "p_init": 0.8},  # fmt: skip
    }
}
VERSIONS = {"standard": ("apgd-ce", "apgd-t", "fab-t", "square"), "fast": ("apgd-ce", "apgd-t")}
NORMS = ("linf", "l2")


def check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise ValueError(f"unknown AutoAttack norm '{norm}'; choose one of {list(NORMS)}")
    return norm


def _broadcast_eps(eps, x: torch.Tensor) -> torch.Tensor:
    """ε as a tensor that broadcasts against the batch: N×1×1×1, 1×C×1×1 or a scalar tensor."""
    eps = torch.as_tensor(eps, dtype=x.dtype, device=x.device)
    if eps.dim() == 1:
        eps = eps.view(-1, *([1] * (x.dim() - 1)))
    return eps


def _project(x_new: torch.Tensor, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Onto the ℓ∞ ball of radius ε around x, then the image box [0, 1]."""
    return torch.min(torch.max(x_new, x - eps), x + eps).clamp_(0, 1)


def l2_norm(t: torch.Tensor) -> torch.Tensor:
    """The ℓ2 norm of every image of a batch, shaped to broadcast against it (N×1×…×1)."""
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


def _project_l2(x_new: torch.Tensor, x: torch.Tensor, unit: torch.Tensor) -> torch.Tensor:
    """Onto the ℓ2 ball ‖(x_new − x)/unit‖₂ ≤ 1 by rescaling, then the image box [0, 1] (the reference's order)."""
    d = (x_new - x) / unit.clamp_min(1e-12)  # a zero radius: no room, d = 0
    return (x + unit * d * (1.0 / l2_norm(d).clamp_min(1e-12)).clamp(max=1.0)).clamp_(0, 1)


def _rows(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The rows ``index`` of a broadcastable ε (per-image ε follows the images, others stay as they are)."""
    return t[index] if t.dim() > 0 and t.shape[0] > 1 else t


def dlr_targeted(logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The targeted DLR loss per image, −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12) (needs ≥ 4 classes)."""
    ranked = logits.sort(dim=1).values
    u = torch.arange(len(y), device=y.device)
    return -(logits[u, y] - logits[u, target]) / (ranked[:, -1] - 0.5 * (ranked[:, -3] + ranked[:, -4]) + 1e-12)


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """z_y − max_{j≠y} z_j per image: negative exactly when the image is misclassified."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.scatter(1, y[:, None], float("-inf"))
    return true - others.max(1).values


def apgd_checkpoints(steps: int) -> list[int]:
    """The iterations after which APGD may halve its step (the reference's 0.22 N, shrinking by 0.03 N, ≥ 0.06 N)."""
    first, decrease, smallest = max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
    out, length, at = [], first, first
    while at <= steps:
        out.append(at)
        length = max(length - decrease, smallest)
        at += length
    return out


@dataclass
class APGD:
    """APGD (ℓ∞ or ℓ2) on the cross-entropy (``target`` None) or on the targeted DLR loss towards ``target``;
    ``run`` returns (adversarial images, which of them are misclassified)."""

    model: nn.Module
    steps: int = 100
    rho: float = 0.75
    generator: torch.Generator | None = None
    norm: str = "linf"

    def _start(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """A random point of the ball's surface (ℓ∞: uniform, scaled to the sphere; ℓ2: a normalised Gaussian)."""
        if self.norm == "linf":
            t = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype) * 2 - 1
            t = t / t.flatten(1).abs().amax(1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
        else:
            t = torch.randn(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
            t = t / l2_norm(t).clamp_min(1e-12)
        return (x + eps * t).clamp(0, 1)

    def _step(self, x_adv: torch.Tensor, grad: torch.Tensor, step: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """ℓ∞: η · sign(∇) (η in pixels); ℓ2: η · ε · ∇/‖∇‖ in units of ε per coordinate (η in units of ε)."""
        if self.norm == "linf":
            return x_adv + step * grad.sign()
        g = grad * eps
        return x_adv + step * eps * g / l2_norm(g).clamp_min(1e-12)

    def _project(self, x_new: torch.Tensor, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return _project(x_new, x, eps) if self.norm == "linf" else _project_l2(x_new, x, eps)

    def _loss(self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None):
        x = x.detach().requires_grad_(True)
        logits = self.model(x)
        loss = (F.cross_entropy(logits, y, reduction="none") if target is None
                else dlr_targeted(logits, y, target))  # fmt: skip
        (grad,) = torch.autograd.grad(loss.sum(), x)
        return loss.detach(), grad, logits.detach().argmax(1) != y

    def run(self, x: torch.Tensor, y: torch.Tensor, eps, target: torch.Tensor | None = None):
        """Every image's own APGD run; an image leaves the batch once misclassified (its first misclassified
        iterate is its answer, and nothing in another image's run depends on it: step sizes, checkpoints and
        the best points are per image), so the cost follows the images still robust."""
        check_norm(self.norm)
        eps = _broadcast_eps(eps, x)
        n = len(x)
        x_adv = self._start(x, eps)
        loss, grad, fooled = self._loss(x_adv, y, target)
        out, out_fooled = x_adv.clone(), fooled.clone()  # the answer per image: its first fooled iterate, else its start
        x_best, grad_best, loss_best = x_adv.clone(), grad.clone(), loss.clone()
        step = torch.full((n, *([1] * (x.dim() - 1))), 2.0, device=x.device, dtype=x.dtype)  # η per image: 2ε
        step = step * eps if self.norm == "linf" else step  # ℓ∞ in pixels (a per-channel ε too); ℓ2 in units of ε
        checkpoints = set(apgd_checkpoints(self.steps))
        history = [loss]  # the loss of every iterate, the start included
        last_check, loss_at_last_check = 0, loss_best.clone()
        reduced_at_last_check = torch.zeros(n, dtype=torch.bool, device=x.device)
        x_prev = x_adv.clone()
        active = torch.arange(n, device=x.device)  # the images still attacked (their rows in the state below)
        for i in range(self.steps):
            if fooled.any():  # the fooled leave: their answer is kept, the others' runs go on unchanged
                keep = ~fooled
                x, y, x_adv, x_prev, grad, step = x[keep], y[keep], x_adv[keep], x_prev[keep], grad[keep], step[keep]
                x_best, grad_best, loss_best = x_best[keep], grad_best[keep], loss_best[keep]
                loss_at_last_check, reduced_at_last_check = loss_at_last_check[keep], reduced_at_last_check[keep]
                history = [h[keep] for h in history]
                eps = eps[keep] if eps.dim() and eps.shape[0] == len(keep) and len(keep) > 1 else eps
                target = target[keep] if target is not None else None
                active, fooled = active[keep], fooled[keep]
            if not len(active):  # every image fooled (or none given)
                break
            with torch.no_grad():
                momentum = 0.75 if i > 0 else 1.0
                z = self._project(self._step(x_adv, grad, step, eps), x, eps)
                x_next = self._project(x_adv + momentum * (z - x_adv) + (1 - momentum) * (x_adv - x_prev), x, eps)
                x_prev, x_adv = x_adv, x_next
            loss, grad, fooled = self._loss(x_adv, y, target)
            with torch.no_grad():
                out[active[fooled]], out_fooled[active[fooled]] = x_adv[fooled], True
                history.append(loss)
                better = loss > loss_best
                x_best[better], grad_best[better], loss_best[better] = x_adv[better], grad[better], loss[better]
                if i + 1 in checkpoints:
                    k = i + 1 - last_check
                    rises = sum((history[j] > history[j - 1]).float() for j in range(len(history) - k, len(history)))
                    oscillating = rises <= k * self.rho
                    stalled = ~reduced_at_last_check & (loss_at_last_check >= loss_best)
                    reduce = oscillating | stalled
                    reduced_at_last_check, loss_at_last_check, last_check = reduce, loss_best.clone(), i + 1
                    if reduce.any():
                        step[reduce] /= 2.0
                        x_adv[reduce], grad[reduce] = x_best[reduce], grad_best[reduce]
        return out.detach(), out_fooled


def pseudo_gaussian(a: int, b: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """An a×b pattern of unit ℓ2 norm peaked at its centre: each cell holds Σ_{k ≥ j} 1/(k+1)² over the centred
    squares k (of side 2k + 1) that cover it, j being the smallest (the reference Square's ``eta_rectangles``)."""
    rows = (torch.arange(a, device=device) - a // 2).abs()
    cols = (torch.arange(b, device=device) - b // 2).abs()
    ring = torch.maximum(rows[:, None], cols[None, :])  # the smallest centred square covering the cell
    weights = 1.0 / torch.arange(1, max(a // 2, b // 2) + 2, device=device, dtype=dtype) ** 2
    out = weights.flip(0).cumsum(0).flip(0)[ring]  # Σ_{k ≥ ring} 1/(k+1)²
    return out / out.norm().clamp_min(1e-12)


@dataclass
class Square:
    """Square Attack (Andriushchenko et al. 2020), ℓ∞ or ℓ2, on the margin loss, ``queries`` model calls at most.

    One window position and size per query for the whole batch, as the reference; its sign per image and
    channel (the reference draws one per channel for the batch; each image's search is the same random
    process either way).  The window's corner is uniform over *every* position: the reference's
    ``random_int`` never reaches the last one, so its squares never touch the last row or column (on 8×8
    images that left 16–22 of 100 more images robust).  ``reference_windows`` draws as the reference does, for
    comparisons with it."""

    model: nn.Module
    queries: int = 5000
    p_init: float = 0.8
    generator: torch.Generator | None = None
    reference_windows: bool = False
    norm: str = "linf"
    # the window schedule by query count, as AutoAttack runs Square (fra31's resc_schedule=False: for 5000 queries
    # the windows shrink up to p/128); True stretches it over ``queries`` (the Square Attack's own default, and
    # torchattacks' Square and AutoAttack)
    rescale_schedule: bool = False

    def p_selection(self, it: int) -> float:
        """The fraction of pixels the square covers at query ``it`` (the reference's schedule; with
        ``rescale_schedule`` scaled from ``queries`` to 10,000)."""
        if self.rescale_schedule:
            it = int(it / self.queries * 10000)
        for upper, divisor in ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64),
                               (6000, 128), (8000, 256)):  # fmt: skip
            if it <= upper:
                return self.p_init / divisor
        return self.p_init / 512

    def _sign(self, shape, like: torch.Tensor) -> torch.Tensor:
        return torch.randint(0, 2, shape, generator=self.generator, device=like.device).to(like.dtype) * 2 - 1

    def _int(self, high: int, device) -> int:
        """A window's corner, uniform in 0 … high (the reference's draw, ``reference_windows``: 0 … high − 1)."""
        top = high if self.reference_windows else high + 1
        return int(torch.randint(0, max(top, 1), (1,), generator=self.generator, device=device))

    @torch.no_grad()
    def run(self, x: torch.Tensor, y: torch.Tensor, eps):
        eps = _broadcast_eps(eps, x)
        if check_norm(self.norm) == "l2":
            return self._run_l2(x, y, eps)
        n, c, h, w = x.shape
        x_best = _project(x + eps * self._sign((n, c, 1, w), x), x, eps)  # vertical stripes
        best = margin(self.model(x_best), y)
        for it in range(1, self.queries):
            active = (best > 0).nonzero().squeeze(1)
            if len(active) == 0:
                break
            xa, xb, ea = x[active], x_best[active], _rows(eps, active)
            s = min(max(int(round(math.sqrt(self.p_selection(it) * h * w))), 1), h, w)
            vh, vw = self._int(h - s, x.device), self._int(w - s, x.device)
            delta = xb - xa
            delta[:, :, vh:vh + s, vw:vw + s] = ea * self._sign((len(active), c, 1, 1), x)
            x_new = _project(xa + delta, xa, ea)
            m = margin(self.model(x_new), y[active])
            improved = m < best[active]
            x_best[active[improved]], best[active[improved]] = x_new[improved], m[improved]
        return x_best, best < 0

    def _pattern(self, s: int, device, dtype) -> torch.Tensor:
        """The ℓ2 window's s×s pattern, of unit norm: two ``pseudo_gaussian`` halves of opposite sign, split
        across rows, or across columns with probability ½ (the reference's ``eta``)."""
        pattern = torch.cat([pseudo_gaussian(s // 2, s, device, dtype), -pseudo_gaussian(s - s // 2, s, device, dtype)])
        pattern = pattern / pattern.norm()
        flip = torch.rand(1, generator=self.generator, device=device) > 0.5
        return pattern.T if bool(flip) else pattern

    def _run_l2(self, x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor):
        """ℓ2: the perturbation δ (in units of ε per coordinate, so the ball is ‖δ‖₂ ≤ 1) starts as a grid of
        5×5 tiles of the pattern with random signs; each query draws two s×s windows, rebuilds the first from
        its own direction plus a fresh pattern with the mass of both (and what the sphere has left), empties the
        second, rescales δ onto the sphere and keeps it if the margin falls (the reference's ℓ2 search)."""
        n, c, h, w = x.shape
        s0 = max(h // 5, 1)
        start = (h - 5 * s0) // 2
        delta = torch.zeros_like(x)
        for vh in range(start, h - s0 + 1, s0):
            for vw in range(start, w - s0 + 1, s0):
                sign = self._sign((n, c, 1, 1), x)
                delta[:, :, vh:vh + s0, vw:vw + s0] += self._pattern(s0, x.device, x.dtype) * sign

        def on_sphere(xa, d, ua):
            return (xa + ua * d / l2_norm(d).clamp_min(1e-12)).clamp(0, 1)

        x_best = on_sphere(x, delta, unit)
        best = margin(self.model(x_best), y)
        for it in range(self.queries - 1):
            active = (best > 0).nonzero().squeeze(1)
            if len(active) == 0:
                break
            xa, ua = x[active], _rows(unit, active)
            d = (x_best[active] - xa) / ua.clamp_min(1e-12)  # the current perturbation, in units of ε
            s = max(int(round(math.sqrt(self.p_selection(it) * h * w))), 3)
            s = min(s + 1 - s % 2, h, w)  # odd, at least 3, and inside the image
            vh, vw = self._int(h - s, x.device), self._int(w - s, x.device)
            vh2, vw2 = self._int(h - s, x.device), self._int(w - s, x.device)
            window = d[:, :, vh:vh + s, vw:vw + s]
            both = torch.zeros_like(d)
            both[:, :, vh:vh + s, vw:vw + s] = 1.0
            both[:, :, vh2:vh2 + s, vw2:vw2 + s] = 1.0
            mass_windows = l2_norm(d * both) ** 2
            room = (1.0 - l2_norm(d) ** 2).clamp_min(0)  # what the sphere has left (the search keeps ‖δ‖ = 1)
            new = self._pattern(s, x.device, x.dtype) * self._sign((len(active), c, 1, 1), x)
            new = new + window / window.flatten(2).norm(dim=2)[..., None, None].clamp_min(1e-12)
            new = new / new.flatten(2).norm(dim=2)[..., None, None].clamp_min(1e-12) * (room / c + mass_windows).sqrt()
            d[:, :, vh2:vh2 + s, vw2:vw2 + s] = 0.0
            d[:, :, vh:vh + s, vw:vw + s] = new
            x_new = on_sphere(xa, d, ua)
            m = margin(self.model(x_new), y[active])
            improved = m < best[active]
            x_best[active[improved]], best[active[improved]] = x_new[improved], m[improved]
        return x_best, best < 0


@dataclass
class AutoAttack:
    """AutoAttack ``version`` at radius ``eps``: ``perturb`` returns, per image, the first adversarial example
    an attack of the version found, and the image itself where all failed (or it is already misclassified)."""

    model: nn.Module
    eps: float | torch.Tensor
    version: str = "standard"
    apgd_steps: int = 100
    targets: int = 9
    fab_steps: int = 100
    square_queries: int = 5000
    p_init: float = 0.8
    generator: torch.Generator | None = None
    norm: str = "linf"
    # per attack of the version, over the perturb calls so far: seconds, and images it fooled
    stages: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.version not in VERSIONS:
            raise ValueError(f"unknown AutoAttack version '{self.version}'; choose one of {sorted(VERSIONS)} "
                             f"(datasets.<name>.autoattack.version)")  # fmt: skip
        check_norm(self.norm)

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        eps = _broadcast_eps(self.eps, x)
        x_adv = x.clone()
        with torch.no_grad():
            logits = self.model(x)
        robust = logits.argmax(1) == y
        order = logits.argsort(1, descending=True)  # the target classes of APGD-T and FAB-T, by clean logit
        targets = min(self.targets, logits.shape[1] - 1)
        for attack in VERSIONS[self.version]:
            t0 = time.perf_counter()
            stage = self.stages.setdefault(attack, {"seconds": 0.0, "fooled": 0})
            runs = [None] if attack in ("apgd-ce", "square") else [order[:, k] for k in range(1, targets + 1)]
            for target in runs:
                idx = robust.nonzero().squeeze(1)
                if len(idx) == 0:
                    break
                found, fooled = self._run(attack, x[idx], y[idx], _rows(eps, idx),
                                          None if target is None else target[idx])  # fmt: skip
                x_adv[idx[fooled]] = found[fooled]
                robust[idx[fooled]] = False
                stage["fooled"] += int(fooled.sum())
            stage["seconds"] += time.perf_counter() - t0
        return x_adv

    def _run(self, attack: str, x, y, eps, target):
        if attack.startswith("apgd"):
            return APGD(self.model, self.apgd_steps, generator=self.generator, norm=self.norm).run(x, y, eps, target)
        if attack == "square":
            return Square(self.model, self.square_queries, self.p_init, self.generator, norm=self.norm).run(x, y, eps)
        from .fab import FABTargeted

        return FABTargeted(self.model, self.fab_steps, generator=self.generator, norm=self.norm).run(x, y, eps, target)


def autoattack(model: nn.Module, eps, settings: dict, generator: torch.Generator | None = None,
               norm: str = "linf") -> AutoAttack:  # fmt: skip
    """AutoAttack in ``norm`` at radius ``eps`` (pixels) with ``settings``: version, apgd_steps, targets, fab_steps,
    square_queries, p_init (the module's ATTACKS declaration has the defaults)."""
    return AutoAttack(model, eps, **settings, generator=generator, norm=norm)
