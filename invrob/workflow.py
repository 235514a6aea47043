"""What the Snakefile needs to know about the config: file names, targets, params, checks.

Kept here (not in ``rules/common.smk``) so that it is unit-tested without Snakemake.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .data import DATASETS
from .evaluation import EVALUATIONS
from .models import ARCH_TITLES
from .recipes import RecipeError, recipe_hparams, rotation_recipe

class ConfigError(ValueError):
    pass


WORKFLOW_ROOT = Path(__file__).resolve().parents[1]


def copy_workflow(dest: str | Path, source: Path = WORKFLOW_ROOT) -> Path:
    """Copy the workflow (Snakefile, configs, rules, scripts, package sources) into ``dest``.

    A private copy runs in its own folder without touching this checkout's results: the tests
    and the benchmark suite use it.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "config.yaml", "environment.yml"):
        shutil.copy(source / name, dest / name)
    for name in ("rules", "scripts", "config", "invrob"):
        shutil.copytree(source / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return dest


def checkpoint_path(dataset: str, arch: str, recipe: str, seed: int | str) -> str:
    return f"results/{dataset}/{arch}/{recipe}/seed{seed}/model.pt"


def evaluation_path(dataset: str, arch: str, recipe: str, seed: int | str, evaluation: str) -> str:
    return f"results/{dataset}/{arch}/{recipe}/seed{seed}/eval/{evaluation}.json"


def rotation_recipes(config: dict) -> list[str]:
    return [rotation_recipe(t) for t in config["sweeps"]["rotation"]]


def robustness_evaluations(config: dict) -> list[str]:
    return [f"robustness-{a}" for a in config["evaluation"].get("attacks", ["pgd", "fgsm"])]


def checkpoint_evaluations(config: dict) -> list[str]:
    """Evaluations computed for every checkpoint that a figure uses."""
    return ["clean", "invariance-rotation", *robustness_evaluations(config)]


def figure_evaluations(config: dict, name: str) -> list[str]:
    """Evaluation files that figure ``name`` reads (and nothing else: see rules/figures.smk)."""
    fig = config["figures"][name]
    if fig["kind"] == "rotation_tradeoff":
        paths = []
        for recipe in rotation_recipes(config):
            for seed in config["seeds"]:
                for ev in ("clean", "invariance-rotation", f"robustness-{fig['attack']}"):
                    paths.append(evaluation_path(fig["dataset"], fig["arch"], recipe, seed, ev))
        return paths
    raise ConfigError(f"figure '{name}': unknown kind '{fig['kind']}'")


def figures_of_kind(config: dict, kind: str) -> list[str]:
    return sorted(n for n, f in config["figures"].items() if f["kind"] == kind)


def all_targets(config: dict) -> list[str]:
    """Every figure (PDF and PNG) and every per-checkpoint evaluation of the models they use."""
    targets, models = [], set()
    for name, fig in sorted(config["figures"].items()):
        targets += [f"figures/{name}.pdf", f"figures/{name}.png"]
        for recipe in rotation_recipes(config):
            models.add((fig["dataset"], fig["arch"], recipe))
    for dataset, arch, recipe in sorted(models):
        for seed in config["seeds"]:
            targets += [evaluation_path(dataset, arch, recipe, seed, ev) for ev in checkpoint_evaluations(config)]
    return targets


def train_params(config: dict, dataset: str, arch: str, recipe: str) -> dict:
    try:
        return recipe_hparams(config, dataset, arch, recipe)
    except RecipeError as exc:
        raise ConfigError(str(exc)) from None


def evaluation_settings(config: dict, dataset: str, evaluation: str) -> dict:
    """The settings one evaluation depends on: changing anything else does not rerun it."""
    ev, ds = config["evaluation"], config["datasets"][dataset]
    settings = {"seed": ev.get("seed", 0), "batch_size": ev.get("batch_size", 500),
                "test_subset": ds.get("test_subset")}  # fmt: skip
    if evaluation == "invariance-rotation":
        settings.update(thetas=list(ev["rotation_thetas"]), interpolation=ev.get("interpolation", "nearest"))
    elif evaluation.startswith("robustness-"):
        attack = evaluation.removeprefix("robustness-")
        subset = ev.get("robustness_test_subset")
        if subset is not None and (settings["test_subset"] is None or subset < settings["test_subset"]):
            settings["test_subset"] = subset
        attack_settings = {"random_start": True, **ds["pgd"]} if attack == "pgd" else {}
        settings.update(epsilons=list(ev["epsilons"]), backend=ev.get("attack_backend", "native"),
                        attack=attack_settings)  # fmt: skip
    elif evaluation != "clean":
        raise ConfigError(f"unknown evaluation '{evaluation}'; known: {sorted(EVALUATIONS)}")
    return settings


def scale_note(config: dict, dataset: str) -> str:
    """What a figure title says about scale when it is not the paper's ('' at paper scale)."""
    if config.get("scale", "paper") == "paper":
        return ""
    ds = config["datasets"][dataset]
    parts = [f"{config['scale']} scale"]
    if ds.get("train_subset"):
        parts.append(f"{ds['train_subset']} train")
    if ds.get("test_subset"):
        parts.append(f"{ds['test_subset']} test images")
    attacked = evaluation_settings(config, dataset, "robustness-pgd")["test_subset"]
    if attacked is not None and attacked != ds.get("test_subset"):
        parts.append(f"{attacked} attacked")
    return ", ".join(parts)


def check_config(config: dict) -> None:
    """Semantic checks the JSON schema cannot express; raise ``ConfigError`` naming the key and fix."""
    for name, fig in config["figures"].items():
        if fig["dataset"] not in config["datasets"]:
            raise ConfigError(f"figures.{name}.dataset is '{fig['dataset']}', which is not configured under "
                              f"'datasets:' (configured: {sorted(config['datasets'])}); add it there")  # fmt: skip
        if fig["arch"] not in config["training"]:
            raise ConfigError(f"figures.{name}.arch is '{fig['arch']}', which has no settings under 'training:' "
                              f"(configured: {sorted(config['training'])}); add them there")  # fmt: skip
        if fig["attack"] not in config["evaluation"].get("attacks", ["pgd", "fgsm"]):
            raise ConfigError(f"figures.{name}.attack is '{fig['attack']}' but evaluation.attacks does not list it")
    for name in config["datasets"]:
        if name not in DATASETS:
            raise ConfigError(f"datasets.{name}: unknown dataset; known: {sorted(DATASETS)}")
    for arch in config["training"]:
        if arch not in ARCH_TITLES:
            raise ConfigError(f"training.{arch}: unknown architecture; known: {sorted(ARCH_TITLES)}")
    for recipe in rotation_recipes(config):
        for fig in config["figures"].values():
            train_params(config, fig["dataset"], fig["arch"], recipe)
