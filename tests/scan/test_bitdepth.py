"""The same scene as 10-bit JP2 and as 10-bit-in-16 JP2 (real RED label) scans identically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio

from areoscan.io import label_centred_on, write_geotiff, write_jp2, write_label
from areoscan.scan import read_regions, scan_image

from .conftest import background


def _scene() -> np.ndarray:
    """Dark terrain with a patch whose DNs ramp 500..700 across the segmenter's 0.55 threshold
    (563 of 1023), so any change in the [0, 1] scaling moves the mask's edge."""
    img = background((512, 768), seed=4)
    img[150:350, 300:560] = np.linspace(500, 700, 260).astype(np.uint16)[None, :]
    img[:, :24] = 0
    return img


def _outputs(out: Path) -> tuple[np.ndarray, list[dict], dict]:
    with rasterio.open(out / "mask.tif") as ds:
        mask = ds.read(1)
    return mask, read_regions(out), json.loads((out / "summary.json").read_text())


def test_ten_bit_and_ten_in_sixteen_give_identical_scans(test_models, tmp_path: Path) -> None:
    img = _scene()
    name = "ESP_000003_1000_RED"
    label = label_centred_on(20.0, 30.0, *img.shape, map_scale=0.25, product_id=name)
    assert (label.sample_bits, label.sample_bit_mask) == (16, 0b1111111111)
    sources = {
        "ten": write_jp2(tmp_path / "ten" / f"{name}.JP2", img, bit_depth=10),
        "deep": write_jp2(tmp_path / "deep" / f"{name}.JP2", img, bit_depth=16),
        "tif16": write_geotiff(tmp_path / "tif16" / f"{name}.tif", img),
    }
    for path in sources.values():
        write_label(path.with_suffix(".LBL"), label)
    screen, seg = test_models
    results = {}
    for key, path in sources.items():
        s = scan_image(path, tmp_path / f"out-{key}", screen_model=screen, segment_model=seg,
                       fast=True, progress=False)  # fmt: skip
        results[key] = _outputs(Path(s.output_dir))
    mask, regions, summary = results["ten"]
    assert summary["image"]["bit_depth"] == 10 and len(regions) == 1
    cols = np.nonzero((mask == 1).any(axis=0))[0]
    assert 300 < cols.min() < 560  # the ramp crosses the threshold inside the patch
    for key in ("deep", "tif16"):
        other_mask, other_regions, other_summary = results[key]
        assert other_summary["image"]["bit_depth"] == 10
        np.testing.assert_array_equal(other_mask, mask)
        strip = ("geometry", "mean_prob", "max_prob", "area_m2", "row0", "col0", "row1", "col1")
        for a, b in zip(regions, other_regions, strict=True):
            assert {k: a[k] for k in strip} == {k: b[k] for k in strip}
