"""Per-checkpoint evaluations, one JSON file each (``invrob.paths.EVALUATION``).

Each evaluation is a function ``f(model, test_set, settings, log, training) -> dict`` registered
in ``EVALUATIONS`` (``training``: the checkpoint's hyperparameters, e.g. its rotation range for
the ``-rotated`` evaluations, whose test images are rotated by the model's own training range).
``run_evaluation`` loads the checkpoint and the test split, seeds every random choice (rotation
angles, PGD random starts) from ``settings['seed']``, runs the function and returns its results
together with what produced them (checkpoint metadata, settings, time), so every figure can say
exactly what it shows.

Which evaluations exist and what their names mean: ``invrob.evaluation.names``; the settings each
depends on: ``invrob.evaluation.settings``.  Every file also records the checkpoint's training
history (epoch times for the runtime comparison of paper 004), and the ε space of a spaced
evaluation (``settings['epsilon_space']``, ``settings['epsilon_unit']`` = σ; see
``invrob.attacks.base.in_pixels``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch

from .. import catalog
from ..attacks import SPATIAL_ATTACKS
from ..attacks.base import channel_unit
from ..data.registry import get_spec
from ..data.splits import TensorDataset, load_split
from ..io import CheckpointError, checkpoint_header, identity_mismatch, load_checkpoint
from ..models import BUILDERS, build_checkpoint_model, build_model
from . import names
from .measures import (
    autoattack_success_profile,
    clean_accuracy,
    deepfool_distances,
    invariance_profile,
    perturbation_subspace_angles,
    pgd_success_profile,
    robustness_profile,
    rotation_by_range,
    spatial_attack_accuracy,
)
from .names import INVARIANCE_FAMILIES, PGD_NORMS


def _unit(settings: dict, data: TensorDataset):
    """σ (1×C×1×1) when the evaluation's ε is in normalised units, else None (pixels)."""
    if settings.get("epsilon_space", "pixel") == "pixel":
        return None
    return channel_unit(settings["epsilon_unit"], data.images.device)


def _clean(model, data, settings, log, training) -> dict:
    acc = clean_accuracy(model, data, settings["batch_size"])
    log(f"clean accuracy {acc:.4f}")
    return {"accuracy": acc}


def _invariance(family: str):
    # rotation profiles are read by θ (``thetas`` / ``theta``), the others by range i
    levels_key, x_key = ("thetas", "theta") if family == "rotation" else ("ranges", "range")

    def evaluate(model, data, settings, log, training) -> dict:
        gen = torch.Generator(device=data.images.device).manual_seed(settings["seed"])
        out = invariance_profile(model, data, settings[levels_key], gen, family, settings["batch_size"],
                                 settings["interpolation"])  # fmt: skip
        out = {x_key: out.pop("range"), **out}
        for r, inv, acc in zip(out[x_key], out["invariance"], out["accuracy"]):
            log(f"{family} range {r:g}: invariance {inv:.4f}, accuracy {acc:.4f}")
        return out

    return evaluate


def _test_rotation(data, settings, training, rotated: bool):
    """None, or the rotation of the test images by the model's training range (seeded)."""
    if not rotated:
        return None
    gen = torch.Generator(device=data.images.device).manual_seed(settings["seed"])
    return rotation_by_range(len(data), training["rotation"], gen, data.images.device, settings["interpolation"])


def _robustness(attack: str, rotated: bool = False):
    def evaluate(model, data, settings, log, training) -> dict:
        transform = _test_rotation(data, settings, training, rotated)
        torch.manual_seed(settings["seed"])  # PGD random starts (global RNG, as advertorch)
        out = robustness_profile(model, data, settings["epsilons"], attack, settings["attack"], settings["backend"],
                                 settings["batch_size"], log, transform, _unit(settings, data))  # fmt: skip
        return {**out, "test_rotation": float(training["rotation"]) if rotated else 0.0,
                "epsilon_space": settings["epsilon_space"]}

    return evaluate


def _deepfool(rotated: bool):
    def evaluate(model, data, settings, log, training) -> dict:
        transform = _test_rotation(data, settings, training, rotated)
        out = deepfool_distances(model, data, settings["batch_size"], settings["overshoot"], settings["max_iter"],
                                 transform, _unit(settings, data), settings.get("clip", False))  # fmt: skip
        log(f"DeepFool: mean ℓ2 distance {out['mean_l2']:.4f} ({settings['epsilon_space']} units) over "
            f"{out['points']} points ({out['not_converged']} not converged)")  # fmt: skip
        return {**out, "test_rotation": float(training["rotation"]) if rotated else 0.0,
                "epsilon_space": settings["epsilon_space"]}

    return evaluate


def _principal_angles(model, data, settings, log, training) -> dict:
    torch.manual_seed(settings["seed"])
    out = perturbation_subspace_angles(model, data, settings["epsilon"], settings["attack"], settings["rotation_deg"],
                                       settings["k"], settings["batch_size"], settings["interpolation"],
                                       settings["backend"], _unit(settings, data))  # fmt: skip
    log("principal angles (deg): " + ", ".join(f"{a:.2f}" for a in out["angles_deg"]))
    return {**out, "epsilon_space": settings["epsilon_space"]}


def _pgd_success(norm: str):
    def evaluate(model, data, settings, log, training) -> dict:
        torch.manual_seed(settings["seed"])  # ℓ∞ random starts
        return pgd_success_profile(model, data, norm, settings["epsilons"], settings, settings["batch_size"], log)

    return evaluate


def _autoattack_success(norm: str):
    def evaluate(model, data, settings, log, training) -> dict:
        torch.manual_seed(settings["seed"])  # APGD's starts, Square's draws (the global RNG, as robustness-autoattack)
        return autoattack_success_profile(model, data, norm, settings["epsilons"], settings["attack"],
                                          settings["batch_size"], log)  # fmt: skip

    return evaluate


def _spatial_attack(attack: str):
    def evaluate(model, data, settings, log, training) -> dict:
        gen = torch.Generator(device=data.images.device).manual_seed(settings["seed"])
        out = spatial_attack_accuracy(model, data, attack, settings, gen)
        log(f"spatial attack {attack}: accuracy {out['accuracy']:.4f} (clean {out['clean_accuracy']:.4f}), "
            f"attack success rate {out['attack_success_rate']:.4f}; bilinear interpolation, zero padding")  # fmt: skip
        return out

    return evaluate


# by base name (the ε space is the settings' ``epsilon_space``: the functions read it)
EVALUATIONS: dict[str, Callable] = {
    "clean": _clean,
    **{f"invariance-{family}": _invariance(family) for family in INVARIANCE_FAMILIES},
    **{f"robustness-{attack}": _robustness(attack) for attack in catalog.names(catalog.ATTACKS)},
    **{f"robustness-{attack}-rotated": _robustness(attack, rotated=True) for attack in catalog.names(catalog.ATTACKS)},
    "deepfool": _deepfool(rotated=False),
    "deepfool-rotated": _deepfool(rotated=True),
    "principal-angles": _principal_angles,
    **{f"pgd-{norm}": _pgd_success(norm) for norm in PGD_NORMS},
    **{f"autoattack-{norm}": _autoattack_success(norm) for norm in PGD_NORMS},
    **{f"spatial-{attack}": _spatial_attack(attack) for attack in SPATIAL_ATTACKS},
}


def load_model(checkpoint: str | Path, device, prepare_model: Callable | None = None,
               expected: dict | None = None) -> tuple[torch.nn.Module, dict]:  # fmt: skip
    """The model of ``checkpoint`` in eval mode; ``expected`` (dataset, arch, recipe, seed: the keys
    of its path) must match what the checkpoint says it is, so that a file copied or moved by hand
    is never evaluated under another model's name."""
    ckpt = load_checkpoint(checkpoint)
    mismatch = identity_mismatch(ckpt, expected or {})
    if mismatch:
        raise CheckpointError(f"checkpoint {checkpoint} is not the model its path names: {mismatch}. Put the "
                              f"right file there, or delete it and rerun your snakemake command to train it")  # fmt: skip
    model = build_model(ckpt["arch"], get_spec(ckpt["dataset"]))
    model.load_state_dict(ckpt["state_dict"])
    model.to(device).eval()
    if prepare_model is not None:
        model = prepare_model(model)
    for p in model.parameters():  # attacks need input gradients only
        p.requires_grad_(False)
    return model, ckpt


def load_evaluated_model(checkpoint: str | Path, device, prepare_model: Callable | None = None,
                         expected: dict | None = None) -> tuple[torch.nn.Module, dict]:  # fmt: skip
    """``load_model``, or for a checkpoint whose arch is not of the zoo (a model of external_models, imported
    by ``invrob.external``) its builder's network, checked and prepared the same way.  (``load_model`` itself
    is left as the robust dataset D_R reaches it: importing models reran no D_R and no training on it.)"""
    try:
        arch = checkpoint_header(checkpoint).get("arch")  # plain values only: no weights read twice
    except CheckpointError:
        arch = None  # load_model says what is wrong with the file
    if arch not in BUILDERS:
        return load_model(checkpoint, device, prepare_model, expected)
    ckpt = load_checkpoint(checkpoint)
    mismatch = identity_mismatch(ckpt, expected or {})
    if mismatch:
        raise CheckpointError(f"checkpoint {checkpoint} is not the model its path names: {mismatch}. Delete it and "
                              f"rerun your snakemake command to import it again")  # fmt: skip
    model = build_checkpoint_model(arch, get_spec(ckpt["dataset"]), ckpt)
    model.load_state_dict(ckpt["state_dict"])
    model.to(device).eval()
    model = prepare_model(model) if prepare_model is not None else model
    return model.requires_grad_(False), ckpt  # attacks need input gradients only


def _select(split: TensorDataset, settings: dict) -> TensorDataset:
    test = split.subset(settings.get("test_subset"))
    return test.balanced(settings["attacked"]) if settings.get("attacked") is not None else test


def test_images(data_dir: str | Path, dataset: str, settings: dict) -> TensorDataset:
    """The test images of an evaluation: the ``test_subset``, and of those the class-balanced
    ``attacked`` subset when an attack runs on fewer (``evaluation.robustness_test_subset``)."""
    return _select(load_split(data_dir, dataset, "test"), settings)


def test_positions(data_dir: str | Path, dataset: str, settings: dict) -> list[int]:
    """Which images of the test split ``test_images`` are, in its order: the same selection applied to
    the positions themselves, so per-image outcomes of evaluations on different subsets can be matched."""
    split = load_split(data_dir, dataset, "test")
    positions = torch.arange(len(split)).view(-1, 1, 1, 1)
    return _select(TensorDataset(positions, split.labels, split.spec), settings).images.flatten().tolist()


def run_evaluation(name: str, checkpoint: str | Path, data_dir: str | Path, settings: dict,
                   device="cpu", log: Callable[[str], None] = print,
                   prepare_model: Callable | None = None, test_set: TensorDataset | None = None,
                   expected: dict | None = None) -> dict:  # fmt: skip
    """Evaluation ``name`` of one checkpoint; ``test_set`` (already subset and on the device) saves
    reading the test split again when several checkpoints of one dataset are evaluated in a row;
    ``expected``: what the checkpoint must be (see ``load_model``, ``load_evaluated_model``)."""
    base = names.parse(name).base
    model, ckpt = load_evaluated_model(checkpoint, device, prepare_model, expected)
    if test_set is None:
        test_set = test_images(data_dir, ckpt["dataset"], settings).to(device)
    log(f"{name}: {ckpt['arch']} / {ckpt['hparams']['recipe']} / seed {ckpt['seed']} on {len(test_set)} "
        f"{ckpt['dataset']} test images, device {device}")  # fmt: skip
    t0 = time.perf_counter()
    results = EVALUATIONS[base](model, test_set, settings, log, ckpt["hparams"])
    if "correct" in results:  # per-image outcomes: which test images they are
        results["test_positions"] = test_positions(data_dir, ckpt["dataset"], settings)
    return {
        "evaluation": name,
        "dataset": ckpt["dataset"],
        "arch": ckpt["arch"],
        # the evaluation's own name; `training` is the run's, whose recipe may be an equivalent one (pgd0: rot0)
        "recipe": (expected or {}).get("recipe", ckpt["hparams"]["recipe"]),
        "seed": ckpt["seed"],
        "training": ckpt["hparams"],
        "test_images": len(test_set),
        "settings": settings,
        "results": results,
        "training_history": ckpt.get("history") or [],
        "seconds": time.perf_counter() - t0,
        "device": str(device),
    }
