"""Bring your own checkpoint (invrob.external): a model trained outside the pipeline, named in
``external_models``, imported once with its checks and profiled by every evaluation of the pipeline."""

import json
import textwrap

import numpy as np
import pytest
import torch
import torch.nn as nn

from conftest import load_config, needs_fashion_mnist, snakemake
from invrob.config import ConfigError
from invrob.data.splits import load_split, to_float
from invrob.evaluation.registry import load_evaluated_model, run_evaluation
from invrob.external import ImportRefused, import_checkpoint, read_state_dict
from invrob.io import load_checkpoint

MODELS = '''
"""A researcher's own models (imported by the pipeline from this file)."""

import torch.nn as nn


def mlp(hidden=32, channels=1, classes=10):
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * 28 * 28, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def not_a_module():
    return "a network"
'''


def _mlp(hidden=32, channels=1, classes=10):
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * 28 * 28, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def _record(name="mine", **overrides):
    record = {"name": name, "factory": "my_models.py:mlp", "kwargs": {}, "dataset": "mnist", "normalization": None}
    return {**record, **overrides}


@pytest.fixture
def user_files(tmp_path, monkeypatch):
    """A run folder holding the user's model file; the factory's relative path is read from there."""
    (tmp_path / "my_models.py").write_text(textwrap.dedent(MODELS).lstrip())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _train(data_dir, dataset: str, mean=None, std=None, steps=150, seed=0) -> nn.Module:
    """The MLP trained on the prepared training split (normalised with mean/std where given)."""
    torch.manual_seed(seed)
    train = load_split(data_dir, dataset, "train")
    net = _mlp()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    x, y = to_float(train.images), train.labels
    if mean is not None:
        x = (x - mean) / std
    for step in range(steps):
        idx = torch.randint(0, len(x), (64,))
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def test_the_state_dict_file_is_read_safely_in_the_forms_torch_save_gives(tmp_path):
    state = _mlp().state_dict()
    for i, blob in enumerate([state, {"state_dict": state, "epoch": 3}, {"model": state},
                              {f"module.{k}": v for k, v in state.items()}]):  # fmt: skip
        torch.save(blob, tmp_path / f"w{i}.pt")
        read = read_state_dict(tmp_path / f"w{i}.pt", "mine")
        assert list(read) == list(state) and all(torch.equal(read[k], state[k]) for k in state)
    torch.save(_mlp(), tmp_path / "whole.pt")  # the model object, not its state dict: refused unread
    with pytest.raises(ImportRefused, match=r"external_models\.mine\.state_dict: .*save model\.state_dict\(\)"):
        read_state_dict(tmp_path / "whole.pt", "mine")
    torch.save({"epoch": 3}, tmp_path / "no_weights.pt")
    with pytest.raises(ImportRefused, match=r"external_models\.mine\.state_dict: .*holds no state dict"):
        read_state_dict(tmp_path / "no_weights.pt", "mine")


def test_each_wrong_import_is_refused_with_the_config_key_that_fixes_it(user_files, prepared_mnist_like):
    torch.save(_mlp().state_dict(), user_files / "w.pt")
    torch.save(_mlp(hidden=16).state_dict(), user_files / "w16.pt")
    out = user_files / "model.pt"
    cases = [
        (_record(factory="no_such_module:mlp"), "w.pt", r"mine\.factory: cannot import 'no_such_module'"),
        (_record(factory="my_models.py:cnn"), "w.pt", r"mine\.factory: 'my_models\.py' has no function 'cnn'"),
        (_record(factory="my_models.py:not_a_module"), "w.pt", r"mine\.factory: .*returned a str, not a torch"),
        (_record(kwargs={"depth": 3}), "w.pt", r"mine\.factory: .*failed \(TypeError.*check external_models\.mine\.kwargs"),
        (_record(), "w16.pt", r"mine\.state_dict: w16\.pt does not fit .*of another shape 1\.weight \(16, 784\)"),
        (_record(kwargs={"channels": 3}), None, r"external_models\.mine: the model fails on MNIST images \(a batch "
                                                 r"of shape \(64, 1, 28, 28\).*check external_models\.mine\.dataset"),
        (_record(kwargs={"classes": 5}), None, r"external_models\.mine: the model returns \(64, 5\) .*not one score "
                                                r"per class \(64, 10\)"),
        (_record(), "w_more.pt", r"mine\.state_dict: w_more\.pt does not fit .*keys unexpected 9\.weight"),
        (_record(), "w_less.pt", r"mine\.state_dict: w_less\.pt does not fit .*keys missing 3\.bias \(1 in all\)"),
        (_record(), "w.pt", r"external_models\.mine: accuracy 0\.\d+ on 64 MNIST test images is below "
                            r"min_accuracy 0\.9: .*needs external_models\.mine\.normalization", 0.9),
    ]  # fmt: skip
    state = _mlp().state_dict()
    torch.save({**state, "9.weight": torch.zeros(1)}, user_files / "w_more.pt")
    torch.save({k: v for k, v in state.items() if k != "3.bias"}, user_files / "w_less.pt")
    for record, weights, message, *least in cases:  # least: min_accuracy (0 unless the case says)
        if weights is None:  # weights that fit the network the kwargs build
            torch.save(_mlp(**record["kwargs"]).state_dict(), user_files / "fit.pt")
            weights = "fit.pt"
        with pytest.raises(ImportRefused, match=message):
            import_checkpoint(record, weights, prepared_mnist_like, out, min_accuracy=least[0] if least else 0)
        assert not out.exists()  # nothing is written for a refused model


def test_an_imported_model_is_a_checkpoint_every_evaluation_reads_with_its_normalisation(user_files,
                                                                                     prepared_mnist_like):  # fmt: skip
    mean, std = 0.1, 0.3
    net = _train(prepared_mnist_like, "mnist", mean, std)
    torch.save(net.state_dict(), user_files / "w.pt")
    record = _record(normalization={"mean": [mean], "std": [std]})
    check = import_checkpoint(record, "w.pt", prepared_mnist_like, user_files / "model.pt", min_accuracy=0.5)
    ckpt = load_checkpoint(user_files / "model.pt")  # weights_only=True
    assert (ckpt["arch"], ckpt["dataset"], ckpt["hparams"]["recipe"], ckpt["seed"]) == ("external", "mnist", "mine", 0)
    model, _ = load_evaluated_model(user_files / "model.pt", "cpu", expected={"arch": "external", "recipe": "mine", "seed": "0"})
    test = load_split(prepared_mnist_like, "mnist", "test")
    x = to_float(test.images)
    with torch.no_grad():  # the pipeline feeds [0, 1] pixels; the user's net sees (x − mean) / std
        expected = (net((x - mean) / std).argmax(1) == test.labels).float().mean().item()
        assert torch.allclose(model(x), net((x - mean) / std))
    assert check["accuracy"] == pytest.approx(expected) and expected > 0.5
    settings = {"seed": 0, "batch_size": 32, "test_subset": None}
    result = run_evaluation("clean", user_files / "model.pt", prepared_mnist_like, settings, log=lambda m: None)
    assert result["results"]["accuracy"] == pytest.approx(expected)
    assert (result["arch"], result["recipe"]) == ("external", "mine")


def test_an_installed_package_factory_imports_a_torchvision_resnet18_for_cifar10(tmp_path, monkeypatch):
    """The README's worked example, on generated CIFAR-format images (no download): torchvision's ResNet18
    built by name with its kwargs, three-channel normalisation in front, one score per class."""
    torchvision = pytest.importorskip("torchvision")
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data" / "cifar10"
    data.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    torch.save({"images": torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=generator),
                "labels": torch.randint(0, 10, (8,), generator=generator)}, data / "test.pt")  # fmt: skip
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=10).eval()
    torch.save(net.state_dict(), tmp_path / "resnet18_cifar10.pt")
    mean, std = [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]
    record = _record("resnet18_cifar", factory="torchvision.models:resnet18", kwargs={"num_classes": 10},
                     dataset="cifar10", normalization={"mean": mean, "std": std})  # fmt: skip
    import_checkpoint(record, "resnet18_cifar10.pt", data, tmp_path / "model.pt", min_accuracy=0, check_images=8)
    model, ckpt = load_evaluated_model(tmp_path / "model.pt", "cpu")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        normalised = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
        assert torch.allclose(model(x), net(normalised), atol=1e-5)
    assert ckpt["external"]["factory"] == "torchvision.models:resnet18"


PACKAGED = """
from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn

from blocks import head  # a module beside this one


@dataclass
class Widths:
    hidden: int = 32


def build(hidden: int = 32) -> nn.Module:
    return nn.Sequential(nn.Flatten(), head(28 * 28, Widths(hidden).hidden))
"""


def test_factories_load_as_python_loads_them_from_a_file_or_a_package_of_the_run_folder(user_files,
                                                                                    prepared_mnist_like):  # fmt: skip
    (user_files / "nets").mkdir()
    (user_files / "nets/__init__.py").write_text("")
    (user_files / "nets/blocks.py").write_text("import torch.nn as nn\n\n\ndef head(n, hidden):\n"
                                               "    return nn.Sequential(nn.Linear(n, hidden), nn.ReLU(), "
                                               "nn.Linear(hidden, 10))\n")  # fmt: skip
    (user_files / "nets/mine.py").write_text(textwrap.dedent(PACKAGED).lstrip().replace("from blocks", "from nets.blocks"))
    (user_files / "own.py").write_text(textwrap.dedent(PACKAGED).lstrip())  # imports blocks.py beside it
    (user_files / "blocks.py").write_text((user_files / "nets/blocks.py").read_text())
    nested = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)))
    torch.save(nested.state_dict(), user_files / "w.pt")
    for factory in ("nets.mine:build", "own.py:build"):  # a package under the run folder; a file with a dataclass
        import_checkpoint(_record(factory=factory), "w.pt", prepared_mnist_like, user_files / "model.pt", min_accuracy=0)
        model, _ = load_evaluated_model(user_files / "model.pt", "cpu")
        assert [tuple(p.shape) for p in model.parameters()] == [(32, 784), (32,), (10, 32), (10,)], factory


def test_only_imported_models_evaluations_reach_the_import_code():
    """The evaluations of the zoo's models do not rerun when invrob.external is edited, nor the imported
    models' when an architecture of the zoo is."""
    from invrob.fingerprint import reached_symbols

    zoo = reached_symbols("invrob.jobs:evaluate_job", evaluation="clean", arch="gcnn", dataset="mnist")
    imported = reached_symbols("invrob.jobs:evaluate_job", evaluation="clean", arch="external", dataset="mnist")
    assert not [s for s in zoo if s.startswith("invrob.external:")]
    assert "invrob.external:build" in imported and "invrob.external:load_factory" in imported
    assert not [s for s in imported if s.startswith("invrob.models.zoo.")]
    assert "invrob.models.zoo.table3:gcnn" in zoo
    # trainings and the robust dataset D_R never load an imported model: adding them reruns neither
    for job in ("train_job", "robust_dataset_job"):
        reached = reached_symbols(f"invrob.jobs:{job}", arch="madry_lenet", dataset="mnist")
        assert not [s for s in reached if s.startswith("invrob.external:") or s.endswith(":load_evaluated_model")], job


def test_each_external_model_gets_a_figure_and_a_table_and_a_bad_entry_is_named():
    config = load_config("tiny.yaml")
    config["external_models"] = {"mine": {"factory": "my_models.py:mlp", "state_dict": "w.pt", "dataset": "fashion_mnist"}}
    from invrob.config import validate_config
    from invrob.paths import WORKFLOW_ROOT

    schema = WORKFLOW_ROOT / "config" / "schema.yaml"
    validate_config(config, schema)
    assert config["figures"]["ext_mine"]["kind"] == "external_profile"
    assert config["tables"]["ext_mine"]["kind"] == "external_summary"
    from invrob.checks import check_config
    from invrob.pipeline import figure_evaluations

    check_config(config)
    files = figure_evaluations(config, "ext_mine")
    assert files[0] == "results/fashion_mnist/external/mine/seed0/eval/clean.json"
    assert "results/fashion_mnist/external/mine/seed0/eval/robustness-autoattack.json" in files
    assert "results/fashion_mnist/external/mine/seed0/eval/spatial-grid775.json" in files
    assert "results/fashion_mnist/external/mine/seed0/eval/autoattack-l2.json" in files  # paper 003's, under AutoAttack
    bad = [({"My-Model": {"factory": "m.py:f", "state_dict": "w.pt", "dataset": "mnist"}}, r"external_models"),
           ({"mine": {"factory": "m.py", "state_dict": "w.pt", "dataset": "mnist"}}, r"external_models\.mine\.factory"),
           ({"mine": {"factory": "m.py:f", "state_dict": "w.pt", "dataset": "imagenet"}}, r"external_models\.mine\.dataset"),
           ({"mine": {"factory": "m.py:f", "state_dict": "w.pt", "dataset": "mnist", "epsilons": [0.1]}},
            r"external_models\.mine: .*'epsilons'")]  # fmt: skip
    for models, message in bad:
        config = load_config("tiny.yaml")
        config["external_models"] = models
        with pytest.raises(ConfigError, match=message):
            validate_config(config, schema)
    config = load_config("tiny.yaml")
    config["external_models"] = {"mine": {"factory": "m.py:f", "state_dict": "w.pt", "dataset": "svhn"}}
    validate_config(config, schema)
    config["datasets"].pop("svhn")
    with pytest.raises(ConfigError, match=r"external_models\.mine\.dataset: 'svhn' is not configured under 'datasets:'"):
        check_config(config)
    config = load_config("tiny.yaml")
    config["external_models"] = {"mine": {"factory": "m.py:f", "state_dict": "w.pt", "dataset": "cifar10",
                                          "normalization": {"mean": [0.5, 0.5], "std": [0.2, 0.2]}}}  # fmt: skip
    validate_config(config, schema)
    with pytest.raises(ConfigError, match=r"external_models\.mine\.normalization\.mean: 2 values, but CIFAR-10 images "
                                          r"have 3 channels"):  # fmt: skip
        check_config(config)
    from invrob.external import import_inputs

    with pytest.raises(ConfigError, match=r"results/mnist/external/mine: external_models\.mine classifies cifar10"):
        import_inputs(config, "mine", "mnist")
    config = load_config("tiny.yaml")
    config["figures"]["mine_too"] = {"kind": "rotation_tradeoff", "dataset": "fashion_mnist", "arch": "external",
                                  "attack": "pgd"}
    with pytest.raises(ConfigError, match=r"figures\.mine_too: arch 'external' names the models of external_models"):
        check_config(config)
    config = load_config("tiny.yaml")
    config["figures"]["ext_mine"] = {"kind": "rotation_tradeoff", "dataset": "mnist", "arch": "stdcnn"}
    config["external_models"] = {"mine": {"factory": "m.py:f", "state_dict": "w.pt", "dataset": "mnist"}}
    with pytest.raises(ConfigError, match=r"figures\.ext_mine: this name is the target of external_models\.mine"):
        validate_config(config, schema)


OVERLAY = """
external_models:
  mine:
    factory: my_models.py:mlp
    kwargs: {hidden: 32}
    state_dict: weights/mine.pt
    dataset: fashion_mnist
    normalization: {mean: [0.2860], std: [0.3530]}
    spatial: [rot30, worst-of-k]
    min_accuracy: 0.5
"""


@needs_fashion_mnist
def test_an_external_model_is_profiled_end_to_end_and_a_missing_state_dict_is_named(workflow_copy):
    wf = workflow_copy
    (wf / "my_models.py").write_text(textwrap.dedent(MODELS).lstrip())
    (wf / "config/mine.yaml").write_text(OVERLAY)
    args = ["--configfile", "config/tiny.yaml", "config/mine.yaml", "--"]
    missing = snakemake(wf, "-n", *args, "figures/ext_mine.png", check=False)
    assert missing.returncode != 0
    assert "external_models.mine.state_dict: 'weights/mine.pt' is not a file" in missing.stdout + missing.stderr
    snakemake(wf, "--cores", "2", *args, "data/fashion_mnist/train.pt")
    mean, std = 0.2860, 0.3530
    net = _train(wf / "data/fashion_mnist", "fashion_mnist", mean, std, steps=300)
    (wf / "weights").mkdir()
    torch.save(net.state_dict(), wf / "weights/mine.pt")
    plan = snakemake(wf, "-n", *args, "figures/ext_mine.png", "tables/ext_mine.md").stdout
    assert "rule import_model:" in plan and "rule train:" not in plan
    snakemake(wf, "--cores", "2", *args, "figures/ext_mine.png", "tables/ext_mine.md", timeout=900)
    run = wf / "results/fashion_mnist/external/mine/seed0"

    def results(name):
        return json.loads((run / f"eval/{name}.json").read_text())

    clean = results("clean")
    test = load_split(wf / "data/fashion_mnist", "fashion_mnist", "test").subset(clean["settings"]["test_subset"])
    with torch.no_grad():
        expected = (net((to_float(test.images) - mean) / std).argmax(1) == test.labels).float().mean().item()
    assert clean["results"]["accuracy"] == pytest.approx(expected) and expected > 0.5
    rotation = results("invariance-rotation")["results"]
    assert rotation["theta"][0] == 0 and rotation["invariance"][0] == 1.0  # ±0°: the images themselves
    pgd = results("robustness-pgd")["results"]
    split = load_split(wf / "data/fashion_mnist", "fashion_mnist", "test")
    attacked = torch.tensor(pgd["test_positions"])  # the class-balanced subset the attacks ran on
    with torch.no_grad():
        unattacked = (net((to_float(split.images[attacked]) - mean) / std).argmax(1) == split.labels[attacked])
    assert pgd["epsilon"][0] == 0 and pgd["accuracy"][0] == pytest.approx(unattacked.float().mean().item())
    assert np.all(np.diff(pgd["accuracy"]) <= 1e-9) and pgd["accuracy"][-1] < pgd["accuracy"][0]
    aa = results("robustness-autoattack")["results"]
    assert aa["epsilon"][0] == 0 and aa["accuracy"][-1] <= aa["accuracy"][0]  # AutoAttack ran on it too
    table = (wf / "tables/ext_mine.md").read_text()
    assert f"| clean accuracy (%) |  | {100 * expected:.2f} |" in table
    assert "accuracy under a spatial attack (%) | rot30" in table and "| worst-of-10 random" in table
    l2 = results("pgd-l2")["results"]  # paper 003's ℓ2 PGD runs on it too
    assert f"| attack success rate of ℓ2 PGD-{results('pgd-l2')['settings']['steps']} (%) | ε = {l2['epsilon'][-1]:g} " \
           f"(pixel) | {100 * l2['attack_success_rate'][-1]:.2f} |" in table
    aa_l2 = results("autoattack-l2")  # and ℓ2 AutoAttack at the same radii, on AutoAttack's own images
    assert aa_l2["results"]["epsilon"] == l2["epsilon"] and aa_l2["settings"]["norm"] == "l2"
    assert f"| accuracy under ℓ2 AutoAttack ({aa_l2['settings']['attack']['version']}) (%) | ε = {l2['epsilon'][-1]:g} " \
           f"(pixel) | {100 * aa_l2['results']['accuracy'][-1]:.2f} |" in table
    rows = (wf / "figures/ext_mine.csv").read_text().splitlines()
    assert any(r.startswith("rotation_invariance,mine,0,1.0000") for r in rows)
    # an edit of the weights imports the model again and reruns its evaluations; nothing else
    torch.save(_train(wf / "data/fashion_mnist", "fashion_mnist", mean, std, steps=300, seed=1).state_dict(),
               wf / "weights/mine.pt")  # fmt: skip
    again = snakemake(wf, "-n", *args, "figures/ext_mine.png").stdout
    assert "rule import_model:" in again and "rule evaluate:" in again and "rule train:" not in again
    snakemake(wf, "--cores", "1", *args, "results/fashion_mnist/external/mine/seed0/model.pt")
    # so does an edit of the factory's file; a stricter min_accuracy imports nothing again
    (wf / "my_models.py").write_text(textwrap.dedent(MODELS).lstrip() + "\n# edited\n")
    (wf / "config/mine.yaml").write_text(OVERLAY.replace("min_accuracy: 0.5", "min_accuracy: 0.6"))
    assert "rule import_model:" in snakemake(wf, "-n", *args, "figures/ext_mine.png").stdout
    (wf / "my_models.py").write_text(textwrap.dedent(MODELS).lstrip())
    snakemake(wf, "--cores", "1", *args, "results/fashion_mnist/external/mine/seed0/model.pt")
    (wf / "config/mine.yaml").write_text(OVERLAY.replace("min_accuracy: 0.5", "min_accuracy: 0.1"))
    assert "rule import_model:" not in snakemake(wf, "-n", *args, "figures/ext_mine.png").stdout
    # the whole tiny pipeline plans with an external model configured (its targets, the scoreboard, the rest)
    whole = snakemake(wf, "-n", *args, "all").stdout
    assert "figures/ext_mine.pdf" in whole and "tables/claims.md" in whole


def test_the_readme_example_is_a_valid_config():
    """The worked example of README "Bring your own checkpoint" (its YAML block) passes the schema and the checks."""
    import re

    import yaml

    from invrob.checks import check_config
    from invrob.config import validate_config
    from invrob.paths import WORKFLOW_ROOT

    readme = (WORKFLOW_ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n(# config/mine\.yaml.*?)```", readme, re.S).group(1)
    from snakemake.utils import update_config

    config = load_config()
    update_config(config, yaml.safe_load(block))
    validate_config(config, WORKFLOW_ROOT / "config" / "schema.yaml")
    check_config(config)
    assert config["figures"]["ext_resnet18_cifar"]["dataset"] == "cifar10"
