"""Training recipes: a short readable name ↔ the full hyperparameters of one training run.

A checkpoint lives at ``invrob.paths.CHECKPOINT`` (``…/{recipe}/…``).  A recipe name
is one or more tokens joined by ``-``, each saying what is special about the run:

* ``rot{θ}``    random rotations uniform in [−θ°, θ°] (Aug-R; paper 000 §2.1)
* ``trans{i}``  random translations within ±i × image size on both axes (Aug-T; paper 001)
* ``rt{i}``     rotations in ±i·180° and translations within ±i together (Aug-RT; paper 001)
* ``pgd{ε}``    PGD adversarial training at ℓ∞ radius ε (paper 000 §2.2); ε is a decimal
                (``pgd0.3``) or a multiple of 1/255 (``pgd8of255``); the attack's steps come
                from the dataset's ``pgd`` settings
* ``trades{ε}`` TRADES adversarial training (Zhang et al. 2019), β from ``datasets.*.trades``
* ``n{N}``      train on the first N images of the (seeded) training split only (Appendix E.3)
* ``cusp``      CuSP (paper 001, Alg. 1): ``rot`` and ``pgd``/``trades`` take lists
                (``rot120_150_180``, ``pgd2of255_4of255_8of255``) and step to the next value at
                each learning-rate decay, staying at the last one
* ``sched{name}`` the training overrides of ``schedules: {name}:`` (epochs, lr, milestones, …)
* ``da`` / ``wok{k}`` / ``spgd``  paper 004's spatial training within the transformation set of
                ``spatial_training:`` (±3 px, ±30°): a uniformly random transform (D.A.), the worst of k
                random transforms or S-PGD (A.T.); the loss is ℓ(x̃)
* ``kl`` / ``l2`` (optionally ``kllam{λ}``)  add the invariance regulariser: ℓ(x) + ℓ(x̃) + λ·h(f(x), f(x̃)),
                h = KL on softmax outputs or squared ℓ2 on logits, λ from ``spatial_training.lambda``
* ``byh``       the worst case x̃ maximises h instead of the loss (modified A.T.)
* ``mix{α}``    paper 003's D_mix: a fraction α of every batch comes from the robust dataset D_R
                built from ``robust_dataset.sources.{dataset}`` (``mix1`` = D_R only)

Stages: ``A-then-B`` trains B starting from the trained weights of A (same dataset, arch, seed);
the ``train`` rule takes A's checkpoint as an input.  Examples: ``rot180-n3000``,
``rot180-pgd8of255`` (PGD on rotated inputs), ``pgd8of255-then-rot180``,
``rot180-then-cusp-rot120_150_180-pgd2of255_4of255_8of255-schedcusp``, ``wok10-kl`` (A.T. + KL),
``mix0.3-da``.  Aug-T and Aug-RT use
no crop and no flip.  ``invrob.training.hparams.recipe_hparams`` adds the architecture's optimiser settings and
the dataset's sizes and augmentation from the config.  The Snakemake rule passes the result as
``params``, so changing one hyperparameter in the config reruns exactly the checkpoints it
affects.  To add a recipe family, add a token to ``TOKENS``.
"""

from __future__ import annotations

import re
from typing import Callable

from ..units import THEN, RecipeError, _number, format_epsilon, format_number, parse_epsilon

NUMBER = r"\d+(?:\.\d+)?"


EPSILON = rf"{NUMBER}(?:of255)?"


def _values(text: str, parse=_number) -> float | int | list:
    """'60' → 60; '30_60_180' → [30, 60, 180] (a curriculum, one value per learning-rate stage)."""
    values = [parse(v) for v in text.split("_")]
    return values[0] if len(values) == 1 else values


def _adversarial(method: str):
    return lambda m: {"adversarial": {"method": method, "eps": _values(m["eps"], parse_epsilon)}}


def _rt(m: re.Match) -> dict:
    i = _number(m["i"])
    return {"rotation": _number(repr(round(180.0 * i, 6))), "translation": i, "no_crop_flip": True}


# (pattern, settings it builds, the slots it fills (a slot may be set once per stage), doc)
TOKENS: list[tuple[re.Pattern, Callable[[re.Match], dict], tuple[str, ...], str]] = [
    (re.compile(rf"rot(?P<v>{NUMBER}(?:_{NUMBER})*)"), lambda m: {"rotation": _values(m["v"])}, ("rotation",),
     "rot{θ}: random rotations uniform in [−θ°, θ°] (Aug-R; paper 000 §2.1)"),
    (re.compile(rf"trans(?P<i>{NUMBER})"), lambda m: {"translation": _number(m["i"]), "no_crop_flip": True},
     ("translation",), "trans{i}: random translations within ±i × image size on both axes (Aug-T; paper 001)"),
    (re.compile(rf"rt(?P<i>{NUMBER})"), _rt, ("rotation", "translation"),
     "rt{i}: rotations in ±i·180° and translations within ±i × size together (Aug-RT; paper 001)"),
    (re.compile(rf"pgd(?P<eps>{EPSILON}(?:_{EPSILON})*)"), _adversarial("pgd"), ("adversarial",),
     "pgd{ε}: PGD adversarial training at ℓ∞ radius ε, e.g. pgd0.3 or pgd8of255 (paper 000 §2.2)"),
    (re.compile(rf"trades(?P<eps>{EPSILON}(?:_{EPSILON})*)"), _adversarial("trades"), ("adversarial",),
     "trades{ε}: TRADES adversarial training at ℓ∞ radius ε (Zhang et al. 2019; paper 001 Fig 4)"),
    (re.compile(r"n(?P<n>\d+)"), lambda m: {"train_subset": int(m["n"])}, ("train_subset",),
     "n{N}: train on N images only (paper 000 App. E.3)"),
    (re.compile(r"cusp"), lambda m: {"curriculum": True}, ("curriculum",),
     "cusp: step θ and ε up their lists (rot30_60_180, pgd2of255_4of255_8of255) at each learning-rate "
     "decay (CuSP, paper 001 Alg. 1)"),
    (re.compile(r"sched(?P<name>[a-z0-9_]+)"), lambda m: {"schedule": m["name"]}, ("schedule",),
     "sched{name}: the training overrides under `schedules: {name}:` in the config"),
    (re.compile(r"da|spgd|wok(?P<k>[1-9]\d*)"),
     lambda m: {"spatial": {"method": "wok", "k": int(m["k"])} if m["k"] else {"method": m[0]}}, ("spatial",),
     "da | wok{k} | spgd: paper 004's training on a uniformly random / worst-of-k / S-PGD transform within "
     "±3 px, ±30° (`spatial_training:`)"),
    (re.compile(rf"(?P<h>kl|l2)(?:lam(?P<lam>{NUMBER}))?"),
     lambda m: {"regularizer": m["h"], "lambda": _number(m["lam"]) if m["lam"] else None}, ("regularizer",),
     "kl | l2 (or kllam{λ}): add the invariance regulariser λ·h(f(x), f(x̃)) to ℓ(x) + ℓ(x̃) (paper 004)"),
    (re.compile(r"byh"), lambda m: {"select": "h"}, ("select",),
     "byh: the worst-case x̃ maximises the regulariser h instead of the loss (paper 004)"),
    (re.compile(rf"mix(?P<a>{NUMBER})"), lambda m: {"mix": _number(m["a"])}, ("mix",),
     "mix{α}: a fraction α of every batch from the robust dataset D_R (paper 003's D_mix)"),
]  # fmt: skip


def rotation_recipe(theta: float) -> str:
    return f"rot{format_number(theta)}"


def translation_recipe(i: float) -> str:
    return f"trans{format_number(i)}"


def rotation_translation_recipe(i: float) -> str:
    return f"rt{format_number(i)}"


def adversarial_recipe(eps, method: str = "pgd") -> str:
    return f"{method}{format_epsilon(eps)}"


def with_train_size(recipe: str, n: int) -> str:
    return f"{recipe}-n{int(n)}"


def split_stages(recipe: str) -> tuple[str | None, str]:
    """'A-then-B' → ('A', 'B'): B is trained starting from the weights of A (A may itself have stages)."""
    head, sep, last = recipe.rpartition(THEN)
    return (head, last) if sep else (None, recipe)


def _parse_stage(stage: str, recipe: str) -> dict:
    hp: dict = {"rotation": 0}
    filled: set[str] = set()
    for token in stage.split("-") if stage else [""]:
        for pattern, build, slots, _ in TOKENS:
            m = pattern.fullmatch(token)
            if m:
                if filled & set(slots):
                    raise RecipeError(f"recipe '{recipe}': token '{token}' repeats a setting")
                filled |= set(slots)
                hp.update(build(m))
                break
        else:
            known = "; ".join(doc for *_, doc in TOKENS)
            raise RecipeError(f"unknown training recipe '{recipe}' (token '{token}'). Recipes are tokens joined "
                              f"by '-', stages by '-then-'; known tokens: {known}")  # fmt: skip
    return hp


def _as_list(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def parse_recipe(recipe: str) -> dict:
    """The recipe-specific hyperparameters encoded in a recipe name (of its last stage, plus ``init``:
    the recipe whose trained weights it starts from, for ``A-then-B``)."""
    init, stage = split_stages(recipe)
    if init is not None:
        parse_recipe(init)  # the earlier stages must be valid recipes too
    hp = _parse_stage(stage, recipe)
    rotations = _as_list(hp["rotation"])
    epsilons = _as_list(hp["adversarial"]["eps"]) if "adversarial" in hp else []
    if not all(0 <= t <= 180 for t in rotations):
        raise RecipeError(f"recipe '{recipe}': rotation range must be within [0, 180] degrees")
    if not 0 <= hp.get("translation", 0) <= 1:
        raise RecipeError(f"recipe '{recipe}': translation range must be within [0, 1] (fraction of the image size)")
    if not all(0 <= e <= 1 for e in epsilons):
        raise RecipeError(f"recipe '{recipe}': the adversarial radius must be within [0, 1] (pixel units)")
    if (len(rotations) > 1 or len(epsilons) > 1) and not hp.get("curriculum"):
        raise RecipeError(f"recipe '{recipe}': a list of values (θ1_θ2_…, ε1_ε2_…) is a curriculum; add the "
                          f"token 'cusp'")  # fmt: skip
    for values in (rotations, epsilons):
        if values != sorted(values):
            raise RecipeError(f"recipe '{recipe}': curriculum values must not decrease ({values})")
    _check_spatial(hp, recipe)
    if not 0 <= hp.get("mix", 0) <= 1:
        raise RecipeError(f"recipe '{recipe}': the mix ratio α must be within [0, 1]")
    if hp.get("train_subset") == 0:
        raise RecipeError(f"recipe '{recipe}': the training-set size must be at least 1")
    if init is not None:
        hp["init"] = init
    return hp


def _check_spatial(hp: dict, recipe: str) -> None:
    """Paper 004's tokens: a regulariser or ``byh`` needs a spatial method; ``byh`` needs a worst case and h."""
    if "spatial" not in hp:
        if "regularizer" in hp or "select" in hp:
            raise RecipeError(f"recipe '{recipe}': 'kl', 'l2' and 'byh' regularise spatial training; add 'da', "
                              f"'wok{{k}}' or 'spgd'")  # fmt: skip
        return
    if "adversarial" in hp or hp["rotation"] != 0 or "translation" in hp or hp.get("curriculum"):
        raise RecipeError(f"recipe '{recipe}': 'da', 'wok{{k}}' and 'spgd' train on their own transformation set; "
                          f"they do not combine with rot/trans/rt/pgd/trades/cusp tokens")  # fmt: skip
    if hp.get("select") and (hp["spatial"]["method"] == "da" or "regularizer" not in hp):
        raise RecipeError(f"recipe '{recipe}': 'byh' picks the worst case by h: it needs 'wok{{k}}' or 'spgd' and "
                          f"'kl' or 'l2'")  # fmt: skip
