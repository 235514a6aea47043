"""Metrics of the papers (DESIGN §6): accuracy, invariance profiles, robustness profiles.

All functions take a model in eval mode and a ``TensorDataset`` (uint8 images) already on the
device; images are converted to [0, 1] floats batch by batch.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch

from .attacks import make_attack
from .data import TensorDataset, to_float
from .transforms import affine_transform, uniform_angles


def _batches(n: int, batch_size: int) -> Iterable[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


@torch.no_grad()
def predict(model, images: torch.Tensor, batch_size: int = 500,
            transform: Callable[[torch.Tensor, slice], torch.Tensor] | None = None) -> torch.Tensor:  # fmt: skip
    """Predicted labels; ``transform(x, batch_slice)`` is applied to each float batch first."""
    preds = []
    for sl in _batches(len(images), batch_size):
        x = to_float(images[sl])
        if transform is not None:
            x = transform(x, sl)
        preds.append(model(x).argmax(1))
    return torch.cat(preds)


def fraction_equal(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a == b).float().mean().item()) if len(a) else float("nan")


def clean_accuracy(model, data: TensorDataset, batch_size: int = 500) -> float:
    return fraction_equal(predict(model, data.images, batch_size), data.labels)


def invariance_rate(clean_pred: torch.Tensor, transformed_pred: torch.Tensor) -> float:
    """Fraction of inputs whose predicted label is unchanged by the transformation."""
    return fraction_equal(clean_pred, transformed_pred)


def fooling_rate(clean_pred: torch.Tensor, adversarial_pred: torch.Tensor) -> float:
    """Fraction of inputs whose predicted label changes under the adversarial perturbation."""
    return 1.0 - fraction_equal(clean_pred, adversarial_pred)


def rotation_invariance_profile(model, data: TensorDataset, thetas: Iterable[float], generator: torch.Generator,
                                batch_size: int = 500, mode: str = "nearest") -> dict:  # fmt: skip
    """For each θ: rotate every test image by an angle uniform in [−θ, θ]; rate of invariance and accuracy."""
    clean = predict(model, data.images, batch_size)
    out = {"theta": [], "invariance": [], "accuracy": []}
    for theta in thetas:
        angles = uniform_angles(len(data), float(theta), generator, data.images.device)
        pred = predict(model, data.images, batch_size, lambda x, sl: affine_transform(x, angles[sl], mode=mode))
        out["theta"].append(float(theta))
        out["invariance"].append(invariance_rate(clean, pred))
        out["accuracy"].append(fraction_equal(pred, data.labels))
    return out


def robustness_profile(model, data: TensorDataset, epsilons: Iterable[float], attack: str, settings: dict,
                       backend: str = "native", batch_size: int = 500, log=None) -> dict:  # fmt: skip
    """Accuracy and 1 − fooling rate on ``attack``-perturbed test data for each ε.

    Fooling is measured against the model's own clean prediction.  ε = 0 is not attacked:
    both PGD and FGSM are the identity there, so the clean predictions are reused.
    """
    clean = predict(model, data.images, batch_size)
    out = {"epsilon": [], "accuracy": [], "one_minus_fooling_rate": []}
    for eps in epsilons:
        eps = float(eps)
        if eps == 0.0:
            adv = clean
        else:
            attacker = make_attack(attack, model, eps, settings, backend)
            preds = []
            for sl in _batches(len(data), batch_size):
                x_adv = attacker.perturb(to_float(data.images[sl]), data.labels[sl])
                with torch.no_grad():
                    preds.append(model(x_adv).argmax(1))
            adv = torch.cat(preds)
        out["epsilon"].append(eps)
        out["accuracy"].append(fraction_equal(adv, data.labels))
        out["one_minus_fooling_rate"].append(1.0 - fooling_rate(clean, adv))
        if log:
            log(f"{attack} eps={eps:.4g}: accuracy {out['accuracy'][-1]:.4f}, "
                f"1-fooling {out['one_minus_fooling_rate'][-1]:.4f}")  # fmt: skip
    return out
