"""Fixtures for the scan tests: tiny JP2 scenes with a known bright patch and tiny test models.

The models are built through the public card/builder API (``register_builder`` + ``save_model``):
the screen flags a tile when its brightest pixel exceeds 0.6, and the segmenter's probability is a
steep sigmoid of each pixel's own value (0.5 at 0.55). A patch brighter than that on a dark,
textured background must therefore come back on exactly its own pixels, which tests alignment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from areoscan.models import ModelCard, register_builder, save_model

SCREEN_TILE = 32
SEG_TILE = 128


class MaxScreen(nn.Module):
    """Logits (N, 2): class 1 grows with the tile's brightest pixel (0.5 at 0.6)."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(40.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top = x.amax(dim=(1, 2, 3))
        pos = self.gain * (top - 0.6)
        return torch.stack([torch.zeros_like(pos), pos], dim=1)


class PixelSegmenter(nn.Module):
    """Logits (N, 1, H, W) = gain * (x - 0.55): a pixel's own value decides its class."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(30.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * (x - 0.55)


register_builder("classification", "scan-test-max")(lambda card: MaxScreen())
register_builder("segmentation", "scan-test-pixel")(lambda card: PixelSegmenter())


@pytest.fixture(scope="session")
def test_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(screen card path, segmenter card path) of the tiny test models."""
    root = tmp_path_factory.mktemp("models")
    screen = ModelCard(
        name="test-screen",
        task="classification",
        arch="scan-test-max",
        classes=["background", "brain_coral"],
        tile_size=SCREEN_TILE,
        level=2,
        scale_m_per_px=1.0,
        threshold=0.5,
        positive_class="brain_coral",
    )
    seg = ModelCard(
        name="test-seg",
        task="segmentation",
        arch="scan-test-pixel",
        classes=["background", "brain_coral"],
        tile_size=SEG_TILE,
        level=0,
        scale_m_per_px=0.25,
        threshold=0.5,
        positive_class="brain_coral",
    )
    _, screen_path = save_model(MaxScreen(), screen, root / "screen")
    _, seg_path = save_model(PixelSegmenter(), seg, root / "seg")
    return screen_path, seg_path


def background(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Dark textured terrain (DN 150–450 of 1023), never above the test models' thresholds."""
    rng = np.random.default_rng(seed)
    img = (
        300
        + 100
        * np.sin(np.arange(shape[1]) / 7.0)[None, :]
        * np.cos(np.arange(shape[0]) / 11.0)[:, None]
    )
    img += rng.normal(0, 20, shape)
    return np.clip(img, 150, 450).astype(np.uint16)


def write_scene(
    path: Path,
    img: np.ndarray,
    scale: float = 0.25,
    label: bool = True,
    product_id: str = "ESP_012345_1234_RED",
    latitude: float = 40.0,
    longitude: float = 120.0,
) -> Path:
    """Write ``img`` (uint16, 10-bit) as a JP2 with a HiRISE-like label beside it."""
    from areoscan.io import label_centred_on, write_jp2, write_label

    write_jp2(path, img, bit_depth=10)
    if label:
        lab = label_centred_on(
            latitude, longitude, img.shape[0], img.shape[1], map_scale=scale, product_id=product_id
        )
        write_label(path.with_suffix(".LBL"), lab)
    return path


@pytest.fixture
def patch_scene(tmp_path: Path) -> tuple[Path, tuple[int, int, int, int]]:
    """A 1024 x 1536 scene (0.25 m/px) with a bright 300 x 260 rectangle; (path, (r0, c0, r1, c1))."""
    img = background((1024, 1536))
    r0, c0, r1, c1 = 301, 653, 601, 913
    img[r0:r1, c0:c1] = 900
    img[:, :40] = 0  # a no-data border, as HiRISE has
    return write_scene(tmp_path / "ESP_012345_1234_RED.JP2", img), (r0, c0, r1, c1)


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory):
    """Scans default to the onnx backend: keep their ONNX exports out of the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield
