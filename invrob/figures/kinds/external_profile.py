"""Bring your own checkpoint: one page per model of ``external_models``: its invariance profiles, its
robustness profile under every attack, and its accuracy under the worst-case spatial attacks."""

from __future__ import annotations

import textwrap

from ..style import (
    FAMILY_AXES,
    _line,
    _rows,
    attack_label,
    robustness_axes,
    scale_line,
    space_of,
    subplots,
)
from ._external import check, evals_of, models, of_family, spatial_label, title  # noqa: F401

SECTION = "figures"
DOC = "one page per external model: invariance profiles, robustness under every attack, spatial attacks"


def draw(plan: dict, evals: dict):
    """Four axes: rotation invariance (rate and accuracy, ±θ); translation and RT invariance (±i); accuracy
    against ε under each robustness attack (DeepFool's mean ℓ2 distance in the legend's title); accuracy
    unattacked and under each spatial attack (bars)."""
    panel = plan["panels"][0]
    fig, axes = subplots(2, 2, figsize=(11, 8))
    rows: list = []
    for ax, families in ((axes[0, 0], ["rotation"]), (axes[0, 1], ["translation", "rt"])):
        for family in families:
            ev, x_key, csv_names, family_axes = FAMILY_AXES[family]
            r = evals_of(panel, evals, ev)["results"]
            for y_key, name, style in (("invariance", csv_names[0], "-"), ("accuracy", csv_names[1], "--")):
                _line(ax, r[x_key], r[y_key], [0] * len(r[y_key]), 1, linestyle=style, label=name.replace("_", " "))
                _rows(rows, name, panel["external"], r[x_key], r[y_key], [0] * len(r[y_key]), 1)
        ax.set(ylabel="rate of invariance / accuracy (%)", ylim=(0, 101),
               **{k: v for k, v in family_axes.items() if k in ("xlabel", "xlim")},
               title={"rotation": "rotation invariance", "translation": "translation and rotation-translation "
                      "invariance"}[families[0]])  # fmt: skip
        ax.legend(fontsize=7)
    ax = axes[1, 0]
    robustness = [evals_of(panel, evals, ev) for ev in of_family(panel, "robustness")]
    for e in robustness:
        r, label = e["results"], attack_label(e)
        _line(ax, r["epsilon"], r["accuracy"], [0] * len(r["epsilon"]), 1, label=f"{label}, {e['test_images']} images")
        _rows(rows, f"accuracy_{label}", panel["external"], r["epsilon"], r["accuracy"], [0] * len(r["epsilon"]), 1)
    deepfool = [evals_of(panel, evals, ev) for ev in of_family(panel, "deepfool")]
    note = "".join(f"DeepFool mean ℓ2 distance {d['results']['mean_l2']:.3g} ({space_of(d)} units)" for d in deepfool)
    largest = max(max(e["results"]["epsilon"]) for e in robustness)
    axes_of = robustness_axes(robustness[0])
    ax.set(ylabel="accuracy (%)", title="robustness profiles", **{**axes_of, "xlim": (0, 1.05 * largest or 1)})
    ax.legend(fontsize=6, title=note, title_fontsize=6)
    for d in deepfool:
        _rows(rows, "deepfool_mean_l2", panel["external"], "", d["results"]["mean_l2"], 0.0, 1)
    ax = axes[1, 1]
    spatial = [evals_of(panel, evals, ev) for ev in of_family(panel, "spatial")]
    if spatial:
        names = ["no attack"] + [spatial_label(s) for s in spatial]
        values = [spatial[0]["results"]["clean_accuracy"]] + [s["results"]["accuracy"] for s in spatial]
        ax.barh(range(len(values)), [100 * v for v in values], color="0.4")
        ax.set(yticks=range(len(values)), xlim=(0, 101), xlabel="accuracy (%)",
               title=f"worst-case spatial attacks ({spatial[0]['test_images']} images)")  # fmt: skip
        ax.set_yticklabels([textwrap.fill(n, 28) for n in names], fontsize=7)
        ax.invert_yaxis()
        for name, value in zip(names, values):
            _rows(rows, "spatial_accuracy", name, "", value, 0.0, 1)
    else:
        ax.axis("off")
    fig.suptitle(f"{plan['name']}: {title(panel, evals)}{scale_line(plan)}", fontsize=9)
    fig.tight_layout()
    return fig, rows
