"""Paper 004: worst-case (grid) accuracy vs mean training time per epoch of the spatial-training methods."""

from __future__ import annotations

import numpy as np

from ..read import first_evaluation, seed_values
from ..style import _rows, color_palette, dataset_title, model_title, scale_line, spatial_attack_label, subplots
from .spatial_attacks import spatial_models

SECTION = "figures"
DOC = "grid accuracy vs mean training time per epoch of spatial-training methods (paper 004)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per column (as a spatial_attacks table), with its ``spatial`` attack (default: grid775)."""
    return spatial_models(config, panel, where, ["grid775"])


def _epoch_seconds(evaluation: dict) -> float:
    """Mean training time per epoch of the checkpoint an evaluation file was computed on."""
    history = evaluation.get("training_history") or []
    if not history:
        raise ValueError(f"evaluation {evaluation['evaluation']} of {evaluation['recipe']} records no training history; "
                         f"rerun it")  # fmt: skip
    return float(np.mean([h["seconds"] for h in history]))


def draw(plan: dict, evals: dict):
    """Paper 004's runtime comparison: worst-case (grid) accuracy vs mean training time per epoch, one
    point per model; columns sharing a label (worst-of-k for k = 1, 10, 20) are joined by a line."""
    panels = plan["panels"]
    fig, axes = subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    for ax, panel in zip(axes[0], panels):
        attack = next(iter(panel["models"][0]["evals"].values()))
        attack = next(iter(attack)).removeprefix("spatial-")
        labels = list(dict.fromkeys(m["label"] for m in panel["models"]))
        palette = dict(zip(labels, color_palette("tab10", len(labels))))
        for label in labels:
            pts = []
            for m in (m for m in panel["models"] if m["label"] == label):
                secs = np.asarray([_epoch_seconds(evals[by_ev[f"spatial-{attack}"]]) for by_ev in m["evals"].values()])
                acc = 100 * seed_values(m, f"spatial-{attack}", evals, lambda r: r["accuracy"])
                pts.append((secs.mean(), acc.mean(), acc.std(), m["recipe"]))
                _rows(rows, dataset_title(panel), f"{label} [{m['recipe']}] seconds_per_epoch", "", secs.mean(),
                      secs.std(), len(secs))  # fmt: skip
                _rows(rows, dataset_title(panel), f"{label} [{m['recipe']}] {attack}_accuracy", "", acc.mean() / 100,
                      acc.std() / 100, len(acc))  # fmt: skip
            pts.sort()
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", ms=4,
                        capsize=2, color=palette[label], label=label, ls="-" if len(pts) > 1 else "none")  # fmt: skip
            for x, y, _, recipe in pts:
                ax.annotate(recipe, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=6)
        attack_label = spatial_attack_label(attack, first_evaluation(panel, evals, f"spatial-{attack}")["settings"])
        ax.set(xlabel="mean training time per epoch (s)", ylabel=f"{attack_label} accuracy (%)",
               title=model_title(panel))
        ax.legend(fontsize=7)
    fig.suptitle(f"Worst-case spatial accuracy vs training cost (seconds per epoch from each checkpoint's training "
                 f"history: compare runs made on the same machine){scale_line(plan)}", fontsize=9)  # fmt: skip
    return fig, rows
