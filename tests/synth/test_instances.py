"""Synthetic instance crops: exact masks, boxes and classes, lit by the scene's sun, written as COCO."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from areoscan.annotations import box_of_mask, read_annotations
from areoscan.annotations.pixels import load_gray
from areoscan.cli import main
from areoscan.errors import DataError
from areoscan.synth.instance_config import InstanceConfig
from areoscan.synth.instances import make_instance_set, render_instance_crop
from areoscan.synth.objects import footprint


def test_crop_is_deterministic_and_masks_are_exact_disjoint_footprints():
    cfg = InstanceConfig(size=128)
    a, b = render_instance_crop(cfg, 11), render_instance_crop(cfg, 11)
    assert np.array_equal(a.pixels, b.pixels) and a.pixels.dtype == np.uint8
    assert not np.array_equal(a.pixels, render_instance_crop(cfg, 12).pixels)
    assert len(a.objects) >= 1 and len(a.masks) == len(a.objects)
    cover = np.zeros((128, 128), np.int32)
    for obj, mask in zip(a.objects, a.masks, strict=True):
        assert obj.kind in cfg.classes
        assert np.array_equal(mask, footprint(obj, (128, 128)))
        assert mask.any()
        cover += mask
    assert cover.max() == 1  # no pixel belongs to two instances


def _ring(mask: np.ndarray, width: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=width) & ~mask


def _whole(cfg: InstanceConfig, seeds: int, min_radius: float, share: float):
    """(crop, object, mask) of every object at least ``min_radius`` px with ``share`` of its
    footprint inside the frame, over crops of seeds 0..seeds-1."""
    for seed in range(seeds):
        crop = render_instance_crop(cfg, seed)
        for obj, mask in zip(crop.objects, crop.masks, strict=True):
            if obj.a >= min_radius and mask.sum() >= share * math.pi * obj.a * obj.b:
                yield crop, obj, mask


def test_skylights_are_dark_inside_their_masks():
    cfg = InstanceConfig(size=192, classes=("pit",))
    seen = 0
    for crop, obj, mask in _whole(cfg, 6, 6.0, 0.8):
        if obj.variant == "skylight":
            seen += 1
            assert crop.pixels[mask].mean() < crop.pixels[_ring(mask, 4)].mean() - 10
    assert seen >= 2


def _beside(crop, obj, sign: float) -> float:
    """Mean DN of a 3 x 3 window 1.35 radii from ``obj``'s centre, towards (+1) or away from (-1)
    the sun; NaN off the frame."""
    az = math.radians(crop.sun_azimuth)
    d = obj.a * 1.35
    r = int(obj.row - sign * d * math.cos(az))  # north is up: towards the sun is -cos in rows
    c = int(obj.col + sign * d * math.sin(az))
    if not (1 <= r < crop.pixels.shape[0] - 1 and 1 <= c < crop.pixels.shape[1] - 1):
        return float("nan")
    return float(crop.pixels[r - 1 : r + 2, c - 1 : c + 2].mean())


def test_boulder_shadows_fall_away_from_the_sun():
    cfg = InstanceConfig(size=256, classes=("boulder",))
    seen = 0
    for crop, obj, _mask in _whole(cfg, 10, 3.0, 0.9):
        sunward, shadowed = _beside(crop, obj, 1.0), _beside(crop, obj, -1.0)
        if not (math.isnan(sunward) or math.isnan(shadowed)):
            seen += 1
            assert shadowed < sunward
    assert seen >= 5


def test_instance_set_round_trips_through_coco(tmp_path):
    cfg = InstanceConfig(size=96, classes=("pit", "boulder"), image_format="png")
    ann = make_instance_set(tmp_path / "set", 3, cfg, seed=4)
    back = read_annotations(tmp_path / "set", "coco")
    assert back.classes == ["pit", "boulder"] == ann.classes
    assert len(back.images) == 3 and {im.group for im in back.images} == {
        "crop_00000",
        "crop_00001",
        "crop_00002",
    }
    for mine, read in zip(ann.images, back.images, strict=True):
        assert load_gray(read.path, (read.height, read.width)).shape == (96, 96)
        assert [i.label for i in read.instances] == [i.label for i in mine.instances]
        for a, b in zip(mine.instances, read.instances, strict=True):
            assert b.mask is not None and np.array_equal(a.mask, b.mask)
            assert b.box == box_of_mask(b.mask) == a.box
    with open(tmp_path / "set" / "scenes.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and all(0 <= float(r["sun_azimuth"]) < 360 for r in rows)
    assert sum(int(r["pit"]) + int(r["boulder"]) for r in rows) == sum(
        len(im.instances) for im in ann.images
    )
    # the same seed gives the same first crops whatever n (a larger set extends a smaller one)
    bigger = make_instance_set(tmp_path / "big", 4, cfg, seed=4)
    assert [len(im.instances) for im in bigger.images[:3]] == [
        len(im.instances) for im in ann.images
    ]


def test_jp2_crops_read_back(tmp_path):
    cfg = InstanceConfig(size=64, classes=("crater",), image_format="jp2")
    ann = make_instance_set(tmp_path, 1, cfg, seed=2)
    assert ann.images[0].path.suffix == ".jp2"
    assert load_gray(ann.images[0].path, (64, 64)).shape == (64, 64)


@pytest.mark.parametrize(
    "cfg",
    [InstanceConfig(size=32), InstanceConfig(classes=("dune",)), InstanceConfig(classes=())],
)
def test_bad_config_is_refused(cfg):
    with pytest.raises(DataError):
        cfg.check()


def test_cli_writes_a_set_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["synth", "instances", str(out), "--size", "64", "--seed", "1"]
    assert main([*argv, "--n", "2", "--classes", "pit", "crater"]) == 0
    assert "2 crops of 64 px" in capsys.readouterr().out
    assert read_annotations(out, "coco").classes == ["pit", "crater"]
    assert main([*argv, "--n", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--n" in err[0]
