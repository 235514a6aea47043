"""The trade-off figures' drawing, shared by the kinds rotation_tradeoff, spatial_tradeoff and adversarial_tradeoff."""

from __future__ import annotations

import textwrap

from ...units import epsilon_label
from ..plan import invariance_families, panel_setting, robustness_evaluation
from ..read import first_evaluation, profile, seed_values
from ..style import (
    FAMILY_AXES,
    METRIC_LABELS,
    TRAINING_DESCRIPTIONS,
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


def tradeoff_evaluations(kind: str, panel: dict) -> list[str]:
    """The evaluations of a trade-off panel: clean accuracy, its invariance profiles, its robustness profile."""
    return ["clean", *(f"invariance-{f}" for f in invariance_families(kind, panel)), robustness_evaluation(panel, False)]


def tradeoff_columns(panel: dict, families: list[str]) -> tuple[int, list[int]]:
    """(robustness column, invariance columns) of a trade-off panel: robustness first, or after the
    invariance profiles when the panel says ``invariance_first`` (paper 000 Figs 5, 6, 30, 31 and
    paper 001 Fig 1 put the invariance profile on the left)."""
    if panel.get("invariance_first"):
        return len(families), list(range(len(families)))
    return 0, list(range(1, 1 + len(families)))


def draw_tradeoff(plan: dict, evals: dict):
    """Figs 1-6, 26-31 (paper 000), Figs 1-4 (paper 001): per panel, the robustness profile and the
    invariance profiles, one line per training θ / i (spatial sweeps) or ε (adversarial sweeps)."""
    adversarial = plan["kind"] == "adversarial_tradeoff"
    panels = plan["panels"]
    families = [invariance_families(plan["kind"], panel) for panel in panels]
    ncols = 1 + max(len(f) for f in families)
    fig, axes = subplots(len(panels), ncols, figsize=(5 * ncols, 4.4 * len(panels)), squeeze=False)
    rows: list = []
    for r, (panel, fams) in enumerate(zip(panels, families)):
        prefix = f"{r + 1}_" if len(panels) > 1 else ""
        metric, rob_ev = panel["metric"], robustness_evaluation(panel, False)
        rob_col, inv_cols = tradeoff_columns(panel, fams)
        groups = [m["group"] for m in panel["models"]]
        colors = _colors(groups if not adversarial else list(range(len(groups))))
        for i, model in enumerate(panel["models"]):
            g, n = model["group"], _seeds(model)
            label = epsilon_label(g) if adversarial else f"{g:g}"
            color = colors[i if adversarial else g]
            x, mean, std = profile(model, rob_ev, evals, "epsilon", metric)
            _line(axes[r, rob_col], x, mean, std, n, color=color, label=label)
            _rows(rows, f"{prefix}robustness_{metric}", label, x, mean, std, n)
            for c, family in zip(inv_cols, fams):
                evaluation, x_key, (inv_name, acc_name), _ = FAMILY_AXES[family]
                x, mean, std = profile(model, evaluation, evals, x_key, "invariance")
                _line(axes[r, c], x, mean, std, n, color=color, label=label)
                _rows(rows, prefix + inv_name, label, x, mean, std, n)
                _rows(rows, prefix + acc_name, label, *profile(model, evaluation, evals, x_key, "accuracy"), n)
            acc = seed_values(model, "clean", evals, lambda res: res["accuracy"])
            _rows(rows, f"{prefix}clean_accuracy", label, "", acc.mean(), acc.std(), n)
        method = panel_setting(panel, "method").upper()
        legend, how = ((f"train ε ({method})", f"adversarially trained with {method} at radius ε") if adversarial
                       else TRAINING_DESCRIPTIONS[fams[0]])  # fmt: skip
        example = first_evaluation(panel, evals, rob_ev)
        title = textwrap.fill(f"{model_title(panel)}, {how}", 70)
        axes[r, rob_col].set(ylabel=f"{METRIC_LABELS[metric]} (%)", **robustness_axes(example),
                             title=f"{title}\n{attack_label(example)} robustness profile")  # fmt: skip
        axes[r, rob_col].title.set_fontsize(7)
        axes[r, rob_col].legend(title=legend, fontsize=7, title_fontsize=8)
        for c, family in zip(inv_cols, fams):
            axes[r, c].set(**FAMILY_AXES[family][3])
        for c in range(1 + len(fams), ncols):
            axes[r, c].axis("off")
    if len(panels) == 1:
        panel = panels[0]
        names = [FAMILY_AXES[f][3]["title"] for f in families[0]]
        robustness = f"robustness ({METRIC_LABELS[panel['metric']]})"
        order = [*names, robustness] if panel.get("invariance_first") else [robustness, *names]
        fig.suptitle(f"{model_title(panel)}: {' | '.join(order)}{scale_line(plan)}", fontsize=9)
    else:
        fig.suptitle(f"{plan['name']}{scale_line(plan)}", fontsize=9)
    return fig, rows
