"""The workflow layer: config → targets and params, and Snakemake itself on tiny configs."""

import copy
import csv
import json
import os
import re

import pytest
import yaml

from conftest import REPO, job_counts, load_config, needs_fashion_mnist, snakemake
from invrob.checks import check_config
from invrob.config import ConfigError
from invrob.evaluation.settings import evaluation_settings, robustness_epsilons
from invrob.figures.plan import plan_models
from invrob.job_benchmarks import read_job_benchmarks, summarise
from invrob.pipeline import (
    PRIORITY_CHAIN,
    PRIORITY_TRAIN,
    all_targets,
    checkpoint_input,
    claims_evaluations,
    config_claims,
    figure_evaluations,
    figure_plan,
    own_optimiser,
    scale_note,
    target_names,
    train_priority,
)
from invrob.training.hparams import recipe_hparams
from invrob.io import identity_mismatch
from invrob.training.recipes import adversarial_recipe, parse_recipe, rotation_recipe
from invrob.units import RecipeError, canonical_recipe, format_epsilon, parse_epsilon

# --------------------------------------------------------------------------- recipes and config


def test_recipe_names_round_trip():
    assert rotation_recipe(60) == "rot60" and rotation_recipe(22.5) == "rot22.5"
    assert parse_recipe("rot60") == {"rotation": 60}
    assert parse_recipe("rot22.5") == {"rotation": 22.5}
    assert adversarial_recipe(0.3) == "pgd0.3" and adversarial_recipe("8/255") == "pgd8of255"
    assert adversarial_recipe(0) == "pgd0" and format_epsilon(2 / 255) == "2of255"
    assert parse_recipe("pgd8of255") == {"rotation": 0, "adversarial": {"method": "pgd", "eps": 8 / 255}}
    assert parse_epsilon("8/255") == parse_epsilon("8of255") == 8 / 255 and parse_epsilon(0.3) == 0.3
    assert parse_recipe("rot180-n3000") == {"rotation": 180, "train_subset": 3000}


def test_equivalent_recipes_share_one_checkpoint():
    # the quick scale trained StdCNN rot0 and pgd0 twice, with identical histories
    pairs = {"pgd0": "rot0", "trades0": "rot0", "pgd0of255": "rot0", "rot180-pgd0": "rot180", "pgd0-n3000": "rot0-n3000",
             "pgd0-schedcusp": "rot0-schedcusp", "pgd0-then-rot180-pgd0": "rot0-then-rot180"}
    assert {r: canonical_recipe(r) for r in pairs} == pairs
    for same in ("rot0", "pgd0.1", "wok10", "da", "rot0-n12000", "cusp-rot0_30-pgd0_0.1", "mix1-da-schedp003", "trans0.1",
                 "wok1"):  # worst-of-1 learns D.A.'s weights but pays a selection pass: paper 004's runtime figure times it
        assert canonical_recipe(same) == same
    assert canonical_recipe("pgd0", "external") == "pgd0"  # an imported model's name is no recipe
    config = load_config("quick.yaml")
    for recipe, canonical in pairs.items():  # by construction: the same hyperparameters, so the same weights
        if "then" in recipe:
            continue
        hp, hc = (recipe_hparams(config, "fashion_mnist", "stdcnn", r) for r in (recipe, canonical))
        assert {**hp, "recipe": None} == {**hc, "recipe": None}, recipe
    assert checkpoint_input("fashion_mnist", "stdcnn", "pgd0-n3000", 0) == "results/fashion_mnist/stdcnn/rot0-n3000/seed0/model.pt"
    assert checkpoint_input("cifar10", "external", "pgd0", 0) == "results/cifar10/external/pgd0/seed0/model.pt"
    ckpt = {"dataset": "fashion_mnist", "arch": "stdcnn", "seed": 0, "hparams": {"recipe": "rot0"}}
    assert identity_mismatch(ckpt, {"recipe": "pgd0", "seed": "0"}) is None
    assert "recipe 'rot0' (its path says 'pgd0.1')" in identity_mismatch(ckpt, {"recipe": "pgd0.1"})
    imported = {"dataset": "cifar10", "arch": "external", "seed": 0, "hparams": {"recipe": "rot0"}}
    assert identity_mismatch(imported, {"arch": "external", "recipe": "pgd0"})  # two imported models, not one


@pytest.mark.parametrize("bad", ["rot200", "rotate60", "pgd0.3x", "", "rot30-rot60", "pgd2", "rot0-n0"])
def test_bad_recipe_names_are_explained(bad):
    with pytest.raises(RecipeError, match="recipe"):
        parse_recipe(bad)


def test_hparams_combine_recipe_arch_and_dataset():
    config = load_config("quick.yaml")
    hp = recipe_hparams(config, "fashion_mnist", "gcnn", "rot90")
    assert hp == {"dataset": "fashion_mnist", "arch": "gcnn", "recipe": "rot90", "optimizer": "adam", "lr": 0.001,
                  "momentum": 0.5, "weight_decay": 0.0, "batch_size": 64, "epochs": 4,  # the quick scale's optimiser
                  "lr_milestones": [3], "lr_gamma": 0.1,
                  "train_subset": 24000, "validation": 5000, "crop_padding": 0, "horizontal_flip": False,
                  "rotation": 90}  # fmt: skip
    assert recipe_hparams(config, "fashion_mnist", "gcnn", "rot90-n3000")["train_subset"] == 3000
    with pytest.raises(RecipeError, match="asks for 50000 training images"):
        recipe_hparams(config, "fashion_mnist", "gcnn", "rot90-n50000")
    paper = load_config()
    hp = recipe_hparams(paper, "cifar10", "madry_resnet", "pgd8of255")
    assert hp["adversarial"] == {"method": "pgd", "eps": 8 / 255, "random_start": True, "steps": 10,
                                 "step_size": 2 / 255}  # fmt: skip
    assert hp["crop_padding"] == 4 and hp["horizontal_flip"] and hp["lr_milestones"] == [102, 154]
    assert recipe_hparams(paper, "mnist", "madry_lenet", "pgd0.3")["adversarial"]["steps"] == 40
    # ε = 0 is natural training: the PGD settings are not among its hyperparameters (editing them keeps it)
    natural = recipe_hparams(paper, "mnist", "madry_lenet", "pgd0")
    assert "adversarial" not in natural and natural == {**recipe_hparams(paper, "mnist", "madry_lenet", "rot0"),
                                                        "recipe": "pgd0"}  # fmt: skip


def test_evaluation_settings_hold_only_what_each_evaluation_uses():
    config = load_config()
    pgd = evaluation_settings(config, "mnist", "robustness-pgd")
    assert pgd["attack"] == {"steps": 40, "step_size": 0.01, "random_start": True}
    assert evaluation_settings(config, "cifar10", "robustness-pgd")["attack"]["steps"] == 10
    assert evaluation_settings(config, "mnist", "robustness-fgsm")["attack"] == {}
    inv = evaluation_settings(config, "mnist", "invariance-rotation")
    assert "epsilons" not in inv and inv["thetas"][-1] == 180 and inv["interpolation"] == "nearest"
    assert set(evaluation_settings(config, "mnist", "clean")) == {"seed", "batch_size", "test_subset"}
    quick = load_config("quick.yaml")
    pgd = evaluation_settings(quick, "fashion_mnist", "robustness-pgd")
    assert (pgd["test_subset"], pgd["attacked"]) == (500, 200)  # a class-balanced 200 of the 500
    assert evaluation_settings(quick, "fashion_mnist", "clean")["test_subset"] == 500
    assert "attacked" not in evaluation_settings(config, "mnist", "robustness-pgd")  # paper scale: all of them


def test_paper_000_measures_epsilon_in_normalised_units_and_the_others_in_pixels():
    config = load_config()
    z = evaluation_settings(config, "cifar10", "robustness-pgd-rotated-normalized")
    assert z["epsilon_space"] == "normalized" and z["epsilon_unit"] == [0.2470, 0.2435, 0.2616]
    assert evaluation_settings(config, "mnist", "robustness-pgd")["epsilon_space"] == "pixel"
    assert "epsilon_unit" not in evaluation_settings(config, "mnist", "deepfool")
    assert evaluation_settings(config, "mnist", "deepfool-normalized")["epsilon_unit"] == [0.3081]
    assert evaluation_settings(config, "cifar10", "pgd-linf")["epsilon_space"] == "pixel"
    assert "epsilon_space" not in evaluation_settings(config, "mnist", "invariance-rotation")
    paper_000 = [(s, n) for s in ("figures", "tables") for n in config[s] if not n.startswith("p0")
                 and n not in ("cusp_table1", "aa_cusp_table1", "spatial_attacks_mnist")]  # fmt: skip
    for section, name in paper_000:
        for f in figure_evaluations(config, name, section):
            base = f.rsplit("/", 1)[1].removesuffix(".json")
            assert not base.startswith(("robustness-", "deepfool", "principal")) or base.endswith("-normalized"), f
    for name in ("p001_fig1", "p001_fig2", "p001_fig6"):
        assert not [f for f in figure_evaluations(config, name) if "normalized" in f]
    for name in ("cusp_table1", "aa_cusp_table1"):  # Table 1 and its models under AutoAttack: 8/255 in pixels
        assert not [f for f in figure_evaluations(config, name, "tables") if "normalized" in f]


def test_profile_grids_are_increasing():
    config = load_config()
    cifar = robustness_epsilons(config, "cifar10")
    assert cifar == sorted(cifar) and len(set(cifar)) == len(cifar) and 0.01 in cifar and 4 / 255 in cifar
    bad = copy.deepcopy(config)
    bad["datasets"]["cifar10"]["epsilons"] = [0.0, "4/255", 0.01]
    with pytest.raises(ConfigError, match=r"datasets.cifar10.epsilons\[2\]: 0.01 \(= 0.01\) does not come after 4/255"):
        check_config(bad)
    # an expensive attack's own grid on one dataset wins there; the others keep theirs
    scoped = load_config("reference_fashion_mnist.yaml")
    assert robustness_epsilons(scoped, "fashion_mnist", "autoattack") == [0, 0.1, 0.3]
    assert robustness_epsilons(scoped, "fashion_mnist", "pgd") == robustness_epsilons(config, "fashion_mnist", "pgd")
    assert robustness_epsilons(scoped, "cifar10", "autoattack") == cifar
    bad = copy.deepcopy(config)
    bad["evaluation"]["per_attack"]["autoattack"]["dataset_epsilons"] = {"mnist": [0.0, 0.3, 0.1]}
    with pytest.raises(ConfigError, match=r"evaluation.per_attack.autoattack.dataset_epsilons.mnist\[2\]: 0.1"):
        check_config(bad)
    bad = copy.deepcopy(config)
    bad["evaluation"]["rotation_thetas"] = [0, 90, 90]
    with pytest.raises(ConfigError, match=r"evaluation.rotation_thetas\[2\]"):
        check_config(bad)


def test_translation_sweeps_start_from_a_model_without_crop_and_flip():
    config = load_config()
    for transform in ("translation", "rt"):
        panel = next(p for p in figure_plan(config, "p001_fig1")["panels"] if p["transform"] == transform)
        zero = next(m for m in panel["models"] if m["group"] == 0.0)
        assert zero["recipe"] == "trans0"  # CIFAR-10 crops and flips: i = 0 must not (paper 001: no crop, no flip)
        hp = recipe_hparams(config, "cifar10", "vgg16", zero["recipe"])
        assert hp["crop_padding"] == 0 and not hp["horizontal_flip"] and not hp.get("rotation")
    rotation = figure_plan(config, "p001_fig1")["panels"][0]
    assert rotation["models"][0]["recipe"] == "rot0"  # Aug-R keeps the dataset's augmentation
    assert recipe_hparams(config, "cifar10", "vgg16", "rot0")["crop_padding"] == 4
    quick = load_config("quick.yaml")  # Fashion-MNIST neither crops nor flips: i = 0 is the shared rot0
    panel = next(p for p in figure_plan(quick, "p001_fig1")["panels"] if p["transform"] == "rt")
    assert panel["models"][0]["recipe"] == "rot0"


def test_paper_config_plans_the_rotation_sweep_for_fig1():
    config = load_config()
    evals = figure_evaluations(config, "fig1")
    assert len(evals) == 7 * 3
    assert "results/mnist/stdcnn/rot180/seed0/eval/robustness-pgd-normalized.json" in evals  # paper 000: z-scored ε
    assert "figures/fig1.pdf" in all_targets(config) and scale_note(config, "mnist") == ""


PAPER_000_FIGURES = [f"fig{i}" for i in range(1, 32) if i != 7]  # Fig 7 is a schematic drawing
# paper 001: Figs 1-4 and 6 (Fig 5 is paper 000's DeepFool distance, figs 8-11), App. I (Tiny ImageNet)
PAPER_001_FIGURES = ["p001_fig1", "p001_fig2", "p001_fig3", "p001_fig4", "p001_fig6", "p001_tiny_spatial",
                     "p001_tiny_adversarial", "p001_theorem2"]  # fmt: skip
PAPER_003_004_FIGURES = ["p003_fig1_2", "p003_fig3", "p004_runtime"]


def test_paper_config_has_every_figure_and_table_of_the_papers():
    config = load_config()
    figures = PAPER_000_FIGURES + PAPER_001_FIGURES + PAPER_003_004_FIGURES
    beyond = ["aa_fig1", "aa_fig3", "aa_fig5", "aa_fig12", "aa_fig13", "aa_p003_fig3"]  # the same models under AutoAttack
    assert sorted(config["figures"]) == sorted(figures + beyond)
    targets = all_targets(config)
    for name in figures:
        assert f"figures/{name}.pdf" in targets and f"figures/{name}.csv" in targets
    for name in ("table1", "table2", "cusp_table1", "spatial_attacks_mnist", "p004_table", "p003_table1"):
        assert all(f"tables/{name}.{ext}" in targets for ext in ("csv", "md", "tex"))
    check_config(config)


def test_plans_name_the_paper_models_and_their_evaluations():
    config = load_config()
    fig5 = figure_plan(config, "fig5")
    assert [m["recipe"] for m in fig5["panels"][0]["models"]] == ["pgd0", "pgd0.1", "pgd0.2", "pgd0.3", "pgd0.4"]
    fig6 = figure_plan(config, "fig6")
    assert {m["recipe"] for m in fig6["panels"][0]["models"]} == {"pgd0", "pgd2of255", "pgd4of255", "pgd8of255"}
    fig12 = figure_plan(config, "fig12")
    assert [(p["dataset"], p["arch"], p["attack"]) for p in fig12["panels"]] == [
        ("mnist", "stdcnn", "pgd"), ("fashion_mnist", "stdcnn", "pgd"), ("cifar10", "vgg16", "fgsm"),
        ("cifar10", "vgg16", "pgd")]  # fmt: skip
    assert "results/cifar10/vgg16/rot90/seed0/eval/robustness-fgsm-rotated-normalized.json" in figure_evaluations(
        config, "fig12")
    fig8 = figure_evaluations(config, "fig8")
    assert "results/mnist/stdcnn/rot60/seed0/eval/deepfool-rotated-normalized.json" in fig8 and len(fig8) == 7 * 4
    fig23 = figure_plan(config, "fig23")
    assert ("mnist", "gcnn", "rot180-n5000") in plan_models(fig23) and ("mnist", "gcnn", "rot0") in plan_models(fig23)
    assert ("mnist", "gcnn", "rot0-n60000") not in plan_models(fig23)  # the whole split: the sweep's rot0
    table2 = figure_evaluations(config, "table2", "tables")
    assert table2[-1] == "results/cifar10/madry_resnet/pgd8of255/seed0/eval/principal-angles-normalized.json"
    pa = evaluation_settings(config, "cifar10", "principal-angles")
    assert pa["epsilon"] == 8 / 255 and pa["rotation_deg"] == 2 and pa["k"] == 5


def test_quick_scale_stand_ins_reuse_checkpoints_across_figures():
    quick = load_config("quick.yaml")
    fig1, fig2 = figure_plan(quick, "fig1"), figure_plan(quick, "fig2")
    assert plan_models(fig1) == plan_models(fig2)  # CIFAR-10 VGG16 → Fashion-MNIST StdCNN, trained once
    assert fig2["panels"][0]["paper_dataset"] == "cifar10" and fig2["panels"][0]["paper_arch"] == "vgg16"
    assert plan_models(figure_plan(quick, "fig6")) == plan_models(figure_plan(quick, "fig5"))
    fig24 = plan_models(figure_plan(quick, "fig24"))
    assert ("fashion_mnist", "stdcnn", "rot180") in fig24  # 24000 = the whole quick training subset
    assert ("fashion_mnist", "stdcnn", "rot180-n24000") not in fig24
    models = set()
    for section in ("figures", "tables"):
        for name in quick[section]:
            models |= plan_models(figure_plan(quick, name, section))
    # 83 at the paper's 7-θ rotation sweep (30 for paper 000, 15 for paper 001's figures, 15 for Table 1 (whose
    # runs use their own schedule), 12 for paper 004 (table and runtime figure), 11 for paper 003 (D_mix sweep and
    # the D vs D_R table)); the quick sweep's 4 θ (0, 60, 120, 180) leave out rot90 and rot150 of both
    # architectures (rot30 stays: the spatial-attack table's Aug-R models)
    assert {d for d, _, _ in models} == {"fashion_mnist"} and len(models) == 79
    # trained as 78: StdCNN pgd0 is rot0 (canonical_recipe)
    assert len({(d, a, canonical_recipe(r)) for d, a, r in models}) == 78


def test_the_robust_datasets_source_model_trains_first():
    quick = load_config("quick.yaml")  # D_R of Fashion-MNIST from the PGD-trained LeNet (ε 0.1), seed 0
    assert train_priority(quick, "fashion_mnist", "madry_lenet", "pgd0.1", "0") == PRIORITY_CHAIN > PRIORITY_TRAIN
    assert train_priority(quick, "fashion_mnist", "madry_lenet", "pgd0.1", "1") == PRIORITY_TRAIN
    assert train_priority(quick, "fashion_mnist", "madry_lenet", "pgd0.2", "0") == PRIORITY_TRAIN > 0  # evaluations: 0
    assert train_priority(load_config(), "mnist", "madry_lenet", "pgd0.1", "0") == PRIORITY_TRAIN  # no D_R source


def test_quick_config_says_its_scale():
    config = load_config("quick.yaml")
    assert scale_note(config, "fashion_mnist") == "quick scale, 24000 train, 500 test images, 200 attacked"
    # the quick scale's own optimiser: in the titles of the panels whose models it trained
    assert own_optimiser(config) == ["gcnn", "madry_lenet", "stdcnn"] and own_optimiser(load_config("tiny.yaml")) == []
    assert figure_plan(config, "fig1")["panels"][0]["scale_note"].endswith("200 attacked, own optimiser")
    assert figure_plan(config, "p001_theorem2")["panels"][0]["scale_note"] == ""  # a simulation: trains nothing
    tiny = load_config("tiny.yaml")
    assert "optimiser" not in figure_plan(tiny, "fig1")["panels"][0]["scale_note"]
    tiny["training"]["stdcnn"]["lr"] = 0.02
    assert "optimiser" in figure_plan(tiny, "fig1")["panels"][0]["scale_note"]
    assert "optimiser" not in figure_plan(tiny, "fig5")["panels"][0]["scale_note"]  # Madry's LeNet's


def _without(config, arch):
    del config["training"][arch]
    return config


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: _without(c, "gcnn"), "figures.fig3: architecture 'gcnn' has no settings under 'training:'"),
        (lambda c: c["figures"]["fig8"].update(epsilon=0.33), "figures.fig8: epsilon 0.33 is not on the robustness grid"),
        (lambda c: c["evaluation"].update(rotation_thetas=[0, 90]), "not in evaluation.rotation_thetas"),
        (lambda c: c["datasets"]["mnist"].pop("adversarial_epsilons"), "datasets.mnist.adversarial_epsilons"),
        (lambda c: c["datasets"]["cifar10"].pop("principal_angles"), "datasets.cifar10.principal_angles"),
        (lambda c: c["evaluation"].update(attacks=["pgd"]), "attack 'fgsm' is not listed in evaluation.attacks"),
        (lambda c: (c["datasets"].pop("svhn"), c["stand_ins"]["datasets"].update(cifar10="svhn")),
         "dataset 'svhn' is not configured"),
        (lambda c: c["figures"]["fig5"].pop("attack"), "figures.fig5: this kind needs 'attack'"),
        (lambda c: c["tables"]["cusp_table1"].update(epsilon="3/255"), "epsilon 3/255 is not on the robustness grid of cifar10"),
        (lambda c: c["figures"]["p001_fig6"].update(table="table1"), "must name a table of kind 'cusp'"),
        (lambda c: c["schedules"].pop("cusp"), "no schedule 'cusp' under 'schedules:'"),
        (lambda c: c["sweeps"].pop("translation"), "sweeps.translation"),
        (lambda c: c["tables"]["cusp_table1"]["rows"].append({"label": "x", "recipe": "cusp-rot30_60_90_120_180"}),
         "the curriculum has 5 steps but the learning-rate schedule only 4 stages"),
        (lambda c: c["evaluation"].update(attack_backend="advertorch"),
         "figures.fig2: normalised ε on CIFAR-10 is a radius per channel, but advertorch takes one"),
        (lambda c: c["datasets"]["mnist"].update(validation=60000), "datasets.mnist.validation: 60000 leaves no"),
        (lambda c: c["datasets"]["mnist"].update(train_subset=58000),
         "datasets.mnist.train_subset: 58000 is more than the 55000 images of the MNIST training split less the 5000"),
    ],
)
def test_semantic_config_errors_name_the_key(edit, message):
    config = load_config()
    edit(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


# --------------------------------------------------------------------------- Snakemake


def test_dry_run_of_fig1_at_paper_scale_plans_seven_trainings(workflow_copy):
    out = snakemake(workflow_copy, "-n", "--cores", "4", "--resources", "gpu=4", "--", "figures/fig1.pdf").stdout
    assert job_counts(out) == {"prepare_dataset": 1, "train": 7, "evaluate": 21, "figure": 1}


def test_the_panels_of_one_dataset_are_a_target_of_their_own(workflow_copy):
    config = load_config()
    names = target_names(config, "figures")
    assert {"fig12-fashion_mnist", "fig13-cifar10", "fig21-fashion_mnist", "p001_fig2-cifar100"} <= set(names)
    assert "fig1-mnist" not in names and "fig15-fashion_mnist" not in names  # one dataset: the figure itself
    assert "p004_table-svhn" in target_names(config, "tables")
    p = figure_plan(config, "fig12-fashion_mnist")
    assert [panel["paper_dataset"] for panel in p["panels"]] == ["fashion_mnist"] and p["name"] == "fig12-fashion_mnist"
    assert all("/fashion_mnist/stdcnn/" in f for f in figure_evaluations(config, "fig12-fashion_mnist"))
    with pytest.raises(ConfigError, match="no figure 'fig12-svhn'"):
        figure_plan(config, "fig12-svhn")
    out = snakemake(workflow_copy, "-n", "--cores", "2", "--", "figures/fig12-fashion_mnist.png").stdout
    assert job_counts(out) == {"prepare_dataset": 1, "train": 7, "evaluate": 7, "figure": 1}
    assert "data/mnist/" not in out and "cifar10" not in out  # nothing to download


def test_dry_run_at_paper_scale_plans_every_figure_and_table(workflow_copy):
    out = snakemake(workflow_copy, "-n", "--cores", "4", "--resources", "gpu=4", "--", "all").stdout
    counts = job_counts(out)
    # the papers' 41 figures and 6 tables, and AutoAttack beside PGD for Figs 1, 3, 5, 12, 13, Table 1 and
    # paper 003's Fig 3 (6 figures + 6 tables)
    assert counts["figure"] == 47 and counts["table"] == 12 and counts["prepare_dataset"] == 6
    assert counts["theory"] == 1  # paper 001 §3 simulated, for p001_theorem2 and the claims
    # each model once, however many figures read it: 298 before the full-size sample-size runs (12) were
    # recognised as the sweep's own and the Aug-T/RT baselines without crop and flip (3 trans0) were added;
    # 294 since Fig 5's models are also put under AutoAttack on Fashion-MNIST (its 5 PGD-trained LeNets)
    # 292 since equivalent recipes share one training (canonical_recipe): CIFAR-10's vgg16 pgd0 and Tiny
    # ImageNet's resnet18 pgd0 are their rot0
    assert counts["train"] == 292 and counts["claims"] == 1
    assert counts["train_snapshots"] == 1 and counts["robust_dataset"] == 1 and counts["evaluate_snapshots"] == 4


def test_dry_run_of_table1_plans_the_papers_vgg16_runs(workflow_copy):
    out = snakemake(workflow_copy, "-n", "--cores", "4", "--resources", "gpu=4", "--", "tables/cusp_table1.md").stdout
    assert job_counts(out) == {"prepare_dataset": 1, "train": 45, "evaluate": 135, "table": 1}  # 15 rows × 3 seeds
    assert "recipe=rot180-schedcusp-then-cusp-rot120_150_180-pgd2of255_4of255_8of255-schedcusp, seed=2" in out


def job_threads(output: str, rule: str) -> list[int]:
    """The threads of every `rule` job in a dry run's listing (Snakemake omits the line for 1)."""
    jobs = [block for block in re.split(r"\n(?=rule \w+:)", output) if block.startswith(f"rule {rule}:")]
    return [int(m[1]) if (m := re.search(r"^\s+threads: (\d+)$", job, re.M)) else 1 for job in jobs]


def test_four_gpus_run_four_gpu_jobs_at_once_and_cpu_jobs_keep_their_threads(workflow_copy):
    args = ["-n", "figures/fig1.pdf", "--cores", "4", "--resources", "gpu=4"]
    on_gpus = snakemake(workflow_copy, *args, "--config", "device=cuda").stdout
    threads = job_threads(on_gpus, "train") + job_threads(on_gpus, "evaluate")
    assert len(threads) == 28 and set(threads) == {1}  # 4 train jobs × 1 thread fit 4 cores and 4 GPUs
    assert "gpu=1" in on_gpus
    on_cpu = snakemake(workflow_copy, *args, "--config", "device=cpu").stdout
    assert set(job_threads(on_cpu, "train") + job_threads(on_cpu, "evaluate")) == {4}  # resources.*.threads


def _append_and_restore(path, text):
    """Append ``text`` to ``path``; return a function that restores its content and mtime."""
    original, stat = path.read_text(), path.stat()
    path.write_text(original + text)

    def restore():
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    return restore


@pytest.mark.workflow
@needs_fashion_mnist
def test_tiny_pipeline_end_to_end(workflow_copy):
    tiny = ["--configfile", "config/tiny.yaml"]
    proc = snakemake(workflow_copy, "all", "--cores", "2", *tiny)
    first = job_counts(proc.stdout + proc.stderr)
    config = load_config("tiny.yaml")
    figs, tables = workflow_copy / "figures", workflow_copy / "tables"
    for name in config["figures"]:
        assert (figs / f"{name}.pdf").stat().st_size > 5000 and (figs / f"{name}.png").stat().st_size > 5000
    rows = (figs / "fig1.csv").read_text().splitlines()
    assert rows[0] == "panel,series,x,mean,std,seeds" and len(rows) == 1 + 2 * (4 + 3 + 3 + 1)
    assert "θ1" in (tables / "table1.md").read_text() and r"\begin{tabular}" in (tables / "table2.tex").read_text()
    ev = yaml.safe_load((workflow_copy / "results/fashion_mnist/gcnn/rot180/seed0/eval/robustness-pgd.json").read_text())
    assert ev["test_images"] == 32 and ev["settings"]["attack"]["steps"] == 2 and ev["training"]["rotation"] == 180
    assert ev["results"]["epsilon"] == [0.0, 0.01, 0.1, 0.3]
    rotated = yaml.safe_load(
        (workflow_copy / "results/fashion_mnist/gcnn/rot180/seed0/eval/robustness-pgd-rotated-normalized.json").read_text())
    assert rotated["results"]["test_rotation"] == 180 and rotated["results"]["epsilon_space"] == "normalized"
    assert rotated["settings"]["epsilon_unit"] == [0.353] and ev["results"]["epsilon_space"] == "pixel"
    pgd_model = yaml.safe_load((workflow_copy / "results/fashion_mnist/madry_lenet/pgd0.3/seed0/eval/clean.json").read_text())
    assert pgd_model["training"]["adversarial"]["eps"] == 0.3
    log = (workflow_copy / "logs/train/fashion_mnist/madry_lenet/pgd0.3/seed0.log").read_text()
    assert "device: cpu (1 torch threads)" in log and "PGD-2 training at ε=0.3" in log and "epoch 1:" in log
    assert (workflow_copy / "benchmarks/train/fashion_mnist/stdcnn/rot0/seed0.tsv").exists()
    # every job but `all` was forked from the run's job server (invrob.jobserver), not started afresh
    assert (proc.stdout + proc.stderr).count("forked by the invrob job server") == sum(first.values()) - 1
    # every job but `all` left a benchmark file that bench/pipeline.py reads back
    timing = summarise(read_job_benchmarks(workflow_copy))
    assert timing["jobs"] == sum(first.values()) - 1 and timing["rules"]["train"]["jobs"] == first["train"]
    assert timing["rules"]["figures"]["jobs"] == first["figure"]
    assert sum(e["jobs"] for e in timing["evaluations"].values()) == first["evaluate"] + first.get("evaluate_snapshots", 0)
    # the claims scoreboard of `all` judges what `all` built: trends and comparisons at any scale,
    # levels never at tiny scale but paper 001's simulated theory (the same at every scale), which holds;
    # nothing 'not built' (only 'not measured' where tiny lacks a model or point)
    board = list(csv.DictReader((tables / "claims.csv").open()))
    verdicts = [r["verdict"] for r in board]
    assert len(board) >= 25 and set(verdicts) <= {"holds", "fails", "not judged", "not measured"}
    theory = [r for r in board if r["quantity"].startswith("p001_theorem2,")]
    assert len(theory) == 5 and all(r["verdict"] == "holds" for r in theory)
    judged = [r for r in board if r["verdict"] in ("holds", "fails") and r not in theory]
    assert len(judged) >= 20 and {r["type"] for r in judged} == {"trend", "compare"}
    assert all(r["verdict"] in ("not judged", "not measured") for r in board if r["type"] == "level" and r not in theory)
    assert all("stands in" in r["detail"] or "tiny scale" in r["detail"] for r in board if r["verdict"] == "not judged")
    assert "checked at tiny scale" in (tables / "claims.md").read_text()
    n_figures = len(config["figures"])
    plans = [(section, figure_plan(config, name, section)) for section in ("figures", "tables")
             for name in config[section]]  # fmt: skip

    # up to date: nothing to do
    assert "Nothing to be done" in snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout

    # the rule script is the rule's own code (Snakemake's code trigger): editing it reruns that rule
    restore = _append_and_restore(workflow_copy / "scripts/figure.py", "# edited\n")
    out = snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout
    assert job_counts(out) == {"figure": n_figures, "all": 1}
    restore()

    # package code: comments, docstrings and formatting rerun nothing ...
    def dry_run_after(*edits):
        """A dry run of `all` with ``(module, old, new)`` edits applied to the package, then undone."""
        originals = {}
        for module, old, new in edits:
            path = workflow_copy / "invrob" / f"{module}.py"
            text = path.read_text()
            originals.setdefault(path, text)
            assert old in text
            path.write_text(text.replace(old, new, 1))
        out = snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout
        for path, text in originals.items():
            path.write_text(text)
        return out

    future = "from __future__ import annotations"
    out = dry_run_after(*[(module, future, "# edited\nfrom __future__ import  annotations")
                          for module in ("evaluation/measures", "attacks/pgd", "training/loop", "models/layers",
                                         "figures/style", "data/splits")],
                        ("evaluation/measures", '"""Average perturbation', '"""Reworded: average perturbation'),
                        ("training/loop", "def train(hp: dict,", "def train(hp,"))  # comments, a docstring, annotations
    assert "Nothing to be done" in out

    # ... a behaviour change in evaluation code reruns exactly the evaluations that run it and what reads them
    out = dry_run_after(("evaluation/measures", "max_iter: int = 50, transform", "max_iter: int = 49, transform"))
    deepfool_evals = {f for section, p in plans for f in figure_evaluations(config, p["name"], section)
                      if "/eval/deepfool" in f}  # fmt: skip
    deepfool_targets = [section[:-1] for section, p in plans
                        if any(f in deepfool_evals for f in figure_evaluations(config, p["name"], section))]  # fmt: skip
    scoreboard = set(claims_evaluations(config, config_claims(config), {"all"}))  # the claims table reads these too
    rescored = {"claims": 1} if deepfool_evals & scoreboard else {}
    assert deepfool_evals and job_counts(out) == {"evaluate": len(deepfool_evals), "all": 1, **rescored,
                                                  **{k: deepfool_targets.count(k) for k in set(deepfool_targets)}}
    assert "reason: Params have changed since last execution" in out

    # a behaviour change in training code retrains the checkpoints whose training runs it (here: all)
    crop = "def random_crop_flip(images: torch.Tensor, padding: int, flip: bool, generator: torch.Generator | None = None):"
    out = dry_run_after(("transforms", crop, crop + "\n    assert padding >= 0"))
    assert job_counts(out)["train"] == first["train"]

    # the drawing code of one figure kind reruns the figures of that kind only
    out = dry_run_after(("figures/kinds/pareto", "def draw(plan", "def draw(*args):\n    pass\n\n\ndef _draw(plan"))
    pareto = [name for name in config["figures"] if figure_plan(config, name)["kind"] == "pareto"]
    assert pareto and job_counts(out) == {"figure": len(pareto), "all": 1}
    assert "Nothing to be done" in snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout

    # performance switches are read by the jobs, not passed as params: flipping them reruns nothing
    (workflow_copy / "perf.yaml").write_text(yaml.safe_dump({"performance": {"channels_last": True}}))
    assert "Nothing to be done" in snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny, "perf.yaml").stdout

    # changing one hyperparameter of one architecture reruns only those checkpoints and what reads them
    (workflow_copy / "lr.yaml").write_text(yaml.safe_dump({"training": {"gcnn": {"lr": 0.02}}}))
    out = snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny, "lr.yaml").stdout
    gcnn_models = {m for _, p in plans for m in plan_models(p) if m[1] == "gcnn"}
    gcnn_evals = {f for section, p in plans for f in figure_evaluations(config, p["name"], section) if "/gcnn/" in f}
    gcnn_targets = [section[:-1] for section, p in plans if any(m[1] == "gcnn" for m in plan_models(p))]
    assert job_counts(out) == {"train": len(gcnn_models), "evaluate": len(gcnn_evals), "all": 1,
                               **({"claims": 1} if gcnn_evals & scoreboard else {}),
                               **{kind: gcnn_targets.count(kind) for kind in set(gcnn_targets)}}  # fmt: skip
    # rot0, rot180 (paper 000), trans0.3, rt0.3 (paper 001 Fig 1) and the sample-size runs
    assert {r for _, _, r in gcnn_models} == {"rot0", "rot180", "trans0.3", "rt0.3", "rot0-n128", "rot180-n128"}

    # the README's way to keep checkpoints after a training-code edit that changes no result
    checkpoints = sorted(str(p.relative_to(workflow_copy)) for p in (workflow_copy / "results").rglob("model.pt"))
    path = workflow_copy / "invrob" / "training" / "loop.py"
    original = path.read_text()
    assert original.count("\n    robust_set = None\n") == 1
    path.write_text(original.replace("\n    robust_set = None\n", "\n    refactored = None\n    robust_set = None\n", 1))
    assert job_counts(snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout)["train"] == first["train"]
    snakemake(workflow_copy, "--cleanup-metadata", *checkpoints, "--cores", "1", *tiny)
    out = snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout
    assert "train" not in job_counts(out) if "Job stats:" in out else "Nothing to be done" in out
    path.write_text(original)
    check_report(workflow_copy, tiny, config, board)  # it needs Chromium, the checks above do not

    # last (it rebuilds files): fresh processes compute what the job server's forks computed
    import torch

    model = "results/fashion_mnist/stdcnn/rot0/seed0/model.pt"
    # the retrained model's evaluations that Fig 1 reads rerun too, and a GCNN's PGD evaluation is forced
    evals = [f for f in figure_evaluations(config, "fig1") if f.startswith(model.rsplit("/", 1)[0])]
    evals.append("results/fashion_mnist/gcnn/rot180/seed0/eval/robustness-pgd.json")
    weights = lambda: torch.load(workflow_copy / model, weights_only=True)["state_dict"]  # noqa: E731
    numbers = lambda: {f: json.loads((workflow_copy / f).read_text())["results"] for f in evals}  # noqa: E731
    forked = weights(), numbers(), (figs / "fig1.csv").read_text()
    out = snakemake(workflow_copy, "--force", model, evals[-1], "figures/fig1.pdf", "--cores", "2", *tiny,
                    "--config", "job_start=fresh")  # fmt: skip
    assert "forked by the invrob job server" not in out.stdout + out.stderr
    assert job_counts(out.stdout + out.stderr) == {"train": 1, "evaluate": len(evals), "figure": 1}
    fresh = weights()
    assert fresh.keys() == forked[0].keys() and all(torch.equal(fresh[k], forked[0][k]) for k in fresh)
    assert numbers() == forked[1] and len(evals) > 1
    assert (figs / "fig1.csv").read_text() == forked[2]


def check_report(workdir, overlays, config, board):
    """`snakemake --report` after `all`: every figure and table under its paper and number, each
    caption with the titles drawn and the paper's statements with our verdicts, the scoreboard on
    the front page; then the page in headless Chromium: no JavaScript error, every result listed
    and captioned (a screenshot is kept in .test-artifacts/)."""
    from invrob.browser import find_chromium, report_views
    from invrob.report import category, subcategory

    snakemake(workdir, "--report", "report.html", "all", *overlays)
    page = (workdir / "report.html").read_text()
    results = json.loads(re.search(r'<script id="results">\s*var results = (.*?);?\s*</script>', page, re.S)[1])
    built = [f"figures/{n}.png" for n in config["figures"]] + [f"tables/{n}.html" for n in config["tables"]]
    assert set(built) | {"tables/claims.html"} <= set(results)
    categories = json.loads(re.search(r"var categories = (.*?);\s*</script>", page, re.S)[1])
    for path in built:
        name = path.split("/")[1].rsplit(".", 1)[0]
        assert path in categories[category(name)][subcategory(name)]
    fig1 = results["figures/fig1.png"]["caption"]  # the rendered caption (the params row shows Caption(…) only)
    assert "Paper 000, Fig 1" in fig1 and "StdCNN on Fashion-MNIST (for StdCNN on MNIST)" in fig1
    verdicts = {r["id"]: r["verdict"] for r in board}
    assert "p000-fig1-pgd-falls-with-theta" in fig1
    assert f"<strong>{verdicts['p000-fig1-pgd-falls-with-theta']}</strong>" in fig1
    assert all("Caption(" not in r["caption"] for r in results.values())
    judged = sum(v in ("holds", "fails") for v in verdicts.values())
    front = json.loads(re.search(r"var workflow_desc = (\".*?\");\s*</script>", page, re.S)[1])
    assert "How this run was made" in front and "tiny.yaml" in front and "cpu (" in front
    assert front.count("<tr>") == judged + 1  # the judged claims, one row each, under a header row

    chromium = find_chromium()
    assert chromium, "the report test opens the report in Chromium: install it (./setup.sh --tests installs chromium)"
    shot = REPO / ".test-artifacts" / "report-tiny.png"
    views = report_views(workdir / "report.html", shot, "figures/fig1.png")
    assert views["errors"] == [], views["errors"]
    assert f"{len(board)} claims of the papers" in views["front"] and judged > 0
    for path in built:
        name = path.split("/")[1].rsplit(".", 1)[0]
        shown = views["categories"][category(name)][subcategory(name)]
        assert re.search(rf"(^|\s){re.escape(name)}(\s|$)", shown), f"{path} is not listed under {category(name)} / {subcategory(name)}"
        caption = views["captions"][path]
        assert "Scale:" in caption and ("What the paper says" in caption or "No claim" in caption), path
    assert "How this run was made" in views["front"]
    assert shot.stat().st_size > 20000


CIFAR_TARGETS = ["figures/fig2.pdf", "figures/fig6.pdf", "figures/fig10.pdf", "figures/fig16.pdf", "tables/table2.md"]


@pytest.mark.workflow
def test_cifar10_figures_build_from_generated_32x32_data(workflow_copy):
    """The CIFAR-10 path (VGG16, Madry's ResNet, crop+flip, 8/255 radii, the paper's Table 2 rows) on
    generated images; P4-VGG16 is covered by the model tests (equivariance, a training step)."""
    from conftest import make_cifar_like
    from invrob.data.splits import prepare_dataset

    spec, _ = make_cifar_like(workflow_copy / "generated", n_per_batch=8)
    prepare_dataset(spec, workflow_copy / "generated", workflow_copy / "data" / "cifar10", allow_download=False)
    overlay = {
        "stand_ins": {"datasets": {"cifar10": "cifar10"},
                      "archs": {"vgg16": "vgg16", "p4vgg16": "p4vgg16", "madry_resnet": "madry_resnet"}},
        # the targets' radii only (0.01, 8/255, and tiny's Table 1 at 0.1): the CIFAR path, not the length of
        # its grid, is under test
        "datasets": {"cifar10": {"train_subset": None, "test_subset": 8, "adversarial_epsilons": ["8/255"],
                                 "pgd": {"steps": 1, "step_size": 0.0314}, "epsilons": [0.0, 0.01, "8/255", 0.1]}},
        "training": {arch: {"epochs": 1, "batch_size": 20, "lr_milestones": []} for arch in ("vgg16", "madry_resnet")},
    }  # fmt: skip
    (workflow_copy / "cifar.yaml").write_text(yaml.safe_dump(overlay))
    snakemake(workflow_copy, *CIFAR_TARGETS, "--cores", "2", "--configfile", "config/tiny.yaml", "cifar.yaml")
    for target in CIFAR_TARGETS:
        assert (workflow_copy / target).stat().st_size > 300
    assert not (workflow_copy / "data" / "fashion_mnist").exists()
    title = yaml.safe_load((workflow_copy / "results/cifar10/madry_resnet/pgd8of255/seed0/eval/principal-angles-normalized.json")
                           .read_text())  # fmt: skip
    assert title["settings"]["epsilon"] == 8 / 255 and len(title["results"]["angles_deg"]) == 5
    hp = title["training"]
    assert hp["crop_padding"] == 4 and hp["horizontal_flip"] and hp["adversarial"]["eps"] == 8 / 255
    table = (workflow_copy / "tables/table2.md").read_text()
    assert "| 8/255 |" in table and "| paper 8/255 | 86.42 | 87.25 | 88.11 | 89.13 | 89.69 |" in table
    rows = (workflow_copy / "figures/fig10.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 2 + 2 * 2  # 3 accuracy lines and 2 DeepFool lines over 2 training θ


def test_a_failing_job_writes_its_error_into_its_log(tmp_path):
    from invrob.data.sources import DatasetError
    from invrob.jobs import prepare_dataset_job

    log = tmp_path / "logs" / "prepare.log"
    with pytest.raises(DatasetError):
        prepare_dataset_job("mnist", str(tmp_path / "nowhere"), str(tmp_path / "out"), False, log)
    assert "FAILED: DatasetError: dataset 'mnist' not found" in log.read_text()


def _made_up_evaluation(name: str, space: str) -> dict:
    """A minimal evaluation file of ``name`` (what the drawing code reads)."""
    settings = {"attack": {"steps": 40, "step_size": 0.01, "random_start": True}, "epsilon_space": space}
    if name.startswith("robustness-"):
        results = {"epsilon": [0.0, 0.3], "accuracy": [0.9, 0.5], "one_minus_fooling_rate": [1.0, 0.6]}
    elif name.startswith("deepfool"):
        results = {"mean_l2": 1.5}
    elif name.startswith("invariance-"):
        results = {"theta": [0, 180], "invariance": [1.0, 0.3], "accuracy": [0.9, 0.3]}
    else:
        results = {"accuracy": 0.9}
    return {"evaluation": name, "settings": settings, "results": results, "test_images": 10}


@pytest.mark.parametrize("space", ["pixel", "normalized"])
def test_titles_and_axes_name_the_epsilon_space(space):
    import matplotlib.pyplot as plt

    from invrob.figures import kinds

    config = load_config()
    labels = {"pixel": "ε (ℓ∞, pixel units)", "normalized": "ε (ℓ∞, normalised units (pixels / dataset std))"}
    for name in ("fig1", "fig5", "fig8"):
        entry = copy.deepcopy(config)
        entry["figures"][name]["epsilon_space"] = space
        plan = figure_plan(entry, name)
        evals = {f: _made_up_evaluation(f.rsplit("/", 1)[1].removesuffix(".json"), space)
                 for f in figure_evaluations(entry, name)}  # fmt: skip
        assert all(f.endswith("-normalized.json") == (space == "normalized") for f in evals if "robustness" in f)
        fig, _ = kinds.get(plan["kind"]).draw(plan, evals)
        texts = [t.get_text() for ax in fig.axes for t in (ax.xaxis.label, ax.yaxis.label, ax.title)]
        texts.append(fig._suptitle.get_text())
        joined = "\n".join(texts)
        if name == "fig8":  # accuracy vs training θ | DeepFool distance: the distance's units
            units = "normalised units" if space == "normalized" else "pixel units"
            assert f"mean ℓ2 DeepFool perturbation ({units})" in joined and f"DeepFool (ℓ2, {units})" in joined
        else:
            assert labels[space] in joined
        assert ("normalised ε" in joined) == (space == "normalized")  # the attack's title says it too
        if name == "fig5":  # paper 000 Fig 5: invariance profile left, robustness right
            assert fig.axes[0].get_xlabel().startswith("test rotation range") and fig.axes[1].get_xlabel() == labels[space]
        if name == "fig1":  # Fig 1: robustness left
            assert fig.axes[0].get_xlabel() == labels[space]
        plt.close(fig)
