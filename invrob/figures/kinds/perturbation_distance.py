"""Paper 000 Figs 8-11, 19-20: accuracy with and without the attack, and the DeepFool distance, vs training θ."""

from __future__ import annotations

import numpy as np

from ...training.recipes import rotation_recipe
from ...units import parse_epsilon
from ..plan import model_entry, require, robustness_evaluation, spaced
from ..read import first_evaluation, seed_values, value_at
from ..style import SPACE_LABELS, _line, _rows, _seeds, attack_label, model_title, scale_line, space_of, subplots
from ._checks import require_epsilon_on_grid

SECTION = "figures"
DOC = "accuracy with/without the attack on rotated/unrotated test | DeepFool distance (§3.1)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per training range θ of ``sweeps.rotation`` (group: θ), each with its robustness
    profiles on rotated and unrotated test images and its DeepFool distances."""
    require(panel, "attack", where)
    require(panel, "epsilon", where)
    evals = [robustness_evaluation(panel, False), robustness_evaluation(panel, True), spaced(panel, "deepfool"),
             spaced(panel, "deepfool-rotated")]  # fmt: skip
    return [model_entry(config, panel["dataset"], panel["arch"], rotation_recipe(t), float(t), evals)
            for t in config["sweeps"]["rotation"]]  # fmt: skip


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    """The panel's ε must be on the dataset's robustness grid."""
    require_epsilon_on_grid(where, panel, epsilons)


def draw(plan: dict, evals: dict):
    """Figs 8-11, 19-20: accuracy with/without the attack on rotated/unrotated test | DeepFool distance."""
    panel = plan["panels"][0]
    eps = parse_epsilon(panel["epsilon"])
    attack = panel["attack"]
    thetas = [m["group"] for m in panel["models"]]
    rotated, unrotated = robustness_evaluation(panel, True), robustness_evaluation(panel, False)
    series = {
        "train+test rotated, no attack": (rotated, 0.0),
        f"train+test rotated, {attack.upper()} ε={eps:g}": (rotated, eps),
        f"train rotated, unrotated test, {attack.upper()} ε={eps:g}": (unrotated, eps),
    }
    fig, (left, right) = subplots(1, 2, figsize=(10, 4.4))
    rows: list = []
    n = _seeds(panel["models"][0])
    for (label, (ev, at)), color in zip(series.items(), ("tab:blue", "tab:green", "tab:red")):
        values = np.stack([value_at(m, ev, evals, "epsilon", "accuracy", at) for m in panel["models"]], axis=1)
        _line(left, thetas, values.mean(0), values.std(0), n, color=color, label=label)
        _rows(rows, "accuracy", label, thetas, values.mean(0), values.std(0), n)
    for label, ev, color in (("unrotated test", spaced(panel, "deepfool"), "tab:red"),
                             ("test rotated ±θ", spaced(panel, "deepfool-rotated"), "tab:green")):  # fmt: skip
        values = np.stack([seed_values(m, ev, evals, lambda r: r["mean_l2"]) for m in panel["models"]], axis=1)
        _line(right, thetas, values.mean(0), values.std(0), n, color=color, label=label, scale=1.0)
        _rows(rows, "deepfool_mean_l2", label, thetas, values.mean(0), values.std(0), n)
    left.set(xlabel="training rotation range ±θ°", ylabel="accuracy (%)", xlim=(0, 180), ylim=(0, 101),
             title="accuracy")  # fmt: skip
    example = first_evaluation(panel, evals, unrotated)
    units = SPACE_LABELS[space_of(example)].split(" (")[0]
    right.set(xlabel="training rotation range ±θ°", ylabel=f"mean ℓ2 DeepFool perturbation ({units})",
              xlim=(0, 180), title="average perturbation distance")  # fmt: skip
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.suptitle(f"{model_title(panel)}, trained with random rotations in [−θ°, θ°]\n"
                 f"{attack_label(example)} at ε={eps:g}; DeepFool (ℓ2, {units}){scale_line(plan)}",
                 fontsize=9)  # fmt: skip
    return fig, rows
