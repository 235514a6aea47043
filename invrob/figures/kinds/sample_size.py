"""Paper 000 Figs 23-25 (App. E.3): accuracy vs training-set size, unrotated and ±180°."""

from __future__ import annotations

import numpy as np

from ...training.recipes import rotation_recipe, with_train_size
from ..plan import PlanError, model_entry, panel_setting, train_sizes
from ..read import value_at
from ..style import _line, _rows, _seeds, color_palette, dataset_title, model_title, scale_line, subplots
from ._checks import require_test_ranges

SECTION = "figures"
DOC = "accuracy vs training-set size, unrotated and ±180° (App. E.3)"


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """Per architecture, training range θ ∈ {0, ``rotation``} and size N of ``datasets.*.train_sizes``, one
    model (group: [arch, θ, N]) with its rotation-invariance profile."""
    ds = panel["dataset"]
    sizes = train_sizes(config, ds)
    if not sizes:
        raise PlanError(f"{where}: datasets.{ds}.train_sizes (the training-set sizes) is not set")
    rotation = panel_setting(panel, "rotation")
    models = []
    for arch, paper_arch in zip(panel["archs"], panel["paper_archs"]):
        for theta in (0, rotation):
            for n, suffix in sizes:
                recipe = rotation_recipe(theta) if suffix is None else with_train_size(rotation_recipe(theta), n)
                models.append({**model_entry(config, ds, arch, recipe, [arch, float(theta), n], ["invariance-rotation"]),
                               "paper_arch": paper_arch})  # fmt: skip
    return models


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    """Accuracy is read unrotated and at ±``rotation``: both are test ranges."""
    needed = {0.0, float(panel_setting(panel, "rotation"))}
    require_test_ranges(where, needed, thetas)


def draw(plan: dict, evals: dict):
    """Figs 23-25: accuracy vs training-set size; unrotated (left), train and test rotated (right)."""
    panel = plan["panels"][0]
    rotation = float(panel_setting(panel, "rotation"))
    fig, axes = subplots(1, 2, figsize=(10, 4.4))
    rows: list = []
    palette = color_palette("tab10")
    for ax, theta in zip(axes, (0.0, rotation)):
        for j, arch in enumerate(panel["archs"]):
            models = [m for m in panel["models"] if m["group"][:2] == [arch, theta]]
            models.sort(key=lambda m: m["group"][2])
            sizes = [m["group"][2] for m in models]
            vals = np.stack([value_at(m, "invariance-rotation", evals, "theta", "accuracy", theta) for m in models], 1)
            label = model_title(panel, arch).split(" on ")[0]
            _line(ax, sizes, vals.mean(0), vals.std(0), _seeds(models[0]), color=palette[j], label=label)
            _rows(rows, f"train_test_rotation_{theta:g}", arch, sizes, vals.mean(0), vals.std(0), _seeds(models[0]))
        ax.set(xlabel="training-set size", ylabel="accuracy (%)", ylim=(0, 101),
               title="no rotation" if theta == 0 else f"train and test rotated ±{theta:g}°")  # fmt: skip
        ax.legend(fontsize=7)
    fig.suptitle(f"Sample complexity on {dataset_title(panel)}{scale_line(plan)}", fontsize=9)
    return fig, rows
