"""Paper 000 Figs 21-22 (App. E.1-E.2): accuracy vs test rotation range, with or without training augmentation."""

from __future__ import annotations

import numpy as np

from ...training.recipes import rotation_recipe
from ..plan import model_entry
from ..read import profile, value_at
from ..style import _line, _rows, _seeds, color_palette, dataset_title, model_title, scale_line, subplots
from ._checks import require_test_ranges

SECTION = "figures"
DOC = "accuracy vs test rotation range, with or without training augmentation (App. E.1-E.2)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """Per architecture, the unaugmented model (group: [arch, "none"]) and, when ``augmented``, one model
    per training range θ (group: [arch, θ]), each with its rotation-invariance profile."""
    models = []
    for arch, paper_arch in zip(panel["archs"], panel["paper_archs"]):
        models.append({**model_entry(config, panel["dataset"], arch, rotation_recipe(0), [arch, "none"],
                                     ["invariance-rotation"]), "paper_arch": paper_arch})  # fmt: skip
        if panel.get("augmented"):
            models += [{**model_entry(config, panel["dataset"], arch, rotation_recipe(t), [arch, float(t)],
                                      ["invariance-rotation"]), "paper_arch": paper_arch}
                       for t in config["sweeps"]["rotation"]]  # fmt: skip
    return models


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    """An augmented panel reads each model's accuracy at its own training range: every θ of the sweep is tested."""
    needed = {float(t) for t in config["sweeps"]["rotation"]} if panel.get("augmented") else set()
    require_test_ranges(where, needed, thetas)


def draw(plan: dict, evals: dict):
    """Figs 21-22: accuracy vs test rotation range without (and with) training augmentation."""
    panels = plan["panels"]
    fig, axes = subplots(1, len(panels), figsize=(5 * len(panels), 4.4), squeeze=False)
    rows: list = []
    palette = color_palette("tab10")
    for k, (ax, panel) in enumerate(zip(axes[0], panels)):
        for j, arch in enumerate(panel["archs"]):
            name = model_title(panel, arch).split(" on ")[0]
            plain = next(m for m in panel["models"] if m["group"] == [arch, "none"])
            x, mean, std = profile(plain, "invariance-rotation", evals, "theta", "accuracy")
            _line(ax, x, mean, std, _seeds(plain), color=palette[2 * j], label=f"{name}, no train augmentation")
            _rows(rows, f"{k + 1}:{panel['dataset']}", f"{arch}:no_augmentation", x, mean, std, _seeds(plain))
            augmented = [m for m in panel["models"] if m["group"][0] == arch and m["group"][1] != "none"]
            if augmented:
                ts = [m["group"][1] for m in augmented]
                vals = np.stack([value_at(m, "invariance-rotation", evals, "theta", "accuracy", m["group"][1])
                                 for m in augmented], axis=1)  # fmt: skip
                _line(ax, ts, vals.mean(0), vals.std(0), _seeds(augmented[0]), color=palette[2 * j + 1],
                      label=f"{name}, train and test ±θ")  # fmt: skip
                _rows(rows, f"{k + 1}:{panel['dataset']}", f"{arch}:train_and_test", ts, vals.mean(0), vals.std(0),
                      _seeds(augmented[0]))  # fmt: skip
        ax.set(xlabel="test rotation range ±θ°", ylabel="accuracy (%)", xlim=(0, 180), ylim=(0, 101),
               title=dataset_title(panel))  # fmt: skip
        ax.title.set_fontsize(8)
        ax.legend(fontsize=7)
    aug = any(p.get("augmented") for p in panels)
    what = "with and without random-rotation training augmentation" if aug else "without training augmentation"
    fig.suptitle(f"Accuracy on rotated test data, models trained {what}{scale_line(plan)}", fontsize=9)
    return fig, rows
