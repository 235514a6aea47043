"""Attacks as small classes with one ``perturb(x, y)`` method: ℓ∞ PGD and FGSM, ℓ2 PGD, ℓ2 DeepFool,
and TRADES' KL adversary with its training loss.

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

The space of ε (``EPSILON_SPACES``): attacks always perturb [0, 1] pixels and clip to that box,
so adversarial images stay valid images.  A radius or step given in the space *normalised* by the
dataset's per-channel std σ (the z-scored inputs paper 000 attacked) is ``value · σ_c`` pixels in
channel c (``in_pixels``): the ℓ∞ ball of radius ε around z = (x − μ)/σ, intersected with the
image box, is exactly the pixel box of half-width ε·σ_c intersected with [0, 1].  Sign steps are
the same in both spaces (σ > 0), so PGD and FGSM in normalised units are PGD and FGSM in pixels
with per-channel radii and steps; DeepFool measures and minimises the ℓ2 norm of (x′ − x)/σ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

BACKENDS = ("native", "advertorch")
EPSILON_SPACES = ("pixel", "normalized")


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


def per_image_norm(x: torch.Tensor) -> torch.Tensor:
    """The ℓ2 norm of every image of a batch, shaped to broadcast against it (N×1×…×1)."""
    return x.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))


@dataclass
class L2PGD:
    """ℓ2 PGD (paper 003, after Ilyas et al.): from x itself, ``steps`` steps of ``step_size`` along the
    ℓ2-normalised gradient of the summed cross-entropy, each followed by the [0, 1] clip and the
    projection onto the ε-ball (advertorch's ``L2PGDAttack`` without random start, step by step)."""

    model: nn.Module
    eps: float
    steps: int = 100
    step_size: float = 0.1

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        delta = torch.zeros_like(x)
        for _ in range(self.steps):
            grad = _input_gradient(self.model, x + delta, y)
            delta = delta + self.step_size * grad / per_image_norm(grad).clamp_min(1e-6)
            delta = (x + delta).clamp(0, 1) - x
            delta = delta * (self.eps / per_image_norm(delta)).clamp(max=1.0)
        return (x + delta).clamp(0, 1).detach()


@dataclass
class FGSM:
    model: nn.Module
    eps: float | torch.Tensor

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        eps = _as_eps(self.eps, x)
        return (x + eps * _input_gradient(self.model, x, y).sign()).clamp_(0, 1).detach()


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


def trades_loss(logits_natural: torch.Tensor, logits_adversarial: torch.Tensor, y: torch.Tensor,
                beta: float) -> torch.Tensor:  # fmt: skip
    """TRADES' objective: CE(f(x), y) + β · KL(f(x) ‖ f(x′)) (batch means)."""
    return F.cross_entropy(logits_natural, y) + beta * kl_divergence(logits_natural, logits_adversarial)


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


@dataclass
class DeepFool:
    """Minimal-ℓ2 DeepFool (Moosavi-Dezfooli et al. 2016), batched; torchattacks' step semantics.

    Each iteration linearises the logits around the current iterate, takes the smallest step
    ``|f_k − f_c| (w_k − w_c) / ‖w_k − w_c‖²`` that reaches the nearest linearised boundary,
    scaled by ``1 + overshoot``, and clips to [0, 1]; an image stops as soon as its label
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
            ratio = f.abs() / w_norm
            ratio[rows, c] = float("inf")
            target = ratio.argmin(1)
            w_t, f_t, n_t = w[rows, target], f[rows, target], w_norm[rows, target]
            delta = (f_t.abs() / n_t**2).view(-1, *([1] * (x.dim() - 1))) * w_t
            if self.unit is not None:  # the step in z, in pixels
                delta = delta * self.unit
            sel = idx[keep]
            x_adv[sel] = (x_adv[sel] + (1 + self.overshoot) * delta).clamp_(0, 1)
        with torch.no_grad():
            self.converged = self.model(x_adv).argmax(1) != ref
        return x_adv.detach()


def make_attack(kind: str, model: nn.Module, eps, settings: dict, backend: str = "native",
                generator: torch.Generator | None = None, unit: torch.Tensor | None = None):  # fmt: skip
    """Build attack ``kind`` ('pgd' or 'fgsm') at radius ``eps`` with ``settings`` (steps, step_size,
    random_start), both in pixel units or, with ``unit`` (σ), in normalised units (see ``in_pixels``)."""
    eps = in_pixels(eps, unit)
    if kind == "pgd" and unit is not None:
        settings = {**settings, "step_size": in_pixels(settings["step_size"], unit)}
    if backend not in BACKENDS:
        raise ValueError(f"unknown attack backend '{backend}'; choose one of {BACKENDS}")
    if kind not in ("pgd", "fgsm"):
        raise ValueError(f"unknown attack '{kind}'; choose 'pgd' or 'fgsm'")
    if backend == "advertorch":
        if isinstance(eps, torch.Tensor):
            raise ValueError("the advertorch backend takes one scalar eps per batch (and one channel in "
                             "normalised units); use evaluation.attack_backend: native")
        if kind == "fgsm":
            return AdvertorchAttack("fgsm", model, eps)
        return AdvertorchAttack("pgd", model, eps, settings["steps"], settings["step_size"], settings["random_start"])
    if kind == "fgsm":
        return FGSM(model, eps)
    return LinfPGD(model, eps, settings["steps"], settings["step_size"], settings["random_start"], generator)
