"""Numbers and radii as the config, recipe names and titles write them: ``8/255``, ``8of255``, ``ε=8/255``; and
the canonical name of a recipe (the checkpoint its evaluations read), torch-free and outside the training code."""

from __future__ import annotations

import re
from fractions import Fraction


THEN = "-then-"  # joins the stages of a recipe name: A-then-B trains B from A's weights (training.recipes)


class RecipeError(ValueError):
    """A recipe name, or a number or radius in one or in the config, that cannot be read."""


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


def epsilon_label(eps) -> str:
    """How titles and tables write a radius: 8/255 → '8/255', 0.3 → '0.3'."""
    eps = parse_epsilon(eps)
    k = eps * 255
    return f"{round(k)}/255" if eps and abs(k - round(k)) < 1e-6 and eps < 0.1 else f"{eps:g}"


ZERO_ATTACK = re.compile(r"(?:pgd|trades)0(?:\.0+)?(?:of255)?")  # attack training at ε = 0: natural training
AUGMENTATION = re.compile(r"rot|rt|trans|da$|spgd$|wok|mix")  # tokens that say what a stage trains on


def canonical_recipe(recipe: str, arch: str | None = None) -> str:
    """The plainest name of the same training, whose checkpoint every equivalent recipe's evaluations read
    (a model is trained once however many figures name it): an attack token at ε = 0 is natural training
    (``pgd0`` → ``rot0``, ``rot180-pgd0`` → ``rot180``, ``pgd0-n3000`` → ``rot0-n3000``): the training parses
    to the same hyperparameters (``recipe_hparams`` drops an attack at ε = 0) and runs the same code, so the
    weights are the same.  Stage by stage.  (Worst-of-1 is not D.A.'s name: it computes the same weights but
    pays a selection pass, which paper 004's runtime figure measures.)  An imported model's name (``arch``
    ``external``) is a name, not a recipe: it stays as it is."""
    if arch == "external":
        return recipe
    stages = []
    for stage in recipe.split(THEN):
        tokens = stage.split("-")
        kept = [t for t in tokens if not ZERO_ATTACK.fullmatch(t)]
        if len(kept) < len(tokens) and not any(AUGMENTATION.match(t) for t in kept):
            kept.insert(next(i for i, t in enumerate(tokens) if ZERO_ATTACK.fullmatch(t)), "rot0")
        stages.append("-".join(kept))
    return THEN.join(stages)
