"""Paper 000 Figs 12-18 (App. B): robustness profiles on test images rotated by the training range, or not."""

from __future__ import annotations

from ...training.recipes import rotation_recipe
from ..plan import model_entry, require, robustness_evaluation
from ..read import first_evaluation, profile
from ..style import (
    METRIC_LABELS,
    _colors,
    _line,
    _rows,
    _seeds,
    attack_label,
    model_title,
    robustness_axes,
    scale_line,
    subplots,
)

SECTION = "figures"
DOC = "robustness profiles on test data rotated by the training range, or not (App. B)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per training range θ of ``sweeps.rotation`` (group: θ), with the panel's robustness profile."""
    require(panel, "attack", where)
    return [model_entry(config, panel["dataset"], panel["arch"], rotation_recipe(t), float(t),
                        [robustness_evaluation(panel)]) for t in config["sweeps"]["rotation"]]  # fmt: skip


def draw(plan: dict, evals: dict):
    """Figs 12-18: robustness profiles on rotated (by the training range) or unrotated test data."""
    panels = plan["panels"]
    fig, axes = subplots(1, len(panels), figsize=(5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    for k, (ax, panel) in enumerate(zip(axes[0], panels)):
        ev = robustness_evaluation(panel)
        colors = _colors([m["group"] for m in panel["models"]])
        for model in panel["models"]:
            x, mean, std = profile(model, ev, evals, "epsilon", panel["metric"])
            _line(ax, x, mean, std, _seeds(model), color=colors[model["group"]], label=f"{model['group']:g}")
            _rows(rows, f"{k + 1}:{ev}:{panel['metric']}", f"{model['group']:g}", x, mean, std, _seeds(model))
        test = "train and test rotated ±θ" if panel["test"] == "rotated" else "train rotated ±θ, test unrotated"
        example = first_evaluation(panel, evals, ev)
        ax.set(ylabel=f"{METRIC_LABELS[panel['metric']]} (%)", **robustness_axes(example),
               title=f"{model_title(panel)}\n{attack_label(example)}; {test}")  # fmt: skip
        ax.title.set_fontsize(8)
        ax.legend(title="train θ", fontsize=7, title_fontsize=8)
    fig.suptitle(f"Robustness profiles after test augmentation{scale_line(plan)}", fontsize=9)
    return fig, rows
