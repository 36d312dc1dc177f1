"""The one input normalisation (TileNorm) that classifiers and segmenters share."""

import pytest
import torch

from areoscan.models.card import ModelCard
from areoscan.models.classifiers import build_classifier
from areoscan.models.norm import CLASSIFIER_MIN_STD, SEGMENTER_MIN_STD, TileNorm
from areoscan.models.unet import SlimUNet


def test_tile_norm_ignores_brightness_contrast_and_no_data() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 16, 16, generator=g) * 0.5 + 0.1
    norm = TileNorm("tile", min_std=SEGMENTER_MIN_STD)
    a, b = norm(x), norm(x * 1.7 + 0.05)
    assert torch.allclose(a, b, atol=1e-3)
    assert abs(float(a[0].mean())) < 1e-5 and abs(float(a[0].std(unbiased=False)) - 1) < 1e-2
    holed = x.clone()
    holed[:, :, :8] = 0.0  # no data: left out of the statistics, output 0 there
    out = norm(holed)
    assert torch.all(out[:, :, :8] == 0)
    assert abs(float(out[0, :, 8:].mean())) < 1e-5
    assert torch.allclose(TileNorm("fixed", 0.5, 0.25)(x), (x - 0.5) / 0.25)
    with pytest.raises(ValueError):
        TileNorm("batch")


def test_fixed_norm():
    assert torch.allclose(
        TileNorm("fixed", 0.5, 0.25)(torch.full((1, 1, 2, 2), 0.75)), torch.ones(1, 1, 2, 2)
    )


def test_min_std_keeps_flat_tiles_flat():
    flat = torch.full((1, 1, 8, 8), 0.4)
    flat[..., 0, 0] = 0.41  # one pixel off: std ~0.0012
    small, large = TileNorm(min_std=SEGMENTER_MIN_STD)(flat), TileNorm(min_std=0.05)(flat)
    assert float(large.abs().max()) < 0.2 < float(small.abs().max())


def test_each_model_kind_keeps_its_floor():
    """The shipped weights were trained with these floors: changing one changes their outputs."""
    card = ModelCard(name="c", task="classification", arch="small_cnn", classes=["a", "b"],
                     tile_size=32, normalisation={"kind": "tile"})  # fmt: skip
    assert isinstance(build_classifier(card).norm, TileNorm)
    assert build_classifier(card).norm.min_std == CLASSIFIER_MIN_STD == 0.005
    card.normalisation["min_std"] = 0.01
    assert build_classifier(card).norm.min_std == 0.01
    unet = SlimUNet(decoder_channels=(16, 16, 16))
    assert isinstance(unet.norm, TileNorm) and unet.norm.min_std == SEGMENTER_MIN_STD == 1e-3
