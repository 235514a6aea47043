"""The loss of one training batch: natural, PGD (Madry et al.), TRADES, paper 004's spatial training
(random or worst-case transforms, invariance regularisers), and paper 003's D_mix batches."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..attacks.pgd import LinfPGD
from ..attacks.spatial import SpatialPGD, random_transforms, transform_pixels, worst_of_k
from ..attacks.trades import TradesKL, kl_divergence
from ..data.splits import TensorDataset


def _attacker(model, spec: dict, generator: torch.Generator):
    if spec["method"] == "trades":
        return TradesKL(model, spec["eps"], spec["steps"], spec["step_size"], generator)
    return LinfPGD(model, spec["eps"], spec["steps"], spec["step_size"], spec["random_start"], generator)


def adversarial_batch(model, x, y, spec: dict | None, generator: torch.Generator) -> torch.Tensor:
    """The adversarial examples for training (``spec`` from ``hparams.recipe_hparams``), found with
    the model in eval mode: PGD on the loss, or TRADES' KL adversary; ε = 0 is a no-op."""
    if not spec or spec["eps"] == 0:
        return x
    was_training = model.training
    model.eval()
    x_adv = _attacker(model, spec, generator).perturb(x, y)
    model.train(was_training)
    return x_adv


def trades_loss(logits_natural: torch.Tensor, logits_adversarial: torch.Tensor, y: torch.Tensor,
                beta: float) -> torch.Tensor:  # fmt: skip
    """TRADES' objective: CE(f(x), y) + β · KL(f(x) ‖ f(x′)) (batch means)."""
    return F.cross_entropy(logits_natural, y) + beta * kl_divergence(logits_natural, logits_adversarial)


def training_loss(model, x, y, spec: dict | None, generator: torch.Generator,
                  spatial: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(loss, logits whose accuracy is reported) of one batch: cross-entropy on the batch (natural),
    on its PGD examples (Madry et al.), TRADES' CE(f(x)) + β·KL(f(x) ‖ f(x′)), or paper 004's
    spatial training (``spatial``)."""
    if spatial:
        return spatial_training_loss(model, x, y, spatial, generator)
    x_adv = adversarial_batch(model, x, y, spec, generator)
    if spec and spec.get("method") == "trades" and spec["eps"] > 0:
        natural, adversarial = model(x), model(x_adv)  # two passes, as TRADES (batch-norm statistics)
        return trades_loss(natural, adversarial, y, spec["beta"]), natural
    logits = model(x_adv)
    return F.cross_entropy(logits, y), logits


def mix_batch(images: torch.Tensor, labels: torch.Tensor, robust: TensorDataset, alpha: float,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Paper 003's D_mix batch: the first round(α·B) images of a natural batch replaced by images
    drawn at random (with replacement) from D_R, with D_R's labels."""
    n_robust = int(round(alpha * len(images)))
    if n_robust == 0:
        return images, labels
    idx = torch.randint(len(robust), (n_robust,), generator=generator, device=generator.device).to(images.device)
    images, labels = images.clone(), labels.clone()
    images[:n_robust], labels[:n_robust] = robust.images[idx], robust.labels[idx]
    return images, labels


# --------------------------------------------------------------------------- spatial training (paper 004)

REGULARIZERS = ("kl", "l2")


def invariance_regularizer(h: str, logits: torch.Tensor, logits_transformed: torch.Tensor,
                           reduction: str = "mean") -> torch.Tensor:  # fmt: skip
    """Paper 004's semimetric h(f(x), f(x̃)): ``kl`` = KL(softmax f(x) ‖ softmax f(x̃)) (post-softmax),
    ``l2`` = ‖f(x) − f(x̃)‖²₂ on the logits; per image (``none``) or its batch ``mean``."""
    if h == "kl":
        p_log, q_log = F.log_softmax(logits, 1), F.log_softmax(logits_transformed, 1)
        per_image = (p_log.exp() * (p_log - q_log)).sum(1)
    elif h == "l2":
        per_image = (logits - logits_transformed).pow(2).sum(1)
    else:
        raise ValueError(f"unknown invariance regulariser '{h}'; known: {list(REGULARIZERS)}")
    return per_image.mean() if reduction == "mean" else per_image


def transformed_batch(model, x: torch.Tensor, y: torch.Tensor, spec: dict, generator: torch.Generator) -> torch.Tensor:
    """Paper 004's augmented x̃ within the transformation set (``spec`` from ``hparams.recipe_hparams``):
    ``da`` a uniformly random transform; ``wok`` the worst of k random ones; ``spgd`` S-PGD.  The
    worst case maximises the loss, or h(f(x), f(·)) when ``select`` is ``h``; the search runs with
    the model in eval mode and leaves its mode as it was."""
    if spec["method"] == "da":
        return transform_pixels(x, *random_transforms(len(x), spec["max_deg"], spec["max_px"], generator, x.device))
    was_training = model.training
    model.eval()
    score = None
    if spec.get("select") == "h":
        with torch.no_grad():
            reference = model(x)
        score = lambda logits, _: invariance_regularizer(spec["regularizer"], reference, logits, "none")  # noqa: E731
    if spec["method"] == "wok":
        xt = worst_of_k(model, x, y, spec["k"], spec["max_deg"], spec["max_px"], generator, score)[0]
    else:
        spgd = SpatialPGD(model, spec["max_deg"], spec["max_px"], spec["steps"], spec["step_deg"], spec["step_px"],
                          generator, score)  # fmt: skip
        xt = spgd.perturb(x, y)[0]
    model.train(was_training)
    return xt.detach()


def spatial_training_loss(model, x: torch.Tensor, y: torch.Tensor, spec: dict,
                          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(loss, logits of x̃) of one batch (paper 004): ℓ(x̃) without a regulariser, else the poster's
    ℓ(x) + ℓ(x̃) + λ·h(f(x), f(x̃)) with one forward pass over [x; x̃]."""
    xt = transformed_batch(model, x, y, spec, generator)
    if not spec.get("regularizer"):
        logits = model(xt)
        return F.cross_entropy(logits, y), logits
    logits, logits_t = model(torch.cat([x, xt])).split(len(x))
    h = invariance_regularizer(spec["regularizer"], logits, logits_t)
    return F.cross_entropy(logits, y) + F.cross_entropy(logits_t, y) + spec["lambda"] * h, logits_t
