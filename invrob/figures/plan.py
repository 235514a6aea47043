"""Figures and tables of the papers as plans: which checkpoints and evaluation files each reads.

A figure (``figures:``) or table (``tables:``) entry of the config names its ``kind`` and what
it shows: ``dataset``, ``arch``, ``attack``, … either at the top level (one panel) or as a list
of ``panels`` whose missing keys default to the top level.  ``resolve_plan(config, section, name)``
resolves it into panels, each listing the models (dataset, arch, recipe) it needs, grouped by
what the plot's lines or points stand for (its ``group``: what it means is the kind's to say, see
``invrob.figures.kinds``), and the evaluation file of every (model, seed, evaluation).  Which
models a panel needs is the kind module's ``models(config, panel, where)``; this module holds
the helpers the kinds share.  The Snakemake rules take the plan's
files as inputs and the plan itself as a param, so a figure reads only declared inputs and
reruns when its definition changes.

Stand-ins (``stand_ins:`` in the config, used by the quick scale) replace a paper's dataset or
architecture by another one everywhere (CIFAR-10 VGG16 → Fashion-MNIST StdCNN); the plan keeps
the paper's names so that titles can say what stands in for what, and models shared by several
figures resolve to the same checkpoint, so no model is trained twice.
"""

from __future__ import annotations

from .. import paths
from ..config import load_schema
from ..data.registry import DATASETS
from ..evaluation.names import in_space
from ..training.recipes import (
    THEN,
    adversarial_recipe,
    rotation_recipe,
    rotation_translation_recipe,
    translation_recipe,
)
from ..units import epsilon_label, format_epsilon, format_number, parse_epsilon
from . import kinds


class PlanError(ValueError):
    pass


# the keys a figure's top level gives every panel: the schema's (config/schema.yaml, $defs.panel)
PANEL_KEYS = tuple(k for k in load_schema()["$defs"]["panel"]["properties"]
                   if k not in ("kind", "panels", "table", "source"))  # fmt: skip
# what a panel without the key means (the schema says so in the key's description; filling these in at
# validation would give every panel of every kind keys that most kinds do not read)
PANEL_DEFAULTS = {"method": "pgd", "rotation": 180, "transform": "rotation"}


def panel_setting(panel: dict, key: str):
    """``panel[key]``, else its default (``PANEL_DEFAULTS``)."""
    return panel.get(key, PANEL_DEFAULTS[key])


# spatial families: training sweep key under `sweeps:`, recipe of one sweep value
FAMILY_RECIPES = {"rotation": ("rotation", rotation_recipe), "translation": ("translation", translation_recipe),
                  "rt": ("translation", rotation_translation_recipe)}  # fmt: skip


def stand_in(config: dict, what: str, name: str) -> str:
    return (config.get("stand_ins") or {}).get(what, {}).get(name, name)


def _entry(config: dict, section: str, name: str) -> dict:
    """The config entry of a figure/table; a `pareto` figure takes the rows of the table it names, and an
    entry with a ``source`` takes the panels and keys of the figure or table it names (its own keys win;
    ``source_kind`` says what the source is, for kinds that re-evaluate another target's models)."""
    entry = config[section][name]
    if entry.get("kind") == "pareto":
        table = entry.get("table")
        if table not in (config.get("tables") or {}) or config["tables"][table].get("kind") != "cusp":
            raise PlanError(f"{section}.{name}: 'table' must name a table of kind 'cusp' under 'tables:'")
        entry = {**config["tables"][table], **{k: v for k, v in entry.items() if k != "table"}}
    if "source" in entry:
        where = [s for s in ("figures", "tables") if entry["source"] in (config.get(s) or {})]
        if not where or "source" in config[where[0]][entry["source"]]:
            raise PlanError(f"{section}.{name}: 'source' must name a figure or table of the config that has no "
                            f"source of its own (got '{entry['source']}')")  # fmt: skip
        source = _entry(config, where[0], entry["source"])
        entry = {**source, **{k: v for k, v in entry.items() if k != "source"}, "source_kind": source["kind"]}
    return entry


def _theory_panel() -> dict:
    """The one panel of a ``theorem2`` figure: paper 001 §3's distribution, the same at every scale."""
    return {"dataset": "cyclic_code", "paper_dataset": "cyclic_code", "archs": ["theory"], "paper_archs": ["theory"],
            "arch": "theory", "paper_arch": "theory", "metric": "accuracy", "test": "unrotated",
            "epsilon_space": "pixel", "scale_free": True}  # fmt: skip


def _panels(config: dict, section: str, name: str) -> list[dict]:
    entry = _entry(config, section, name)
    if entry.get("kind") == "theorem2":
        return [_theory_panel()]
    defaults = {k: entry[k] for k in (*PANEL_KEYS, "source_kind") if k in entry}
    panels = []
    for raw in entry.get("panels") or [{}]:
        p = {**defaults, **raw}
        if "dataset" not in p:
            raise PlanError(f"{section}.{name}: every panel needs a 'dataset' (at the top level or in the panel)")
        own = "external" in p  # a model of external_models: its own dataset, no stand-in
        p["paper_dataset"], p["dataset"] = p["dataset"], p["dataset"] if own else stand_in(config, "datasets", p["dataset"])
        archs = (p.get("archs") or ([p["arch"]] if "arch" in p else [])
                 or list(dict.fromkeys(c["arch"] for c in p.get("columns") or [])))  # fmt: skip
        if not archs:
            raise PlanError(f"{section}.{name}: every panel needs 'arch' or 'archs'")
        p["paper_archs"] = list(archs)
        p["archs"] = list(archs) if own else [stand_in(config, "archs", a) for a in archs]
        p["arch"], p["paper_arch"] = p["archs"][0], p["paper_archs"][0]
        p.setdefault("metric", "accuracy")
        p.setdefault("test", "unrotated")
        p.setdefault("epsilon_space", "pixel")
        panels.append(p)
    return panels


def model_entry(config: dict, dataset: str, arch: str, recipe: str, group, evaluations: list[str],
           seeds: list[int] | None = None, path=paths.evaluation) -> dict:  # fmt: skip
    """A model of a plan with the file of each (seed, evaluation); ``path`` names the files (per
    checkpoint, or ``paths.snapshot_evaluation`` for all snapshots of one training run)."""
    return {"dataset": dataset, "arch": arch, "recipe": recipe, "group": group,
            "evals": {str(seed): {ev: path(dataset, arch, recipe, seed, ev) for ev in evaluations}
                      for seed in (seeds or config["seeds"])}}  # fmt: skip


def spaced(panel: dict, evaluation: str) -> str:
    """``evaluation`` (robustness-…, deepfool…, principal-angles) with ε in the panel's ``epsilon_space``."""
    return in_space(evaluation, panel["epsilon_space"])


def robustness_evaluation(panel: dict, rotated: bool | None = None, attack: str | None = None) -> str:
    """The robustness profile a panel reads: its attack, on rotated test data or not, in its ε space."""
    rotated = panel["test"] == "rotated" if rotated is None else rotated
    return spaced(panel, f"robustness-{attack or panel['attack']}" + ("-rotated" if rotated else ""))


def require(panel: dict, key: str, where: str):
    if key not in panel:
        raise PlanError(f"{where}: this kind needs '{key}'")
    return panel[key]


def training_images(config: dict, dataset: str) -> int | None:
    """Images of the real training split that training may use: all but the validation split."""
    sizes = DATASETS[dataset].sizes
    return None if not sizes else sizes[0] - (config["datasets"][dataset].get("validation") or 0)


def train_sizes(config: dict, dataset: str) -> list[tuple[int, str | None]]:
    """(N, recipe suffix) per configured training-set size; the full (sub)set needs no suffix, so
    its models are the sweep's ``rot0`` / ``rot180`` (at paper scale the whole training split)."""
    full = config["datasets"][dataset].get("train_subset")
    if full is None:  # the whole training split less its validation split
        full = training_images(config, dataset)
    out = []
    for n in config["datasets"][dataset].get("train_sizes") or []:
        out.append((n, None if full is not None and n >= full else n))
    return out


def adversarial_sweep(config: dict, dataset: str, arch: str, evaluations: list[str], where: str,
                       method: str = "pgd") -> list[dict]:  # fmt: skip
    """One model per adversarial-training radius of the dataset's sweep, grouped by that radius
    (ε = 0 is natural training whatever the method: the same checkpoint, ``pgd0``)."""
    epsilons = config["datasets"][dataset].get("adversarial_epsilons")
    if not epsilons:
        raise PlanError(f"{where}: datasets.{dataset}.adversarial_epsilons (the adversarial-training sweep) is not set")
    return [model_entry(config, dataset, arch, adversarial_recipe(e, method if parse_epsilon(e) else "pgd"),
                   parse_epsilon(e), evaluations) for e in epsilons]  # fmt: skip


def natural_recipe(config: dict, dataset: str, family: str = "rotation") -> str:
    """The i = 0 (untransformed) model of a sweep.  Aug-R's is ``rot0``, natural training with the
    dataset's crop and flip; Aug-T and Aug-RT train without crop and flip (paper 001), so theirs is
    ``trans0`` where the dataset crops or flips (CIFAR, Tiny ImageNet) and ``rot0`` elsewhere."""
    if dataset not in config["datasets"]:
        raise PlanError(f"dataset '{dataset}' is not configured under 'datasets:' (configured: "
                        f"{sorted(config['datasets'])}); add it there or a stand-in for it")  # fmt: skip
    augment = config["datasets"][dataset]["augment"]
    crops_or_flips = augment["crop_padding"] or augment["horizontal_flip"]
    return translation_recipe(0) if family != "rotation" and crops_or_flips else rotation_recipe(0)


def spatial_sweep(config: dict, panel: dict, evaluations: list[str], where: str) -> list[dict]:
    """One model per training range of the family's sweep (0 = natural training, see ``natural_recipe``)."""
    family = panel_setting(panel, "transform")
    sweep_key, recipe = FAMILY_RECIPES[family]
    values = config["sweeps"].get(sweep_key)
    if not values:
        raise PlanError(f"{where}: sweeps.{sweep_key} (the training ranges of {family}) is not set")
    natural = natural_recipe(config, panel["dataset"], family)
    return [model_entry(config, panel["dataset"], panel["arch"], recipe(v) if v else natural, float(v), evaluations)
            for v in values]  # fmt: skip


def mix_sweep(config: dict, panel: dict, evaluations: list[str], where: str) -> list[dict]:
    """One model per mix ratio α of ``sweeps.mix`` (α = 0 is natural training, ``rot0``), each with
    the panel's ``schedule`` when it names one."""
    alphas = config["sweeps"].get("mix")
    if not alphas:
        raise PlanError(f"{where}: sweeps.mix (the D_mix ratios α) is not set")
    suffix = f"-sched{panel['schedule']}" if panel.get("schedule") else ""
    return [model_entry(config, panel["dataset"], panel["arch"],
                   (f"mix{format_number(a)}" if a else rotation_recipe(0)) + suffix, float(a), evaluations)
            for a in alphas]  # fmt: skip


def invariance_families(kind: str, panel: dict) -> list[str]:
    """The invariance profiles a trade-off panel shows."""
    if kind == "adversarial_tradeoff":
        return list(panel.get("invariance") or ["rotation"])
    return [panel_setting(panel, "transform")]


def cusp_rows(panel: dict, where: str) -> list[tuple[str, str]]:
    """(label, recipe) of every row of a `cusp` table: ``{eps}`` / ``{eps_list}`` in the config's rows
    become the table's radius and curriculum radii, and every stage gets the table's schedule."""
    rows = require(panel, "rows", where)
    eps = parse_epsilon(require(panel, "epsilon", where))
    eps_list = [parse_epsilon(e) for e in panel.get("curriculum_epsilons") or [eps]]
    out = []
    for row in rows:
        recipe = row["recipe"].replace("{eps_list}", "_".join(format_epsilon(e) for e in eps_list))
        recipe = recipe.replace("{eps}", format_epsilon(eps))
        if panel.get("schedule"):
            recipe = THEN.join(f"{stage}-sched{panel['schedule']}" for stage in recipe.split(THEN))
        label = row["label"].replace("{eps_list}", "{" + ", ".join(epsilon_label(e) for e in eps_list) + "}")
        out.append((label.replace("{eps}", epsilon_label(eps)), recipe))
    return out


def panel_models(config: dict, kind: str, panel: dict, where: str) -> list[dict]:
    """The models one panel needs, with the evaluation files it reads (the kind module's ``models``)."""
    return kinds.get(kind).models(config, panel, where)


PANEL_SUBSET = "-"  # fig12-fashion_mnist: the panels of fig12 that show Fashion-MNIST


def _paper_datasets(entry: dict) -> list[str]:
    """The datasets (the paper's names) of an entry's panels, in panel order."""
    return list(dict.fromkeys(raw.get("dataset", entry.get("dataset")) for raw in entry.get("panels") or [{}]))


def panel_subsets(config: dict, section: str) -> list[str]:
    """``NAME-DATASET`` for every figure/table whose panels show several datasets: the panels of one
    dataset as a target of their own (Fashion-MNIST's panels of Figs 12, 13, 21 and 22 build without
    MNIST or CIFAR)."""
    out = []
    for name, entry in (config.get(section) or {}).items():
        datasets = _paper_datasets(_entry(config, section, name)) if entry.get("kind") != "pareto" else []
        if len(datasets) > 1:
            names = (f"{name}{PANEL_SUBSET}{ds}" for ds in datasets if ds)
            out += [n for n in names if n not in config[section]]
    return out


def split_target(config: dict, section: str, name: str) -> tuple[str, str | None]:
    """(configured name, dataset of a panel subset or None) of a figure/table target name."""
    if name in (config.get(section) or {}):
        return name, None
    base, _, dataset = name.rpartition(PANEL_SUBSET)
    if name in panel_subsets(config, section):
        return base, dataset
    raise PlanError(f"no {section[:-1]} '{name}' in the config's '{section}:' section")


def resolve_plan(config: dict, section: str, name: str) -> dict:
    """The resolved definition of figure/table ``name``: its panels, models and evaluation files
    (``NAME-DATASET``: only the panels of NAME that show DATASET, see ``panel_subsets``)."""
    base, dataset = split_target(config, section, name)
    kind = config[section][base]["kind"]
    where = f"{section}.{base}"
    if kind not in kinds.names():
        raise PlanError(f"{where}: unknown kind '{kind}'; known: {kinds.names()}")
    if kinds.get(kind).SECTION != section:
        raise PlanError(f"{where}: kind '{kind}' belongs under '{kinds.get(kind).SECTION}:'")
    panels = [p for p in _panels(config, section, base) if dataset is None or p["paper_dataset"] == dataset]
    for panel in panels:
        panel["models"] = panel_models(config, kind, panel, where)
    plan = {"name": name, "kind": kind, "panels": panels}
    if "source" in config[section][base]:  # the target whose models it re-evaluates (attack_gap, attack_profiles)
        plan["source"] = config[section][base]["source"]
    return plan


def plan_files(p: dict) -> list[str]:
    """Every evaluation file a plan reads, each once, in a stable order."""
    seen: dict[str, None] = {}
    for panel in p["panels"]:
        for model in panel["models"]:
            for evals in model["evals"].values():
                seen.update(dict.fromkeys(evals.values()))
    return list(seen)


def plan_models(p: dict) -> set[tuple[str, str, str]]:
    """The checkpoints a plan needs (a simulation, paper 001 §3, needs none)."""
    return {(m["dataset"], m["arch"], m["recipe"]) for panel in p["panels"] for m in panel["models"]
            if not m.get("simulated")}  # fmt: skip


def plan_evaluations(p: dict) -> set[tuple[str, str]]:
    """(dataset, evaluation) pairs a plan uses."""
    return {(m["dataset"], ev) for panel in p["panels"] for m in panel["models"]
            for evals in m["evals"].values() for ev in evals}  # fmt: skip
