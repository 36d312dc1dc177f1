import numpy as np
import torch

from areoscan.data.augment import Augment, AugmentConfig, random_scale, swap_brightness_contrast


def test_augment_is_seeded_and_keeps_shape_range_and_nodata():
    x = torch.rand(6, 1, 32, 32) * 0.8 + 0.1
    x[:, :, :, :5] = 0  # no data on the left
    a = Augment(seed=7)(x)
    b = Augment(seed=7)(x)
    c = Augment(seed=8)(x)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    # the no-data stripe moves with flips/rotations but keeps its area (up to scale jitter)
    zero_share = (a == 0).float().mean(dim=(1, 2, 3))
    assert torch.all((zero_share > 0.08) & (zero_share < 0.25))


def test_each_transform_can_be_switched_off():
    off = AugmentConfig(
        dihedral=False, brightness=0.0, contrast=(1, 1), gamma=(1, 1), noise=0.0, scale=(1, 1)
    )
    x = torch.rand(3, 1, 16, 16) * 0.9 + 0.05
    assert torch.allclose(Augment(off)(x), x)


def test_dihedral_only_permutes_pixels():
    cfg = AugmentConfig(brightness=0.0, contrast=(1, 1), gamma=(1, 1), noise=0.0, scale=(1, 1))
    x = torch.rand(8, 1, 16, 16) * 0.9 + 0.05
    y = Augment(cfg, seed=1)(x)
    assert torch.allclose(torch.sort(y.flatten(1)).values, torch.sort(x.flatten(1)).values)


def test_scale_one_is_identity():
    x = torch.rand(2, 1, 16, 16)
    assert torch.allclose(random_scale(x, 1.0, 1.0, torch.Generator().manual_seed(0)), x, atol=1e-5)


def test_swap_brightness_contrast_sets_the_statistics():
    rng = np.random.default_rng(0)
    x = rng.random((4, 20, 20)).astype(np.float32) * 0.2 + 0.5
    y = swap_brightness_contrast(x, 118 / 255, 22 / 255)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 118 / 255, atol=1e-3)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 22 / 255, atol=1e-3)
