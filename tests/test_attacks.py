import sys

import pytest
import torch
import torch.nn as nn

from invrob.attacks.advertorch import import_advertorch, zero_gradients
from invrob.attacks.base import make_attack
from invrob.attacks.deepfool import DeepFool
from invrob.attacks.fgsm import FGSM
from invrob.attacks.pgd import LinfPGD
from invrob.data.registry import get_spec
from invrob.models import build_model

PGD = {"steps": 7, "step_size": 0.01, "random_start": True}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model("stdcnn", get_spec("mnist")).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.rand(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)


class Linear2(nn.Module):
    """logits = [0, w·x]: the cross-entropy gradient for label 0 points along +w."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x):
        z = (x.flatten(1) * self.w.flatten()).sum(1, keepdim=True)
        return torch.cat([torch.zeros_like(z), z], 1)


def test_shim_makes_advertorch_importable_and_restores_zero_gradients():
    attacks = import_advertorch()
    assert hasattr(attacks, "LinfPGDAttack") and hasattr(attacks, "GradientSignAttack")
    assert sys.modules["torch.autograd.gradcheck"].zero_gradients is not None
    t = torch.ones(3, requires_grad=True)
    (t * 2).sum().backward()
    zero_gradients([t])
    assert torch.equal(t.grad, torch.zeros(3))


def test_fgsm_by_hand_on_a_linear_model():
    w = torch.tensor([[[[1.0, -2.0], [0.0, 3.0]]]])
    x = torch.full((1, 1, 2, 2), 0.5)
    adv = FGSM(Linear2(w), 0.1).perturb(x, torch.tensor([0]))
    # d CE / dx = softmax_1 · w, so the step is 0.1·sign(w); sign(0) = 0 leaves that pixel alone
    assert torch.allclose(adv, torch.tensor([[[[0.6, 0.4], [0.5, 0.6]]]]))


def test_fgsm_clips_to_the_image_domain():
    w = torch.ones(1, 1, 2, 2)
    adv = FGSM(Linear2(w), 0.3).perturb(torch.full((1, 1, 2, 2), 0.9), torch.tensor([0]))
    assert torch.equal(adv, torch.ones(1, 1, 2, 2))


def test_pgd_without_random_start_by_hand_on_a_linear_model():
    w = torch.tensor([[[[1.0, -1.0]]]])
    x = torch.full((1, 1, 1, 2), 0.5)
    adv = LinfPGD(Linear2(w), eps=0.025, steps=5, step_size=0.01, random_start=False).perturb(x, torch.tensor([0]))
    # steps of 0.01 along sign(w), projected back onto the 0.025-ball
    assert torch.allclose(adv, torch.tensor([[[[0.525, 0.475]]]]))


@pytest.mark.parametrize("eps", [0.05, 0.3, 1.0])
def test_pgd_stays_in_the_eps_ball_and_the_image_domain(model, batch, eps):
    x, y = batch
    adv = LinfPGD(model, eps, **PGD).perturb(x, y)
    assert (adv - x).abs().max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1


def test_pgd_at_zero_eps_is_the_identity(model, batch):
    x, y = batch
    assert torch.equal(LinfPGD(model, 0.0, **PGD).perturb(x, y), x)


@pytest.mark.parametrize("kind", ["pgd", "fgsm"])
def test_native_engine_reproduces_advertorch_exactly(model, batch, kind):
    x, y = batch
    torch.manual_seed(7)
    native = make_attack(kind, model, 0.2, PGD, "native").perturb(x, y)
    torch.manual_seed(7)
    reference = make_attack(kind, model, 0.2, PGD, "advertorch").perturb(x, y)
    assert torch.equal(native, reference)
    assert all(p.grad is None for p in model.parameters())


def test_native_fgsm_matches_torchattacks(model, batch):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = batch
    ours = make_attack("fgsm", model, 0.1, {}, "native").perturb(x, y)
    theirs = torchattacks.FGSM(model, eps=0.1)(x, y)
    assert (ours - theirs).abs().max() < 1e-6


def test_per_image_eps_equals_separate_runs(model, batch):
    x, y = batch
    eps = torch.tensor([0.1] * 8 + [0.3] * 8)
    delta0 = (torch.rand(x.shape, generator=torch.Generator().manual_seed(3)) * 2 - 1) * eps.view(-1, 1, 1, 1)
    stacked = LinfPGD(model, eps, **PGD).perturb(x, y, delta_init=delta0)
    a = LinfPGD(model, 0.1, **PGD).perturb(x[:8], y[:8], delta_init=delta0[:8])
    b = LinfPGD(model, 0.3, **PGD).perturb(x[8:], y[8:], delta_init=delta0[8:])
    assert torch.equal(stacked, torch.cat([a, b]))


def test_pgd_lowers_accuracy_of_a_trained_linear_model():
    torch.manual_seed(0)
    w = torch.randn(1, 1, 4, 4)
    x = torch.rand(64, 1, 4, 4)
    model = Linear2(w)
    y = model(x).argmax(1)  # labels = the model's own predictions: accuracy 1 before the attack
    adv = LinfPGD(model, 0.5, steps=20, step_size=0.05).perturb(x, y)
    assert (model(adv).argmax(1) == y).float().mean() < 0.5


def test_bad_backend_and_attack_names():
    m = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="unknown attack backend 'foolbox'"):
        make_attack("pgd", m, 0.1, PGD, "foolbox")
    with pytest.raises(ValueError, match="unknown attack 'cw'"):
        make_attack("cw", m, 0.1, PGD)


class Affine(nn.Module):
    """logits = W x + b (hand-computable DeepFool: the boundaries are hyperplanes)."""

    def __init__(self, w, b):
        super().__init__()
        self.w, self.b = w, b

    def forward(self, x):
        return x.flatten(1) @ self.w.T + self.b


def test_deepfool_on_an_affine_model_reaches_the_nearest_hyperplane_in_one_step():
    torch.manual_seed(0)
    w, b = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    model = Affine(w, b)
    x = 0.25 + 0.5 * torch.rand(8, 6, dtype=torch.float64)  # far from the [0, 1] box edges
    c = model(x).argmax(1)
    x_adv = DeepFool(model, overshoot=0.0).perturb(x)
    for i in range(8):
        f = model(x[i : i + 1])[0]
        dist = [(f[k] - f[c[i]]).abs() / (w[k] - w[c[i]]).norm() for k in range(4) if k != c[i]]
        assert torch.isclose((x_adv[i] - x[i]).norm(), min(dist), atol=1e-10)  # exactly the nearest boundary
    shifted = DeepFool(model, overshoot=0.02).perturb(x)
    assert torch.allclose((shifted - x).norm(dim=1), 1.02 * (x_adv - x).norm(dim=1), atol=1e-10)
    assert DeepFool(model, overshoot=0.02).perturb(x).shape == x.shape


def test_deepfool_without_clipping_reaches_boundaries_outside_the_image_range_and_with_it_stays_inside():
    # black images (all pixels 0) of an affine model: the nearest boundary lies partly below 0
    torch.manual_seed(1)
    w, b = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    model = Affine(w, b)
    x = torch.zeros(3, 6, dtype=torch.float64)
    c = model(x).argmax(1)
    free = DeepFool(model, overshoot=0.0)
    x_adv = free.perturb(x)
    f = model(x[:1])[0]
    nearest = min((f[k] - f[c[0]]).abs() / (w[k] - w[c[0]]).norm() for k in range(4) if k != c[0])
    assert torch.allclose((x_adv - x).norm(dim=1), nearest.expand(3), atol=1e-10) and (x_adv < 0).any()
    boxed = DeepFool(model, overshoot=0.02, clip=True)
    assert boxed.perturb(x).min() >= 0 and boxed.perturb(x).max() <= 1


def test_deepfool_leaves_images_without_a_gradient_in_place_instead_of_returning_nan():
    # every hidden ReLU off for the first images (a dead representation): constant logits, zero Jacobian
    hidden = nn.Linear(6, 3)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[-1.0] * 3 + [0.0] * 3, [-1.0] * 3 + [0.0] * 3, [0.0] * 3 + [1.0] * 3]))
        hidden.bias.copy_(torch.tensor([0.0, 0.0, -10.0]))  # unit 3 is on only where x[3:] sums above 10
    model = nn.Sequential(hidden, nn.ReLU(), nn.Linear(3, 4))
    x = torch.rand(5, 6)
    x[:, :3] = 0.1 + 0.8 * x[:, :3]  # units 1 and 2 off: no gradient reaches the input
    attack = DeepFool(model, overshoot=0.02, max_iter=5)
    x_adv = attack.perturb(x)
    assert torch.isfinite(x_adv).all() and torch.equal(x_adv, x) and not attack.converged.any()


def test_deepfool_matches_torchattacks_on_correctly_classified_images():
    torchattacks = pytest.importorskip("torchattacks")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)).double().eval()
    x = torch.rand(24, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        y = net(x).argmax(1)  # labels = predictions: every image is "correctly classified"
    ours = DeepFool(net, overshoot=0.02, max_iter=50, clip=True)
    ref = torchattacks.DeepFool(net, steps=50, overshoot=0.02)
    assert torch.allclose(ours.perturb(x, y), ref(x, y), atol=1e-10)
    assert ours.converged.sum() >= 20  # a few stall against the [0, 1] box, in both implementations
