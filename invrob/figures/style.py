"""What every figure says and how it looks: titles (model, dataset, attack, scale), labels, axes, colours, lines, CSV rows."""

from __future__ import annotations

import numpy as np

from .. import catalog
from ..attacks import GRIDS
from ..data.registry import get_spec
from ..evaluation import names


def subplots(*args, **kwargs):
    """``matplotlib.pyplot.subplots`` (pyplot is imported here, when a figure is drawn, not at DAG time)."""
    return pyplot().subplots(*args, **kwargs)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def color_palette(*args, **kwargs):
    """``seaborn.color_palette`` (seaborn is imported when a figure is drawn)."""
    import seaborn as sns

    return sns.color_palette(*args, **kwargs)


METRIC_LABELS = {"accuracy": "accuracy", "one_minus_fooling_rate": "1 − fooling rate"}


SPACE_LABELS = {"pixel": "pixel units", "normalized": "normalised units (pixels / dataset std)"}


def space_of(evaluation: dict) -> str:
    """The ε space an evaluation file was computed in ('pixel' for files that predate the setting)."""
    return evaluation["settings"].get("epsilon_space", "pixel")


def attack_label(evaluation: dict) -> str:
    """'PGD-40 (step 0.01, random start)' or 'FGSM', from an evaluation file's settings: the attack's title
    (``invrob.catalog``), its steps and step size when it takes steps; ε and the step in normalised
    units say so.  Principal angles are computed on PGD perturbations."""
    e = names.parse(evaluation["evaluation"])
    attack = "pgd" if e.family == "principal-angles" else e.variant
    title = catalog.attack_titles().get(attack, attack.upper())
    space = ", normalised ε" if space_of(evaluation) == "normalized" else ""
    s = evaluation["settings"]["attack"]
    if "steps" in s:
        start = ", random start" if s.get("random_start") else ""
        return f"{title}-{s['steps']} (step {s['step_size']:.3g}{start}{space})"
    if "version" in s:  # AutoAttack: 'AutoAttack (fast)'
        return f"{title} ({s['version']}{space})"
    return title + (f" ({space.removeprefix(', ')})" if space else "")


def model_title(panel: dict, arch: str | None = None) -> str:
    """'StdCNN on Fashion-MNIST (stands in for VGG16 on CIFAR-10)'."""
    i = panel["archs"].index(arch) if arch else 0
    arch, paper_arch = panel["archs"][i], panel["paper_archs"][i]
    dataset, paper_dataset = panel["dataset"], panel["paper_dataset"]
    title = f"{catalog.architecture_title(arch)} on {get_spec(dataset).title}"
    if (arch, dataset) != (paper_arch, paper_dataset):
        title += f" (for {catalog.architecture_title(paper_arch)} on {get_spec(paper_dataset).title})"
    return title


def dataset_title(panel: dict) -> str:
    title = get_spec(panel["dataset"]).title
    if panel["dataset"] != panel["paper_dataset"]:
        title += f" (for {get_spec(panel['paper_dataset']).title})"
    return title


def scale_line(plan: dict) -> str:
    notes = sorted({p["scale_note"] for p in plan["panels"] if p["scale_note"]})
    return f"\n({'; '.join(notes)})" if notes else ""


def _colors(groups: list) -> dict:
    colors = dict(zip(groups, color_palette("viridis", len(groups))))
    if 180.0 in colors:
        colors[180.0] = (0, 0, 0)  # the paper draws the fully augmented model in black
    return colors


def _line(ax, x, mean, std, seeds: int, scale: float = 100.0, **kw) -> None:
    """Mean over seeds (×``scale``: percent by default), with a ±1 std band when there are several seeds."""
    mean, std = np.asarray(mean), np.asarray(std)
    ax.plot(x, scale * mean, marker="o", ms=3, **kw)
    if seeds > 1:
        ax.fill_between(x, scale * (mean - std), scale * (mean + std), color=kw.get("color"), alpha=0.15)


def _rows(rows: list, panel: str, series: str, x, mean, std, seeds: int) -> None:
    for xi, m, s in zip(np.atleast_1d(x), np.atleast_1d(mean), np.atleast_1d(std)):
        rows.append([panel, series, f"{xi:g}" if xi != "" else "", f"{m:.4f}", f"{s:.4f}", seeds])


def _seeds(model: dict) -> int:
    return len(model["evals"])


def robustness_axes(evaluation: dict) -> dict:
    """x axis of a robustness profile: ε in the space the evaluation file was computed in."""
    return {"xlabel": f"ε (ℓ∞, {SPACE_LABELS[space_of(evaluation)]})", "xlim": (0, 1), "ylim": (0, 101)}


INVARIANCE_AXES = {"xlabel": "test rotation range ±θ°", "ylabel": "rate of invariance (%)", "xlim": (0, 180),
                   "ylim": (0, 101), "title": "rotation invariance profile"}  # fmt: skip


# per invariance family: evaluation, x key, CSV names (invariance, accuracy), axes
FAMILY_AXES = {
    "rotation": ("invariance-rotation", "theta", ("rotation_invariance", "rotated_accuracy"), INVARIANCE_AXES),
    "translation": ("invariance-translation", "range", ("translation_invariance", "translated_accuracy"),
                    {**INVARIANCE_AXES, "xlabel": "test translation range ±i (× image size)", "xlim": (0, None),
                     "title": "translation invariance profile"}),
    "rt": ("invariance-rt", "range", ("rt_invariance", "rt_accuracy"),
           {**INVARIANCE_AXES, "xlabel": "test range i (±i·180°, ±i × size)", "xlim": (0, None),
            "title": "rotation-translation invariance profile"}),
}  # fmt: skip


TRAINING_DESCRIPTIONS = {
    "rotation": ("train θ", "trained with random rotations in [−θ°, θ°]"),
    "translation": ("train i", "trained with random translations within ±i × size (Aug-T)"),
    "rt": ("train i", "trained with rotations in ±i·180° and translations within ±i (Aug-RT)"),
}


def spatial_attack_label(attack: str, settings: dict) -> str:
    """A worst-case spatial attack as a figure names it, with the transforms it tries: a grid's from
    ``attacks.GRIDS``, the random and S-PGD attacks' limits from the evaluation's ``settings``."""
    if attack in GRIDS:
        translations, rotations, px, deg = GRIDS[attack]
        name, _, limit = attack.partition("-")  # grid775-10: the grid775 pattern within ±10°
        tried = ([f"±{px:g} px × {translations}"] if translations > 1 else []) + [f"±{deg:g}° × {rotations}"]
        return f"{name}{f', {limit}°' if limit else ''} ({', '.join(tried)})"
    limits = f"(±{settings['max_px']:g} px, ±{settings['max_deg']:g}°)"
    return {"worst-of-k": f"worst-of-k random {limits}", "spgd": f"S-PGD {limits}"}.get(attack, attack)


def spatial_attack_row(attack: str, settings: dict) -> str:
    """``spatial_attack_label`` with worst-of-k's k filled in (worst-of-10), as tables name their rows."""
    label = spatial_attack_label(attack, settings)
    return label.replace("-k", f"-{settings['k']}") if attack == "worst-of-k" else label


def _pm(mean: float, std: float, seeds: int) -> str:
    return f"{mean:.2f}" + (f" ± {std:.2f}" if seeds > 1 else "")
