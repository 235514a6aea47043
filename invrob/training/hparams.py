"""The config → the hyperparameters of one training run (``hp``): the architecture's optimiser settings,
the dataset's sizes, augmentation and attack settings, the recipe's tokens, a schedule's overrides.
The config is the validated one: its defaults are the schema's (config/schema.yaml), nowhere else."""

from __future__ import annotations

from .recipes import RecipeError, _as_list, parse_recipe


def _spatial_spec(config: dict, specific: dict) -> dict:
    """The full spatial-training spec of a recipe: its method plus the transformation set, the S-PGD
    steps and the regulariser weight from ``spatial_training:``."""
    st = config["spatial_training"]
    spec = {**specific.pop("spatial"), "max_deg": float(st["max_deg"]), "max_px": float(st["max_px"])}
    if spec["method"] == "spgd":
        spec.update(st["spgd"])
    h, lam = specific.pop("regularizer", None), specific.pop("lambda", None)
    if h is not None:
        spec.update(regularizer=h, **{"lambda": float(st["lambda"][h] if lam is None else lam)})
    spec["select"] = specific.pop("select", "loss")
    return spec


def robust_source(config: dict, dataset: str, recipe: str = "") -> dict:
    """The adversarially trained model (arch, recipe, seed) whose D_R a ``mix{α}`` recipe trains on."""
    sources = (config.get("robust_dataset") or {}).get("sources") or {}
    if dataset not in sources:
        raise RecipeError(f"recipe '{recipe}' trains on the robust dataset D_R of {dataset}, but "
                          f"robust_dataset.sources.{dataset} (the adversarially trained model that builds it: "
                          f"arch, recipe, seed) is not set in the config")  # fmt: skip
    src = {"seed": 0, **sources[dataset]}
    if "mix" in parse_recipe(src["recipe"]):
        raise RecipeError(f"robust_dataset.sources.{dataset}: the source recipe cannot itself train on D_R")
    return src


def robust_dataset_settings(config: dict) -> dict:
    """How D_R is optimised (Ilyas et al.: ℓ2-normalised gradient steps on the input)."""
    rd = config["robust_dataset"]
    return {"steps": rd["steps"], "step_size": rd["step_size"], "batch_size": rd["batch_size"]}


def _schedule(config: dict, name: str, recipe: str) -> dict:
    schedules = config.get("schedules") or {}
    if name not in schedules:
        raise RecipeError(f"recipe '{recipe}': no schedule '{name}' under 'schedules:' in the config "
                          f"(configured: {sorted(schedules)})")  # fmt: skip
    return dict(schedules[name])


def _check_schedule_optimizer(overrides: dict, hp: dict, name: str, recipe: str) -> None:
    """A schedule's learning rate (and momentum) belong to an optimiser: applied to an architecture that
    trains with another one they mean something else (Adam at an SGD learning rate of 0.02 diverges), so a
    schedule that sets them must say which optimiser they are for when the architecture's is not SGD."""
    tuned = sorted(k for k in ("lr", "momentum") if k in overrides)
    if tuned and "optimizer" not in overrides and hp.get("optimizer", "sgd") != "sgd":
        raise RecipeError(f"recipe '{recipe}': schedules.{name} sets {' and '.join(tuned)} but not the optimiser, "
                          f"and training.{hp['arch']}.optimizer is {hp['optimizer']}: add `optimizer: sgd` (or "
                          f"adam) to schedules.{name}")  # fmt: skip


def trains_under_attack(specific: dict) -> bool:
    """Whether a parsed recipe's (or its hparams') training attacks every batch (PGD/TRADES at ε > 0, worst-of-k with k > 1,
    S-PGD): k + 1 forward–backward passes per image instead of one, so a smaller scale may give these
    trainings fewer images (``datasets.<d>.attacked_train_subset``)."""
    adv, spatial = specific.get("adversarial"), specific.get("spatial") or {}
    eps = _as_list(adv["eps"]) if adv else [0]
    return any(e > 0 for e in eps) or spatial.get("method") == "spgd" or spatial.get("k", 1) > 1


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
    if ds.get("validation"):  # images held out of training (paper 000 App. A), see TensorDataset.subset
        hp["validation"] = ds["validation"]
    hp["crop_padding"], hp["horizontal_flip"] = ds["augment"]["crop_padding"], ds["augment"]["horizontal_flip"]
    specific = parse_recipe(recipe)
    if ds.get("attacked_train_subset") is not None and trains_under_attack(specific):
        hp["train_subset"] = ds["attacked_train_subset"]  # a schedule's or -n{N}'s size still wins
    attack = dict(ds["pgd"])
    if "schedule" in specific:
        overrides = _schedule(config, specific["schedule"], recipe)
        _check_schedule_optimizer(overrides, hp, specific["schedule"], recipe)
        attack.update(overrides.pop("pgd", None) or {})
        if overrides.get("train_subset") is not None:
            hp["train_subset"] = overrides.pop("train_subset")
        overrides.pop("train_subset", None)
        hp.update(overrides)
    if specific.pop("no_crop_flip", False):  # Aug-T / Aug-RT: no crop, no flip (paper 001 §4)
        hp["crop_padding"], hp["horizontal_flip"] = 0, False
    n = specific.pop("train_subset", None)
    if n is not None:
        if hp["train_subset"] is not None and n > hp["train_subset"]:
            raise RecipeError(f"recipe '{recipe}' asks for {n} training images but datasets.{dataset}.train_subset "
                              f"is {hp['train_subset']}")  # fmt: skip
        hp["train_subset"] = n
    if "adversarial" in specific and specific["adversarial"]["eps"] == 0:
        del specific["adversarial"]  # ε = 0 is natural training: the attack's settings do not touch it
    warmup = hp.pop("eps_warmup_epochs", None)  # a property of attack training, kept in its spec
    if "adversarial" in specific:
        adv = {**specific["adversarial"], "random_start": True, **attack}
        # not under a schedule (a paper's own recipe, e.g. CuSP's rows, whose curricula are themselves ramps)
        if warmup and "schedule" not in specific and not specific.get("curriculum"):
            adv["eps_warmup_epochs"] = warmup
        if adv["method"] == "trades":
            adv["beta"] = float(ds["trades"]["beta"])
        specific["adversarial"] = adv
    if specific.get("curriculum"):
        stages = len(hp.get("lr_milestones") or []) + 1
        longest = max(len(_as_list(specific["rotation"])), len(_as_list(specific.get("adversarial", {}).get("eps", 0))))
        if longest > stages:
            raise RecipeError(f"recipe '{recipe}': the curriculum has {longest} steps but the learning-rate schedule "
                              f"only {stages} stages (lr_milestones {hp.get('lr_milestones') or []}); add "
                              f"milestones (e.g. with a `sched…` token) or shorten the lists")  # fmt: skip
    if "spatial" in specific:
        specific["spatial"] = _spatial_spec(config, specific)
    if "mix" in specific:
        specific["mix"] = {"alpha": float(specific["mix"]), "source": robust_source(config, dataset, recipe),
                           **robust_dataset_settings(config)}  # fmt: skip
    hp.update(specific)
    return hp
