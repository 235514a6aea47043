"""What the Snakefile needs to know about the config: targets, inputs, params, checks (the Snakemake adapter).

Kept here (not in ``rules/common.smk``) so that it is unit-tested without Snakemake; torch-free, so
that ``snakemake -n`` plans the DAG without loading the compute stack.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from . import paths
from .claims import ClaimError
from .claims.load import check_claims, load_claims, targets_of
from .claims.scoreboard import claim_inputs, requested_targets
from .config import ConfigError, load_config
from .devices import nvidia_gpus_visible
from .evaluation.names import split_space
from .evaluation.settings import attacked_subset
from .external import EXTERNAL
from .figures.plan import (
    PlanError,
    panel_subsets,
    plan_files,
    resolve_plan,
    training_images,
)
from .fingerprint import code_fingerprint
from .training.hparams import recipe_hparams, robust_dataset_settings, robust_source, trains_under_attack
from .training.recipes import RecipeError, parse_recipe, split_stages
from .units import canonical_recipe

FIGURE_FORMATS = ("pdf", "png", "csv")
TABLE_FORMATS = ("csv", "md", "tex", "html")
CLAIMS_TARGETS = tuple(paths.TABLE.format(name="claims", ext=ext) for ext in ("csv", "md", "html"))  # the scoreboard (invrob.claims)


def figure_plan(config: dict, name: str, section: str = "figures") -> dict:
    """``figures.plan.resolve_plan`` plus what the titles say about scale; raises ``ConfigError``."""
    try:
        p = resolve_plan(config, section, name)
    except (PlanError, RecipeError) as exc:
        raise ConfigError(str(exc)) from None
    own = set(own_optimiser(config))
    for panel in p["panels"]:
        trained = [m for m in panel["models"] if not m.get("simulated") and m["arch"] != EXTERNAL]
        notes = [scale_note(config, panel["dataset"], trained=bool(trained))]
        if own & {m["arch"] for m in trained}:  # only where it trained them
            notes.append("own optimiser")
        attacked = config["datasets"].get(panel["dataset"], {}).get("attacked_train_subset")
        if attacked is not None and any(_trained_under_attack_on(config, m, attacked) for m in trained):
            notes.append(f"attack training on {attacked}")
        panel["scale_note"] = ", ".join(filter(None, notes))
    return p


def _trained_under_attack_on(config: dict, model: dict, images: int) -> bool:
    """Whether ``model`` (a plan's) is one of the attack-in-the-loop trainings given ``images`` images."""
    try:
        hp = recipe_hparams(config, model["dataset"], model["arch"], model["recipe"])
    except RecipeError:
        return False  # check_config reports it
    return trains_under_attack(hp) and hp.get("train_subset") == images  # hp holds the parsed recipe's tokens


def report_caption(config: dict, section: str, name: str, claims: list[dict]):
    """The report's caption of figure or table ``name`` (computed when the report is made: invrob.report)."""
    from .report import caption

    return caption(config, section, name, figure_plan(config, name, section), claims,
                   whole_plan=lambda base: figure_plan(config, base, section))


def front_page(config: dict, workflow, evaluations):
    """The report's front page: the scoreboard and how the run was made (invrob.report)."""
    from .report import FrontPage

    return FrontPage(tuple(str(c) for c in workflow.overwrite_configfiles or ()), config["scale"],
                     workflow.basedir, tuple(evaluations))  # fmt: skip


def figure_evaluations(config: dict, name: str, section: str = "figures") -> list[str]:
    """Evaluation files that figure/table ``name`` reads (and nothing else: see rules/figures.smk)."""
    return plan_files(figure_plan(config, name, section))


def target_names(config: dict, section: str) -> list[str]:
    """The names ``figures/NAME.*`` (``tables/NAME.*``) can take: every entry of the config's section,
    and ``NAME-DATASET`` for the panels of one dataset of a figure/table that shows several."""
    return [*(config.get(section) or {}), *panel_subsets(config, section)]


def all_targets(config: dict) -> list[str]:
    """Every figure (PDF, PNG, CSV) and table (CSV, Markdown, LaTeX, HTML) of the config, and the claims scoreboard."""
    targets = []
    for name in sorted(config["figures"]):
        targets += [paths.FIGURE.format(name=name, ext=ext) for ext in FIGURE_FORMATS]
    for name in sorted(config.get("tables") or {}):
        targets += [paths.TABLE.format(name=name, ext=ext) for ext in TABLE_FORMATS]
    return targets + (list(CLAIMS_TARGETS) if config.get("claims") else [])


# --------------------------------------------------------------------------- the claims scoreboard


def claims_file(config: dict) -> Path | None:
    """The claims file (``claims:``, relative to the workflow folder), or None when the config has none."""
    name = config.get("claims")
    return None if not name else (paths.WORKFLOW_ROOT / name if not Path(name).is_absolute() else Path(name))


def claims_input(config: dict) -> str:
    """The claims file, the scoreboard's first input; a short error when the config has none."""
    path = claims_file(config)
    if path is None:
        raise ConfigError("this config has no claims (claims: null): set claims: config/claims.yaml for the scoreboard")
    return str(path)


def claim_plans(config: dict, claims: list[dict]) -> dict:
    """{target: plan} of every configured figure or table the claims read."""
    plans = {}
    wanted = targets_of(claims)
    for name in wanted:
        for section in ("figures", "tables"):
            if name in (config.get(section) or {}):
                plans[name] = figure_plan(config, name, section)
    # and the targets that put their models under other attacks (AutoAttack: the scoreboard's second verdict)
    for section in ("figures", "tables"):
        for name, entry in (config.get(section) or {}).items():
            if entry.get("source") in wanted and name not in plans:
                plans[name] = figure_plan(config, name, section)
    return plans


def config_claims(config: dict) -> list[dict]:
    """The config's claims, checked against its figures and tables; raises ``ConfigError``."""
    path = claims_file(config)
    if path is None:
        return []
    configured = set(config["figures"]) | set(config.get("tables") or {})
    try:
        claims = load_claims(path)
        check_claims(claim_plans(config, claims), claims, configured)
    except ClaimError as exc:
        raise ConfigError(f"claims: {exc}") from None
    return claims


def claims_evaluations(config: dict, claims: list[dict], requested=()) -> list[str]:
    """The scoreboard's inputs: the claims' evaluation files that exist or that this run builds
    (``requested``: Snakemake's targets; none or `all` = every target)."""
    plans = claim_plans(config, claims)
    building = set()  # the evaluation files this run builds for the figures and tables it was asked for
    for name, section in requested_targets(config, requested, lambda section: panel_subsets(config, section)):
        building.update(plan_files(plans[name] if name in plans else figure_plan(config, name, section)))
    return claim_inputs(plans, claims, building)


def unknown_target_message(config: dict, path: str) -> str:
    """What to ask for instead of ``path`` (a file under figures/ or tables/ no rule makes)."""
    def natural(name):  # fig2 before fig10
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]

    figures = ", ".join(sorted(config["figures"], key=natural))
    tables = ", ".join(sorted(config.get("tables") or {}, key=natural))
    return (f"'{path}' is not a target of this workflow (config: figures, tables); ask for `all` or\n"
            f"  figures/NAME.pdf|png|csv, NAME one of: {figures} (or NAME-DATASET: its panels of one dataset)\n"
            f"  tables/NAME.md|csv|tex|html, NAME one of: {tables}"
            + ("; tables/claims.md|csv|html (the claims scoreboard)" if config.get("claims")
               else " (no claims scoreboard: the config says claims: null)"))  # fmt: skip


def not_a_target_pattern(config: dict) -> str:
    """A regex for file names under figures/ or tables/ that are not targets of ``config``."""
    names = [t.split("/", 1)[1] for t in all_targets(config)]
    names += [f"{n}.{ext}" for n in panel_subsets(config, "figures") for ext in FIGURE_FORMATS]
    names += [f"{n}.{ext}" for n in panel_subsets(config, "tables") for ext in TABLE_FORMATS]
    return "(?!(" + "|".join(map(re.escape, names)) + ")$).+"


# --------------------------------------------------------------------------- jobs: code and threads

# each rule's jobs enter the package here (invrob.jobs); their code fingerprint starts there
JOB_ENTRIES = {"train": "train_job", "train_snapshots": "train_job", "robust_dataset": "robust_dataset_job",
               "evaluate": "evaluate_job", "evaluate_snapshots": "evaluate_snapshots_job", "figure": "figure_job",
               "table": "table_job", "claims": "claims_job", "theory": "theory_job",
               "import_model": "import_model_job"}  # fmt: skip
# training prints the accuracy on a few test images after each epoch: it never changes the weights,
# so editing that metric does not retrain (it reruns the evaluations that use it)
TRAINING_PROGRESS_ONLY = ("invrob.evaluation.measures:clean_accuracy",)


def job_code(rule: str, **keys: str) -> str:
    """Fingerprint of the package code a job of ``rule`` runs (a param: a behaviour change reruns it).

    ``keys`` pick the entries of the registries the job dispatches on (``evaluation``, ``arch``,
    ``dataset``, ``kind``), see ``invrob.fingerprint``.
    """
    exclude = TRAINING_PROGRESS_ONLY if rule in ("train", "train_snapshots") else ()
    if "evaluation" in keys:  # both ε spaces of an evaluation run the same code
        keys["evaluation"] = split_space(keys["evaluation"])[0]
    return code_fingerprint(f"invrob.jobs:{JOB_ENTRIES[rule]}", exclude=exclude, **keys)


def gpu_jobs_expected(config: dict) -> bool:
    """Whether training/evaluation jobs will run on a GPU: ``device: cuda``, or ``auto`` on a machine
    that shows an NVIDIA GPU.  Their data then lives on the GPU and they need ``gpu_threads`` CPU
    threads (1) instead of ``threads``, so that ``--cores 4 --resources gpu=4`` runs four at once."""
    device = config["device"]
    return device == "cuda" or (device == "auto" and nvidia_gpus_visible() > 0)


def train_params(config: dict, dataset: str, arch: str, recipe: str) -> dict:
    """Every hyperparameter of one training run (see ``training.hparams.recipe_hparams``), checked for
    settings that would be silently ignored."""
    try:
        hp = recipe_hparams(config, dataset, arch, recipe)
    except RecipeError as exc:
        raise ConfigError(str(exc)) from None
    where = f"schedules.{hp['schedule']}" if hp.get("schedule") else f"training.{arch}"
    late = [m for m in hp.get("lr_milestones") or [] if m >= hp["epochs"]]
    if late:
        raise ConfigError(f"{where}.lr_milestones: {late} not before the last epoch ({hp['epochs']}) of recipe "
                          f"'{recipe}', so the learning rate never decays there; use milestones below {hp['epochs']}")  # fmt: skip
    if hp.get("mix"):  # D_mix mixes a training set with the robust versions of the same images
        built = robust_dataset_params(config, dataset)["train_subset"]
        if built != hp.get("train_subset"):
            raise ConfigError(f"recipe '{recipe}' on {dataset} trains on {hp.get('train_subset') or 'all the'} images, "
                              f"but its robust dataset D_R is built from {built or 'all the'} "
                              f"(robust_dataset.train_subset, null: datasets.{dataset}.train_subset): set "
                              f"robust_dataset.train_subset to {hp.get('train_subset')}")  # fmt: skip
    size = training_images(config, dataset)
    if size is not None and hp.get("train_subset") is not None and hp["train_subset"] > size:
        raise ConfigError(f"recipe '{recipe}' on {dataset}: {hp['train_subset']} training images asked for (train_subset "
                          f"or -n{{N}}), but the training split has {size}; use at most {size}, or null for all")  # fmt: skip
    return hp


# Job priorities (Snakemake runs ready jobs of higher priority first): trainings before evaluations, so
# that the many short evaluations fill the cores at the end instead of a lone long training; and the model
# that builds a dataset's robust dataset D_R, and D_R itself, before everything else, since the D_mix
# trainings (paper 003) wait for both: on the quick scale, scheduled last, that chain added ~10 minutes.
PRIORITY_TRAIN, PRIORITY_CHAIN = 1, 10


def train_priority(config: dict, dataset: str, arch: str, recipe: str, seed) -> int:
    """The priority of one training job (see ``PRIORITY_TRAIN``)."""
    if dataset not in ((config.get("robust_dataset") or {}).get("sources") or {}):
        return PRIORITY_TRAIN
    src = robust_source(config, dataset)  # with its default seed
    return PRIORITY_CHAIN if (src["arch"], src["recipe"], int(src["seed"])) == (arch, recipe, int(seed)) else PRIORITY_TRAIN


def checkpoint_input(dataset: str, arch: str, recipe: str, seed) -> str:
    """The checkpoint an evaluation reads for ``recipe``: that of its canonical recipe (``canonical_recipe``:
    ``pgd0`` is ``rot0``), so that one training serves every name of it (trained once, evaluated under each
    name)."""
    return paths.checkpoint(dataset, arch, canonical_recipe(recipe, arch), seed)


def warm_start_input(dataset: str, arch: str, recipe: str, seed) -> list[str]:
    """The checkpoint an ``A-then-B`` recipe starts from (as a list: empty for one-stage recipes)."""
    init, _ = split_stages(recipe)
    return [] if init is None else [paths.checkpoint(dataset, arch, init, seed)]


def robust_dataset_input(config: dict, dataset: str, recipe: str) -> list[str]:
    """The robust dataset D_R a ``mix{α}`` recipe trains on (as a list: empty for other recipes)."""
    _, stage = split_stages(recipe)
    try:
        if "mix" not in parse_recipe(stage):
            return []
        src = robust_source(config, dataset, recipe)
    except RecipeError as exc:
        raise ConfigError(str(exc)) from None
    return [paths.robust_dataset(dataset, src["arch"], src["recipe"], src["seed"])]


def snapshot_list(config: dict, dataset: str, arch: str, recipe: str) -> list[int]:
    """The epochs whose snapshots ``train_snapshots`` writes: the configured ones before the last, and the last."""
    epochs = train_params(config, dataset, arch, recipe)["epochs"]
    return sorted({e for e in snapshot_epochs(config) if e < epochs} | {epochs})


def robust_dataset_params(config: dict, dataset: str) -> dict:
    """What D_R depends on: its optimisation settings and the training (sub)set it is built from."""
    ds, own = config["datasets"][dataset], config["robust_dataset"].get("train_subset")
    return {**robust_dataset_settings(config), "train_subset": ds.get("train_subset") if own is None else own,
            **({"validation": ds["validation"]} if ds.get("validation") else {})}  # fmt: skip


def snapshot_epochs(config: dict) -> list[int]:
    """The epochs after which ``train_snapshots`` saves the model (paper 003, ASR over training)."""
    return sorted({int(e) for e in (config.get("snapshots") or {}).get("epochs") or []})


def scale_note(config: dict, dataset: str, trained: bool = True) -> str:
    """What a figure title says about scale when it is not the paper's ('' at paper scale, unless the
    attacks run on a subset of the test set); ``trained``: whether it shows models the pipeline trained
    (an imported model's title says nothing of the training subset)."""
    if dataset not in config["datasets"]:
        return ""  # check_config names the missing dataset
    ds = config["datasets"][dataset]
    attacked = attacked_subset(config, dataset)
    if config["scale"] == "paper":
        return "" if attacked == ds.get("test_subset") else f"paper scale, attacks on {attacked} test images"
    parts = [f"{config['scale']} scale"]
    if ds.get("train_subset") and trained:
        parts.append(f"{ds['train_subset']} train")
    if ds.get("test_subset"):
        parts.append(f"{ds['test_subset']} test images")
    if attacked is not None and attacked != ds.get("test_subset"):
        parts.append(f"{attacked} attacked")
    return ", ".join(parts)


OPTIMISER_KEYS = ("optimizer", "lr", "momentum", "weight_decay", "lr_milestones", "lr_gamma", "eps_warmup_epochs")


def own_optimiser(config: dict) -> list[str]:
    """The architectures whose optimiser (``training.<arch>``: the update rule and learning-rate schedule,
    not the epochs) differs from the papers' in the workflow's ``config.yaml``, as a smaller scale may
    choose (``config/quick.yaml``)."""
    paper = _paper_training()
    return sorted(arch for arch, settings in config["training"].items() if arch in paper
                  and any(settings.get(k) != paper[arch].get(k) for k in OPTIMISER_KEYS))  # fmt: skip


@functools.cache
def _paper_training() -> dict:
    return load_config(root=paths.WORKFLOW_ROOT)["training"]  # validated: the schema's defaults filled in
