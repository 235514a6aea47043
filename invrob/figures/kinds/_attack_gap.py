"""The models of the attack_gap and attack_profiles kinds: another target's models under several attacks."""

from __future__ import annotations

import numpy as np

from ...config import ConfigError
from ...evaluation.settings import robustness_epsilons
from ...units import epsilon_label, parse_epsilon
from .. import kinds
from ..plan import PlanError

DEFAULT_ATTACKS = ["pgd", "autoattack"]
ROTATED = " rotated by each model's training range"  # what a rotated_robustness source's test data are
# the kinds whose models these kinds re-evaluate: one robustness profile per model, read by ``attack``
# (on the source panel's test data: rotated by each model's training range for rotated_robustness panels)
SOURCE_KINDS = ("rotation_tradeoff", "spatial_tradeoff", "adversarial_tradeoff", "rotated_robustness", "cusp")


def attacks(panel: dict) -> list[str]:
    """The attacks compared (the first is the reference the gaps are taken from)."""
    return list(panel.get("attacks") or DEFAULT_ATTACKS)


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """The source target's models (its groups: training θ, ε or table row), each with the robustness
    profile of every attack of ``attacks`` (and whatever else the source reads)."""
    source = panel.get("source_kind")
    if source not in SOURCE_KINDS:
        raise PlanError(f"{where}: 'source' must name a figure or table of a kind in {list(SOURCE_KINDS)} "
                        f"(got kind '{source}')")  # fmt: skip
    merged: list[dict] = []
    for attack in attacks(panel):
        for i, model in enumerate(kinds.get(source).models(config, {**panel, "attack": attack}, where)):
            if i == len(merged):
                merged.append(model)
            else:
                for seed, evals in model["evals"].items():
                    merged[i]["evals"][seed].update(evals)
    return merged


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    """The gap's ε (when the kind reads one) on every attack's robustness grid; the source's own check."""
    if "epsilon" in panel:
        for attack in attacks(panel):
            grid = {round(e, 9) for e in robustness_epsilons(config, panel["dataset"], attack)}
            if round(parse_epsilon(panel["epsilon"]), 9) not in grid:
                raise ConfigError(f"{where}: epsilon {panel['epsilon']} is not on the {attack} robustness grid of "
                                  f"{panel['dataset']} (evaluation.per_attack.{attack}.dataset_epsilons or .epsilons, "
                                  f"datasets.{panel['dataset']}.epsilons or evaluation.epsilons); add it there")  # fmt: skip
    source = kinds.get(panel["source_kind"])
    if hasattr(source, "check"):
        source.check(config, where, panel, thetas, epsilons)
    if len(set(attacks(panel))) < 2:
        raise ConfigError(f"{where}: 'attacks' must name two different attacks (got {attacks(panel)})")


def common_images(panel: dict, evals: dict, evaluations: list[str]) -> list[int]:
    """The test images (positions in the test split) every attack ran on: the smallest attacked subset
    (each attack's class-balanced subset of the others', ``TensorDataset.balanced``)."""
    sets = [set(evals[by_ev[ev]]["results"]["test_positions"]) for model in panel["models"]
            for by_ev in model["evals"].values() for ev in evaluations]  # fmt: skip
    return sorted(set.intersection(*sets))


def accuracy_on(model: dict, evaluation: str, evals: dict, images: list[int]) -> tuple[list[float], np.ndarray]:
    """(ε grid, accuracy per seed × ε) of a robustness profile on the test images ``images`` (positions in
    the test split), from the per-image outcomes (``correct``) the profile records."""
    files = [evals[by_ev[evaluation]]["results"] for by_ev in model["evals"].values()]
    acc = []
    for r in files:
        where = {p: i for i, p in enumerate(r["test_positions"])}
        acc.append([sum(flags[where[p]] == "1" for p in images) / len(images) for flags in r["correct"]])
    return files[0]["epsilon"], np.asarray(acc)


def group_label(panel: dict, model: dict) -> str:
    """What a model stands for in its source: its table row, training ε or training θ / range."""
    if "label" in model:
        return f"{model['group']}. {model['label']}"
    if panel["source_kind"] == "adversarial_tradeoff":
        return f"train ε {epsilon_label(model['group'])}"
    return f"train range {model['group']:g}"
