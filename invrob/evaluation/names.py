"""Evaluation names, the one place they are made and read (torch-free: the DAG builds them).

An evaluation file is ``paths.EVALUATION`` with ``{evaluation}`` one of:

- ``clean``: accuracy on the test images;
- ``invariance-{family}``: rate of invariance and accuracy per test range, family ``rotation``
  (±θ), ``translation`` (±i × size) or ``rt`` (both; paper 001);
- ``robustness-{attack}[-rotated]``: accuracy and 1 − fooling rate per ε under a robustness attack
  (a plugin of ``invrob.attacks``: ``pgd``, ``fgsm``, …), on test images rotated by the model's own
  training range with ``-rotated``;
- ``deepfool[-rotated]``: the average ℓ2 perturbation distance (paper 000 §3.1);
- ``principal-angles``: between PGD and small-rotation perturbation subspaces (§3.2);
- ``pgd-linf`` / ``pgd-l2``: paper 003's accuracy and attack success rate of ℓ∞ / ℓ2 PGD per ε;
- ``autoattack-linf`` / ``autoattack-l2``: the same under AutoAttack at PGD's radii (beyond the papers: does
  paper 003's robustness survive a stronger attack?), on AutoAttack's own attacked images;
- ``spatial-{attack}``: accuracy under a worst-case spatial attack (``attacks.SPATIAL_ATTACKS``).

Those with a radius or a distance (robustness, DeepFool, principal angles) take ε in pixel units;
the suffix ``-normalized`` (``robustness-pgd-rotated-normalized``) puts them in units of the
input normalised by the dataset's per-channel std, as paper 000 does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .. import catalog
from ..attacks import EPSILON_SPACES, SPATIAL_ATTACKS

NORMALIZED_SUFFIX = "-normalized"
ROTATED_SUFFIX = "-rotated"
INVARIANCE_FAMILIES = ("rotation", "translation", "rt")
PGD_NORMS = ("linf", "l2")
SUCCESS_ATTACKS = ("pgd", "autoattack")  # the attacks of paper 003's success profiles ({attack}-{norm})
SPACED_FAMILIES = ("robustness", "deepfool", "principal-angles")  # with an ε or a distance


@dataclass(frozen=True)
class Evaluation:
    """A parsed evaluation name: ``family`` (clean, invariance, robustness, deepfool, principal-angles,
    pgd, spatial), ``variant`` (the invariance family, the attack or the PGD norm), ``rotated``, ``space``."""

    family: str
    variant: str | None = None
    rotated: bool = False
    space: str = "pixel"

    @property
    def base(self) -> str:
        """The name without its ε-space suffix."""
        name = self.family if self.variant is None else f"{self.family}-{self.variant}"
        return name + (ROTATED_SUFFIX if self.rotated else "")

    def __str__(self) -> str:
        return self.base + (NORMALIZED_SUFFIX if self.space == "normalized" else "")


def _bases() -> list[Evaluation]:
    attacks = catalog.names(catalog.ATTACKS)
    return [Evaluation("clean"), *(Evaluation("invariance", f) for f in INVARIANCE_FAMILIES),
            *(Evaluation("robustness", a, rotated) for a in attacks for rotated in (False, True)),
            Evaluation("deepfool"), Evaluation("deepfool", rotated=True), Evaluation("principal-angles"),
            *(Evaluation(a, n) for a in SUCCESS_ATTACKS for n in PGD_NORMS),
            *(Evaluation("spatial", a) for a in SPATIAL_ATTACKS)]  # fmt: skip


@functools.cache
def known() -> dict[str, Evaluation]:
    """Every evaluation the workflow can compute, by name (both ε spaces of the spaced ones); do not modify."""
    out = {}
    for e in _bases():
        out[str(e)] = e
        if e.family in SPACED_FAMILIES:
            normalized = Evaluation(e.family, e.variant, e.rotated, "normalized")
            out[str(normalized)] = normalized
    return out


def parse(name: str) -> Evaluation:
    """The parts of evaluation ``name``; a short error naming the known evaluations otherwise."""
    found = known().get(name)
    if found is None:
        raise ValueError(f"unknown evaluation '{name}'; known: {sorted(known())}")
    return found


def in_space(evaluation: str, space: str) -> str:
    """The name of a spaced evaluation (robustness, DeepFool, principal angles) with ε in ``space``."""
    if space not in EPSILON_SPACES:
        raise ValueError(f"unknown epsilon space '{space}'; choose one of {EPSILON_SPACES}")
    return evaluation + NORMALIZED_SUFFIX if space == "normalized" else evaluation


def split_space(evaluation: str) -> tuple[str, str]:
    """(base name, ε space) of an evaluation name: 'deepfool-normalized' → ('deepfool', 'normalized')."""
    found = known().get(evaluation)
    if found is None:
        return evaluation, "pixel"
    return found.base, found.space


def success(attack: str, norm: str) -> str:
    """Paper 003's success profile of ``attack`` (pgd, autoattack) in ``norm`` (linf, l2): 'autoattack-l2'."""
    return str(Evaluation(attack, norm))


def robustness(attack: str, rotated: bool = False, space: str = "pixel") -> str:
    return str(Evaluation("robustness", attack, rotated, space))


def spatial(attack: str) -> str:
    return str(Evaluation("spatial", attack))
