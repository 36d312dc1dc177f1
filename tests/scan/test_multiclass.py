"""A multi-class segmenter scanned end to end: class raster in mask.tif, polygons per class.

The model is built here: a randomly initialised 1x1 convolution with four outputs (background and
three classes), saved as a card + safetensors like any shipped model. Being pointwise, its argmax on
each pixel is the expected class raster exactly (blending identical values changes nothing).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from torch import nn

from areoscan.models import ModelCard, register_builder, save_model
from areoscan.scan import read_regions, scan_image

from .conftest import SEG_TILE, write_scene

CLASSES = ["background", "ridge", "pit", "mound"]
register_builder("segmentation", "scan-test-multi")(lambda card: nn.Conv2d(1, len(CLASSES), 1))


@pytest.fixture(scope="module")
def multi_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, nn.Module]:
    torch.manual_seed(25)  # a random 1x1 conv whose argmax over the scene's DN range is 0, 2 and 3
    module = nn.Conv2d(1, len(CLASSES), 1)
    card = ModelCard(name="test-multi", task="segmentation", arch="scan-test-multi",
                     classes=CLASSES, tile_size=SEG_TILE, level=0,
                     scale_m_per_px=0.25)  # fmt: skip
    _, path = save_model(module, card, tmp_path_factory.mktemp("multi") / "m")
    return path, module


def _scene(path: Path) -> np.ndarray:
    rows, cols = np.mgrid[0:512, 0:768]
    img = 100 + 900 * cols / 767 + 30 * np.sin(rows / 20.0)
    img = np.clip(np.round(img), 1, 1023).astype(np.uint16)
    img[:, :16] = 0  # no data
    write_scene(path, img)
    return img


def _expected(module: nn.Module, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(argmax class, True where the two best logits are too close to call)."""
    x = torch.from_numpy(img.astype(np.float32) / np.float32(1023))[None, None]
    with torch.no_grad():
        logits = module(x)[0].numpy()
    top = np.sort(logits, axis=0)
    return logits.argmax(axis=0), (top[-1] - top[-2]) < 1e-3


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_class_raster_and_polygons_per_class(multi_model, test_models, tmp_path, backend):
    path, module = multi_model
    img = _scene(tmp_path / "ESP_012345_1234_RED.JP2")
    s = scan_image(tmp_path / "ESP_012345_1234_RED.JP2", tmp_path / "out",
                   screen_model=test_models[0], segment_model=path, backend=backend,
                   screen_threshold=0.0, fast=True, min_area_m2=0.0625,
                   progress=False)  # fmt: skip
    out = Path(s.output_dir)
    with rasterio.open(out / "mask.tif") as ds:
        mask = ds.read(1)
    expected, tie = _expected(module, img)
    valid = img != 0
    assert (mask[~valid] == 255).all()
    assert set(np.unique(mask[valid]).tolist()) == {0, 2, 3}
    assert (mask[valid & ~tie] == expected[valid & ~tie]).all()
    regions = read_regions(out)
    assert {r["class_name"] for r in regions} == {"pit", "mound"}
    for k, name in enumerate(CLASSES[1:], start=1):
        mine = [r for r in regions if r["class_id"] == k]
        assert all(r["class_name"] == name for r in mine)
        assert sum(r["area_px"] for r in mine) == int((mask == k).sum())
        assert s.segment["classes"][name]["regions"] == len(mine)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["segment"]["classes"]["ridge"] == {"regions": 0, "area_m2": 0.0}
    from pyogrio.raw import read

    meta, _, _, columns = read(out / "regions.gpkg")
    names = list(meta["fields"])
    assert names[-2:] == ["class_id", "class_name"]
    assert sorted(columns[names.index("class_id")].tolist()) == sorted(
        r["class_id"] for r in regions
    )
