"""What the evaluations measure: accuracy, invariance and robustness profiles, DeepFool
distances, principal angles between perturbation subspaces, accuracy under worst-case spatial attacks.

All functions take a model in eval mode and a ``TensorDataset`` (uint8 images) already on the
device; images are converted to [0, 1] floats batch by batch.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch

from ..attacks import GRIDS, SPATIAL_ATTACKS
from ..attacks.autoattack import autoattack
from ..attacks.base import make_attack
from ..attacks.deepfool import DeepFool
from ..attacks.pgd import L2PGD, LinfPGD
from ..attacks.spatial import INTERPOLATION, SpatialPGD, correct_under_all, grid_transforms, worst_of_k
from ..data.splits import TensorDataset, to_float
from ..transforms import affine_transform, uniform_angles, uniform_shifts


def _batches(n: int, batch_size: int) -> Iterable[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def float_batches(images: torch.Tensor, batch_size: int, transform=None) -> Iterable[tuple[slice, torch.Tensor]]:
    """(slice, [0, 1] float batch) pairs; ``transform(x, batch_slice)`` is applied to each batch first."""
    for sl in _batches(len(images), batch_size):
        x = to_float(images[sl])
        yield sl, (transform(x, sl) if transform is not None else x)


@torch.no_grad()
def predict(model, images: torch.Tensor, batch_size: int = 500,
            transform: Callable[[torch.Tensor, slice], torch.Tensor] | None = None) -> torch.Tensor:  # fmt: skip
    """Predicted labels; ``transform(x, batch_slice)`` is applied to each float batch first."""
    return torch.cat([model(x).argmax(1) for _, x in float_batches(images, batch_size, transform)])


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


SPATIAL_FAMILIES = {
    # family: (angle range of level r in degrees, shift range of level r as a fraction of the size)
    "rotation": lambda r: (r, None),  # r = θ
    "translation": lambda r: (None, r),  # r = i
    "rt": lambda r: (180.0 * r, r),  # r = i: ±i·180° and ±i together (paper 001, Aug-RT)
}


def invariance_profile(model, data: TensorDataset, levels: Iterable[float], generator: torch.Generator,
                       family: str = "rotation", batch_size: int = 500, mode: str = "nearest") -> dict:  # fmt: skip
    """For each range level: transform every test image by its own random transform of the family
    (uniform within the range); the rate of invariance and the accuracy on the transformed images."""
    clean = predict(model, data.images, batch_size)
    n, dev = len(data), data.images.device
    out = {"range": [], "invariance": [], "accuracy": []}
    for level in levels:
        max_deg, max_shift = SPATIAL_FAMILIES[family](float(level))
        angles = uniform_angles(n, max_deg, generator, dev) if max_deg is not None else None
        shifts = uniform_shifts(n, max_shift, generator, dev) if max_shift is not None else None
        pred = predict(model, data.images, batch_size,
                       lambda x, sl: affine_transform(x, None if angles is None else angles[sl],
                                                      None if shifts is None else shifts[sl], mode=mode))  # fmt: skip
        out["range"].append(float(level))
        out["invariance"].append(invariance_rate(clean, pred))
        out["accuracy"].append(fraction_equal(pred, data.labels))
    return out


def rotation_invariance_profile(model, data: TensorDataset, thetas: Iterable[float], generator: torch.Generator,
                                batch_size: int = 500, mode: str = "nearest") -> dict:  # fmt: skip
    """For each θ: rotate every test image by an angle uniform in [−θ, θ]; rate of invariance and accuracy."""
    out = invariance_profile(model, data, thetas, generator, "rotation", batch_size, mode)
    return {"theta": out.pop("range"), **out}


Transform = Callable[[torch.Tensor, slice], torch.Tensor]


def rotation_by_range(n: int, max_deg: float, generator: torch.Generator, device, mode: str = "nearest") -> Transform:
    """A batch transform rotating test image ``i`` by its own fixed angle, uniform in [−max_deg, max_deg]."""
    angles = uniform_angles(n, float(max_deg), generator, device)
    return lambda x, sl: affine_transform(x, angles[sl], mode=mode) if max_deg else x


def per_image_flags(flags: torch.Tensor) -> str:
    """A boolean per image as a compact string, '1' where true: e.g. which images an attack left correct."""
    return "".join("1" if f else "0" for f in flags.tolist())


def robustness_profile(model, data: TensorDataset, epsilons: Iterable[float], attack: str, settings: dict,
                       backend: str = "native", batch_size: int = 500, log=None,
                       transform: Transform | None = None, unit: torch.Tensor | None = None) -> dict:  # fmt: skip
    """Accuracy and 1 − fooling rate on ``attack``-perturbed test data for each ε.

    ε and the PGD step are in pixel units, or with ``unit`` (the dataset's std, 1×C×1×1) in units
    of the normalised input (``attacks.in_pixels``).

    ``correct`` holds, per ε, which test images the attack left correctly classified (``per_image_flags``:
    one character per image, in the order of ``data``), so two attacks can be compared image by image.

    ``transform`` (e.g. ``rotation_by_range``) is applied to the test images before they are
    attacked: the profile on rotated test data.  Fooling is measured against the model's own
    prediction on the (transformed) clean image.  ε = 0 is not attacked: both PGD and FGSM are
    the identity there, so the clean predictions are reused.
    """
    clean = predict(model, data.images, batch_size, transform)
    out = {"epsilon": [], "accuracy": [], "one_minus_fooling_rate": [], "correct": []}
    for eps in epsilons:
        eps = float(eps)
        if eps == 0.0:
            adv = clean
        else:
            attacker = make_attack(attack, model, eps, settings, backend, unit=unit)
            preds = []
            for sl, x in float_batches(data.images, batch_size, transform):
                x_adv = attacker.perturb(x, data.labels[sl])
                with torch.no_grad():
                    preds.append(model(x_adv).argmax(1))
            adv = torch.cat(preds)
            if getattr(attacker, "stages", None):  # an ensemble's seconds and images fooled per attack (AutoAttack)
                out.setdefault("stages", {})[f"{eps:g}"] = attacker.stages
        out["epsilon"].append(eps)
        out["accuracy"].append(fraction_equal(adv, data.labels))
        out["one_minus_fooling_rate"].append(1.0 - fooling_rate(clean, adv))
        out["correct"].append(per_image_flags(adv == data.labels))
        if log:
            log(f"{attack} eps={eps:.4g}: accuracy {out['accuracy'][-1]:.4f}, "
                f"1-fooling {out['one_minus_fooling_rate'][-1]:.4f}")  # fmt: skip
    return out


def attack_success_rate(clean_correct: torch.Tensor, adversarial_correct: torch.Tensor) -> float:
    """Paper 003's ASR: the fraction of correctly classified images whose adversarial example is
    misclassified (images the model gets wrong anyway do not count)."""
    n = int(clean_correct.sum())
    return float((clean_correct & ~adversarial_correct).sum()) / n if n else float("nan")


def success_profile(model, data: TensorDataset, norm: str, epsilons: Iterable[float], attacker: Callable,
                    batch_size: int = 500, log=None, name: str = "PGD") -> dict:  # fmt: skip
    """Paper 003 §2.1's measures of the attack ``attacker(ε)`` (an object with ``perturb(x, y)``) in ``norm``, per
    ε: accuracy, attack success rate, and which images it left correct (``correct``, as ``robustness_profile``;
    ``clean_correct``: which the model classifies correctly unattacked)."""
    clean = predict(model, data.images, batch_size) == data.labels
    out = {"norm": norm, "epsilon": [], "accuracy": [], "attack_success_rate": [], "correct": [],
           "clean_accuracy": float(clean.float().mean()), "clean_correct": per_image_flags(clean)}  # fmt: skip
    for eps in map(float, epsilons):
        attack = attacker(eps)
        correct = []
        for sl, x in float_batches(data.images, batch_size):
            x_adv = attack.perturb(x, data.labels[sl])
            with torch.no_grad():
                correct.append(model(x_adv).argmax(1) == data.labels[sl])
        correct = torch.cat(correct)
        out["epsilon"].append(eps)
        out["accuracy"].append(float(correct.float().mean()))
        out["attack_success_rate"].append(attack_success_rate(clean, correct))
        out["correct"].append(per_image_flags(correct))
        if getattr(attack, "stages", None):  # an ensemble's seconds and images fooled per attack (AutoAttack)
            out.setdefault("stages", {})[f"{eps:g}"] = attack.stages
        if log:
            log(f"{norm} {name} eps={eps:.4g}: accuracy {out['accuracy'][-1]:.4f}, "
                f"ASR {out['attack_success_rate'][-1]:.4f}")  # fmt: skip
    return out


def pgd_success_profile(model, data: TensorDataset, norm: str, epsilons: Iterable[float], settings: dict,
                        batch_size: int = 500, log=None) -> dict:  # fmt: skip
    """Accuracy and attack success rate of ℓ∞ PGD (``steps``, step ``step_fraction`` × ε, random start)
    or ℓ2 PGD (``steps`` of ``step_size``, no random start) for each ε (paper 003 §2.1)."""
    if norm == "linf":
        attacker = lambda eps: LinfPGD(model, eps, settings["steps"], settings["step_fraction"] * eps, True)  # noqa: E731
    elif norm == "l2":
        attacker = lambda eps: L2PGD(model, eps, settings["steps"], settings["step_size"])  # noqa: E731
    else:
        raise ValueError(f"unknown PGD norm '{norm}'; use 'linf' or 'l2'")
    return success_profile(model, data, norm, epsilons, attacker, batch_size, log, "PGD")


def autoattack_success_profile(model, data: TensorDataset, norm: str, epsilons: Iterable[float], settings: dict,
                               batch_size: int = 500, log=None) -> dict:  # fmt: skip
    """``pgd_success_profile``'s measures under AutoAttack in ``norm`` with ``settings`` (its version, steps,
    targets, queries) at the same radii: an image counts as robust only if every attack of the version fails."""
    return success_profile(model, data, norm, epsilons, lambda eps: autoattack(model, eps, settings, norm=norm),
                           batch_size, log, "AutoAttack")  # fmt: skip


def deepfool_distances(model, data: TensorDataset, batch_size: int = 500, overshoot: float = 0.02,
                       max_iter: int = 50, transform: Transform | None = None,
                       unit: torch.Tensor | None = None, clip: bool = False) -> dict:  # fmt: skip
    """Average perturbation distance (paper 000 §3.1): mean ℓ2 norm of the DeepFool perturbation,
    in pixels or, with ``unit`` (σ), of the perturbation of the normalised input (x′ − x)/σ.

    Every test point counts (DeepFool starts from the model's own prediction); points that did
    not change label within ``max_iter`` keep their last perturbation and are counted in
    ``not_converged``.  ``clip`` keeps every iterate in [0, 1] (see ``DeepFool``).
    """
    attack = DeepFool(model, overshoot, max_iter, unit, clip)
    norms, converged = [], []
    for _, x in float_batches(data.images, batch_size, transform):
        x_adv = attack.perturb(x)
        norms.append(in_units(x_adv - x, unit).flatten(1).norm(dim=1))
        converged.append(attack.converged)
    norms, converged = torch.cat(norms).double(), torch.cat(converged)
    return {"mean_l2": float(norms.mean()), "median_l2": float(norms.median()), "std_l2": float(norms.std()),
            "not_converged": int((~converged).sum()), "points": len(norms)}  # fmt: skip


def in_units(perturbation: torch.Tensor, unit: torch.Tensor | None) -> torch.Tensor:
    """A pixel perturbation in the attack's ε space: itself, or divided by σ per channel."""
    return perturbation if unit is None else perturbation / unit


def top_right_singular_vectors(rows: torch.Tensor, k: int) -> torch.Tensor:
    """``d×k`` orthonormal basis of the top-``k`` right singular subspace of the ``n×d`` matrix ``rows``."""
    _, _, vh = torch.linalg.svd(rows.double(), full_matrices=False)
    return vh[:k].T


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles (degrees, ascending θ1 ≤ θ2 ≤ …) between the column spans of ``a`` and ``b``.

    Both are orthonormalised first; the cosines are the singular values of ``QaᵀQb``.
    """
    qa, _ = torch.linalg.qr(a.double())
    qb, _ = torch.linalg.qr(b.double())
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosines))


def perturbation_subspace_angles(model, data: TensorDataset, eps: float, attack_settings: dict,
                                 rotation_deg: float, k: int = 5, batch_size: int = 500,
                                 mode: str = "nearest", backend: str = "native",
                                 unit: torch.Tensor | None = None) -> dict:  # fmt: skip
    """Paper 000 §3.2: principal angles between the top-k subspaces of PGD perturbations and of
    small-rotation differences (rotate every test image by ``rotation_deg``, subtract the original).
    With ``unit`` (σ) the PGD radius and step are in normalised units and both kinds of difference
    are taken in the normalised space (divided by σ per channel; on one channel the angles are the same)."""
    attacker = make_attack("pgd", model, eps, attack_settings, backend, unit=unit)
    adversarial, rotational = [], []
    for sl, x in float_batches(data.images, batch_size):
        adversarial.append(in_units(attacker.perturb(x, data.labels[sl]) - x, unit).flatten(1).cpu())
        rotational.append(in_units(affine_transform(x, float(rotation_deg), mode=mode) - x, unit).flatten(1).cpu())
    adversarial, rotational = torch.cat(adversarial), torch.cat(rotational)
    angles = principal_angles(top_right_singular_vectors(adversarial, k), top_right_singular_vectors(rotational, k))
    return {"angles_deg": angles.tolist(), "epsilon": float(eps), "rotation_deg": float(rotation_deg), "k": k,
            "adversarial_singular_values": torch.linalg.svdvals(adversarial.double())[:k].tolist(),
            "rotational_singular_values": torch.linalg.svdvals(rotational.double())[:k].tolist()}  # fmt: skip


def spatial_attack_accuracy(model, data, attack: str, settings: dict, generator: torch.Generator) -> dict:
    """Accuracy of ``model`` on ``data`` (a ``TensorDataset``) under a spatial attack: an image counts
    only if it and every transform the attack tries are classified correctly; the attack success
    rate is the fraction of correctly classified images that some transform fools."""
    if attack not in SPATIAL_ATTACKS:
        raise ValueError(f"unknown spatial attack '{attack}'; known: {list(SPATIAL_ATTACKS)}")
    grid = grid_transforms(attack) if attack in GRIDS else None
    clean = predict(model, data.images, settings["batch_size"]) == data.labels
    robust = []
    for sl, x in float_batches(data.images, settings["batch_size"]):
        y = data.labels[sl]
        if grid is not None:
            robust.append(correct_under_all(model, x, y, *grid, settings["transform_batch"]))
        elif attack == "worst-of-k":
            robust.append(worst_of_k(model, x, y, settings["k"], settings["max_deg"], settings["max_px"], generator)[1])
        else:
            spgd = SpatialPGD(model, settings["max_deg"], settings["max_px"], generator=generator, **settings["spgd"])
            robust.append(spgd.perturb(x, y)[2])
    robust = torch.cat(robust) & clean  # the untransformed image is part of every attack
    return {"attack": attack, "accuracy": float(robust.float().mean()), "clean_accuracy": float(clean.float().mean()),
            "attack_success_rate": attack_success_rate(clean, robust),
            "transforms": len(grid[0]) if grid is not None else None,
            "interpolation": INTERPOLATION, "fill": "zero padding"}  # fmt: skip
