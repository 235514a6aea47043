"""Paper 001 §3 simulated: every classifier of the cyclic-code distribution as a point beside Theorem 2's bound."""

from __future__ import annotations

import numpy as np

from ... import paths
from ...theory import settings as theory_settings
from ..style import subplots

SECTION = "figures"
CHECKPOINTS = False  # a simulation: no dataset, architecture or checkpoint to check
DOC = (
    "adversarial vs spatial accuracy of classifiers of paper 001 §3's cyclic-code distribution, with "
    "Theorem 2's bound (the `theory:` settings; invrob.theory)"
)


TRAINING_COLORS = {"none": "black", "natural": "tab:blue", "adversarial": "tab:red", "shift": "tab:green"}
MODEL_MARKERS = {"bayes": "*", "x0": "s", "linear": "o", "mlp": "^"}
MODEL_COLORS_TEXT = {"linear": "tab:red", "mlp": "darkred"}


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """No checkpoint: the simulation's one results file (``invrob.theory``; group: "simulation")."""
    return [{"dataset": panel["dataset"], "arch": panel["arch"], "recipe": "p001", "group": "simulation",
             "simulated": True, "evals": {"0": {"theorem2": paths.THEORY}}}]  # fmt: skip


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    """The simulation's settings (``theory:``) must be set and consistent."""
    theory_settings(config)


def draw(plan: dict, evals: dict):
    (path,) = plan["panels"][0]["models"][0]["evals"]["0"].values()
    r = evals[path]["results"]
    p, eps = r["p"], r["theorem2_epsilon"]
    fig, ax = subplots(figsize=(7.2, 5.4))
    x = np.linspace(0, 1, 401)
    from ...theory.code import theorem2_bound

    bound = theorem2_bound(x, p)
    ax.plot(x, bound, color="black", lw=1.5, label="Theorem 2: spatial ≤ p/(1−p)·(1 − adversarial)")
    ax.fill_between(x, bound, 1.02, color="0.85", label="impossible for any classifier")
    ax.axvspan(p, 1, color="0.93", label=f"also impossible: adversarial accuracy > p = {p:g} (the bound at the identity shift)")
    rows, seen = [], set()
    for pt in r["classifiers"]:
        adv, spatial = pt["adversarial_accuracy"], pt["spatial_accuracy"]
        legend = f"{pt['model']}, {pt['training']}"
        ax.errorbar(adv, spatial, xerr=pt.get("adversarial_accuracy_se"), yerr=pt.get("spatial_accuracy_se"),
                    marker=MODEL_MARKERS[pt["model"]], color=TRAINING_COLORS[pt["training"]], ls="none",
                    ms=11 if pt["model"] == "bayes" else 6, alpha=0.85,
                    label=(pt["classifier"] if pt["training"] == "none" else legend) if legend not in seen else None)  # fmt: skip
        seen.add(legend)
        if pt["epsilon"]:
            offset = (5, -9) if pt["model"] == "linear" else (5, 4)  # linear labels below, MLP labels above
            ax.annotate(f"ε={pt['epsilon']:g}", (adv, spatial), textcoords="offset points", xytext=offset, fontsize=6,
                        color=MODEL_COLORS_TEXT[pt["model"]])  # fmt: skip
        rows.append(["theorem2", pt["classifier"], f"{adv:.4f}", f"{spatial:.4f}",
                     f"{pt.get('spatial_accuracy_se', 0.0):.4f}", 1])  # fmt: skip
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=f"adversarial accuracy (ℓ∞, ε = 4/√d = {eps:.3f})",
           ylabel=f"spatial accuracy (random cyclic shift r, {r['transformations']} shifts)")  # fmt: skip
    ax.legend(fontsize=6.5, loc="lower left")
    ax.set_title(f"Paper 001 §3, simulated: cyclic code d = {r['code_length']} (relative distance "
                 f"{r['code_relative_distance']:.3f}), m = {r['shift_unit']}, p = {p:g}\n"
                 f"Proposition 1 (exact): best classifier {100 * r['bayes_accuracy']:.1f}% on X and on r_j(X), "
                 f"{100 * r['bayes_cross_accuracy']:.1f}% when applied to r_j(X)", fontsize=8)  # fmt: skip
    rows += [["proposition1", key, "", f"{r[key]:.4f}", f"{r['monte_carlo'][key]['se']:.4f}", 1]
             for key in ("bayes_accuracy", "bayes_transformed_accuracy", "bayes_cross_accuracy")]  # fmt: skip
    return fig, rows
