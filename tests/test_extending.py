"""Extending the workflow: an architecture, a robustness attack and a figure kind are one module each, plus
config entries in one overlay file (README, "How it is built").  The test registers a toy one of each in a
copy of the workflow, checks that nothing else had to change, and builds figures that use all three."""

import hashlib
import json
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from conftest import needs_fashion_mnist, snakemake
from invrob.paths import copy_workflow

TOY_ARCHITECTURE = '''
"""A toy architecture: a two-layer perceptron on the normalised pixels."""

import torch.nn as nn

from ..layers import Normalize

TITLES = {"toy_mlp": "Toy MLP"}


def toy_mlp(in_shape, num_classes, mean, std) -> nn.Module:
    c, h, w = in_shape
    return nn.Sequential(Normalize(mean, std), nn.Flatten(), nn.Linear(c * h * w, 32), nn.ReLU(),
                         nn.Linear(32, num_classes))
'''

TOY_ATTACK = '''
"""A toy robustness attack: random ±ε noise on every pixel, the best of `tries` draws (a weak baseline)."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

ATTACKS = {"noise": {"title": "Random sign noise", "settings": {"tries": 2}}}


@dataclass
class SignNoise:
    model: object
    eps: object
    tries: int

    def perturb(self, x, y):
        best, best_loss = x, None
        for _ in range(self.tries):
            candidate = (x + self.eps * (2 * torch.randint(0, 2, x.shape, device=x.device) - 1)).clamp(0, 1)
            with torch.no_grad():
                loss = F.cross_entropy(self.model(candidate), y, reduction="none")
            if best_loss is None:
                best, best_loss = candidate, loss
            else:
                better = (loss > best_loss).view(-1, *([1] * (x.dim() - 1)))
                best, best_loss = torch.where(better, candidate, best), torch.maximum(loss, best_loss)
        return best


def noise(model, eps, settings, generator=None):
    return SignNoise(model, eps, settings["tries"])
'''

TOY_KIND = '''
"""A toy figure kind: the clean accuracy of each architecture's unaugmented model, one bar each."""

from ..plan import model_entry
from ..read import seed_values
from ..style import _rows, model_title, scale_line, subplots

SECTION = "figures"
DOC = "clean accuracy of each architecture's unaugmented model (a toy kind)"


def models(config, panel, where):
    """One model per architecture, trained without augmentation (group: the architecture)."""
    return [{**model_entry(config, panel["dataset"], arch, "rot0", arch, ["clean"]), "paper_arch": paper}
            for arch, paper in zip(panel["archs"], panel["paper_archs"])]


def draw(plan, evals):
    panel = plan["panels"][0]
    fig, ax = subplots(figsize=(5, 3.5))
    rows = []
    for i, model in enumerate(panel["models"]):
        accuracy = seed_values(model, "clean", evals, lambda r: r["accuracy"])
        ax.bar(i, 100 * accuracy.mean())
        _rows(rows, "clean_accuracy", model["arch"], "", accuracy.mean(), accuracy.std(), len(accuracy))
    ax.set(xticks=range(len(panel["models"])), ylabel="accuracy (%)",
           xticklabels=[model_title(panel, m["arch"]).split(" on ")[0] for m in panel["models"]])
    fig.suptitle(f"Clean accuracy{scale_line(plan)}", fontsize=9)
    return fig, rows
'''

TOY_CONFIG = """
training:
  toy_mlp: {optimizer: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0, batch_size: 32, epochs: 1}
evaluation:
  attacks: [pgd, fgsm, noise]
figures:
  toy_accuracy: {kind: toy_accuracy, dataset: fashion_mnist, archs: [toy_mlp, stdcnn]}
  toy_noise: {kind: rotated_robustness, dataset: fashion_mnist, arch: toy_mlp, attack: noise, test: unrotated}
"""

ADDED = {"invrob/models/zoo/toy.py": TOY_ARCHITECTURE, "invrob/attacks/noise.py": TOY_ATTACK,
         "invrob/figures/kinds/toy_accuracy.py": TOY_KIND, "config/toy.yaml": TOY_CONFIG}  # fmt: skip


def _tree(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and not p.relative_to(root).parts[0].startswith(".")}


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("extended"))
    before = _tree(wf)
    for path, text in ADDED.items():
        (wf / path).write_text(textwrap.dedent(text).lstrip())
    after = _tree(wf)
    changed = {p for p in after if before.get(p) != after[p]} | (set(before) - set(after))
    assert changed == set(ADDED)  # one module each, one config overlay: nothing else edited
    return wf


def test_the_toy_plugins_are_known_by_name_without_importing_them(extended):
    code = ("import sys, json; from invrob import catalog; from invrob.evaluation import names; "
            "print(json.dumps([catalog.architecture_titles(), catalog.attack_titles(), "
            "sorted(catalog.names(catalog.FIGURE_KINDS)), 'robustness-noise-rotated' in names.known(), "
            "'torch' in sys.modules]))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=extended, capture_output=True, text=True, check=True)
    archs, attacks, kinds, rotated, torch_loaded = json.loads(out.stdout)
    assert archs["toy_mlp"] == "Toy MLP" and attacks["noise"] == "Random sign noise" and "toy_accuracy" in kinds
    assert rotated and not torch_loaded


def test_a_dry_run_plans_the_toy_models_evaluations_and_figures(extended):
    out = snakemake(extended, "-n", "--cores", "2", "--configfile", "config/tiny.yaml", "config/toy.yaml", "--",
                    "figures/toy_accuracy.png", "figures/toy_noise.png").stdout  # fmt: skip
    assert "results/fashion_mnist/toy_mlp/rot0/seed0/model.pt" in out
    assert "results/fashion_mnist/toy_mlp/rot180/seed0/eval/robustness-noise.json" in out
    assert "results/fashion_mnist/stdcnn/rot0/seed0/eval/clean.json" in out


def test_an_unknown_attack_kind_or_architecture_is_named_before_any_job(extended):
    cases = [("attack: noise", "attack: nois", "attack 'nois'"),
             ("kind: toy_accuracy", "kind: toy_acc", "unknown kind 'toy_acc'"),
             ("archs: [toy_mlp, stdcnn]", "archs: [toy_mpl, stdcnn]", "'toy_mpl'")]
    for edit, typo, expected in cases:
        (extended / "config/typo.yaml").write_text(TOY_CONFIG.replace(edit, typo))
        out = snakemake(extended, "-n", "--configfile", "config/tiny.yaml", "config/typo.yaml", check=False)
        assert out.returncode != 0
        assert expected in out.stdout + out.stderr, (out.stdout + out.stderr)[-2000:]
    (extended / "config/typo.yaml").unlink()


@needs_fashion_mnist
def test_figures_that_use_the_toy_architecture_attack_and_kind_build(extended):
    snakemake(extended, "--cores", "2", "--configfile", "config/tiny.yaml", "config/toy.yaml", "--",
              "figures/toy_accuracy.png", "figures/toy_noise.png", timeout=900)  # fmt: skip
    rows = (extended / "figures/toy_accuracy.csv").read_text().splitlines()
    assert [r.split(",")[1] for r in rows[1:]] == ["toy_mlp", "stdcnn"]
    assert all(0 <= float(r.split(",")[3]) <= 1 for r in rows[1:])
    title = Image.open(extended / "figures/toy_noise.png").info["Description"]
    assert "Toy MLP on Fashion-MNIST" in title and "Random sign noise" in title
    result = json.loads((extended / "results/fashion_mnist/toy_mlp/rot180/seed0/eval/robustness-noise.json").read_text())
    assert result["settings"]["attack"] == {"tries": 2}  # the attack module's default
    r = result["results"]
    assert r["epsilon"][0] == 0 and r["one_minus_fooling_rate"][0] == 1.0  # ε = 0: nothing perturbed
    assert min(r["one_minus_fooling_rate"]) < 1.0  # the attack ran: large noise changes predictions
