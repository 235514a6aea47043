"""The workflow layer: config → targets and params, and Snakemake itself on tiny configs."""

import pytest
import yaml

from conftest import REPO, job_counts, needs_fashion_mnist, snakemake
from invrob.recipes import RecipeError, parse_recipe, recipe_hparams, rotation_recipe
from invrob.workflow import (
    ConfigError,
    all_targets,
    check_config,
    evaluation_settings,
    figure_evaluations,
    scale_note,
)


def load_config(*overlays):
    from snakemake.utils import update_config

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for overlay in overlays:
        update_config(config, yaml.safe_load((REPO / "config" / overlay).read_text()))
    return config


# --------------------------------------------------------------------------- recipes and config


def test_recipe_names_round_trip():
    assert rotation_recipe(60) == "rot60" and rotation_recipe(22.5) == "rot22.5"
    assert parse_recipe("rot60") == {"rotation": 60}
    assert parse_recipe("rot22.5") == {"rotation": 22.5}


@pytest.mark.parametrize("bad", ["rot200", "rotate60", "pgd0.3x", ""])
def test_bad_recipe_names_are_explained(bad):
    with pytest.raises(RecipeError, match="recipe"):
        parse_recipe(bad)


def test_hparams_combine_recipe_arch_and_dataset():
    config = load_config("quick.yaml")
    hp = recipe_hparams(config, "fashion_mnist", "gcnn", "rot90")
    assert hp == {"dataset": "fashion_mnist", "arch": "gcnn", "recipe": "rot90", "optimizer": "sgd", "lr": 0.01,
                  "momentum": 0.5, "weight_decay": 0.0, "batch_size": 64, "epochs": 3, "train_subset": 12000,
                  "rotation": 90}  # fmt: skip


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
    assert evaluation_settings(quick, "fashion_mnist", "robustness-pgd")["test_subset"] == 200
    assert evaluation_settings(quick, "fashion_mnist", "clean")["test_subset"] == 500


def test_paper_config_plans_the_rotation_sweep_for_fig1():
    config = load_config()
    evals = figure_evaluations(config, "fig1")
    assert len(evals) == 7 * 3
    assert "results/mnist/stdcnn/rot180/seed0/eval/robustness-pgd.json" in evals
    assert "figures/fig1.pdf" in all_targets(config) and scale_note(config, "mnist") == ""


def test_quick_config_says_its_scale():
    config = load_config("quick.yaml")
    assert scale_note(config, "fashion_mnist") == "quick scale, 12000 train, 500 test images, 200 attacked"


def test_semantic_config_errors_name_the_key():
    config = load_config()
    config["figures"]["fig1"]["arch"] = "gcnn"
    del config["training"]["gcnn"]
    with pytest.raises(ConfigError, match="figures.fig1.arch is 'gcnn'.*add them there"):
        check_config(config)


# --------------------------------------------------------------------------- Snakemake


def test_dry_run_of_fig1_at_paper_scale_plans_seven_trainings(workflow_copy):
    out = snakemake(workflow_copy, "-n", "--cores", "4", "--resources", "gpu=4", "--", "figures/fig1.pdf").stdout
    assert job_counts(out) == {"prepare_dataset": 1, "train": 7, "evaluate": 21, "figure_rotation_tradeoff": 1}


@pytest.mark.parametrize(
    "overlay,message",
    [
        ({"figures": {"fig1": {"dataset": "imagenet"}}}, "imagenet"),
        ({"evaluation": {"epsilons": [0.0, -0.1]}}, "-0.1"),
        ({"datasets": {"mnist": {"train_subset": -5}}}, "-5"),
        ({"trainig": {}}, "trainig"),
    ],
)
def test_bad_config_fails_before_any_job(workflow_copy, overlay, message):
    (workflow_copy / "bad.yaml").write_text(yaml.safe_dump(overlay))
    proc = snakemake(workflow_copy, "--cores", "1", "--configfile", "bad.yaml", "--", "all", check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (workflow_copy / "data").exists() and not (workflow_copy / "results").exists()


@pytest.mark.workflow
@needs_fashion_mnist
def test_tiny_pipeline_end_to_end(workflow_copy):
    tiny = ["--configfile", "config/tiny.yaml"]
    snakemake(workflow_copy, "all", "--cores", "2", *tiny)
    figs = workflow_copy / "figures"
    for name in ("fig1", "fig3", "fig26", "fig28"):
        assert (figs / f"{name}.pdf").stat().st_size > 5000 and (figs / f"{name}.png").stat().st_size > 5000
    rows = (figs / "fig1.csv").read_text().splitlines()
    assert rows[0] == "train_theta,panel,x,mean,std,seeds" and len(rows) == 1 + 2 * (3 + 3 + 3 + 1)
    ev = yaml.safe_load((workflow_copy / "results/fashion_mnist/gcnn/rot180/seed0/eval/robustness-pgd.json").read_text())
    assert ev["test_images"] == 32 and ev["settings"]["attack"]["steps"] == 2 and ev["training"]["rotation"] == 180
    assert ev["results"]["epsilon"] == [0.0, 0.1, 0.3]
    log = (workflow_copy / "logs/train/fashion_mnist/stdcnn/rot0/seed0.log").read_text()
    assert "device: cpu (1 torch threads)" in log and "epoch 1:" in log
    assert (workflow_copy / "benchmarks/train/fashion_mnist/stdcnn/rot0/seed0.tsv").exists()

    # up to date: nothing to do
    assert "Nothing to be done" in snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout

    # editing a figure script, or the plotting helpers, reruns figures only
    with open(workflow_copy / "scripts/figure_rotation_tradeoff.py", "a") as fh:
        fh.write("# edited\n")
    out = snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout
    assert job_counts(out) == {"figure_rotation_tradeoff": 4, "all": 1}
    snakemake(workflow_copy, "all", "--cores", "2", *tiny)
    with open(workflow_copy / "invrob/plotting.py", "a") as fh:
        fh.write("# edited\n")
    out = snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny).stdout
    assert job_counts(out) == {"figure_rotation_tradeoff": 4, "all": 1}
    snakemake(workflow_copy, "all", "--cores", "2", *tiny)

    # performance switches are read by the jobs, not passed as params: flipping them reruns nothing
    (workflow_copy / "perf.yaml").write_text(yaml.safe_dump({"performance": {"channels_last": True}}))
    assert "Nothing to be done" in snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny, "perf.yaml").stdout

    # changing one hyperparameter of one architecture reruns only those checkpoints and what reads them
    (workflow_copy / "lr.yaml").write_text(yaml.safe_dump({"training": {"gcnn": {"lr": 0.02}}}))
    out = snakemake(workflow_copy, "all", "-n", "--cores", "2", *tiny, "lr.yaml").stdout
    assert job_counts(out) == {"train": 2, "evaluate": 8, "figure_rotation_tradeoff": 2, "all": 1}


def test_a_failing_job_writes_its_error_into_its_log(tmp_path):
    from invrob.data import DatasetError
    from invrob.jobs import prepare_dataset_job

    log = tmp_path / "logs" / "prepare.log"
    with pytest.raises(DatasetError):
        prepare_dataset_job("mnist", str(tmp_path / "nowhere"), str(tmp_path / "out"), False, log)
    assert "FAILED: DatasetError: dataset 'mnist' not found" in log.read_text()
