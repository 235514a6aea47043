"""TRADES' inner maximisation (Zhang et al. 2019), the adversary of TRADES training (paper 001)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


def kl_divergence(logits_p: torch.Tensor, logits_q: torch.Tensor, reduction: str = "batchmean") -> torch.Tensor:
    """KL(softmax(p) ‖ softmax(q)) per batch (``batchmean``: summed over classes, mean over images)."""
    return F.kl_div(F.log_softmax(logits_q, 1), F.log_softmax(logits_p, 1), reduction=reduction, log_target=True)


@dataclass
class TradesKL:
    """TRADES' inner maximisation (Zhang et al. 2019): x′ in the ℓ∞ ball that maximises
    KL(f(x) ‖ f(x′)), started at x + 0.001·N(0, 1), sign-gradient steps, projection and [0, 1] clip."""

    model: nn.Module
    eps: float
    steps: int = 10
    step_size: float = 2 / 255
    generator: torch.Generator | None = None

    def perturb(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            target = self.model(x)
        noise = torch.randn(x.shape, generator=self.generator, device=x.device if self.generator is None
                            else self.generator.device).to(x.device)  # fmt: skip
        x_adv = (x + 0.001 * noise).clamp(0, 1)
        for _ in range(self.steps):
            x_adv = x_adv.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(kl_divergence(target, self.model(x_adv), "sum"), x_adv)
            x_adv = x_adv.detach() + self.step_size * grad.sign()
            x_adv = torch.min(torch.max(x_adv, x - self.eps), x + self.eps).clamp(0, 1)
        return x_adv.detach()
