import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from invrob.transforms import affine_transform, random_crop_flip, random_rotation, shift_pixels, uniform_angles


@pytest.fixture
def batch():
    return torch.rand(4, 3, 28, 28, generator=torch.Generator().manual_seed(0))


def test_zero_angle_is_identity(batch):
    assert torch.equal(affine_transform(batch, 0.0), batch)
    assert random_rotation(batch, 0) is batch


@pytest.mark.parametrize("angle,k", [(90, 1), (180, 2), (270, 3), (-90, 3), (-180, 2)])
def test_quarter_turns_equal_rot90(batch, angle, k):
    assert torch.equal(affine_transform(batch, float(angle)), torch.rot90(batch, k, dims=(2, 3)))


@pytest.mark.parametrize("angle", [7.0, 30.0, -45.0, 123.0])
def test_matches_torchvision_nearest_rotation(batch, angle):
    ours = affine_transform(batch, angle)
    ref = TF.rotate(batch, angle, interpolation=InterpolationMode.NEAREST, fill=0.0)
    # identical except, at most, pixels whose source lies exactly on a rounding boundary
    assert (ours != ref).float().mean() < 0.002


def test_each_image_gets_its_own_angle(batch):
    angles = torch.tensor([0.0, 90.0, 180.0, 270.0])
    out = affine_transform(batch, angles)
    for i, k in enumerate(range(4)):
        assert torch.equal(out[i], torch.rot90(batch[i], k, dims=(1, 2)))


def test_rotation_fills_corners_black():
    ones = torch.ones(1, 1, 28, 28)
    out = affine_transform(ones, 45.0)
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 14, 14] == 1


def _roll_with_zero_fill(image, dx, dy):
    ref = torch.roll(image, shifts=(dy, dx), dims=(-2, -1))
    if dx > 0:
        ref[..., :, :dx] = 0
    elif dx < 0:
        ref[..., :, dx:] = 0
    if dy > 0:
        ref[..., :dy, :] = 0
    elif dy < 0:
        ref[..., dy:, :] = 0
    return ref


@pytest.mark.parametrize("dx,dy", [(3, 0), (0, -2), (-5, 4)])
def test_whole_pixel_shift_equals_roll_with_zero_fill(batch, dx, dy):
    h, w = batch.shape[-2:]
    out = affine_transform(batch, None, torch.tensor([[dx / w, dy / h]]))
    assert torch.equal(out, _roll_with_zero_fill(batch, dx, dy))


def test_uint8_input_is_accepted():
    x = torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8)
    assert torch.equal(affine_transform(x, 90.0), torch.rot90(x.float(), 1, dims=(2, 3)))


def test_angles_are_uniform_over_the_range():
    gen = torch.Generator().manual_seed(123)
    a = uniform_angles(200_000, 60.0, gen).numpy()
    assert a.min() >= -60 and a.max() <= 60
    counts, _ = np.histogram(a, bins=12, range=(-60, 60))
    expected = len(a) / 12
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 31.3  # 99.9th percentile of χ² with 11 degrees of freedom
    assert abs(a.mean()) < 0.5 and abs(a.std() - 60 / np.sqrt(3)) < 0.3


def test_random_rotation_is_reproducible_with_a_seed(batch):
    a = random_rotation(batch, 180, torch.Generator().manual_seed(5))
    b = random_rotation(batch, 180, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, batch)


def test_non_square_rotation_by_180_equals_flip_both_axes():
    x = torch.rand(2, 1, 6, 10)
    assert torch.equal(affine_transform(x, 180.0), torch.flip(x, dims=(2, 3)))


def test_shift_pixels_shifts_each_image_by_its_own_whole_pixels(batch):
    dx, dy = torch.tensor([3, 0, -5, 1]), torch.tensor([0, -2, 4, 1])
    out = shift_pixels(batch[:4], dx, dy)
    for i in range(4):
        assert torch.equal(out[i], _roll_with_zero_fill(batch[i], int(dx[i]), int(dy[i])))


def test_random_crop_flip_is_a_padded_crop_and_a_mirror():
    x = torch.rand(64, 3, 8, 8)
    out = random_crop_flip(x, 2, True, torch.Generator().manual_seed(0))
    flips = 0
    for i in range(64):
        candidates = [(f, dx, dy) for f in (False, True) for dx in range(-2, 3) for dy in range(-2, 3)
                      if torch.equal(out[i], _roll_with_zero_fill(x[i].flip(-1) if f else x[i], dx, dy))]  # fmt: skip
        assert candidates, f"image {i} is not a shift within ±2 px (optionally mirrored) of its input"
        flips += candidates[0][0]
    assert 16 < flips < 48  # about half mirrored
    assert torch.equal(random_crop_flip(x, 0, False), x)
