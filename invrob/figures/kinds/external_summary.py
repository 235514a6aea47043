"""Bring your own checkpoint: the numbers of one model of ``external_models``, one row per measure."""

from __future__ import annotations

import numpy as np

from ...units import epsilon_label
from ..style import FAMILY_AXES, attack_label, space_of
from ._external import check, evals_of, models, of_family, spatial_label, title  # noqa: F401

SECTION = "tables"
DOC = "the numbers of one external model: clean accuracy, invariance, robust accuracy per attack and ε, spatial attacks"


def table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """One row per measure, in percent unless it says otherwise: clean accuracy; per invariance family the
    rate of invariance averaged over its test ranges and at the largest; per robustness attack the accuracy
    at every ε > 0 of its grid; DeepFool's mean ℓ2 distance; paper 003's ℓ∞ and ℓ2 PGD (accuracy and attack
    success rate per radius); accuracy under each spatial attack."""
    panel = plan["panels"][0]
    header = ["measure", "setting", "value", "test images"]

    def row(measure, setting, value, e, fmt="{:.2f}"):
        return [measure, setting, fmt.format(value), str(e["test_images"])]

    clean = evals_of(panel, evals, "clean")
    rows = [row("clean accuracy (%)", "", 100 * clean["results"]["accuracy"], clean)]
    for family, (ev, x_key, _, _) in FAMILY_AXES.items():
        e = evals_of(panel, evals, ev)
        r, unit = e["results"], "°" if family == "rotation" else " (× size)" if family == "translation" else ""
        grid = np.asarray(r[x_key], dtype=float)
        rows.append(row(f"{family} invariance (%)", f"mean over ±{grid.min():g}…{grid.max():g}{unit}",
                        100 * float(np.mean(r["invariance"])), e))  # fmt: skip
        rows.append(row(f"{family} invariance (%)", f"at ±{grid.max():g}{unit}", 100 * r["invariance"][-1], e))
    for ev in of_family(panel, "robustness"):
        e = evals_of(panel, evals, ev)
        label = attack_label(e)
        for eps, acc in zip(e["results"]["epsilon"], e["results"]["accuracy"]):
            if eps > 0:
                rows.append(row(f"accuracy under {label} (%)", f"ε = {epsilon_label(eps)} ({space_of(e)})", 100 * acc, e))
    for ev in of_family(panel, "deepfool"):
        e = evals_of(panel, evals, ev)
        rows.append(row("DeepFool mean ℓ2 distance", f"{space_of(e)} units, {e['results']['not_converged']} of "
                        f"{e['results']['points']} not converged", e["results"]["mean_l2"], e, "{:.4f}"))  # fmt: skip
    for ev in [*of_family(panel, "pgd"), *of_family(panel, "autoattack")]:  # paper 003's: ℓ∞ and ℓ2, pixel radii
        e = evals_of(panel, evals, ev)
        r, s = e["results"], e["settings"]
        attack = f"PGD-{s['steps']}" if "steps" in s else f"AutoAttack ({s['attack']['version']})"
        name = f"{'ℓ∞' if r['norm'] == 'linf' else 'ℓ2'} {attack}"
        for eps, acc, asr in zip(r["epsilon"], r["accuracy"], r["attack_success_rate"]):
            setting = f"ε = {epsilon_label(eps) if r['norm'] == 'linf' else f'{eps:g}'} (pixel)"
            rows.append(row(f"accuracy under {name} (%)", setting, 100 * acc, e))
            rows.append(row(f"attack success rate of {name} (%)", setting, 100 * asr, e))
    for ev in of_family(panel, "spatial"):
        e = evals_of(panel, evals, ev)
        rows.append(row("accuracy under a spatial attack (%)", spatial_label(e),
                        100 * e["results"]["accuracy"], e))  # fmt: skip
    record = clean["training"]["external"]
    inputs = (f"its input normalised with mean {record['normalization']['mean']} and std {record['normalization']['std']}"
              if record.get("normalization") else "pixels in [0, 1] as its input")  # fmt: skip
    caption = (f"{title(panel, evals)} (external_models.{panel['external']}, {inputs}) under the pipeline's "
               f"evaluations; {panel['scale_note'] or 'the config’s full test sets'}.")  # fmt: skip
    return header, rows, caption
