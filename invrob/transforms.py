"""Batched spatial transforms on the device: rotations and translations of image batches.

One ``affine_grid`` + ``grid_sample`` call transforms a whole batch, each image with its own
angle and shift, on whatever device the batch lives on.  Conventions (paper 001): rotation
about the image centre, positive angles counter-clockwise (as ``torch.rot90`` with ``k=1`` and
torchvision's ``rotate``), shifts as fractions of the image size (positive = right / down),
nearest interpolation and black (zero) fill unless asked otherwise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def affine_transform(
    images: torch.Tensor,
    angles_deg: torch.Tensor | float | None = None,
    shifts: torch.Tensor | None = None,
    mode: str = "nearest",
) -> torch.Tensor:
    """Rotate each image by ``angles_deg[i]`` about its centre, then shift by ``shifts[i]``.

    ``shifts`` is ``B×2`` (x, y) as fractions of width/height.  Pixels coming from outside the
    image are black.
    """
    b, _, h, w = images.shape
    dev = images.device
    if angles_deg is None:
        angles_deg = torch.zeros(b, device=dev)
    angles = torch.as_tensor(angles_deg, dtype=torch.float32, device=dev).expand(b)
    rad = angles * (math.pi / 180.0)
    cos, sin = torch.cos(rad), torch.sin(rad)
    # affine_grid maps output coordinates to input coordinates in normalised [-1, 1] units, y down.
    # Sampling at R(-α) of the output position rotates the content counter-clockwise by α on screen;
    # the h/w factors keep the rotation rigid on non-square images.  Built without in-place writes,
    # so gradients flow to the angles and shifts (S-PGD).
    a, b_, c, d = cos, -sin * h / w, sin * w / h, cos
    tx = ty = torch.zeros_like(cos)
    if shifts is not None:
        shifts = torch.as_tensor(shifts, dtype=torch.float32, device=dev).expand(b, 2)
        # content moves by +shift: sample at (position - 2·shift) in normalised units, after rotation
        t = -2.0 * shifts
        tx, ty = a * t[:, 0] + b_ * t[:, 1], c * t[:, 0] + d * t[:, 1]
    theta = torch.stack([torch.stack([a, b_, tx], 1), torch.stack([c, d, ty], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if images.dtype != torch.float32:
        images = images.float()
    return F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)


def uniform_angles(n: int, max_deg: float, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
    """``n`` angles drawn uniformly from [−max_deg, max_deg] (drawn on the generator's device)."""
    gen_device = generator.device if generator is not None else device
    u = torch.rand(n, generator=generator, device=gen_device)
    return ((2.0 * u - 1.0) * max_deg).to(device)


def random_rotation(
    images: torch.Tensor, max_deg: float, generator: torch.Generator | None = None, mode: str = "nearest"
) -> torch.Tensor:
    """Rotate every image by its own angle, uniform in [−max_deg, max_deg]; 0 returns the input."""
    if max_deg == 0:
        return images
    angles = uniform_angles(images.shape[0], max_deg, generator, images.device)
    return affine_transform(images, angles, mode=mode)


def uniform_shifts(n: int, max_shift: float, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
    """``n×2`` shifts (x, y), each uniform in [−max_shift, max_shift] (fractions of the image size)."""
    gen_device = generator.device if generator is not None else device
    return ((2.0 * torch.rand(n, 2, generator=generator, device=gen_device) - 1.0) * max_shift).to(device)


def random_affine(images: torch.Tensor, max_deg: float, max_shift: float = 0.0,
                  generator: torch.Generator | None = None, mode: str = "nearest") -> torch.Tensor:  # fmt: skip
    """Rotate every image by its own angle in [−max_deg, max_deg] and shift it by its own (dx, dy),
    each uniform in [−max_shift, max_shift] × image size (Aug-R / Aug-T / Aug-RT of paper 001).
    Nothing to do returns the input."""
    if max_deg == 0 and max_shift == 0:
        return images
    b = images.shape[0]
    angles = uniform_angles(b, max_deg, generator, images.device) if max_deg else None
    shifts = uniform_shifts(b, max_shift, generator, images.device) if max_shift else None
    return affine_transform(images, angles, shifts, mode=mode)


def shift_pixels(images: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Shift image ``i`` by whole pixels (``dx[i]`` right, ``dy[i]`` down), zero fill: one gather per batch."""
    b, c, h, w = images.shape
    rows = torch.arange(h, device=images.device).view(1, h) - dy.view(b, 1)  # source row of each output row
    cols = torch.arange(w, device=images.device).view(1, w) - dx.view(b, 1)
    valid = ((rows >= 0) & (rows < h)).view(b, 1, h, 1) & ((cols >= 0) & (cols < w)).view(b, 1, 1, w)
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    out = images[torch.arange(b, device=images.device).view(b, 1, 1), :, rows.view(b, h, 1), cols.view(b, 1, w)]
    return out.permute(0, 3, 1, 2) * valid  # advanced indexing puts the channel axis last


def random_crop_flip(images: torch.Tensor, padding: int, flip: bool, generator: torch.Generator | None = None):
    """torchvision's RandomCrop(size, padding) + RandomHorizontalFlip for a whole batch on the device.

    A random crop of the zero-padded image is a shift by whole pixels in [−padding, padding] on
    each axis with zero fill, which is how it is computed here.
    """
    b = images.shape[0]
    gen_device = generator.device if generator is not None else images.device
    if padding:
        shifts = torch.randint(-padding, padding + 1, (2, b), generator=generator, device=gen_device).to(images.device)
        images = shift_pixels(images, shifts[0], shifts[1])
    if flip:
        mirror = (torch.rand(b, generator=generator, device=gen_device) < 0.5).to(images.device)
        images = torch.where(mirror.view(b, 1, 1, 1), images.flip(3), images)
    return images
