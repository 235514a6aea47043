"""FAB-T, ℓ∞ and ℓ2 (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary
attack"), the targeted version AutoAttack runs: one start at the clean image, no restarts.

Each iteration linearises the logit difference z_t − z_y towards the target class t at the iterate x_k and
projects both x_k and the clean image x onto that linearised boundary within the image box (``project_linf``,
``project_l2``: the exact smallest ℓ∞ / ℓ2 step, found by sorting).  The next iterate mixes the two
projections, biased towards the clean image's by α = min(‖δ_k‖ / (‖δ_k‖ + ‖δ_0‖), α_max), with overshoot η:

    x_{k+1} = clip((1 − α)(x_k + η δ_k) + α (x + η δ_0)).

When x_{k+1} is misclassified it is kept if it is the closest adversarial example so far, and the iterate
steps back towards x: x_{k+1} ← x + β (x_{k+1} − x).  The attack succeeds on an image when its closest
example lies within the radius.  Distances (and α's norms) are measured in the attack's norm, in units of ε per
coordinate, so a per-channel ε (the normalised space) makes FAB minimise the normalised distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn


def _smallest_reach(rate: torch.Tensor, saturation: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Per row, the smallest r ≥ 0 with g(r) = Σ_i rate_i · min(r, saturation_i) ≥ c (0 where c ≤ 0; the largest
    saturation where no r reaches c).  g is piecewise linear and non-decreasing with its breakpoints at the
    saturations, so r is read off them sorted."""
    sat, order = saturation.sort(dim=1)
    rates = rate.gather(1, order)
    gain_below = torch.cumsum(rates * sat, dim=1)  # Σ_{j≤k} rate_(j) sat_(j)
    rate_above = rate.sum(1, keepdim=True) - torch.cumsum(rates, dim=1)  # Σ_{j>k} rate_(j)
    gain_at = gain_below + sat * rate_above  # g(sat_(k))
    k = torch.searchsorted(gain_at, c[:, None].contiguous()).clamp(max=rate.shape[1] - 1)  # first breakpoint ≥ c
    below = torch.where(k > 0, gain_below.gather(1, (k - 1).clamp_min(0)), torch.zeros_like(c[:, None]))
    above = torch.where(k > 0, rate_above.gather(1, (k - 1).clamp_min(0)), rate.sum(1, keepdim=True))
    r = (c[:, None] - below) / above.clamp_min(1e-30)
    r = torch.minimum(r, sat[:, -1:]).clamp_min(0)  # infeasible rows: all the room there is
    return torch.where(c[:, None] > 0, r, torch.zeros_like(r))


def _room(w: torch.Tensor, room_up: torch.Tensor, room_down: torch.Tensor) -> torch.Tensor:
    """The room each coordinate has in the direction of sign(w_i)."""
    return torch.where(w > 0, room_up, room_down).clamp_min(0)


def project_linf(p: torch.Tensor, w: torch.Tensor, c: torch.Tensor, room_up: torch.Tensor,
                 room_down: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Per row, the step d of smallest ‖d‖∞ with w·d ≥ c and −room_down ≤ d ≤ room_up (the box around p).

    Along each coordinate the most a radius r buys is |w_i|·min(r, room_i), room_i being the room in the
    direction of sign(w_i); the gain g(r) = Σ|w_i| min(r, room_i) is piecewise linear, so the smallest r
    with g(r) ≥ c is read off the sorted rooms.  Rows with c ≤ 0 get d = 0; rows the box cannot satisfy
    get the step of largest gain.  ``p`` fixes the dtype and shape only (rows × features)."""
    room = _room(w, room_up, room_down)
    r = _smallest_reach(w.abs(), room, c)
    return torch.sign(w) * torch.minimum(r, room)


def project_l2(p: torch.Tensor, w: torch.Tensor, c: torch.Tensor, room_up: torch.Tensor,
               room_down: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Per row, the step d of smallest ‖d‖₂ with w·d ≥ c and −room_down ≤ d ≤ room_up (the box around p).

    The minimiser is d_i = sign(w_i)·min(λ|w_i|, room_i) for the smallest λ ≥ 0 that reaches c (the KKT
    conditions: the step follows w until a coordinate meets the box, which then stays there): the gain
    g(λ) = Σ w_i² min(λ, room_i/|w_i|) is piecewise linear in λ with its breakpoints at room_i/|w_i|, read off
    sorted as for ``project_linf``.  Rows with c ≤ 0 get d = 0; rows the box cannot satisfy, the box's corner."""
    room = _room(w, room_up, room_down)
    weight = w.abs()
    lam = _smallest_reach(w * w, torch.where(weight > 0, room / weight.clamp_min(1e-30), torch.zeros_like(room)), c)
    return torch.sign(w) * torch.minimum(lam * weight, room)


@dataclass
class FABTargeted:
    """FAB-T (ℓ∞ or ℓ2) with the reference's AutoAttack settings (η 1.05, β 0.9, α_max 0.1, no restarts)."""

    model: nn.Module
    steps: int = 100
    eta: float = 1.05
    beta: float = 0.9
    alpha_max: float = 0.1
    generator: torch.Generator | None = None  # unused: FAB-T without restarts is deterministic
    norm: str = "linf"

    def _size(self, e: torch.Tensor) -> torch.Tensor:
        """Per row, the norm of the attack (in units of ε)."""
        return e.abs().amax(1) if self.norm == "linf" else e.norm(dim=1)

    def _boundary(self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor):
        """The logit difference z_t − z_y and its input gradient."""
        x = x.detach().requires_grad_(True)
        logits = self.model(x)
        u = torch.arange(len(y), device=y.device)
        diff = logits[u, target] - logits[u, y]
        (grad,) = torch.autograd.grad(diff.sum(), x)
        return diff.detach(), grad

    def run(self, x: torch.Tensor, y: torch.Tensor, eps, target: torch.Tensor):
        """(closest adversarial examples found, which lie within ``eps``); ``eps`` broadcasts against x."""
        if self.norm not in ("linf", "l2"):
            raise ValueError(f"unknown FAB norm '{self.norm}'; choose 'linf' or 'l2'")
        project = project_linf if self.norm == "linf" else project_l2
        n = len(x)
        unit = torch.as_tensor(eps, dtype=x.dtype, device=x.device)
        unit = (unit.view(-1, *([1] * (x.dim() - 1))) if unit.dim() == 1 else unit).expand_as(x).reshape(n, -1)
        unit = unit.clamp_min(1e-12)  # a zero radius: any step is far outside it
        x0 = x.reshape(n, -1)  # distances below are in units of ε per coordinate: e = d / unit
        best = torch.full((n,), float("inf"), device=x.device, dtype=x.dtype)
        x_best = x.clone()
        xk = x0.clone()
        for _ in range(self.steps):
            if (best <= 1.0 + 1e-6).all():  # every image has an example within ε: nothing left to decide
                break
            diff, grad = self._boundary(xk.view_as(x), y, target)
            with torch.no_grad():
                w = grad.reshape(n, -1) * unit  # the gradient with respect to e
                # reach z_t − z_y = 0 on the linearisation at xk: from xk, and from the clean image; a point
                # already beyond the boundary (c < 0) steps back onto it, as the reference's projections do
                c_k = -diff
                c_0 = -diff - (w * ((x0 - xk) / unit)).sum(1)
                side = torch.where(torch.cat([c_k, c_0]) < 0, -1.0, 1.0).to(w.dtype)[:, None]
                both = project(torch.cat([xk, x0]), torch.cat([w, w]) * side, torch.cat([c_k, c_0]) * side[:, 0],
                                    torch.cat([(1 - xk) / unit, (1 - x0) / unit]),
                                    torch.cat([xk / unit, x0 / unit]))  # fmt: skip
                e_k, e_0 = both[:n], both[n:]
                a_k = self._size(e_k)[:, None].clamp_min(1e-8)
                a_0 = self._size(e_0)[:, None].clamp_min(1e-8)
                alpha = (a_k / (a_k + a_0)).clamp(0, self.alpha_max)
                xk = ((xk + self.eta * e_k * unit) * (1 - alpha) + (x0 + self.eta * e_0 * unit) * alpha).clamp(0, 1)
                adversarial = self.model(xk.view_as(x)).argmax(1) != y
                if adversarial.any():
                    dist = self._size((xk - x0) / unit)
                    closer = adversarial & (dist < best)
                    x_best[closer], best[closer] = xk[closer].view(-1, *x.shape[1:]), dist[closer]
                    xk[adversarial] = x0[adversarial] + self.beta * (xk[adversarial] - x0[adversarial])
        return x_best.detach(), best <= 1.0 + 1e-6
