"""The rows of paper 001's Table 1 (a ``cusp`` table) and their statistics, shared by the kinds cusp and pareto."""

from __future__ import annotations

from ...training.recipes import split_stages
from ...units import epsilon_label, parse_epsilon
from .. import published
from ..plan import cusp_rows, model_entry, panel_setting, robustness_evaluation
from ..read import first_evaluation, seed_values, value_at
from ..style import attack_label
from ._checks import require_epsilon_on_grid, require_test_ranges


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """The models of kinds cusp and pareto: one model per row of the table (group: the row number, from 1), labelled as the config writes it."""
    # the PGD column's profile (kind attack_gap asks for the rows' models under its attacks instead)
    evals = ["clean", robustness_evaluation(panel, False, panel.get("attack") or "pgd"), "invariance-rotation"]
    return [{**model_entry(config, panel["dataset"], panel["arch"], recipe, i + 1, evals, panel.get("seeds")),
             "label": label} for i, (label, recipe) in enumerate(cusp_rows(panel, where))]  # fmt: skip


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    """The check of kinds cusp and pareto: the table's ε must be on the dataset's robustness grid, and its spatial range a test range."""
    require_epsilon_on_grid(where, panel, epsilons)
    needed = {float(panel_setting(panel, "rotation"))}
    require_test_ranges(where, needed, thetas)


def paper_table1(panel: dict) -> dict:
    """Paper 001's Table 1 rows by label, when the panel is computed on the paper's dataset and model."""
    return _paper_rows(panel, published.by_setup("paper_001", "cusp_table1"))


def _paper_rows(panel: dict, table: dict) -> dict:
    """The paper's numbers of a table keyed by (dataset, arch), when the panel is computed on those."""
    on_paper_setup = (panel["dataset"], panel["arch"]) == (panel["paper_dataset"], panel["paper_arch"])
    return table.get((panel["dataset"], panel["arch"]), {}) if on_paper_setup else {}


def pareto_optimal(points: list[tuple[float, float]]) -> list[bool]:
    """Whether each (a, b) point is on the Pareto frontier (maximising both): no other point is at
    least as good in both and better in one."""
    return [not any(c >= a and d >= b and (c > a or d > b) for c, d in points) for a, b in points]


def cusp_rows_stats(plan: dict, evals: dict, attack: str = "pgd") -> tuple[dict, list[dict]]:
    """Per row of a cusp table: PGD accuracy (or ``attack``'s) at the table's ε, standard accuracy, spatial
    accuracy (random rotations in ±rotation°), as (mean, std) over seeds in percent; Pareto optimality of
    (PGD, spatial) means among the rows."""
    panel = plan["panels"][0]
    eps, theta = parse_epsilon(panel["epsilon"]), float(panel_setting(panel, "rotation"))
    stats = []
    for model in panel["models"]:
        adv = 100 * value_at(model, robustness_evaluation(panel, False, attack), evals, "epsilon", "accuracy", eps)
        std = 100 * seed_values(model, "clean", evals, lambda r: r["accuracy"])
        spatial = 100 * value_at(model, "invariance-rotation", evals, "theta", "accuracy", theta)
        stats.append({"index": model["group"], "label": model["label"], "recipe": model["recipe"],
                      "seeds": len(adv), **{k: (v.mean(), v.std()) for k, v in
                                            (("adv", adv), ("std", std), ("spatial", spatial))}})  # fmt: skip
    for row, optimal in zip(stats, pareto_optimal([(r["adv"][0], r["spatial"][0]) for r in stats])):
        row["pareto"] = optimal
    return panel, stats


def _cusp_axes_labels(panel: dict, evals: dict) -> tuple[str, str]:
    eps, theta = epsilon_label(parse_epsilon(panel["epsilon"])), f"{float(panel.get('rotation', 180)):g}"
    example = first_evaluation(panel, evals, robustness_evaluation(panel, False, "pgd"))
    return f"{attack_label(example)} accuracy at ε={eps} (%)", f"spatial accuracy, rotations in ±{theta}° (%)"


def is_cusp(recipe: str) -> bool:
    """Whether the last stage of a recipe trains with CuSP (its `cusp` token; not `schedcusp`)."""
    return "cusp" in split_stages(recipe)[1].split("-")
