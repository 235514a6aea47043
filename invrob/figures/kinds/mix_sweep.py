"""Paper 003 Fig 3: natural and PGD accuracy of models trained on D_mix vs the mix ratio α."""

from __future__ import annotations

import numpy as np

from ...units import epsilon_label
from ..plan import mix_sweep
from ..read import first_evaluation, seed_values
from ..style import _line, _rows, _seeds, color_palette, dataset_title, model_title, scale_line, subplots

SECTION = "figures"
DOC = "natural and PGD accuracy of models trained on D_mix vs the mix ratio α (paper 003 Fig 3)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per mix ratio α of ``sweeps.mix`` (group: α), with its clean accuracy and PGD evaluations."""
    return mix_sweep(config, panel, ["clean", *(panel.get("evaluations") or ["pgd-l2", "pgd-linf"])], where)


def draw(plan: dict, evals: dict):
    """Paper 003 Fig 3: natural accuracy and accuracy under ℓ2 / ℓ∞ PGD of models trained on D_mix,
    against the fraction α of every batch taken from the robust dataset D_R."""
    panels = plan["panels"]
    fig, axes = subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    for ax, panel in zip(axes[0], panels):
        models = sorted(panel["models"], key=lambda m: m["group"])
        alphas = [m["group"] for m in models]
        seeds = _seeds(models[0])
        series = {"natural": np.stack([seed_values(m, "clean", evals, lambda r: r["accuracy"]) for m in models], 1)}
        for ev in (e for e in next(iter(models[0]["evals"].values())) if e.startswith("pgd-")):
            r0 = first_evaluation(panel, evals, ev)["results"]
            for i, eps in enumerate(r0["epsilon"]):
                name = f"ℓ∞ PGD ε={epsilon_label(eps)}" if r0["norm"] == "linf" else f"ℓ2 PGD ε={eps:g}"
                series[name] = np.stack([seed_values(m, ev, evals, lambda r, i=i: r["accuracy"][i]) for m in models], 1)
        palette = dict(zip(series, color_palette("tab10", len(series))))
        for name, vals in series.items():
            _line(ax, alphas, vals.mean(0), vals.std(0), seeds, color=palette[name], label=name,
                  ls="--" if name == "natural" else "-")  # fmt: skip
            _rows(rows, dataset_title(panel), name, alphas, vals.mean(0), vals.std(0), seeds)
        ax.set(xlabel="mix ratio α (fraction of each batch from D_R)", ylabel="accuracy (%)", ylim=(0, 101),
               xlim=(-0.02, 1.02), title=model_title(panel))  # fmt: skip
        ax.legend(fontsize=7)
    fig.suptitle(f"Training on D_mix: natural and PGD accuracy vs α{scale_line(plan)}", fontsize=9)
    return fig, rows
