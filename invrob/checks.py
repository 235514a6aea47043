"""The config checks the JSON schema cannot express, made before any job runs (``check_config``).

Each error names the key and the fix.  Per-kind checks (an ε on the robustness grid, a test range
the figure reads) are the kind modules' ``check`` (``invrob.figures.kinds``); what every panel that
reads checkpoints needs is ``_check_panel``.
"""

from __future__ import annotations

import re

from . import catalog, external
from .config import ConfigError, load_schema
from .data.registry import DATASETS
from .evaluation.settings import evaluation_settings, robustness_epsilons
from .figures import kinds
from .figures.plan import PlanError, plan_evaluations, plan_models, training_images
from .pipeline import figure_plan, train_params
from .units import RecipeError, parse_epsilon


def check_config(config: dict) -> None:
    """Semantic checks the JSON schema cannot express; raise ``ConfigError`` naming the key and fix."""
    for name in config["datasets"]:
        if name not in DATASETS:
            raise ConfigError(f"datasets.{name}: unknown dataset; known: {sorted(DATASETS)}")
    known_archs = catalog.architecture_titles()
    for arch in config["training"]:
        if arch not in known_archs:
            raise ConfigError(f"training.{arch}: unknown architecture; known: {sorted(known_archs)} (each is declared "
                              f"by a module of invrob/models/zoo/)")  # fmt: skip
    for name, arch in ((config.get("stand_ins") or {}).get("archs") or {}).items():
        for what in (name, arch):
            if what not in known_archs:
                raise ConfigError(f"stand_ins.archs: unknown architecture '{what}'; known: {sorted(known_archs)}")
    known_attacks = catalog.names(catalog.ATTACKS)
    dataset_keys = set(_schema_dataset_keys())
    for name, ds in config["datasets"].items():
        for key in ds:
            if key not in dataset_keys and key not in known_attacks:
                raise ConfigError(f"datasets.{name}.{key}: unknown key; known: {sorted(dataset_keys)}, or the settings "
                                  f"of a robustness attack ({sorted(known_attacks)})")  # fmt: skip
    for i, attack in enumerate(config["evaluation"]["attacks"]):
        if attack not in known_attacks:
            raise ConfigError(f"evaluation.attacks[{i}]: unknown attack '{attack}'; known: {sorted(known_attacks)} "
                              f"(each is declared by a module of invrob/attacks/)")  # fmt: skip
    for attack, scope in config["evaluation"]["per_attack"].items():
        if attack not in known_attacks:
            raise ConfigError(f"evaluation.per_attack.{attack}: unknown attack; known: {sorted(known_attacks)}")
        grids = {"epsilons": scope.get("epsilons") or [],
                 **{f"dataset_epsilons.{d}": g for d, g in (scope.get("dataset_epsilons") or {}).items()}}  # fmt: skip
        for key, grid in grids.items():
            _check_radii(f"evaluation.per_attack.{attack}.{key}", grid)
            _check_increasing(f"evaluation.per_attack.{attack}.{key}", grid)
    _check_sizes_and_radii(config)
    external.check(config)
    thetas = {float(t) for t in config["evaluation"]["rotation_thetas"]}
    for section in ("figures", "tables"):
        for name in config.get(section) or {}:
            where = f"{section}.{name}"
            try:
                _check_target(config, where, figure_plan(config, name, section), thetas)
            except ConfigError as exc:  # say which figure or table asked for it
                message = str(exc)
                names_a_key = re.match(r"[a-z_0-9]+(\.[A-Za-z_0-9]+)+(\[\d+\])*: ", message)
                message = message if names_a_key else f"{where}: {message}"
                own = config[section][name].get("external")  # a target made for an external model: name the model
                if own is not None:
                    message = message.replace(f"{where}: ", f"{external.where(own)} (its target {where}): ", 1)
                raise ConfigError(message) from None


def _check_target(config: dict, where: str, p: dict, thetas: set) -> None:
    """A figure's or table's checks: every panel's (generic, then its kind's), then the settings of every
    model and evaluation it needs.  A kind that reads no checkpoint (a simulation) has only its own."""
    kind = kinds.get(p["kind"])
    reads_checkpoints = getattr(kind, "CHECKPOINTS", True)
    for panel in p["panels"]:
        epsilons = set()
        if reads_checkpoints:
            _check_panel(config, where, panel)
            epsilons = {round(e, 9) for e in robustness_epsilons(config, panel["dataset"])}
        if hasattr(kind, "check"):
            try:
                kind.check(config, where, panel, thetas, epsilons)
            except (PlanError, RecipeError) as exc:
                raise ConfigError(str(exc)) from None
    if not reads_checkpoints:
        return
    for dataset, arch, recipe in sorted(plan_models(p)):
        if arch != external.EXTERNAL:  # imported, not trained
            train_params(config, dataset, arch, recipe)
    for dataset, evaluation in sorted(plan_evaluations(p)):
        evaluation_settings(config, dataset, evaluation)


def _schema_dataset_keys() -> list[str]:
    """The keys config/schema.yaml defines for a dataset entry."""
    return list(load_schema()["$defs"]["dataset"]["properties"])


def _check_sizes_and_radii(config: dict) -> None:
    """Subsets no larger than the split they are taken from; every ε within [0, 1]."""
    for name, ds in config["datasets"].items():
        spec = DATASETS[name]
        for key, size, split in zip(("train_subset", "test_subset"), spec.sizes or (), ("training", "test")):
            if ds.get(key) is not None and ds[key] > size:
                raise ConfigError(f"datasets.{name}.{key}: {ds[key]} is more than the {size} images of the {spec.title} "
                                  f"{split} split; use at most {size}, or null for all")  # fmt: skip
        usable = training_images(config, name)
        held = f" less the {ds['validation']} of its validation split" if ds.get("validation") else ""
        if spec.sizes and ds.get("validation") and ds["validation"] >= spec.sizes[0]:
            raise ConfigError(f"datasets.{name}.validation: {ds['validation']} leaves no training images of the "
                              f"{spec.sizes[0]} of the {spec.title} training split")  # fmt: skip
        if spec.sizes and ds.get("train_subset") is not None and ds["train_subset"] > usable:
            raise ConfigError(f"datasets.{name}.train_subset: {ds['train_subset']} is more than the {usable} images of "
                              f"the {spec.title} training split{held}; use at most {usable}, or null for all")  # fmt: skip
        others = ds.get("train_subset") or usable
        if ds.get("attacked_train_subset") is not None and others is not None and ds["attacked_train_subset"] > others:
            raise ConfigError(f"datasets.{name}.attacked_train_subset: {ds['attacked_train_subset']} is more than the "
                              f"{others} training images of the other recipes (train_subset); "
                              f"use at most that, or null for the same")  # fmt: skip
        for n in ds.get("train_sizes") or []:
            if spec.sizes and n > usable:
                raise ConfigError(f"datasets.{name}.train_sizes: {n} is more than the {usable} images of the "
                                  f"{spec.title} training split{held}")  # fmt: skip
        for key in ("adversarial_epsilons", "epsilons"):
            _check_radii(f"datasets.{name}.{key}", ds.get(key) or [])
        _check_increasing(f"datasets.{name}.epsilons", ds.get("epsilons") or [])
    ev = config["evaluation"]
    _check_radii("evaluation.epsilons", ev.get("epsilons") or [])
    for key in ("epsilons", "rotation_thetas", "translation_ranges"):
        _check_increasing(f"evaluation.{key}", ev.get(key) or [])


def _check_increasing(where: str, values) -> None:
    """A profile's grid is its x axis: it must increase (an unsorted grid zig-zags every line)."""
    parsed = [parse_epsilon(v) for v in values]
    for i in range(1, len(parsed)):
        if parsed[i] <= parsed[i - 1]:
            raise ConfigError(f"{where}[{i}]: {values[i]} (= {parsed[i]:.4g}) does not come after {values[i - 1]} "
                              f"(= {parsed[i - 1]:.4g}); list the grid in increasing order without repeats")  # fmt: skip


def _check_radii(where: str, values) -> None:
    for i, value in enumerate(values):
        if not 0 <= parse_epsilon(value) <= 1:
            raise ConfigError(f"{where}[{i}]: {value} = {parse_epsilon(value):.4g} is not an ℓ∞ radius in [0, 1] "
                              f"(pixel or normalised units): use a value in [0, 1]")  # fmt: skip


def _check_panel(config: dict, where: str, panel: dict) -> None:
    """What every panel that reads checkpoints needs: its dataset and architectures configured, an attack
    the config lists, an ε space the attack backend supports."""
    ds = panel["dataset"]
    if ds not in config["datasets"]:
        raise ConfigError(f"{where}: dataset '{ds}' is not configured under 'datasets:' "
                          f"(configured: {sorted(config['datasets'])}); add it there or a stand-in for it")  # fmt: skip
    known_archs = catalog.architecture_titles()
    if external.EXTERNAL in panel["archs"] and "external" not in panel:
        raise ConfigError(f"{where}: arch '{external.EXTERNAL}' names the models of external_models, which only their "
                          f"own targets ({external.TARGET_PREFIX}NAME) show")  # fmt: skip
    for arch in [a for a in panel["archs"] if a != external.EXTERNAL]:  # an external model: external.check
        if arch not in known_archs:
            raise ConfigError(f"{where}: unknown architecture '{arch}'; known: {sorted(known_archs)} (each is declared "
                              f"by a module of invrob/models/zoo/)")  # fmt: skip
        if arch not in config["training"]:
            raise ConfigError(f"{where}: architecture '{arch}' has no settings under 'training:' "
                              f"(configured: {sorted(config['training'])}); add them there")  # fmt: skip
    if (panel.get("epsilon_space") == "normalized" and config["evaluation"].get("attack_backend") == "advertorch"
            and DATASETS[ds].shape[0] > 1):  # fmt: skip
        raise ConfigError(f"{where}: normalised ε on {DATASETS[ds].title} is a radius per channel, but advertorch takes "
                          f"one for all channels; use evaluation.attack_backend: native (or epsilon_space: pixel)")  # fmt: skip
    attack = panel.get("attack")
    if attack is not None and attack not in config["evaluation"]["attacks"]:
        raise ConfigError(f"{where}: attack '{attack}' is not listed in evaluation.attacks")
    for attack in panel.get("attacks") or []:
        if attack not in config["evaluation"]["attacks"]:
            raise ConfigError(f"{where}: attack '{attack}' of 'attacks' is not listed in evaluation.attacks")
