"""Robustness profiles of another target's models under several attacks, one line style per attack."""

from __future__ import annotations

import textwrap

from ..plan import robustness_evaluation
from ..read import first_evaluation
from ..style import _colors, _line, _rows, _seeds, attack_label, model_title, robustness_axes, scale_line, subplots
from ._attack_gap import ROTATED, accuracy_on, attacks, check, common_images, group_label, models  # noqa: F401

SECTION = "figures"
DOC = "robustness profiles under each attack (PGD solid, AutoAttack dashed, …) of a trade-off target's models"
STYLES = ["-", "--", ":", "-."]


def draw(plan: dict, evals: dict):
    """One axis per panel: every model's accuracy profile under every attack, colour by model, line style by
    attack, all on the same test images (the attack with the fewest's, as the gap table)."""
    panels = plan["panels"]
    fig, axes = subplots(1, len(panels), figsize=(6 * len(panels), 4.6), squeeze=False)
    rows: list = []
    for c, panel in enumerate(panels):
        ax = axes[0, c]
        evs = [robustness_evaluation(panel, None, a) for a in attacks(panel)]
        labels = [attack_label(first_evaluation(panel, evals, ev)) for ev in evs]
        colors = _colors(list(range(len(panel["models"]))))
        images = common_images(panel, evals, evs)
        for i, model in enumerate(panel["models"]):
            name = group_label(panel, model)
            reference_grid = None
            for ev, label, style in zip(evs, labels, STYLES):
                x, acc = accuracy_on(model, ev, evals, images)
                reference_grid = x if reference_grid is None else reference_grid
                # an attack run at fewer ε than the first (AutoAttack at the headline ε only): its points alone,
                # hollow, since a line between them would cross ε it never ran at
                sparse = set(x) < set(reference_grid)
                _line(ax, x, acc.mean(0), acc.std(0), _seeds(model), color=colors[i],
                      label=f"{name}, {label}", **({"linestyle": "none", "markerfacecolor": "none"}
                                                   if sparse else {"linestyle": style}))  # fmt: skip
                _rows(rows, f"{c + 1}_accuracy_{label}", name, x, acc.mean(0), acc.std(0), _seeds(model))
        ax.text(0.98, 0.02, f"{len(images)} test images", transform=ax.transAxes, ha="right", fontsize=7)
        ax.set(ylabel="accuracy (%)", **robustness_axes(first_evaluation(panel, evals, evs[0])),
               title=textwrap.fill(f"{model_title(panel)}: " + " vs ".join(labels)
                                   + (f", test images{ROTATED}" if panel["test"] == "rotated" else ""), 70))  # fmt: skip
        ax.title.set_fontsize(7)
        ax.legend(fontsize=5, ncol=2)
    fig.suptitle(f"{plan['name']}: robustness under each attack{scale_line(plan)}", fontsize=9)
    return fig, rows
