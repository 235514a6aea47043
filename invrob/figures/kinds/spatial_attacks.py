"""Papers 003/004: accuracy under worst-case spatial attacks (grids, worst-of-k, S-PGD), per model and dataset."""

from __future__ import annotations

from ... import catalog
from ...attacks import SPATIAL_ATTACKS
from .. import published
from ..plan import model_entry, require, stand_in
from ..read import first_evaluation, seed_values
from ..style import _pm, dataset_title, spatial_attack_row

SECTION = "tables"
DOC = (
    "accuracy under worst-case spatial attacks (grids, worst-of-k, S-PGD) per model and dataset (papers "
    "003/004; paper 004's poster table, paper 003's D vs D_R table)"
)


def spatial_models(config: dict, panel: dict, where: str, default: list[str]) -> list[dict]:
    """One model per column of the panel (group: the column number, from 1), with a spatial evaluation
    per attack of ``spatial`` (default: ``default``); each records the clean accuracy of its own images."""
    evals = [f"spatial-{a}" for a in panel.get("spatial") or default]
    return [{**model_entry(config, panel["dataset"], stand_in(config, "archs", c["arch"]), c["recipe"], i + 1, evals,
                           panel.get("seeds")), "label": c["label"], "paper_arch": c["arch"]}
            for i, c in enumerate(require(panel, "columns", where))]  # fmt: skip


def models(config: dict, panel: dict, where: str) -> list[dict]:
    return spatial_models(config, panel, where, list(SPATIAL_ATTACKS))


def _spatial_cell(model: dict | None, attack: str, key: str, evals: dict) -> str:
    if model is None:
        return "–"
    v = 100 * seed_values(model, f"spatial-{attack}", evals, lambda r: r[key])
    return _pm(v.mean(), v.std(), len(v))


def table(plan: dict, evals: dict) -> tuple[list[str], list[list[str]], str]:
    """Papers 003/004: accuracy (%) of each model (column) under each worst-case spatial attack
    (row), one block of rows per panel (dataset): an image counts only if every transform the
    attack tries is classified correctly.  Columns are matched across panels by label; at paper
    scale the poster's numbers (paper 004) follow our rows where it reports the column."""
    labels = list(dict.fromkeys(m["label"] for panel in plan["panels"] for m in panel["models"]))
    header = ["dataset", "attack", *labels]
    rows, trained = [], {}
    for panel in plan["panels"]:
        by_label = {m["label"]: m for m in panel["models"]}
        for m in panel["models"]:
            trained.setdefault(m["label"], set()).add(f"{catalog.architecture_title(m['arch'])} {m['recipe']}")
        attacks = [ev.removeprefix("spatial-") for ev in next(iter(panel["models"][0]["evals"].values()))]
        name = dataset_title(panel)
        # every spatial evaluation records the clean accuracy of the images it attacked
        rows.append([name, "standard (no attack)", *(_spatial_cell(by_label.get(lb), attacks[0], "clean_accuracy", evals)
                                                       for lb in labels)])  # fmt: skip
        for attack in attacks:
            settings = first_evaluation(panel, evals, f"spatial-{attack}")["settings"]
            label = spatial_attack_row(attack, settings)
            rows.append([name, label, *(_spatial_cell(by_label.get(lb), attack, "accuracy", evals) for lb in labels)])
        paper = published.by_dataset("paper_004", "spatial_attacks").get(panel["dataset"]) if panel["dataset"] == panel["paper_dataset"] and \
            panel["archs"] == panel["paper_archs"] else None  # fmt: skip
        if paper and "grid775" in attacks and any(lb in paper for lb in labels):
            for i, what in enumerate(("standard (poster)", "grid775 (poster)")):
                rows.append([name, what, *(f"{paper[lb][i]:.2f}" if lb in paper else "–" for lb in labels)])
    example = first_evaluation(plan["panels"][0], evals)
    models = "; ".join(f"{lb}: {', '.join(sorted(trained[lb]))}" for lb in labels)
    notes = sorted({p["scale_note"] for p in plan["panels"] if p["scale_note"]})
    caption = (f"Accuracy (%) under worst-case spatial attacks ({example['test_images']} test images): an image "
               f"counts only if it and every transform of the attack are classified correctly; rotations about the "
               f"centre then translations, zero padding, bilinear interpolation; mean ± std over seeds. Models: "
               f"{models}{'; ' + '; '.join(notes) if notes else ''}.")  # fmt: skip
    return header, rows, caption
