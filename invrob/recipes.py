"""Training recipes: a short readable name ↔ the full hyperparameters of one training run.

A checkpoint lives at ``results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt``.  The recipe
name says what is special about the run (``rot60``: natural training with random rotations in
[−60°, 60°]); ``recipe_hparams`` adds the architecture's optimiser settings and the dataset's
subset size from the config.  The Snakemake rule passes the result as ``params``, so changing one
hyperparameter in the config reruns exactly the checkpoints it affects.

To add a recipe family, add a ``(regex, builder)`` pair to ``RECIPES``.
"""

from __future__ import annotations

import re
from typing import Callable


class RecipeError(ValueError):
    pass


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def format_number(value: float) -> str:
    """60.0 → '60', 0.1 → '0.1' (the form used inside recipe names)."""
    return str(_number(repr(float(value))))


RECIPES: list[tuple[re.Pattern, Callable[[re.Match], dict], str]] = [
    (
        re.compile(r"rot(?P<theta>\d+(?:\.\d+)?)"),
        lambda m: {"rotation": _number(m["theta"])},
        "rot{θ}: natural training, random rotations uniform in [−θ°, θ°] (paper 000 §2.1)",
    ),
]


def rotation_recipe(theta: float) -> str:
    return f"rot{format_number(theta)}"


def parse_recipe(recipe: str) -> dict:
    """The recipe-specific hyperparameters encoded in a recipe name."""
    for pattern, build, _ in RECIPES:
        m = pattern.fullmatch(recipe)
        if m:
            hp = {"rotation": 0}
            hp.update(build(m))
            if not 0 <= hp["rotation"] <= 180:
                raise RecipeError(f"recipe '{recipe}': rotation range must be within [0, 180] degrees")
            return hp
    known = "; ".join(doc for _, _, doc in RECIPES)
    raise RecipeError(f"unknown training recipe '{recipe}'. Known recipe forms: {known}")


def recipe_hparams(config: dict, dataset: str, arch: str, recipe: str) -> dict:
    """Everything that determines the trained weights of ``(dataset, arch, recipe)`` besides the seed."""
    if arch not in config["training"]:
        raise RecipeError(f"no training settings for architecture '{arch}' under 'training:' in the config")
    if dataset not in config["datasets"]:
        raise RecipeError(f"dataset '{dataset}' is not configured under 'datasets:' in the config")
    hp = {"dataset": dataset, "arch": arch, "recipe": recipe}
    hp.update(config["training"][arch])
    hp["train_subset"] = config["datasets"][dataset].get("train_subset")
    hp.update(parse_recipe(recipe))
    return hp
