"""Image augmentation: shifts fill the border with edge pixels and never wrap an image around."""

import numpy as np
import torch

from ltc_drones.training.augment import augment_images, shift_images


def two_tone(b=1):
    """Windows of 2 frames, 6 x 8 pixels: dark left half, bright right half."""
    rgb = np.zeros((b, 2, 6, 8, 3), np.uint8)
    rgb[:, :, :, 4:] = 200
    return rgb


def test_shift_replicates_the_edge_instead_of_wrapping():
    rgb = two_tone()
    right = shift_images(rgb, np.array([[0, 2]]))
    assert (right[0, :, :, :2] == 0).all()  # the dark left edge is repeated; nothing bright wraps in
    assert np.array_equal(right[0, :, :, 2:], rgb[0, :, :, :-2])
    left_up = shift_images(rgb, np.array([[-1, -3]]))
    assert (left_up[0, :, :, -3:] == 200).all()
    assert np.array_equal(left_up[0, :, :-1, :-3], rgb[0, :, 1:, 3:])
    assert np.array_equal(left_up[0, :, -1], left_up[0, :, -2])  # bottom row repeated


def test_augmented_shifts_keep_each_border_its_own_colour():
    rgb = two_tone(b=64)
    x = augment_images(rgb, np.random.default_rng(0), brightness=0, contrast=0, noise_std=0, shift_px=2)
    assert isinstance(x, torch.Tensor) and x.shape == rgb.shape
    assert (x[..., 0, :] == 0).all() and (x[..., -1, :] == 200).all()  # torch.roll would swap them for some draws
    assert len({tuple(np.flatnonzero(x[i, 0, 0, :, 0].numpy())) for i in range(64)}) == 5  # all 5 horizontal shifts
