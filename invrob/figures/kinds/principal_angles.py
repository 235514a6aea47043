"""Paper 000 §3.2, Tables 1-2: principal angles between PGD and small-rotation perturbation subspaces."""

from __future__ import annotations

from ...units import epsilon_label
from .. import published
from ..plan import adversarial_sweep, spaced
from ..read import first_evaluation, seed_values
from ..style import attack_label, model_title

SECTION = "tables"
DOC = "principal angles between PGD and small-rotation perturbation subspaces (§3.2)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """One model per PGD-training radius ε (group: ε) with its principal angles."""
    return adversarial_sweep(config, panel["dataset"], panel["arch"], [spaced(panel, "principal-angles")], where)


def table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """Table 1 / 2: one row per training ε, principal angles θ1 ≤ … ≤ θk (mean ± std over seeds)."""
    panel = plan["panels"][0]
    example = first_evaluation(panel, evals)
    k, s = example["results"]["k"], example["settings"]
    header = ["train ε", *[f"θ{i + 1}" for i in range(k)], "seeds"]
    rows = []
    for model in panel["models"]:
        angles = seed_values(model, spaced(panel, "principal-angles"), evals, lambda r: r["angles_deg"])
        n = len(angles)
        cells = [f"{m:.2f}" + (f" ± {sd:.2f}" if n > 1 else "") for m, sd in zip(angles.mean(0), angles.std(0))]
        rows.append([epsilon_label(model["group"]), *cells, str(n)])
    paper = published.principal_angles().get((panel["dataset"], panel["arch"]))
    if paper and (panel["dataset"], panel["arch"]) == (panel["paper_dataset"], panel["paper_arch"]):
        for eps, values in paper.items():
            rows.append([f"paper {epsilon_label(eps)}", *[f"{v:.2f}" for v in sorted(values)[:k]], ""])
    caption = (f"Principal angles (degrees, ascending) between the top-{k} right-singular subspaces of "
               f"{attack_label(example)} perturbations "
               f"at ε={epsilon_label(s['epsilon'])} "
               f"and of (rotated by {s['rotation_deg']:g}°) − original differences, {model_title(panel)}, "
               f"{example['test_images']} test images, one row per PGD-training ε"
               f"{'; ' + panel['scale_note'] if panel['scale_note'] else ''}.")  # fmt: skip
    return header, rows, caption
