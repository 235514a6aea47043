"""Paper 003 Fig 3: natural and PGD accuracy of models trained on D_mix vs the mix ratio α (and, with
``evaluations`` naming AutoAttack's profiles, the same models under AutoAttack beside PGD, on the same images)."""

from __future__ import annotations

import numpy as np

from ...evaluation import names
from ...units import epsilon_label
from ..plan import mix_sweep
from ..read import first_evaluation, seed_values
from ..style import _line, _rows, _seeds, color_palette, dataset_title, model_title, scale_line, subplots
from ._attack_gap import accuracy_on, common_images

SECTION = "figures"
DOC = "natural and PGD accuracy of models trained on D_mix vs the mix ratio α (paper 003 Fig 3)"
TITLES = {"pgd": "PGD", "autoattack": "AutoAttack"}
STYLES = {"pgd": "-", "autoattack": "--"}


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per mix ratio α of ``sweeps.mix`` (group: α), with its clean accuracy and PGD evaluations."""
    return mix_sweep(config, panel, ["clean", *(panel.get("evaluations") or ["pgd-l2", "pgd-linf"])], where)


def _clean_on(model: dict, evaluation: str, evals: dict, images: list[int]) -> np.ndarray:
    """Unattacked accuracy per seed on the test images ``images``, from a success profile's ``clean_correct``."""
    out = []
    for by_ev in model["evals"].values():
        r = evals[by_ev[evaluation]]["results"]
        where = {p: i for i, p in enumerate(r["test_positions"])}
        out.append(sum(r["clean_correct"][where[p]] == "1" for p in images) / len(images))
    return np.asarray(out)


def _label(norm: str, attack: str, eps: float) -> str:
    """'ℓ∞ PGD ε=2/255', 'ℓ2 AutoAttack ε=0.5'."""
    return f"ℓ∞ {attack} ε={epsilon_label(eps)}" if norm == "linf" else f"ℓ2 {attack} ε={eps:g}"


def draw(plan: dict, evals: dict):
    """Paper 003 Fig 3: natural accuracy and accuracy under ℓ2 / ℓ∞ PGD of models trained on D_mix,
    against the fraction α of every batch taken from the robust dataset D_R.  Where the panel has AutoAttack's
    profiles too, every attack's accuracy is taken on the images all of them attacked (AutoAttack's
    class-balanced subset of PGD's, matched by ``test_positions``), natural accuracy too: PGD solid, AutoAttack
    dashed, one colour per radius."""
    panels = plan["panels"]
    fig, axes = subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    notes = set()
    for ax, panel in zip(axes[0], panels):
        models = sorted(panel["models"], key=lambda m: m["group"])
        alphas = [m["group"] for m in models]
        seeds = _seeds(models[0])
        evaluations = next(iter(models[0]["evals"].values()))
        attacked = [e for e in evaluations if names.parse(e).family in names.SUCCESS_ATTACKS]
        compared = len({names.parse(e).family for e in attacked}) > 1
        images = common_images(panel, evals, attacked) if compared else None
        if images is None:  # on the whole test subset
            natural = np.stack([seed_values(m, "clean", evals, lambda r: r["accuracy"]) for m in models], 1)
        else:  # on the images every attack ran on
            natural = np.stack([_clean_on(m, attacked[0], evals, images) for m in models], 1)
        series = {"natural": ("", None, natural)}  # name: (attack, (norm, ε), accuracy per seed × α)
        for ev in attacked:
            e, r0 = names.parse(ev), first_evaluation(panel, evals, ev)["results"]
            for i, eps in enumerate(r0["epsilon"]):
                if images is None:
                    vals = np.stack([seed_values(m, ev, evals, lambda r, i=i: r["accuracy"][i]) for m in models], 1)
                else:
                    vals = np.stack([accuracy_on(m, ev, evals, images)[1][:, i] for m in models], 1)
                series[_label(r0["norm"], TITLES[e.family], eps)] = (e.family, (r0["norm"], eps), vals)
        if images is not None:
            notes.add(f"PGD and AutoAttack on the same {len(images)} test images")
        radii = list(dict.fromkeys(radius for _, radius, _ in series.values()))  # one colour per radius
        palette = dict(zip(radii, color_palette("tab10", len(radii))))
        for name, (family, radius, vals) in series.items():
            _line(ax, alphas, vals.mean(0), vals.std(0), seeds, color=palette[radius], label=name,
                  ls=STYLES.get(family, ":"))  # fmt: skip
            _rows(rows, dataset_title(panel), name, alphas, vals.mean(0), vals.std(0), seeds)
        ax.set(xlabel="mix ratio α (fraction of each batch from D_R)", ylabel="accuracy (%)", ylim=(0, 101),
               xlim=(-0.02, 1.02), title=model_title(panel))  # fmt: skip
        ax.legend(fontsize=7, ncol=2 if len(series) > 7 else 1)  # PGD and AutoAttack: two columns, half as tall
    title = "natural, PGD (solid) and AutoAttack (dashed)" if notes else "natural and PGD"
    note = f"\n{'; '.join(sorted(notes))}" if notes else ""
    fig.suptitle(f"Training on D_mix: {title} accuracy vs α{note}{scale_line(plan)}", fontsize=9)
    return fig, rows
