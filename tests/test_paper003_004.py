"""Papers 003/004: invariance regularisers, spatial training, ℓ2 PGD and ASR, D_R and D_mix, snapshots."""

import math

import pytest
import torch
import torch.nn as nn

from conftest import load_config
from invrob.attacks.pgd import L2PGD
from invrob.config import ConfigError
from invrob.data.registry import DATASETS
from invrob.data.splits import TensorDataset
from invrob.evaluation.measures import attack_success_rate
from invrob.figures.plan import resolve_plan as plan
from invrob.models import build_model
from invrob.pipeline import robust_dataset_input
from invrob.training.hparams import recipe_hparams
from invrob.training.loop import train
from invrob.training.losses import invariance_regularizer, mix_batch, spatial_training_loss, transformed_batch
from invrob.training.recipes import parse_recipe
from invrob.training.robust_dataset import (
    build_robust_dataset,
    load_robust_dataset,
    representation,
    save_robust_dataset,
)
from invrob.units import RecipeError

# --------------------------------------------------------------------------- regularisers


@pytest.mark.parametrize("h", ["kl", "l2"])
def test_regularisers_vanish_for_identical_outputs(h):
    logits = torch.randn(5, 10, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(invariance_regularizer(h, logits, logits.clone(), "none"), torch.zeros(5), atol=1e-6)


def test_regularisers_match_hand_computed_values():
    a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])
    # softmax(a) = (1/2, 1/2), softmax(b) = (3/4, 1/4): KL = ½ ln(½/¾) + ½ ln(½/¼) = ½ ln(4/3)
    assert invariance_regularizer("kl", a, b).item() == pytest.approx(0.5 * math.log(4 / 3), rel=1e-6)
    # squared ℓ2 on logits: (1 − 4)² + (2 − 2)² + (0 − (−1))² = 10, then the batch mean
    x, y = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]]), torch.tensor([[4.0, 2.0, -1.0], [0.0, 0.0, 0.0]])
    assert invariance_regularizer("l2", x, y, "none").tolist() == [10.0, 0.0]
    assert invariance_regularizer("l2", x, y).item() == 5.0
    with pytest.raises(ValueError, match="unknown invariance regulariser"):
        invariance_regularizer("l1", x, y)


class Constant(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([0.0, 1.0]))

    def forward(self, x):
        return self.bias.expand(len(x), 2)


def test_regularised_loss_of_an_invariant_model_is_twice_the_loss():
    """A model that ignores its input is exactly invariant: h = 0, so ℓ(x) + ℓ(x̃) + λh = 2ℓ."""
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 1, 0])
    ce = nn.functional.cross_entropy(torch.tensor([[0.0, 1.0]]).expand(4, 2), y).item()
    for method in ({"method": "da"}, {"method": "wok", "k": 3}, {"method": "spgd", "steps": 2, "step_deg": 5.0,
                                                                  "step_px": 0.5}):  # fmt: skip
        spec = {**method, "max_deg": 30.0, "max_px": 3.0, "regularizer": "kl", "lambda": 8.0, "select": "loss"}
        loss, _ = spatial_training_loss(Constant(), x, y, spec, torch.Generator().manual_seed(0))
        assert loss.item() == pytest.approx(2 * ce, rel=1e-6)
        plain, _ = spatial_training_loss(Constant(), x, y, {**spec, "regularizer": None}, torch.Generator())
        assert plain.item() == pytest.approx(ce, rel=1e-6)


def test_selection_by_h_maximises_the_regulariser_among_the_k_draws():
    torch.manual_seed(0)
    model = build_model("stdcnn", DATASETS["mnist"]).eval()
    x, y = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1)), torch.zeros(6, dtype=torch.long)
    spec = {"method": "wok", "max_deg": 30.0, "max_px": 3.0, "regularizer": "l2", "lambda": 1.0, "select": "h"}
    with torch.no_grad():
        h = lambda xt: invariance_regularizer("l2", model(x), model(xt), "none")  # noqa: E731
        one = h(transformed_batch(model, x, y, {**spec, "k": 1}, torch.Generator().manual_seed(4)))
        many = h(transformed_batch(model, x, y, {**spec, "k": 8}, torch.Generator().manual_seed(4)))
    assert (many >= one - 1e-5).all() and (many > one).any()  # the first draw is among the 8
    model.train()
    transformed_batch(model, x, y, {**spec, "k": 2}, torch.Generator())
    assert model.training  # the search leaves the model's mode as it was


# --------------------------------------------------------------------------- recipes and plans


def test_spatial_training_recipes_take_the_transformation_set_and_weights_from_the_config():
    config = load_config()
    hp = recipe_hparams(config, "cifar10", "resnet32", "wok10-kl")
    assert hp["spatial"] == {"method": "wok", "k": 10, "max_deg": 30.0, "max_px": 3.0, "regularizer": "kl",
                             "lambda": 8.0, "select": "loss"}  # fmt: skip
    assert recipe_hparams(config, "cifar10", "resnet32", "spgd-l2-byh")["spatial"]["lambda"] == 1.0
    assert recipe_hparams(config, "cifar10", "resnet32", "da-kllam2")["spatial"]["lambda"] == 2.0
    assert hp["crop_padding"] == 4  # the dataset's standard augmentation stays
    mix = recipe_hparams(config, "cifar10", "resnet18", "mix0.3-schedp003")["mix"]
    assert mix["alpha"] == 0.3 and mix["source"] == {"arch": "resnet18", "recipe": "pgd8of255-schedp003", "seed": 0}


@pytest.mark.parametrize("bad,message", [
    ("kl", "regularise spatial training"), ("da-byh", "needs 'wok"), ("rot30-wok10", "do not combine"),
    ("wok10-pgd0.1", "do not combine"), ("mix1.5", "within \\[0, 1\\]"), ("wok0", "unknown training recipe"),
])  # fmt: skip
def test_bad_spatial_recipes_are_explained(bad, message):
    with pytest.raises(RecipeError, match=message):
        parse_recipe(bad)


def test_mix_recipes_need_a_configured_source_and_take_its_robust_dataset_as_input():
    config = load_config()
    assert robust_dataset_input(config, "cifar10", "mix0.5-schedp003") == [
        "results/cifar10/resnet18/pgd8of255-schedp003/seed0/robust_dataset.pt"]
    assert robust_dataset_input(config, "cifar10", "rot0") == []
    with pytest.raises(ConfigError, match="robust_dataset.sources.mnist"):
        robust_dataset_input(config, "mnist", "mix1")


def test_paper_plans_of_papers_003_and_004():
    config = load_config()
    table = plan(config, "tables", "p004_table")
    assert [p["dataset"] for p in table["panels"]] == ["svhn", "cifar10", "cifar100"]
    assert [m["recipe"] for m in table["panels"][0]["models"]] == ["rot0", "da", "da-kl", "wok10", "wok10-kl", "wok10-l2"]
    assert set(table["panels"][0]["models"][0]["evals"]["0"]) == {"spatial-grid775"}
    mix = plan(config, "figures", "p003_fig3")
    assert [m["recipe"] for m in mix["panels"][0]["models"]][:3] == ["rot0-schedp003", "mix0.1-schedp003",
                                                                      "mix0.2-schedp003"]  # fmt: skip
    snaps = plan(config, "figures", "p003_fig1_2")
    assert snaps["panels"][1]["models"][0]["evals"]["0"]["pgd-linf"] == \
        "results/cifar10/resnet34/rot0/seed0/snapshots/eval/pgd-linf.json"  # fmt: skip


# --------------------------------------------------------------------------- ℓ2 PGD and ASR


class Linear2(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x):
        z = (x * self.w).flatten(1).sum(1)
        return torch.stack([z, -z], 1)


def test_l2_pgd_by_hand_on_a_linear_model():
    # the gradient of CE(class 1) points along +w = (3, 4)/5; steps of 0.1 then the 0.25-ball
    w = torch.tensor([[[[3.0, 4.0]]]])
    x = torch.full((1, 1, 1, 2), 0.5)
    adv = L2PGD(Linear2(w), eps=0.25, steps=5, step_size=0.1).perturb(x, torch.tensor([1]))
    assert torch.allclose(adv - x, torch.tensor([[[[0.15, 0.20]]]]), atol=1e-6)


def test_l2_pgd_matches_advertorch_step_by_step():
    from invrob.attacks.advertorch import import_advertorch

    attacks = import_advertorch()
    torch.manual_seed(0)
    model = build_model("stdcnn", DATASETS["mnist"]).eval()
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(2))
    reference = attacks.L2PGDAttack(model, nn.CrossEntropyLoss(reduction="sum"), eps=0.5, nb_iter=10, eps_iter=0.1,
                                    rand_init=False).perturb(x, y)  # fmt: skip
    ours = L2PGD(model, 0.5, 10, 0.1).perturb(x, y)
    assert torch.allclose(ours, reference, atol=1e-5)
    assert ((ours - x).flatten(1).norm(dim=1) <= 0.5 + 1e-5).all()


def test_attack_success_rate_counts_only_correctly_classified_images():
    clean = torch.tensor([True, True, True, False])
    adversarial = torch.tensor([True, False, False, False])
    assert attack_success_rate(clean, adversarial) == pytest.approx(2 / 3)
    assert math.isnan(attack_success_rate(torch.zeros(2, dtype=torch.bool), torch.zeros(2, dtype=torch.bool)))


# --------------------------------------------------------------------------- D_R, D_mix, snapshots


def test_representation_is_the_input_of_the_last_linear_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
    x = torch.rand(5, 1, 2, 2)
    assert torch.allclose(representation(model, x), model[2](model[1](model[0](x))))
    with pytest.raises(ValueError, match="no linear layer"):
        representation(nn.Flatten(), x)


def _images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8),
                         torch.arange(n) % 10, DATASETS["fashion_mnist"])  # fmt: skip


def test_robust_dataset_moves_representations_towards_their_targets_and_keeps_labels(tmp_path):
    torch.manual_seed(0)
    model = build_model("stdcnn", DATASETS["fashion_mnist"]).eval()
    data = _images(12)
    robust, stats = build_robust_dataset(model, data, steps=30, step_size=0.05, batch_size=5, log=lambda m: None)
    assert robust.images.dtype == torch.uint8 and robust.images.shape == data.images.shape
    assert torch.equal(robust.labels, data.labels) and stats["distance_end"] < 0.5 * stats["distance_start"]
    source = {"arch": "stdcnn", "recipe": "pgd0.1", "seed": 0}
    save_robust_dataset(robust, source, {"steps": 30, "step_size": 0.05}, stats, tmp_path / "rd.pt")
    hp = {"dataset": "fashion_mnist", "recipe": "mix1", "mix": {"alpha": 1.0, "source": source, "steps": 30,
                                                                "step_size": 0.05}}  # fmt: skip
    assert torch.equal(load_robust_dataset(tmp_path / "rd.pt", hp).images, robust.images)
    with pytest.raises(ValueError, match="asks for"):
        load_robust_dataset(tmp_path / "rd.pt", {**hp, "mix": {**hp["mix"], "steps": 1000}})


def test_d_mix_trains_on_the_images_its_robust_dataset_is_built_from():
    from invrob.config import ConfigError
    from invrob.pipeline import robust_dataset_params, train_params

    quick = load_config("quick.yaml")  # D_R from the p003 schedule's 12000 images, not the dataset's 24000
    assert robust_dataset_params(quick, "fashion_mnist")["train_subset"] == 12000
    assert train_params(quick, "fashion_mnist", "stdcnn", "mix0.5-schedp003")["train_subset"] == 12000
    quick["robust_dataset"]["train_subset"] = None
    with pytest.raises(ConfigError, match=r"built from 24000 .*set robust_dataset.train_subset to 12000"):
        train_params(quick, "fashion_mnist", "stdcnn", "mix0.5-schedp003")
    assert train_params(quick, "fashion_mnist", "stdcnn", "rot0-schedp003")["train_subset"] == 12000  # no D_R


def test_mix_batch_replaces_the_first_alpha_fraction():
    natural, robust = _images(10, seed=1), _images(4, seed=2)
    gen = torch.Generator().manual_seed(0)
    images, labels = mix_batch(natural.images, natural.labels, robust, 0.3, gen)
    from_robust = [any(torch.equal(img, r) for r in robust.images) for img in images]
    assert from_robust == [True] * 3 + [False] * 7 and torch.equal(images[3:], natural.images[3:])
    assert mix_batch(natural.images, natural.labels, robust, 0.0, gen)[0] is natural.images


def test_training_on_d_mix_with_snapshots(tmp_path):
    data = _images(64)
    for split in ("train", "test"):
        torch.save({"images": data.images, "labels": data.labels}, tmp_path / f"{split}.pt")
    source = {"arch": "stdcnn", "recipe": "rot0", "seed": 0}
    save_robust_dataset(_images(16, seed=3), source, {"steps": 1, "step_size": 0.1}, {}, tmp_path / "rd.pt")
    hp = {"dataset": "fashion_mnist", "arch": "stdcnn", "recipe": "mix0.5-wok2-kl", "optimizer": "sgd", "lr": 0.01,
          "batch_size": 16, "epochs": 3, "rotation": 0, "mix": {"alpha": 0.5, "source": source, "steps": 1,
          "step_size": 0.1}, "spatial": {"method": "wok", "k": 2, "max_deg": 30.0, "max_px": 3.0, "regularizer": "kl",
          "lambda": 8.0, "select": "loss"}}  # fmt: skip
    out = train(hp, tmp_path, tmp_path / "model.pt", tmp_path / "state.pt", 0, log=lambda m: None,
                robust_path=tmp_path / "rd.pt", snapshots=(tmp_path / "snaps", [1, 2]))  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["epoch001.pt", "epoch002.pt"]
    snap = torch.load(tmp_path / "snaps" / "epoch001.pt", weights_only=True)
    assert len(snap["history"]) == 1 and len(out["history"]) == 3
    with pytest.raises(ValueError, match="robust_path"):
        train(hp, tmp_path, tmp_path / "m2.pt", tmp_path / "s2.pt", 0, log=lambda m: None)


def test_the_d_mix_models_under_pgd_and_autoattack_are_drawn_on_the_images_both_attacked():
    """aa_p003_fig3 (mix_sweep with AutoAttack's profiles): every line, natural accuracy included, is taken on the
    test images every attack ran on (AutoAttack's subset of PGD's, by ``test_positions``)."""
    from invrob.figures import kinds
    from invrob.pipeline import figure_plan

    config = load_config("quick.yaml")
    p = figure_plan(config, "aa_p003_fig3")
    assert p["source"] == "p003_fig3"
    evals = {}
    for model in p["panels"][0]["models"]:
        for by_ev in model["evals"].values():
            evals[by_ev["clean"]] = {"results": {"accuracy": 0.9}}  # on the whole test subset: not these lines
            for name, path in by_ev.items():
                if name == "clean":
                    continue
                pgd = name.startswith("pgd")  # PGD on positions 0-7, AutoAttack on 2, 4, 6; PGD fools position 6 only
                positions = list(range(8)) if pgd else [2, 4, 6]
                flags = "".join("0" if q in (6, 7) or (not pgd and q == 4) else "1" for q in positions)
                clean = "".join("0" if q == 7 else "1" for q in positions)
                evals[path] = {"evaluation": name, "results": {
                    "norm": name.split("-")[1], "epsilon": [0.5], "accuracy": [flags.count("1") / len(positions)],
                    "correct": [flags], "test_positions": positions, "clean_correct": clean}}  # fmt: skip
    fig, rows = kinds.get("mix_sweep").draw(p, evals)
    by_series = {(r[1], r[2]): float(r[3]) for r in rows}
    assert by_series[("natural", "0")] == 1.0  # positions 2, 4, 6: all correct unattacked
    assert by_series[("ℓ2 PGD ε=0.5", "0")] == pytest.approx(2 / 3, abs=1e-4)  # 6 fooled (rows have 4 decimals)
    assert by_series[("ℓ2 AutoAttack ε=0.5", "0")] == pytest.approx(1 / 3, abs=1e-4)  # 4 and 6 fooled
    assert "on the same 3 test images" in fig._suptitle.get_text()
