"""Training recipes: a short readable name ↔ the full hyperparameters of one training run.

A checkpoint lives at ``results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt``.  A recipe name
is one or more tokens joined by ``-``, each saying what is special about the run:

* ``rot{θ}``   natural training with random rotations uniform in [−θ°, θ°] (paper 000 §2.1)
* ``pgd{ε}``   PGD adversarial training at ℓ∞ radius ε (paper 000 §2.2); ε is a decimal
               (``pgd0.3``) or a multiple of 1/255 (``pgd8of255``); the attack's steps come
               from the dataset's ``pgd`` settings
* ``n{N}``     train on the first N images of the (seeded) training split only (Appendix E.3)

e.g. ``rot180-n3000``.  ``recipe_hparams`` adds the architecture's optimiser settings and the
dataset's sizes and augmentation from the config.  The Snakemake rule passes the result as
``params``, so changing one hyperparameter in the config reruns exactly the checkpoints it
affects.  To add a recipe family, add a token to ``TOKENS``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable


class RecipeError(ValueError):
    pass


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def format_number(value: float) -> str:
    """60.0 → '60', 0.1 → '0.1' (the form used inside recipe names)."""
    return str(_number(repr(float(value))))


def parse_epsilon(value) -> float:
    """A radius from the config or a recipe: 0.3, '0.3', '8/255' or '8of255' (pixel units)."""
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:/|of)(\d+)", str(value).strip())
    if m:
        return float(m[1]) / float(m[2])
    try:
        return float(value)
    except ValueError:
        raise RecipeError(f"cannot read '{value}' as a radius (use 0.3 or 8/255)") from None


def format_epsilon(value) -> str:
    """The recipe form of a radius: 0.3 → '0.3', 8/255 → '8of255' (exact multiples of 1/255 only)."""
    eps = parse_epsilon(value)
    frac = Fraction(eps).limit_denominator(255)
    if eps != 0 and frac.denominator == 255 and abs(float(frac) - eps) < 1e-12:
        return f"{frac.numerator}of255"
    return format_number(eps)


NUMBER = r"\d+(?:\.\d+)?"
TOKENS: list[tuple[re.Pattern, Callable[[re.Match], dict], str]] = [
    (re.compile(rf"rot(?P<theta>{NUMBER})"), lambda m: {"rotation": _number(m["theta"])},
     "rot{θ}: random rotations uniform in [−θ°, θ°] (paper 000 §2.1)"),
    (re.compile(rf"pgd(?P<eps>{NUMBER}(?:of255)?)"), lambda m: {"adversarial": {"eps": parse_epsilon(m["eps"])}},
     "pgd{ε}: PGD adversarial training at ℓ∞ radius ε, e.g. pgd0.3 or pgd8of255 (paper 000 §2.2)"),
    (re.compile(r"n(?P<n>\d+)"), lambda m: {"train_subset": int(m["n"])},
     "n{N}: train on N images only (paper 000 App. E.3)"),
]  # fmt: skip


def rotation_recipe(theta: float) -> str:
    return f"rot{format_number(theta)}"


def adversarial_recipe(eps) -> str:
    return f"pgd{format_epsilon(eps)}"


def with_train_size(recipe: str, n: int) -> str:
    return f"{recipe}-n{int(n)}"


def parse_recipe(recipe: str) -> dict:
    """The recipe-specific hyperparameters encoded in a recipe name."""
    hp: dict = {"rotation": 0}
    seen = set()
    for token in recipe.split("-") if recipe else [""]:
        for i, (pattern, build, _) in enumerate(TOKENS):
            m = pattern.fullmatch(token)
            if m:
                if i in seen:
                    raise RecipeError(f"recipe '{recipe}': token '{token}' repeats a setting")
                seen.add(i)
                hp.update(build(m))
                break
        else:
            known = "; ".join(doc for _, _, doc in TOKENS)
            raise RecipeError(f"unknown training recipe '{recipe}' (token '{token}'). Recipes are tokens joined "
                              f"by '-'; known tokens: {known}")  # fmt: skip
    if not 0 <= hp["rotation"] <= 180:
        raise RecipeError(f"recipe '{recipe}': rotation range must be within [0, 180] degrees")
    if "adversarial" in hp and not 0 <= hp["adversarial"]["eps"] <= 1:
        raise RecipeError(f"recipe '{recipe}': the PGD radius must be within [0, 1] (pixel units)")
    if hp.get("train_subset") == 0:
        raise RecipeError(f"recipe '{recipe}': the training-set size must be at least 1")
    return hp


def recipe_hparams(config: dict, dataset: str, arch: str, recipe: str) -> dict:
    """Everything that determines the trained weights of ``(dataset, arch, recipe)`` besides the seed."""
    if arch not in config["training"]:
        raise RecipeError(f"no training settings for architecture '{arch}' under 'training:' in the config")
    if dataset not in config["datasets"]:
        raise RecipeError(f"dataset '{dataset}' is not configured under 'datasets:' in the config")
    ds = config["datasets"][dataset]
    hp = {"dataset": dataset, "arch": arch, "recipe": recipe}
    hp.update(config["training"][arch])
    hp["train_subset"] = ds.get("train_subset")
    augment = ds.get("augment") or {}
    hp["crop_padding"] = augment.get("crop_padding", 0)
    hp["horizontal_flip"] = augment.get("horizontal_flip", False)
    specific = parse_recipe(recipe)
    n = specific.pop("train_subset", None)
    if n is not None:
        if hp["train_subset"] is not None and n > hp["train_subset"]:
            raise RecipeError(f"recipe '{recipe}' asks for {n} training images but datasets.{dataset}.train_subset "
                              f"is {hp['train_subset']}")  # fmt: skip
        hp["train_subset"] = n
    if "adversarial" in specific:
        specific["adversarial"] = {"method": "pgd", **specific["adversarial"], "random_start": True, **ds["pgd"]}
    hp.update(specific)
    return hp
