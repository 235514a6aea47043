"""The models of the external_profile and external_summary kinds: one model of ``external_models`` with
every evaluation of its profile (``invrob.external``)."""

from __future__ import annotations

from ...config import ConfigError
from ...data.registry import get_spec
from ...external import EXTERNAL, SEED, evaluations
from ..plan import model_entry, require
from ..style import spatial_attack_row


def models(config: dict, panel: dict, where: str) -> list[dict]:
    """The one imported checkpoint of the panel's ``external`` model (group: its name)."""
    name = require(panel, "external", where)
    return [model_entry(config, panel["dataset"], EXTERNAL, name, name, evaluations(config, name), [int(SEED)])]


def check(config: dict, where: str, panel: dict, thetas: set, epsilons: set) -> None:
    name = require(panel, "external", where)
    if name not in (config.get("external_models") or {}):
        raise ConfigError(f"{where}: external: '{name}' is not a model of external_models "
                          f"(configured: {sorted(config.get('external_models') or {})})")  # fmt: skip


def title(panel: dict, evals: dict) -> str:
    """'resnet18_cifar (mymodels:resnet18) on CIFAR-10'."""
    name = panel["external"]
    factory = evals_of(panel, evals, "clean")["training"]["external"]["factory"]
    return f"{name} ({factory}) on {get_spec(panel['dataset']).title}"


def evals_of(panel: dict, evals: dict, evaluation: str) -> dict:
    """The evaluation file ``evaluation`` of the panel's model (one seed)."""
    return evals[panel["models"][0]["evals"][SEED][evaluation]]


def of_family(panel: dict, family: str) -> list[str]:
    """The panel's evaluations of one family (robustness, spatial, deepfool), in profile order."""
    return [ev for ev in panel["models"][0]["evals"][SEED] if ev.split("-")[0] == family]


def spatial_label(evaluation: dict) -> str:
    """The spatial attack of an evaluation file as the spatial_attacks table names it (worst-of-10)."""
    return spatial_attack_row(evaluation["results"]["attack"], evaluation["settings"])
