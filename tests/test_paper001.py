"""Paper 001: Aug-T / Aug-RT, TRADES, CuSP's curriculum, sequential and warm-started training,
Table 1's plan and Pareto frontier, the new datasets and models."""

import dataclasses
import io
import math
import pickle
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from conftest import load_config, tiny_hparams
from invrob.attacks.trades import TradesKL, kl_divergence
from invrob.data.registry import DATASETS, RawFile
from invrob.data.sources import md5_of
from invrob.data.splits import load_split, prepare_dataset
from invrob.evaluation.measures import invariance_profile
from invrob.evaluation.registry import load_model
from invrob.figures import published
from invrob.figures.kinds._cusp import pareto_optimal
from invrob.io import load_checkpoint
from invrob.models import build_model
from invrob.pipeline import figure_plan, warm_start_input
from invrob.training.hparams import recipe_hparams
from invrob.training.loop import curriculum_stage, epoch_settings, train, warmed_up
from invrob.training.losses import trades_loss
from invrob.training.recipes import parse_recipe
from invrob.transforms import affine_transform, random_affine, uniform_shifts
from invrob.units import RecipeError

quiet = lambda msg: None  # noqa: E731


# --------------------------------------------------------------------------- CuSP curriculum


def test_curriculum_stage_counts_the_decays_before_an_epoch():
    assert [curriculum_stage(e, [75, 90, 100]) for e in (0, 74, 75, 89, 90, 99, 100, 119)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert curriculum_stage(5, []) == 0


def test_cusp_steps_theta_and_epsilon_up_at_each_learning_rate_decay():
    hp = {"rotation": [120, 150, 180], "curriculum": True, "lr_milestones": [75, 90, 100],
          "adversarial": {"method": "pgd", "eps": [2 / 255, 4 / 255, 8 / 255], "steps": 10}}  # fmt: skip
    seen = {e: epoch_settings(hp, e) for e in (0, 74, 75, 89, 90, 100, 119)}
    assert {e: (t, round(a["eps"] * 255, 9)) for e, (t, a) in seen.items()} == {
        0: (120, 2), 74: (120, 2), 75: (150, 4), 89: (150, 4), 90: (180, 8), 100: (180, 8), 119: (180, 8)}
    # a single θ stays put while ε climbs; other settings of the attack are kept
    hp180 = {**hp, "rotation": 180}
    assert [epoch_settings(hp180, e)[0] for e in (0, 80, 110)] == [180, 180, 180]
    assert epoch_settings(hp180, 80)[1]["steps"] == 10
    # without `curriculum` nothing changes with the epoch
    fixed = {"rotation": 60, "lr_milestones": [1], "adversarial": {"method": "pgd", "eps": 0.1}}
    assert epoch_settings(fixed, 0) == epoch_settings(fixed, 5) == (60, {"method": "pgd", "eps": 0.1})


def test_cusp_recipes_parse_and_check_their_lists():
    hp = parse_recipe("cusp-rot30_60_180-pgd2of255_4of255_8of255")
    assert hp["rotation"] == [30, 60, 180] and hp["curriculum"]
    assert hp["adversarial"]["eps"] == pytest.approx([2 / 255, 4 / 255, 8 / 255])
    for bad, why in (("rot30_60", "cusp"), ("cusp-rot60_30", "decrease"), ("rot30-rt0.1", "repeats"),
                     ("pgd0.1-trades0.1", "repeats"), ("trans1.5", "translation")):  # fmt: skip
        with pytest.raises(RecipeError, match=why):
            parse_recipe(bad)
    config = load_config()
    with pytest.raises(RecipeError, match="only 1 stages"):  # vgg16 at paper scale has milestones [50, 75]
        recipe_hparams(config, "cifar10", "stdcnn", "cusp-rot30_60_180")
    with pytest.raises(RecipeError, match="no schedule 'nope'"):
        recipe_hparams(config, "cifar10", "vgg16", "rot0-schednope")


def test_schedule_token_overrides_the_training_settings():
    config = load_config("quick.yaml")
    hp = recipe_hparams(config, "fashion_mnist", "stdcnn", "cusp-rot120_150_180-pgd0.025_0.05_0.1-schedcusp")
    assert (hp["epochs"], hp["lr_milestones"], hp["train_subset"]) == (6, [3, 4, 5], 4000)
    assert hp["adversarial"]["steps"] == 5 and hp["adversarial"]["method"] == "pgd"
    paper = recipe_hparams(load_config(), "cifar10", "vgg16", "rot180-then-pgd8of255-schedcusp")
    assert (paper["epochs"], paper["lr"], paper["lr_milestones"], paper["init"]) == (120, 0.1, [75, 90, 100], "rot180")


def test_a_schedule_says_its_optimiser_when_the_architecture_trains_with_another():
    # the quick GCNN trains with Adam; paper 003's quick schedule (SGD lr 0.02, momentum 0.5) left it at 0.10
    # clean accuracy when its lr was applied to Adam: the schedule now names SGD, and one that does not is refused
    config = load_config("quick.yaml")
    hp = recipe_hparams(config, "fashion_mnist", "gcnn", "rot0-schedp003")
    assert (hp["optimizer"], hp["lr"], hp["momentum"]) == ("sgd", 0.02, 0.5)
    assert recipe_hparams(config, "fashion_mnist", "gcnn", "rot0")["optimizer"] == "adam"
    del config["schedules"]["p003"]["optimizer"]
    with pytest.raises(RecipeError, match=r"schedules.p003 sets lr and momentum but not the optimiser.*adam"):
        recipe_hparams(config, "fashion_mnist", "gcnn", "rot0-schedp003")
    assert recipe_hparams(config, "fashion_mnist", "stdcnn", "rot0-schedp003")["optimizer"] == "sgd"  # SGD's own


def test_attacked_trainings_get_their_own_subset_which_schedules_and_sizes_still_override():
    config = load_config("quick.yaml")
    ds = config["datasets"]["fashion_mnist"]
    ds["train_subset"], ds["attacked_train_subset"] = 24000, 6000
    subset = {r: recipe_hparams(config, "fashion_mnist", "stdcnn", r)["train_subset"]
              for r in ("rot60", "pgd0", "wok1", "da", "pgd0.1", "trades0.2", "spgd", "wok10-kl", "rot180-pgd0.1",
                        "pgd0.1-schedcusp", "rot0-n3000", "da-then-pgd0.1")}  # fmt: skip
    assert subset == {"rot60": 24000, "pgd0": 24000, "wok1": 24000, "da": 24000,  # one pass per image
                      "pgd0.1": 6000, "trades0.2": 6000, "spgd": 6000, "wok10-kl": 6000, "rot180-pgd0.1": 6000,
                      "da-then-pgd0.1": 6000,  # the attacked stage
                      "pgd0.1-schedcusp": 4000, "rot0-n3000": 3000}  # fmt: skip
    ds["attacked_train_subset"] = None
    assert recipe_hparams(config, "fashion_mnist", "stdcnn", "pgd0.1")["train_subset"] == 24000


def test_the_epsilon_warm_up_ramps_linearly_per_step_and_then_holds():
    adv = {"method": "pgd", "eps": 0.3, "steps": 10, "eps_warmup_epochs": 2}
    eps = [warmed_up(adv, e, b, 5)["eps"] for e in range(3) for b in range(5)]  # 5 batches per epoch
    assert eps == pytest.approx([0.03 * k for k in range(1, 11)] + [0.3] * 5)
    assert warmed_up(adv, 0, 0, 5)["steps"] == 10 and adv["eps"] == 0.3  # the spec itself is not changed
    plain = {"method": "pgd", "eps": 0.3}
    assert warmed_up(plain, 0, 0, 5) is plain and warmed_up(None, 0, 0, 5) is None


def test_the_warm_up_goes_to_fixed_epsilon_attack_trainings_only():
    config = load_config("quick.yaml")
    config["training"]["stdcnn"]["eps_warmup_epochs"] = 2
    spec = {r: recipe_hparams(config, "fashion_mnist", "stdcnn", r) for r in
            ("rot60", "pgd0", "pgd0.2", "trades0.1", "pgd0.1-schedcusp", "cusp-rot120_150_180-pgd0.025_0.05_0.1-schedcusp")}
    assert all("eps_warmup_epochs" not in hp for hp in spec.values())  # kept out of the top level
    assert [spec[r]["adversarial"]["eps_warmup_epochs"] for r in ("pgd0.2", "trades0.1")] == [2, 2]
    assert "adversarial" not in spec["pgd0"] and "adversarial" not in spec["rot60"]
    # a schedule (a paper's own recipe) and a curriculum bring their own ramp
    assert all("eps_warmup_epochs" not in spec[r]["adversarial"] for r in list(spec)[-2:])
    # the paper config has none
    assert "eps_warmup_epochs" not in recipe_hparams(load_config(), "mnist", "madry_lenet", "pgd0.3")["adversarial"]


def test_attacked_train_subset_above_train_subset_is_refused():
    from invrob.checks import check_config
    from invrob.config import ConfigError

    config = load_config("quick.yaml")
    config["datasets"]["fashion_mnist"]["attacked_train_subset"] = 30000
    with pytest.raises(ConfigError, match=r"datasets.fashion_mnist.attacked_train_subset: 30000 is more than the 24000"):
        check_config(config)


def test_panels_with_attack_trained_models_say_on_how_many_images():
    config = load_config("quick.yaml")
    n = config["datasets"]["fashion_mnist"]["attacked_train_subset"]
    assert f"attack training on {n}" in figure_plan(config, "fig5")["panels"][0]["scale_note"]  # PGD-trained LeNets
    assert "attack training" not in figure_plan(config, "fig1")["panels"][0]["scale_note"]  # rotation-trained


def test_augmentation_families_of_paper_001():
    config = load_config()
    rt = recipe_hparams(config, "cifar10", "vgg16", "rt0.1")
    assert (rt["rotation"], rt["translation"], rt["crop_padding"], rt["horizontal_flip"]) == (18, 0.1, 0, False)
    trans = recipe_hparams(config, "cifar10", "vgg16", "trans0.2")
    assert (trans["rotation"], trans["translation"], trans["crop_padding"]) == (0, 0.2, 0)
    assert recipe_hparams(config, "cifar10", "vgg16", "rot60")["crop_padding"] == 4  # Aug-R keeps crop + flip
    trades = recipe_hparams(config, "cifar10", "wrn34_10", "trades8of255")["adversarial"]
    assert trades["method"] == "trades" and trades["beta"] == 6.0 and trades["steps"] == 10


# --------------------------------------------------------------------------- TRADES


def test_trades_loss_by_hand():
    # p = softmax([0, 0]) = (1/2, 1/2), q = softmax([0, ln 3]) = (1/4, 3/4), label 0, β = 2:
    # CE = ln 2, KL(p‖q) = ½ ln 2 + ½ ln(2/3) = ½ ln(4/3), loss = ln 2 + ln(4/3) = ln(8/3)
    nat, adv, y = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, math.log(3)]]), torch.tensor([0])
    assert float(kl_divergence(nat, adv)) == pytest.approx(0.5 * math.log(4 / 3))
    assert float(trades_loss(nat, adv, y, beta=2.0)) == pytest.approx(math.log(8 / 3))
    assert float(trades_loss(nat, nat, y, beta=2.0)) == pytest.approx(math.log(2))  # no KL for identical outputs


def test_trades_adversary_stays_in_the_ball_and_raises_the_kl():
    torch.manual_seed(0)
    model = build_model("stdcnn", DATASETS["mnist"]).eval()
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    x_adv = TradesKL(model, 0.1, steps=5, step_size=0.03, generator=torch.Generator().manual_seed(2)).perturb(x)
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    x_random = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3)).sign()).clamp(0, 1)
    with torch.no_grad():  # the maximiser beats a random corner of the ball by far
        assert float(kl_divergence(model(x), model(x_adv))) > 5 * float(kl_divergence(model(x), model(x_random)))


# --------------------------------------------------------------------------- transforms and invariance


def test_random_translation_only_shifts(tmp_path):
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert random_affine(x, 0, 0) is x
    out = random_affine(x, 0, 0.2, torch.Generator().manual_seed(5))
    shifts = uniform_shifts(6, 0.2, torch.Generator().manual_seed(5))
    assert shifts.abs().max() <= 0.2 and torch.equal(out, affine_transform(x, None, shifts))


class Constant(nn.Module):
    def forward(self, x):
        return torch.tensor([0.0, 1.0]).expand(len(x), 2)


@pytest.mark.parametrize("family", ["rotation", "translation", "rt"])
def test_a_classifier_that_ignores_its_input_is_invariant(prepared_mnist_like, family):
    data = load_split(prepared_mnist_like, "mnist", "test")
    out = invariance_profile(Constant(), data, [0, 0.25, 0.5], torch.Generator().manual_seed(0), family)
    assert out["range"] == [0, 0.25, 0.5] and out["invariance"] == [1.0, 1.0, 1.0]


def test_rotation_translation_profile_transforms_more_than_either_alone(prepared_mnist_like):
    # the bright-square classes of the generated data: a trained model is not invariant to large moves
    hp = tiny_hparams(epochs=6, rotation=0, lr=0.05)
    train(hp, prepared_mnist_like, prepared_mnist_like / "m.pt", prepared_mnist_like / "s.pt", seed=0, log=quiet)
    model, _ = load_model(prepared_mnist_like / "m.pt", "cpu")
    data = load_split(prepared_mnist_like, "mnist", "test")
    inv = {f: invariance_profile(model, data, [0, 0.4], torch.Generator().manual_seed(0), f)["invariance"]
           for f in ("rotation", "translation", "rt")}  # fmt: skip
    assert all(v[0] == 1.0 for v in inv.values())  # range 0 is the identity
    assert inv["translation"][1] < 0.9 and inv["rt"][1] < 0.9


# --------------------------------------------------------------------------- sequential training


def test_a_then_b_starts_from_the_weights_of_a(prepared_mnist_like, tmp_path):
    a = tiny_hparams(epochs=1, rotation=0, recipe="rot0")
    train(a, prepared_mnist_like, tmp_path / "a.pt", tmp_path / "sa.pt", seed=0, log=quiet)
    b = tiny_hparams(epochs=1, rotation=180, recipe="rot0-then-rot180", init="rot0", lr=0.0, momentum=0.0)
    logs = []
    train(b, prepared_mnist_like, tmp_path / "b.pt", tmp_path / "sb.pt", seed=5, log=logs.append,
          init_path=tmp_path / "a.pt")  # fmt: skip
    wa, wb = load_checkpoint(tmp_path / "a.pt")["state_dict"], load_checkpoint(tmp_path / "b.pt")["state_dict"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)  # lr 0: B is exactly where A ended
    assert any("starting from the weights" in m for m in logs)
    with pytest.raises(ValueError, match="starts from"):
        train({**b, "init": "rot30"}, prepared_mnist_like, tmp_path / "c.pt", tmp_path / "sc.pt", seed=0,
              log=quiet, init_path=tmp_path / "a.pt")  # fmt: skip


def test_trades_and_cusp_training_run_and_log_their_stages(prepared_mnist_like, tmp_path):
    pgd = {"steps": 2, "step_size": 0.1, "random_start": True}
    hp = tiny_hparams(epochs=3, rotation=[0, 90], curriculum=True, lr_milestones=[1, 2], recipe="cusp-trades",
                      adversarial={"method": "trades", "eps": [0.1, 0.2], "beta": 6.0, **pgd})  # fmt: skip
    logs = []
    train(hp, prepared_mnist_like, tmp_path / "m.pt", tmp_path / "s.pt", seed=0, log=logs.append)
    stages = [m for m in logs if "curriculum stage" in m]
    assert ["±0°, ε 0.1" in stages[0], "±90°, ε 0.2" in stages[1], "±90°, ε 0.2" in stages[2]] == [True] * 3
    assert all(np.isfinite(h["train_loss"]) for h in load_checkpoint(tmp_path / "m.pt")["history"])


def test_warm_start_input_names_the_previous_stage():
    assert warm_start_input("cifar10", "vgg16", "rot0", 1) == []
    assert warm_start_input("cifar10", "vgg16", "pgd8of255-then-rot180-then-rot0", 1) == [
        "results/cifar10/vgg16/pgd8of255-then-rot180/seed1/model.pt"]


# --------------------------------------------------------------------------- Table 1 and Fig 6


def test_table1_plans_the_papers_fifteen_runs():
    config = load_config()
    p = figure_plan(config, "cusp_table1", "tables")
    models = p["panels"][0]["models"]
    assert len(models) == 15 and all(len(m["evals"]) == 3 for m in models)  # seeds 0, 1, 2
    recipes = [m["recipe"] for m in models]
    assert recipes[2] == "pgd8of255-schedcusp"
    assert recipes[4] == "pgd8of255-schedcusp-then-rot180-schedcusp"  # row 5 continues row 3's checkpoint
    assert recipes[13].startswith("pgd8of255-schedcusp-then-cusp-rot120_150_180-pgd2of255_4of255_8of255")
    for r in recipes:
        hp = recipe_hparams(config, "cifar10", "vgg16", r)
        assert (hp["epochs"], hp["lr"], hp["lr_milestones"]) == (120, 0.1, [75, 90, 100])
    # every row label has the paper's numbers (so the paper column is filled)
    assert [m["label"] for m in models] == list(published.by_setup("paper_001", "cusp_table1")[("cifar10", "vgg16")])
    fig6 = figure_plan(config, "p001_fig6")
    assert [m["recipe"] for m in fig6["panels"][0]["models"]] == recipes


def test_cusp_rows_are_told_apart_by_their_last_stage():
    from invrob.figures.kinds._cusp import is_cusp

    assert is_cusp("rot180-schedcusp-then-cusp-rot120_150_180-pgd8of255-schedcusp")
    assert not is_cusp("pgd8of255-schedcusp-then-rot180-schedcusp") and not is_cusp("rot0")


def test_pareto_frontier_by_hand():
    points = [(1, 5), (2, 4), (2, 2), (0, 0), (3, 1), (2, 4)]
    assert pareto_optimal(points) == [True, True, False, False, True, True]


def test_quick_table1_runs_on_the_stand_ins_with_the_tables_seeds():
    config = load_config("quick.yaml")
    assert all(list(m["evals"]) == ["0"] for m in figure_plan(config, "cusp_table1", "tables")["panels"][0]["models"])
    config["tables"]["cusp_table1"]["seeds"] = [0, 1]
    panel = figure_plan(config, "cusp_table1", "tables")["panels"][0]
    assert (panel["dataset"], panel["arch"], panel["epsilon"]) == ("fashion_mnist", "stdcnn", 0.1)
    assert all(list(m["evals"]) == ["0", "1"] for m in panel["models"])
    assert panel["models"][8]["label"] == "CuSP (PGD, 30-60-180, {0.025, 0.05, 0.1})"


# --------------------------------------------------------------------------- datasets and models


def _spec_for(name, folder, files):
    return dataclasses.replace(DATASETS[name], files=tuple(RawFile(f.name, md5=md5_of(f)) for f in files),
                               download=None)  # fmt: skip


def test_cifar100_format_from_generated_files(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "raw" / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, n in (("train", 12), ("test", 6)):
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "fine_labels": rng.integers(0, 100, n).tolist()}
        (folder / name).write_bytes(pickle.dumps(entry))
    prepare_dataset(_spec_for("cifar100", folder, [folder / "train", folder / "test"]), tmp_path / "raw",
                    tmp_path / "out", allow_download=False, log=quiet)  # fmt: skip
    test = load_split(tmp_path / "out", "cifar100", "test")
    assert test.images.shape == (6, 3, 32, 32) and test.spec.num_classes == 100


def test_svhn_format_from_generated_files(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    root = tmp_path / "raw"
    root.mkdir()
    for split, n in (("train", 10), ("test", 5)):
        savemat(root / f"{split}_32x32.mat", {"X": rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
                                              "y": np.arange(1, n + 1).reshape(-1, 1) % 10 + 1})  # fmt: skip
    spec = _spec_for("svhn", root, [root / "train_32x32.mat", root / "test_32x32.mat"])
    prepare_dataset(spec, root, tmp_path / "out", allow_download=False, log=quiet)
    train_set = load_split(tmp_path / "out", "svhn", "train")
    assert train_set.images.shape == (10, 3, 32, 32)
    assert train_set.labels.tolist() == [(i % 10 + 1) % 10 for i in range(1, 11)]  # label 10 is the digit 0


def test_tiny_imagenet_from_a_generated_zip(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "raw" / "tiny-imagenet"
    folder.mkdir(parents=True)
    wnids = ["n02", "n01"]
    with zipfile.ZipFile(folder / "tiny-imagenet-200.zip", "w") as zf:
        def jpeg(mode):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (64, 64, 3) if mode == "RGB" else (64, 64), dtype=np.uint8)).save(
                buf, "JPEG")
            return buf.getvalue()

        zf.writestr("tiny-imagenet-200/wnids.txt", "\n".join(wnids) + "\n")
        for w in wnids:
            for i in range(3):
                zf.writestr(f"tiny-imagenet-200/train/{w}/images/{w}_{i}.JPEG", jpeg("L" if i == 0 else "RGB"))
        zf.writestr("tiny-imagenet-200/val/val_annotations.txt", "val_0.JPEG\tn02\t0\t0\t1\t1\nval_1.JPEG\tn01\t0\t0\t1\t1\n")
        for i in range(2):
            zf.writestr(f"tiny-imagenet-200/val/images/val_{i}.JPEG", jpeg("RGB"))
    spec = _spec_for("tiny_imagenet", folder, [folder / "tiny-imagenet-200.zip"])
    prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=False, log=quiet)
    train_set, test = load_split(tmp_path / "out", "tiny_imagenet", "train"), load_split(tmp_path / "out", "tiny_imagenet", "test")
    assert train_set.images.shape == (6, 3, 64, 64) and sorted(train_set.labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert test.labels.tolist() == [1, 0]  # classes are the sorted wnids: n01 → 0, n02 → 1


def test_resnet18_and_wrn34_10():
    resnet = build_model("resnet18", DATASETS["cifar10"])
    assert sum(p.numel() for p in resnet.parameters()) == 11_173_962  # the CIFAR ResNet18 of the TRADES code base
    assert resnet(torch.rand(2, 3, 64, 64)).shape == (2, 10)  # Tiny ImageNet sizes work unchanged
    assert build_model("resnet18", DATASETS["tiny_imagenet"])(torch.rand(1, 3, 64, 64)).shape == (1, 200)
    wrn = build_model("wrn34_10", DATASETS["cifar100"])
    assert sum(p.numel() for p in wrn.parameters()) == 46_218_164  # TRADES' wideresnet.py (100 classes)
