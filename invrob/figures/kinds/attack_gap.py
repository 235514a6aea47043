"""Robust accuracy under each attack at one ε, and how much the first overstates it, for another target's models."""

from __future__ import annotations

from ...units import epsilon_label, parse_epsilon
from ..plan import robustness_evaluation
from ..read import first_evaluation, seed_values
from ..style import _pm, attack_label, model_title
from ._attack_gap import ROTATED, accuracy_on, attacks, check, common_images, group_label, models  # noqa: F401

SECTION = "tables"
DOC = "robust accuracy at one ε under each attack (PGD, AutoAttack, …) and the gap, per model of a trade-off target"


def table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """Per model of the source (one row per training θ / ε / table row), mean ± std over seeds in percent, all
    on the same test images (the attack with the fewest's: each attack's class-balanced subset is a subset of
    the larger ones, matched by ``test_positions``): accuracy unattacked, accuracy at the panel's ε under each attack, the gap (the first attack's
    minus each other's: how far it overstates robustness)."""
    header, rows, notes = None, [], []
    for panel in plan["panels"]:
        names = attacks(panel)
        eps = parse_epsilon(panel["epsilon"])
        evs = [robustness_evaluation(panel, None, a) for a in names]
        labels = [attack_label(first_evaluation(panel, evals, ev)) for ev in evs]
        images = common_images(panel, evals, evs)
        header = ["panel", "model", "unattacked accuracy (%)", *(f"{lab} (%)" for lab in labels),
                  *(f"gap {names[0]} − {a} (points)" for a in names[1:]), "seeds", "recipe"]  # fmt: skip
        for model in panel["models"]:
            accs = []
            for ev in evs:
                grid, acc = accuracy_on(model, ev, evals, images)
                at = [i for i, e in enumerate(grid) if abs(e - eps) < 1e-9]
                accs.append(100 * acc[:, at[0]])
            if 0.0 in grid:  # the unattacked accuracy on these images (ε = 0 is never attacked)
                clean = 100 * acc[:, grid.index(0.0)]
            else:  # on the whole test subset
                clean = 100 * seed_values(model, "clean", evals, lambda r: r["accuracy"])
            n = len(clean)
            rows.append([model_title(panel), group_label(panel, model), _pm(clean.mean(), clean.std(), n),
                         *(_pm(a.mean(), a.std(), n) for a in accs),
                         *(_pm((accs[0] - a).mean(), (accs[0] - a).std(), n) for a in accs[1:]), str(n),
                         model["recipe"]])  # fmt: skip
        notes.append(f"{model_title(panel)}: ε = {epsilon_label(eps)} ({panel['epsilon_space']} units) on "
                     f"{len(images)} test images{ROTATED if panel['test'] == 'rotated' else ''} ({', '.join(f'{a}: {lab}' for a, lab in zip(names, labels))})")  # fmt: skip
    scale = sorted({p["scale_note"] for p in plan["panels"] if p["scale_note"]})
    caption = ("Robust accuracy under each attack on the same test images, and the gap (the first attack's "
               "accuracy minus each other's: how much it overstates robustness); " + "; ".join(notes)
               + "; mean ± std over seeds" + (f"; {'; '.join(scale)}" if scale else "") + ".")  # fmt: skip
    return header, rows, caption
