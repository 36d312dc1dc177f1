import csv

import numpy as np
from PIL import Image

from areoscan.synth import Terrain, make_tiles, render_patch
from areoscan.synth.tiles import tile_seed


def test_tile_set_has_class_folders_masks_and_manifest(tmp_path):
    manifest = make_tiles(
        tmp_path, 9, size=48, scale=1.0, seed=3, kinds=["brain_coral", "dunes", "mixed"]
    )
    rows = list(csv.DictReader(open(manifest)))
    assert [r["class"] for r in rows] == ["brain_coral", "dunes", "mixed"] * 3
    for r in rows:
        img = np.array(Image.open(tmp_path / r["file"]))
        mask = np.array(Image.open(tmp_path / r["mask"]))
        assert img.shape == (48, 48) and img.dtype == np.uint16 and img.max() <= 1023
        assert mask.shape == (48, 48)
    coral = np.array(Image.open(tmp_path / rows[0]["mask"]))
    assert (coral == int(Terrain.BRAIN_CORAL)).all()
    assert (tmp_path / "classes.json").exists()


def test_tiles_reproduce_with_render_patch(tmp_path):
    make_tiles(tmp_path, 1, size=40, scale=0.5, seed=8, kinds=["rough"], masks=False)
    img = np.array(Image.open(tmp_path / "rough" / "rough_000000.png"))
    again, _ = render_patch("rough", 40, 0.5, tile_seed(8, 0))
    assert np.array_equal(img, np.rint(again * 1023).astype(np.uint16))
    assert not (tmp_path / "rough" / "rough_000000_mask.png").exists()


def test_level_tiles_are_decoded_from_a_jp2_and_8_bit_works(tmp_path):
    manifest = make_tiles(
        tmp_path, 2, size=32, scale=0.25, seed=1, kinds=["brain_coral"], level=2, bits=8
    )
    rows = list(csv.DictReader(open(manifest)))
    img = np.array(Image.open(tmp_path / rows[0]["file"]))
    assert img.shape == (32, 32) and img.dtype == np.uint8
    assert float(rows[0]["scale"]) == 1.0 and rows[0]["level"] == "2"
