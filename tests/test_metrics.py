import torch
import torch.nn as nn

from invrob.data.registry import get_spec
from invrob.data.splits import TensorDataset
from invrob.evaluation.measures import (
    clean_accuracy,
    deepfool_distances,
    fooling_rate,
    invariance_rate,
    perturbation_subspace_angles,
    predict,
    principal_angles,
    robustness_profile,
    rotation_by_range,
    rotation_invariance_profile,
    top_right_singular_vectors,
)
from invrob.models import build_model

PGD = {"steps": 3, "step_size": 0.05, "random_start": True}


class Constant(nn.Module):
    """Predicts class 3 whatever the input (but still depends on it, so gradients exist)."""

    def forward(self, x):
        logits = torch.zeros(x.shape[0], 10)
        logits[:, 3] = 10.0
        return logits + 0.0 * x.flatten(1).sum(1, keepdim=True)


def frozen_model(arch="stdcnn", dataset_name="mnist"):
    """A seeded, untrained model in eval mode whose parameters need no gradients (attacks only)."""
    torch.manual_seed(0)
    model = build_model(arch, get_spec(dataset_name)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def dataset(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return TensorDataset(images, labels, get_spec("mnist"))


def test_invariance_and_fooling_rates_by_hand():
    a = torch.tensor([1, 2, 3, 4])
    assert invariance_rate(a, torch.tensor([1, 2, 0, 4])) == 0.75
    assert fooling_rate(a, torch.tensor([1, 2, 0, 4])) == 0.25
    assert fooling_rate(a, a.clone()) == 0.0  # an untouched input fools nobody


def test_constant_classifier_is_perfectly_invariant():
    data = dataset()
    prof = rotation_invariance_profile(Constant(), data, [0, 45, 180], torch.Generator().manual_seed(0))
    assert prof["invariance"] == [1.0, 1.0, 1.0]
    expected = float((data.labels == 3).float().mean())
    assert prof["accuracy"] == [expected] * 3


def test_constant_classifier_cannot_be_fooled():
    data = dataset()
    prof = robustness_profile(Constant(), data, [0.0, 0.1, 1.0], "pgd", PGD)
    assert prof["one_minus_fooling_rate"] == [1.0, 1.0, 1.0]


def test_zero_rotation_range_leaves_predictions_unchanged():
    torch.manual_seed(0)
    model = build_model("stdcnn", get_spec("mnist")).eval()
    prof = rotation_invariance_profile(model, dataset(), [0], torch.Generator().manual_seed(0))
    assert prof["invariance"] == [1.0]
    assert prof["accuracy"] == [clean_accuracy(model, dataset())]


def test_robustness_profile_starts_at_clean_accuracy_and_drops_under_attack():
    torch.manual_seed(0)
    model = build_model("stdcnn", get_spec("mnist")).eval()
    data = dataset(64)
    # relabel with the model's predictions: clean accuracy 1, so every drop is the attack's doing
    data = TensorDataset(data.images, predict(model, data.images), data.spec)
    prof = robustness_profile(model, data, [0.0, 0.3], "pgd", PGD)
    assert prof["accuracy"][0] == 1.0 == prof["one_minus_fooling_rate"][0]
    assert prof["accuracy"][1] < 1.0
    assert prof["accuracy"] == prof["one_minus_fooling_rate"]  # labels = clean predictions


def test_predict_applies_the_transform_per_batch():
    data = dataset(10)
    seen = []
    predict(Constant(), data.images, batch_size=4, transform=lambda x, sl: seen.append((sl.start, len(x))) or x)
    assert seen == [(0, 4), (4, 4), (8, 2)]


def test_principal_angles_of_subspaces_with_known_angles():
    e = torch.eye(5, dtype=torch.float64)
    a = torch.stack([e[0], e[1], e[2]], 1)
    b = torch.stack([e[0], torch.cos(torch.tensor(0.3)) * e[1] + torch.sin(torch.tensor(0.3)) * e[3], e[4]], 1)
    angles = principal_angles(a, b)
    assert torch.allclose(angles, torch.tensor([0.0, torch.rad2deg(torch.tensor(0.3)), 90.0], dtype=torch.float64),
                          atol=1e-6)  # fmt: skip
    # scaling or mixing the basis vectors does not change the subspace
    assert torch.allclose(principal_angles(a @ torch.tensor([[2.0, 1, 0], [0, 1, 0], [0, 0, 3]], dtype=torch.float64), b),
                          angles, atol=1e-6)  # fmt: skip
    assert torch.allclose(principal_angles(a, a), torch.zeros(3, dtype=torch.float64), atol=1e-5)


def test_top_singular_subspace_of_rows_in_a_known_plane():
    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(10, 2, dtype=torch.float64, generator=g))[0]
    rows = torch.randn(50, 2, dtype=torch.float64, generator=g) @ basis.T  # every row lies in span(basis)
    v = top_right_singular_vectors(rows, 2)
    assert torch.allclose(principal_angles(v, basis), torch.zeros(2, dtype=torch.float64), atol=1e-5)


def test_perturbation_angles_and_deepfool_distance_run_on_a_model():
    model = frozen_model("stdcnn", "mnist")
    data = dataset(12)
    out = perturbation_subspace_angles(model, data, 0.1, {"steps": 2, "step_size": 0.05, "random_start": True}, 4, k=3)
    assert len(out["angles_deg"]) == 3 and all(0 <= a <= 90 for a in out["angles_deg"])
    assert out["angles_deg"] == sorted(out["angles_deg"])
    df = deepfool_distances(model, data, batch_size=5, max_iter=20)
    assert df["points"] == 12 and df["mean_l2"] > 0 and df["not_converged"] <= 12


def test_rotation_by_range_fixes_one_angle_per_test_image():
    x = torch.rand(6, 1, 28, 28)
    assert torch.equal(rotation_by_range(6, 0, torch.Generator().manual_seed(0), "cpu")(x, slice(0, 6)), x)
    turn = rotation_by_range(6, 180, torch.Generator().manual_seed(0), "cpu")
    whole = turn(x, slice(0, 6))
    assert not torch.equal(whole, x)
    # batches see the angles of their own images: transforming in two halves equals one pass
    assert torch.equal(torch.cat([turn(x[:3], slice(0, 3)), turn(x[3:], slice(3, 6))]), whole)


def test_robustness_profile_on_rotated_test_data_uses_the_rotated_images():
    model = Constant()
    data = dataset(20)
    g = torch.Generator().manual_seed(0)
    out = robustness_profile(model, data, [0.0, 0.1], "fgsm", {}, transform=rotation_by_range(20, 90, g, "cpu"))
    assert out["one_minus_fooling_rate"] == [1.0, 1.0]


# --------------------------------------------------------------------------- the space of ε (paper 000: normalised)


def test_normalised_epsilon_on_one_channel_is_the_pixel_attack_at_epsilon_times_std():
    from invrob.attacks.base import channel_unit

    model = frozen_model("stdcnn", "mnist")
    data = dataset(24)
    sigma = get_spec("mnist").std[0]
    unit = channel_unit(get_spec("mnist").std)
    for attack in ("pgd", "fgsm"):
        torch.manual_seed(1)
        z = robustness_profile(model, data, [0.0, 0.1, 0.3], attack, PGD, unit=unit)
        torch.manual_seed(1)  # the same random starts, scaled by σ
        px = robustness_profile(model, data, [0.0, 0.1 * sigma, 0.3 * sigma], attack,
                                {**PGD, "step_size": PGD["step_size"] * sigma})  # fmt: skip
        assert z["accuracy"] == px["accuracy"] and z["one_minus_fooling_rate"] == px["one_minus_fooling_rate"]
        assert z["epsilon"] == [0.0, 0.1, 0.3]  # the file keeps the radii in the space it was asked in
    # DeepFool: the same iterates (∂/∂z = σ ∂/∂x on one channel), distances divided by σ exactly
    df_px = deepfool_distances(model, data, batch_size=8, max_iter=20)
    df_z = deepfool_distances(model, data, batch_size=8, max_iter=20, unit=unit)
    assert abs(df_z["mean_l2"] - df_px["mean_l2"] / sigma) < 1e-5 * df_z["mean_l2"]
    # not "not_converged": with torchattacks' per-step overshoot the last iterates sit on the decision
    # boundary to float precision (top-2 logit margins 0 to 3e-8 here), so whether a point counts as
    # flipped is float noise that differs between the two spaces and between CPUs (1 on one, 3 on another)
    assert df_z["points"] == df_px["points"] == 24
    # principal angles do not depend on a common scale of the coordinates
    settings = {"steps": 2, "step_size": 0.05, "random_start": False}
    a_px = perturbation_subspace_angles(model, data, 0.1 * sigma, {**settings, "step_size": 0.05 * sigma}, 4, k=3)
    a_z = perturbation_subspace_angles(model, data, 0.1, settings, 4, k=3, unit=unit)
    assert torch.allclose(torch.tensor(a_z["angles_deg"]), torch.tensor(a_px["angles_deg"]), atol=1e-3)


def test_normalised_epsilon_on_three_channels_is_a_per_channel_pixel_radius():
    from invrob.attacks.base import channel_unit, make_attack
    from invrob.attacks.pgd import LinfPGD

    spec = get_spec("cifar10")
    model = frozen_model("vgg16", "cifar10")
    x = 0.3 + 0.4 * torch.rand(4, 3, 32, 32)  # away from the box: the radius is reached in every channel
    y = torch.randint(0, 10, (4,))
    unit = channel_unit(spec.std)
    eps = 8 / 255
    fgsm = make_attack("fgsm", model, eps, {}, unit=unit).perturb(x, y)
    assert torch.allclose((fgsm - x).abs().amax((0, 2, 3)), eps * torch.tensor(spec.std), atol=1e-6)
    pgd = make_attack("pgd", model, eps, {"steps": 3, "step_size": 2 / 255, "random_start": True}, unit=unit)
    assert isinstance(pgd, LinfPGD) and torch.allclose(pgd.step_size, 2 / 255 * unit)
    delta = (pgd.perturb(x, y) - x) / unit  # the perturbation of the normalised input z = (x − μ)/σ
    assert float(delta.abs().max()) <= eps + 1e-6 and float(delta.abs().max()) > 0.9 * eps


def test_deepfool_in_normalised_units_finds_the_nearest_boundary_of_the_normalised_input():
    from invrob.attacks.deepfool import DeepFool

    class Affine3(nn.Module):  # logits = W x + b on 3×2×2 images
        def __init__(self, w, b):
            super().__init__()
            self.w, self.b = w, b

        def forward(self, x):
            return x.flatten(1) @ self.w.T + self.b

    torch.manual_seed(0)
    w, b = torch.randn(3, 12, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    sigma = torch.tensor([0.2, 0.5, 0.25], dtype=torch.float64)
    unit = sigma.view(1, 3, 1, 1)
    x = 0.45 + 0.1 * torch.rand(6, 3, 2, 2, dtype=torch.float64)
    model = Affine3(w, b)
    c = model(x).argmax(1)
    x_adv = DeepFool(model, overshoot=0.0, unit=unit).perturb(x)
    w_z = w * sigma.repeat_interleave(4)  # logits as a function of z: W diag(σ) z + …
    for i in range(6):
        f = model(x[i : i + 1])[0]
        dist = min((f[k] - f[c[i]]).abs() / (w_z[k] - w_z[c[i]]).norm() for k in range(3) if k != c[i])
        assert torch.isclose(((x_adv[i] - x[i]) / unit[0]).norm(), dist, atol=1e-10)
