"""Per-checkpoint evaluations, one JSON file each (``results/…/seed{s}/eval/{name}.json``).

Each evaluation is a function ``f(model, test_set, settings, log, training) -> dict`` registered
in ``EVALUATIONS`` (``training``: the checkpoint's hyperparameters, e.g. its rotation range for
the ``-rotated`` evaluations, whose test images are rotated by the model's own training range).
``run_evaluation`` loads the checkpoint and the test split, seeds every random choice (rotation
angles, PGD random starts) from ``settings['seed']``, runs the function and returns its results
together with what produced them (checkpoint metadata, settings, time), so every figure can say
exactly what it shows.

Evaluations: ``clean``; ``invariance-rotation`` (rate of invariance and accuracy per test range
±θ); ``invariance-translation`` / ``invariance-rt`` (the same per range i: shifts within ±i × size,
or rotations within ±i·180° with shifts within ±i; paper 001); ``robustness-{pgd,fgsm}[-rotated]`` (accuracy and 1 − fooling rate per ε); ``deepfool[-rotated]``
(average ℓ2 perturbation distance, paper 000 §3.1); ``principal-angles`` (§3.2); ``spatial-{grid775,
grid135,grid775-10,rot30,rot10,worst-of-k,spgd}`` (worst-case spatial accuracy, papers 003/004;
see ``invrob.spatial``); ``pgd-linf`` / ``pgd-l2`` (accuracy and attack success rate of paper 003's
ℓ∞ and ℓ2 PGD per ε).  Every file also records the checkpoint's training history (epoch times
for the runtime comparison of paper 004).

The space of ε: the evaluations with a radius or a distance (``SPACED``) take ε and report
DeepFool distances in pixel units; the same name with the suffix ``-normalized`` (e.g.
``robustness-pgd-normalized``) takes them in units of the input normalised by the dataset's
per-channel std, as paper 000 does (``settings['epsilon_space']``, ``settings['epsilon_unit']`` = σ;
see ``invrob.attacks.in_pixels``).  Every such file records its space.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch

from .attacks import EPSILON_SPACES, channel_unit
from .data import TensorDataset, get_spec, load_split
from .io import CheckpointError, identity_mismatch, load_checkpoint
from .metrics import (
    clean_accuracy,
    deepfool_distances,
    invariance_profile,
    perturbation_subspace_angles,
    pgd_success_profile,
    robustness_profile,
    rotation_by_range,
)
from .models import build_model
from .spatial import SPATIAL_ATTACKS, spatial_attack_accuracy


# evaluations with an ε or a perturbation distance: each also exists in the normalised space
SPACED = ("robustness-pgd", "robustness-fgsm", "robustness-pgd-rotated", "robustness-fgsm-rotated", "deepfool",
          "deepfool-rotated", "principal-angles")  # fmt: skip
NORMALIZED_SUFFIX = "-normalized"


def in_space(evaluation: str, space: str) -> str:
    """The name of ``evaluation`` (one of ``SPACED``) with ε in ``space`` ('pixel' or 'normalized')."""
    if space not in EPSILON_SPACES:
        raise ValueError(f"unknown epsilon space '{space}'; choose one of {EPSILON_SPACES}")
    return evaluation + NORMALIZED_SUFFIX if space == "normalized" else evaluation


def split_space(evaluation: str) -> tuple[str, str]:
    """(base name, ε space) of an evaluation name: 'deepfool-normalized' → ('deepfool', 'normalized')."""
    if evaluation.endswith(NORMALIZED_SUFFIX) and evaluation.removesuffix(NORMALIZED_SUFFIX) in SPACED:
        return evaluation.removesuffix(NORMALIZED_SUFFIX), "normalized"
    return evaluation, "pixel"


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
                                 transform, _unit(settings, data))  # fmt: skip
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


def _spatial_attack(attack: str):
    def evaluate(model, data, settings, log, training) -> dict:
        gen = torch.Generator(device=data.images.device).manual_seed(settings["seed"])
        out = spatial_attack_accuracy(model, data, attack, settings, gen)
        log(f"spatial attack {attack}: accuracy {out['accuracy']:.4f} (clean {out['clean_accuracy']:.4f}), "
            f"attack success rate {out['attack_success_rate']:.4f}; bilinear interpolation, zero padding")  # fmt: skip
        return out

    return evaluate


EVALUATIONS: dict[str, Callable] = {
    "clean": _clean,
    "invariance-rotation": _invariance("rotation"),
    "invariance-translation": _invariance("translation"),
    "invariance-rt": _invariance("rt"),
    "robustness-pgd": _robustness("pgd"),
    "robustness-fgsm": _robustness("fgsm"),
    "robustness-pgd-rotated": _robustness("pgd", rotated=True),
    "robustness-fgsm-rotated": _robustness("fgsm", rotated=True),
    "deepfool": _deepfool(rotated=False),
    "deepfool-rotated": _deepfool(rotated=True),
    "principal-angles": _principal_angles,
    # the same with ε and distances in normalised units (``in_space``; the functions read the settings' space)
    "robustness-pgd-normalized": _robustness("pgd"),
    "robustness-fgsm-normalized": _robustness("fgsm"),
    "robustness-pgd-rotated-normalized": _robustness("pgd", rotated=True),
    "robustness-fgsm-rotated-normalized": _robustness("fgsm", rotated=True),
    "deepfool-normalized": _deepfool(rotated=False),
    "deepfool-rotated-normalized": _deepfool(rotated=True),
    "principal-angles-normalized": _principal_angles,
    "pgd-linf": _pgd_success("linf"),
    "pgd-l2": _pgd_success("l2"),
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


def test_images(data_dir: str | Path, dataset: str, settings: dict) -> TensorDataset:
    """The test images of an evaluation: the ``test_subset``, and of those the class-balanced
    ``attacked`` subset when an attack runs on fewer (``evaluation.robustness_test_subset``)."""
    test = load_split(data_dir, dataset, "test").subset(settings.get("test_subset"))
    return test.balanced(settings["attacked"]) if settings.get("attacked") is not None else test


def run_evaluation(name: str, checkpoint: str | Path, data_dir: str | Path, settings: dict,
                   device="cpu", log: Callable[[str], None] = print,
                   prepare_model: Callable | None = None, test_set: TensorDataset | None = None,
                   expected: dict | None = None) -> dict:  # fmt: skip
    """Evaluation ``name`` of one checkpoint; ``test_set`` (already subset and on the device) saves
    reading the test split again when several checkpoints of one dataset are evaluated in a row;
    ``expected``: what the checkpoint must be (see ``load_model``)."""
    if name not in EVALUATIONS:
        raise ValueError(f"unknown evaluation '{name}'; known: {sorted(EVALUATIONS)}")
    model, ckpt = load_model(checkpoint, device, prepare_model, expected)
    if test_set is None:
        test_set = test_images(data_dir, ckpt["dataset"], settings).to(device)
    log(f"{name}: {ckpt['arch']} / {ckpt['hparams']['recipe']} / seed {ckpt['seed']} on {len(test_set)} "
        f"{ckpt['dataset']} test images, device {device}")  # fmt: skip
    t0 = time.perf_counter()
    results = EVALUATIONS[name](model, test_set, settings, log, ckpt["hparams"])
    return {
        "evaluation": name,
        "dataset": ckpt["dataset"],
        "arch": ckpt["arch"],
        "recipe": ckpt["hparams"]["recipe"],
        "seed": ckpt["seed"],
        "training": ckpt["hparams"],
        "test_images": len(test_set),
        "settings": settings,
        "results": results,
        "training_history": ckpt.get("history") or [],
        "seconds": time.perf_counter() - t0,
        "device": str(device),
    }
