"""Worst-case spatial attacks (papers 003/004): grids, worst-of-k, S-PGD."""

import pytest
import torch
import torch.nn as nn

from conftest import load_config
from invrob.attacks import GRIDS
from invrob.attacks.spatial import SpatialPGD, correct_under_all, grid_transforms, transform_pixels, worst_of_k
from invrob.data.registry import DATASETS
from invrob.data.splits import TensorDataset
from invrob.evaluation.measures import spatial_attack_accuracy
from invrob.evaluation.settings import evaluation_settings
from invrob.models import build_model


def test_grid775_has_exactly_the_stated_775_transforms():
    angles, shifts = grid_transforms("grid775")
    triples = {(round(a, 6), round(dx, 6), round(dy, 6)) for a, (dx, dy) in zip(angles.tolist(), shifts.tolist())}
    assert len(angles) == len(triples) == 775
    assert sorted({t[0] for t in triples}) == pytest.approx([-30 + 2 * i for i in range(31)])
    assert sorted({t[1] for t in triples}) == sorted({t[2] for t in triples}) == [-3.0, -1.5, 0.0, 1.5, 3.0]


@pytest.mark.parametrize("name,count,max_deg,shifts", [("grid135", 135, 30, [-3, 0, 3]), ("grid775-10", 775, 10, None),
                                                       ("rot30", 31, 30, [0]), ("rot10", 31, 10, [0])])  # fmt: skip
def test_weaker_grids(name, count, max_deg, shifts):
    angles, s = grid_transforms(name)
    assert len(angles) == count and float(angles.abs().max()) == max_deg
    if shifts is not None:
        assert sorted(set(s[:, 0].tolist())) == shifts


class Constant(nn.Module):
    def forward(self, x):
        return torch.tensor([0.0, 1.0]).expand(len(x), 2)


def _data(n=6):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    return TensorDataset(images, torch.ones(n, dtype=torch.long), DATASETS["mnist"])


SETTINGS = {"batch_size": 4, "transform_batch": 64, "max_deg": 30.0, "max_px": 3.0, "k": 5,
            "spgd": {"steps": 3, "step_deg": 5.0, "step_px": 0.5}}  # fmt: skip


@pytest.mark.parametrize("attack", ["grid775", "grid135", "rot10", "worst-of-k", "spgd"])
def test_a_classifier_that_ignores_its_input_is_fully_robust(attack):
    out = spatial_attack_accuracy(Constant(), _data(), attack, SETTINGS, torch.Generator().manual_seed(0))
    assert out["accuracy"] == out["clean_accuracy"] == 1.0 and out["attack_success_rate"] == 0.0


class _Counting(nn.Module):
    """Counts the images it classifies."""

    def __init__(self, model):
        super().__init__()
        self.model, self.seen = model, 0

    def forward(self, x):
        self.seen += len(x)
        return self.model(x)


def test_batched_grid_equals_one_transform_at_a_time():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).eval()  # position-sensitive
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    x = torch.cat([x, torch.zeros(3, 1, 28, 28)])  # blank images: the same under every transform, so robust
    with torch.no_grad():
        y = model(x).argmax(1)
        angles, shifts = grid_transforms("grid135")
        loop = torch.ones(8, dtype=torch.bool)
        for a, s in zip(angles, shifts):
            loop &= model(transform_pixels(x, a.expand(8), s.expand(8, 2))).argmax(1) == y
    assert loop[5:].all() and not loop[:5].all()  # robust and fooled images both: the test has teeth
    for batch in (1, 7, 135, 10000):  # chunks that split images and transforms differently
        counting = _Counting(model)
        assert torch.equal(correct_under_all(counting, x, y, angles, shifts, batch), loop)
        # a fooled image leaves the work: once the grid takes several chunks, fewer than the exhaustive
        # 8 × 135 transformed images are classified (one pass of 10000 holds them all at once)
        assert counting.seen < 8 * 135 if batch < 8 * 135 else counting.seen == 8 * 135


def test_whole_pixel_shifts_of_the_grid_are_exact_translations():
    x = torch.rand(2, 1, 28, 28)
    out = transform_pixels(x, torch.zeros(2), torch.tensor([[3.0, 0.0], [0.0, -3.0]]))
    assert torch.allclose(out[0, :, :, 3:], x[0, :, :, :-3], atol=1e-4) and (out[0, :, :, :3] == 0).all()
    assert torch.allclose(out[1, :, :-3], x[1, :, 3:], atol=1e-4) and (out[1, :, -3:] == 0).all()


def test_spgd_never_leaves_the_transformation_limits():
    torch.manual_seed(0)
    model = build_model("stdcnn", DATASETS["mnist"]).eval()
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(2))
    attack = SpatialPGD(model, max_deg=10.0, max_px=2.0, steps=6, step_deg=7.0, step_px=1.5,
                        generator=torch.Generator().manual_seed(3))  # fmt: skip
    _, (angles, shifts), _ = attack.perturb(x, y)
    assert angles.abs().max() <= 10.0 and shifts.abs().max() <= 2.0
    assert (angles.abs() == 10.0).any()  # steps larger than the limit are projected back onto it


def test_worst_of_k_keeps_the_highest_loss_transform():
    torch.manual_seed(0)
    model = build_model("stdcnn", DATASETS["mnist"]).eval()
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    y = torch.zeros(6, dtype=torch.long)
    loss = lambda xs: nn.functional.cross_entropy(model(xs), y, reduction="none")  # noqa: E731
    best1, _ = worst_of_k(model, x, y, 1, 30, 3, torch.Generator().manual_seed(4))
    best8, _ = worst_of_k(model, x, y, 8, 30, 3, torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert (loss(best8) >= loss(best1) - 1e-6).all()  # the first draw is among the 8


def test_spatial_settings_come_from_the_config():
    config = load_config("quick.yaml")
    s = evaluation_settings(config, "fashion_mnist", "spatial-grid775")
    assert (s["max_deg"], s["max_px"], s["k"], s["attacked"]) == (30.0, 3.0, 10, 200)
    assert set(GRIDS) == {"grid775", "grid135", "grid775-10", "rot30", "rot10"}
