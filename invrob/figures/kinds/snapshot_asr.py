"""Paper 003 Figs 1-2: attack success rate of PGD and spatial attacks on snapshots taken during training."""

from __future__ import annotations

import numpy as np

from ... import paths
from ...config import ConfigError
from ...training.hparams import recipe_hparams
from ...units import epsilon_label
from ..plan import model_entry, require
from ..style import _line, _rows, color_palette, model_title, scale_line, subplots

SECTION = "figures"
DOC = "attack success rate of PGD / spatial attacks on snapshots taken during training (paper 003 Figs 1-2)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """The training run ``recipe`` (group: the recipe), one snapshot-evaluation file per ``evaluations`` entry."""
    recipe = require(panel, "recipe", where)
    evaluations = require(panel, "evaluations", where)
    return [model_entry(config, panel["dataset"], panel["arch"], recipe, recipe, evaluations, panel.get("seeds"),
                        paths.snapshot_evaluation)]  # fmt: skip


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    """Every snapshot epoch must come before the end of the panel's training run."""
    epochs = recipe_hparams(config, panel["dataset"], panel["arch"], panel["recipe"])["epochs"]
    late = [e for e in sorted({int(e) for e in (config.get("snapshots") or {}).get("epochs") or []}) if e > epochs]
    if late:
        raise ConfigError(f"snapshots.epochs: {late} come after the last epoch ({epochs}) of {panel['arch']} / "
                          f"{panel['recipe']}, so no snapshot would be taken there; use epochs up to {epochs}")  # fmt: skip


def _snapshot_series(evaluation: dict) -> dict[str, list[tuple[int, float, float]]]:
    """{series: [(epoch, natural accuracy, attack success rate)]} of one snapshot-evaluation file."""
    out: dict[str, list] = {}
    for snap in evaluation["snapshots"]:
        r = snap["results"]
        if "norm" in r:  # pgd-linf / pgd-l2: one series per ε
            norm = "ℓ∞" if r["norm"] == "linf" else "ℓ2"
            for eps, asr in zip(r["epsilon"], r["attack_success_rate"]):
                name = f"{norm} PGD ε={epsilon_label(eps) if r['norm'] == 'linf' else f'{eps:g}'}"
                out.setdefault(name, []).append((snap["epoch"], r["clean_accuracy"], asr))
        else:
            out.setdefault(r["attack"], []).append((snap["epoch"], r["clean_accuracy"], r["attack_success_rate"]))
    return out


def draw(plan: dict, evals: dict):
    """Paper 003 Figs 1-2: attack success rate (ASR: fooled among the correctly classified) of each
    attack on the snapshots of one training run, against the epoch and against natural accuracy."""
    panels = plan["panels"]
    fig, axes = subplots(len(panels), 2, figsize=(11, 4.2 * len(panels)), squeeze=False)
    rows: list = []
    for (ax_epoch, ax_acc), panel in zip(axes, panels):
        model = panel["models"][0]
        per_seed = [{name: pts for ev in by_ev.values() for name, pts in _snapshot_series(evals[ev]).items()}
                    for by_ev in model["evals"].values()]  # fmt: skip
        names = list(per_seed[0])
        palette = dict(zip(names, color_palette("viridis", len(names))))
        for name in names:
            arr = np.asarray([seed[name] for seed in per_seed], dtype=float)  # seeds × snapshots × 3
            epochs, acc, asr = arr[0, :, 0], arr[:, :, 1].mean(0), arr[:, :, 2]
            _line(ax_epoch, epochs, asr.mean(0), asr.std(0), len(arr), color=palette[name], label=name)
            ax_acc.plot(100 * acc, 100 * asr.mean(0), marker="o", ms=3, color=palette[name], label=name)
            _rows(rows, f"{panel['recipe']} asr_vs_epoch", name, epochs, asr.mean(0), asr.std(0), len(arr))
            _rows(rows, f"{panel['recipe']} natural_accuracy_vs_epoch", name, epochs, acc, arr[:, :, 1].std(0), len(arr))
        ax_epoch.set(xlabel="epoch (snapshot)", ylabel="attack success rate (%)", ylim=(0, 101),
                     title=f"{model_title(panel)}, {panel['recipe']}")  # fmt: skip
        ax_acc.set(xlabel="natural accuracy of the snapshot (%)", ylabel="attack success rate (%)", ylim=(0, 101),
                   title="ASR vs natural accuracy")  # fmt: skip
        ax_epoch.legend(fontsize=7)
    fig.suptitle(f"Attack success rate over training (among correctly classified test images){scale_line(plan)}",
                 fontsize=9)  # fmt: skip
    return fig, rows
