import pytest
import torch

from invrob.data.registry import get_spec
from invrob.models import build_model
from invrob.models.layers import GroupSpatialMaxPool, P4ConvP4, P4ConvZ2


def rot_p4(y: torch.Tensor, k: int) -> torch.Tensor:
    """The action of a k·90° rotation on a P4 feature map B×C×4×H×W: rotate planes, shift orientations."""
    return torch.roll(torch.rot90(y, k, dims=(3, 4)), k, dims=2)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_p4convz2_is_exactly_equivariant(k):
    torch.manual_seed(0)
    layer = P4ConvZ2(3, 5).double()
    x = torch.rand(2, 3, 11, 11, dtype=torch.float64)
    assert torch.allclose(layer(torch.rot90(x, k, dims=(2, 3))), rot_p4(layer(x), k), atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_p4convp4_is_exactly_equivariant(k):
    torch.manual_seed(0)
    layer = P4ConvP4(4, 6).double()
    y = torch.rand(2, 4, 4, 9, 9, dtype=torch.float64)
    assert torch.allclose(layer(rot_p4(y, k)), rot_p4(layer(y), k), atol=1e-12)


def test_group_pooling_is_equivariant_on_even_sizes():
    y = torch.rand(2, 3, 4, 8, 8)
    pool = GroupSpatialMaxPool(2)
    assert torch.equal(pool(rot_p4(y, 1)), rot_p4(pool(y), 1))


def test_gcnn_feature_extractor_is_equivariant_and_first_orientation_pooling_makes_it_invariant():
    torch.manual_seed(0)
    model = build_model("gcnn", get_spec("mnist")).double().eval()
    x = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    feats = model.features(model.normalize(x))
    feats_rot = model.features(model.normalize(torch.rot90(x, 1, dims=(2, 3))))
    assert torch.allclose(feats_rot, rot_p4(feats, 1), atol=1e-10)
    pooled = lambda f: f.amax(dim=(2, 3, 4))  # noqa: E731  max over orientations and space
    assert torch.allclose(pooled(feats_rot), pooled(feats), atol=1e-10)


def test_stdcnn_is_table_3_with_hand_counted_parameters():
    model = build_model("stdcnn", get_spec("mnist"))
    # conv 1→10, 10→10, 10→20, 20→20 (3×3 + bias), FC 20·4·4→50, FC 50→10
    expected = (9 * 10 + 10) + (90 * 10 + 10) + (90 * 20 + 20) + (180 * 20 + 20) + (320 * 50 + 50) + (50 * 10 + 10)
    assert sum(p.numel() for p in model.parameters()) == expected == 23010


def test_gcnn_has_the_same_channel_counts_times_four_orientations():
    model = build_model("gcnn", get_spec("mnist"))
    convs = [m for m in model.features if isinstance(m, (P4ConvZ2, P4ConvP4))]
    assert [c.weight.shape[0] for c in convs] == [10, 10, 20, 20]
    assert model.classifier[1].in_features == 20 * 4 * 4 * 4


@pytest.mark.parametrize("arch", ["stdcnn", "gcnn"])
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_models_map_unit_interval_images_to_logits(arch, dataset):
    spec = get_spec(dataset)
    model = build_model(arch, spec)
    assert model(torch.rand(2, *spec.shape)).shape == (2, spec.num_classes)


def test_normalisation_is_the_first_layer():
    spec = get_spec("mnist")
    model = build_model("stdcnn", spec).eval()
    x = torch.full((1, 1, 28, 28), spec.mean[0])
    assert torch.allclose(model.normalize(x), torch.zeros_like(x), atol=1e-6)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture 'vgg99'"):
        build_model("vgg99", get_spec("mnist"))


def test_madry_lenet_has_hand_counted_parameters():
    model = build_model("madry_lenet", get_spec("mnist"))
    # conv5×5 1→32, conv5×5 32→64 (same padding, two 2× pools: 28 → 7), FC 7·7·64→1024, FC 1024→10
    expected = (25 * 32 + 32) + (25 * 32 * 64 + 64) + (7 * 7 * 64 * 1024 + 1024) + (1024 * 10 + 10)
    assert sum(p.numel() for p in model.parameters()) == expected == 3_274_634


def test_p4_vgg16_matches_vgg16_parameters_with_half_the_channels_per_orientation():
    spec = get_spec("cifar10")
    vgg, p4 = build_model("vgg16", spec), build_model("p4vgg16", spec)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # same conv weights; P4 has 2 BN parameters per *base* channel (half of VGG's) and a wider input to the FC
    assert abs(count(p4) - count(vgg)) / count(vgg) < 1e-3
    convs = [m for m in vgg.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13 and convs[-1].out_channels == 512
    assert [m.out_channels for m in p4.features if isinstance(m, (P4ConvZ2, P4ConvP4))][:2] == [32, 32]


def test_p4_vgg16_features_are_rotation_equivariant_in_eval_mode():
    torch.manual_seed(0)
    model = build_model("p4vgg16", get_spec("cifar10")).double().eval()
    for m in model.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    head = model.features[:7]  # two conv–BN–ReLU blocks and the first pool (32 → 16, no rounding)
    f, f_rot = head(model.normalize(x)), head(model.normalize(torch.rot90(x, 1, dims=(2, 3))))
    assert torch.allclose(f_rot, rot_p4(f, 1), atol=1e-9)


def test_madry_resnet_is_the_model_of_the_cifar10_challenge():
    model = build_model("madry_resnet", get_spec("cifar10"))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 1 + 3 * 5 * 2  # stem + 3 stages × 5 units × 2 convolutions
    assert [c.out_channels for c in convs[1::10]] == [160, 320, 640]
    assert not [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)]
    # MadryLab/cifar10_challenge model.py: 3·3·3·16 + Σ convs + BN γ/β + 640·10 + 10
    assert sum(p.numel() for p in model.parameters()) == 45_901_914


def test_madry_resnet_input_and_shortcuts_follow_tensorflow():
    from invrob.models.zoo.madry import MadryUnit, PerImageStandardization

    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    z = PerImageStandardization()(x)
    n = 3 * 32 * 32
    for img, out in zip(x, z):  # tf.image.per_image_standardization
        std = max(float(img.std(unbiased=False)), 1 / n**0.5)
        assert torch.allclose(out, (img - img.mean()) / std)
    flat = PerImageStandardization()(torch.full((1, 3, 4, 4), 0.5))
    assert torch.equal(flat, torch.zeros(1, 3, 4, 4))  # a constant image: divided by 1/√n, not by 0
    unit = MadryUnit(4, 8, 2, activate_before_residual=False).double().eval()
    for p in (unit.conv1.weight, unit.conv2.weight):
        torch.nn.init.zeros_(p)
    h = torch.rand(1, 4, 6, 6, dtype=torch.float64)
    pooled = torch.nn.functional.avg_pool2d(h, 2, 2)  # with zero residual the unit is its shortcut
    expected = torch.cat([torch.zeros(1, 2, 3, 3, dtype=torch.float64), pooled,
                          torch.zeros(1, 2, 3, 3, dtype=torch.float64)], 1)  # fmt: skip
    assert torch.equal(unit(h), expected)


@pytest.mark.parametrize("arch", ["vgg16", "p4vgg16", "madry_resnet"])
def test_cifar_models_train_one_step(arch):
    torch.manual_seed(0)
    model = build_model(arch, get_spec("cifar10"))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.rand(4, 3, 32, 32), torch.randint(0, 10, (4,))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and model(x).shape == (4, 10)
