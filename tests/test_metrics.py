import torch
import torch.nn as nn

from invrob.data import TensorDataset, get_spec
from invrob.metrics import (
    clean_accuracy,
    fooling_rate,
    invariance_rate,
    predict,
    robustness_profile,
    rotation_invariance_profile,
)
from invrob.models import build_model

PGD = {"steps": 3, "step_size": 0.05, "random_start": True}


class Constant(nn.Module):
    """Predicts class 3 whatever the input (but still depends on it, so gradients exist)."""

    def forward(self, x):
        logits = torch.zeros(x.shape[0], 10)
        logits[:, 3] = 10.0
        return logits + 0.0 * x.flatten(1).sum(1, keepdim=True)


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
