"""The settings each evaluation depends on, from the config (torch-free: they are the evaluate rule's params).

Changing a setting an evaluation reads reruns it, and nothing else: an evaluation's settings hold
exactly what its family reads (``names.Evaluation.family``), and they are written into its file.
The config is the validated one: its defaults are the schema's (config/schema.yaml), nowhere else.
"""

from __future__ import annotations

from .. import catalog
from ..attacks import ADVERTORCH_ATTACKS
from ..config import ConfigError
from ..data.registry import DATASETS
from ..units import parse_epsilon
from . import names


def attacked_subset(config: dict, dataset: str) -> int | None:
    """How many test images attacks run on: ``robustness_test_subset`` (a class-balanced subset of the
    test subset, see ``TensorDataset.balanced``) where it is the smaller, else the test subset."""
    subset, test = config["evaluation"].get("robustness_test_subset"), config["datasets"][dataset].get("test_subset")
    return subset if subset is not None and (test is None or subset < test) else test


def _attacked(config: dict, dataset: str, attack: str | None = None) -> dict:
    """The settings of an attack evaluation's images: ``attacked`` (the class-balanced subset of the
    ``test_subset`` it runs on) when ``robustness_test_subset`` is smaller than the test subset, or the
    robustness ``attack``'s own ``per_attack.{attack}.test_images`` is (a subset of those: ``balanced``)."""
    attacked = attacked_subset(config, dataset)
    own = config["evaluation"]["per_attack"].get(attack, {}).get("test_images")
    if own is not None and (attacked is None or own < attacked):
        attacked = own
    return {} if attacked == config["datasets"][dataset].get("test_subset") else {"attacked": attacked}


def robustness_epsilons(config: dict, dataset: str, attack: str | None = None) -> list[float]:
    """The ε grid of the dataset's robustness profiles (``evaluation.per_attack.{attack}.dataset_epsilons.{dataset}``,
    else ``evaluation.per_attack.{attack}.epsilons``, else ``datasets.*.epsilons``, else ``evaluation.epsilons``)."""
    scope = config["evaluation"]["per_attack"].get(attack, {})
    grid = ((scope.get("dataset_epsilons") or {}).get(dataset) or scope.get("epsilons")
            or config["datasets"][dataset].get("epsilons") or config["evaluation"]["epsilons"])  # fmt: skip
    return [parse_epsilon(e) for e in grid]


def attack_settings(config: dict, dataset: str, attack: str) -> dict:
    """A robustness attack's settings: its module's defaults, then the dataset's (``datasets.*.{attack}``,
    e.g. PGD's steps and step size)."""
    return {**catalog.attack_defaults(attack), **(config["datasets"][dataset].get(attack) or {})}


def evaluation_settings(config: dict, dataset: str, evaluation: str) -> dict:
    """The settings one evaluation depends on: changing anything else does not rerun it."""
    ev, ds = config["evaluation"], config["datasets"][dataset]
    settings = {"seed": ev["seed"], "batch_size": ev["batch_size"],
                "test_subset": ds.get("test_subset")}  # fmt: skip
    try:
        e = names.parse(evaluation)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if e.family in ("robustness", "deepfool", *names.SUCCESS_ATTACKS, "principal-angles"):
        # the space of ε and of DeepFool distances: pixels, or the input normalised by the dataset's std
        settings["epsilon_space"] = e.space
        if e.space == "normalized":
            settings["epsilon_unit"] = list(DATASETS[dataset].std)
    if e.rotated or e.family in ("invariance", "principal-angles"):
        settings["interpolation"] = ev["interpolation"]
    if e.family == "invariance" and e.variant == "rotation":
        settings["thetas"] = list(ev["rotation_thetas"])
    elif e.family == "invariance":
        settings["ranges"] = list(ev["translation_ranges"])
    elif e.family == "robustness":
        # advertorch has PGD and FGSM only: the other attacks (AutoAttack, …) always run on the native engine
        backend = ev["attack_backend"] if e.variant in ADVERTORCH_ATTACKS else "native"
        settings.update(**_attacked(config, dataset, e.variant), epsilons=robustness_epsilons(config, dataset, e.variant),
                        backend=backend, attack=attack_settings(config, dataset, e.variant))  # fmt: skip
    elif e.family == "deepfool":
        settings.update(**_attacked(config, dataset), **ev["deepfool"])
    elif e.family == "spatial":
        settings.update(**_attacked(config, dataset), **ev["spatial"])
    elif e.family == "pgd":
        attack = dict(ev["pgd_success"][e.variant])
        attack["epsilons"] = [parse_epsilon(x) for x in attack["epsilons"]]
        settings.update(**_attacked(config, dataset), **attack)
    elif e.family == "autoattack":  # at PGD's radii, on AutoAttack's own images (a subset of PGD's)
        epsilons = [parse_epsilon(x) for x in ev["pgd_success"][e.variant]["epsilons"]]
        settings.update(**_attacked(config, dataset, "autoattack"), epsilons=epsilons, norm=e.variant,
                        attack=attack_settings(config, dataset, "autoattack"))  # fmt: skip
    elif e.family == "principal-angles":
        if not ds.get("principal_angles"):
            raise ConfigError(f"datasets.{dataset}.principal_angles (attack_epsilon, rotation_deg) is not set")
        pa = ds["principal_angles"]
        settings.update(**_attacked(config, dataset), epsilon=float(parse_epsilon(pa["attack_epsilon"])),
                        rotation_deg=pa["rotation_deg"], k=pa["k"], backend=ev["attack_backend"],
                        attack=attack_settings(config, dataset, "pgd"))  # fmt: skip
    return settings
