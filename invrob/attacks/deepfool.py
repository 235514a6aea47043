"""ℓ2 DeepFool, the average perturbation distance of paper 000 §3.1."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass
class DeepFool:
    """Minimal-ℓ2 DeepFool (Moosavi-Dezfooli et al. 2016), batched; torchattacks' step semantics.

    Each iteration linearises the logits around the current iterate, takes the smallest step
    ``|f_k − f_c| (w_k − w_c) / ‖w_k − w_c‖²`` that reaches the nearest linearised boundary,
    scaled by ``1 + overshoot``, and (with ``clip``, as torchattacks) clips to [0, 1]; an image stops as soon as its label
    differs from ``c``.  Unlike torchattacks, ``c`` is the model's *prediction* on the clean
    image (the original algorithm), so misclassified test points are attacked too; given the
    true labels of correctly classified images the two agree.  ``perturb`` returns the
    adversarial images; ``self.converged`` says which ones changed label within ``max_iter``.
    ``unit`` (σ, 1×C×1×1; see ``in_pixels``) runs it in the normalised space: gradients and step
    lengths with respect to z = (x − μ)/σ, so it minimises ‖(x′ − x)/σ‖₂ (on one channel the
    iterates are the pixel-space ones and the distance is the pixel distance / σ).
    """

    model: nn.Module
    overshoot: float = 0.02
    max_iter: int = 50
    unit: torch.Tensor | None = None
    # False: the original algorithm, the distance to the boundary of the model as a function on all
    # inputs; clipping stalls steps into a black background (~45 % of Fashion-MNIST points never converge)
    clip: bool = False

    def perturb(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x_adv = x.detach().clone()
        with torch.no_grad():
            ref = self.model(x).argmax(1)  # `y` is accepted for interface symmetry and not used
        active = torch.ones(len(x), dtype=torch.bool, device=x.device)
        for _ in range(self.max_iter):
            idx = active.nonzero().squeeze(1)
            if len(idx) == 0:
                break
            xi = x_adv[idx].requires_grad_(True)
            logits = self.model(xi)
            changed = logits.argmax(1) != ref[idx]
            active[idx[changed]] = False
            keep = ~changed
            if not keep.any():
                break
            n_cls = logits.shape[1]
            # Jacobian of all logits w.r.t. the input: one backward pass per class, for the whole batch
            jac = torch.stack([torch.autograd.grad(logits[:, k].sum(), xi, retain_graph=k + 1 < n_cls)[0]
                               for k in range(n_cls)], dim=1)[keep]  # fmt: skip
            logits, c, rows = logits.detach()[keep], ref[idx][keep], torch.arange(int(keep.sum()), device=x.device)
            f = logits - logits[rows, c].unsqueeze(1)
            w = jac - jac[rows, c].unsqueeze(1)
            if self.unit is not None:  # ∂/∂z = σ ∂/∂x
                w = w * self.unit.unsqueeze(1)
            w_norm = w.flatten(2).norm(dim=2)
            # a class whose logit difference has no gradient (e.g. every ReLU before the last layer off)
            # is unreachable by a linearised step: its distance is infinite, not 0/0
            ratio = torch.where(w_norm > 0, f.abs() / w_norm.clamp_min(1e-30), float("inf"))
            ratio[rows, c] = float("inf")
            target = ratio.argmin(1)
            w_t, f_t, n_t = w[rows, target], f[rows, target], w_norm[rows, target]
            stuck = ~torch.isfinite(ratio[rows, target])  # no class reachable: the image stays where it is
            scale = torch.where(stuck, 0.0, f_t.abs() / n_t.clamp_min(1e-30) ** 2)
            delta = scale.view(-1, *([1] * (x.dim() - 1))) * w_t
            if self.unit is not None:  # the step in z, in pixels
                delta = delta * self.unit
            sel = idx[keep]
            x_adv[sel] = x_adv[sel] + (1 + self.overshoot) * delta
            if self.clip:
                x_adv[sel] = x_adv[sel].clamp(0, 1)
            active[sel[stuck]] = False  # it stays unconverged
        with torch.no_grad():
            self.converged = self.model(x_adv).argmax(1) != ref
        return x_adv.detach()
