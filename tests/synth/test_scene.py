import json

import numpy as np
import pytest

from areoscan.errors import DataError
from areoscan.synth import NODATA, Terrain, generate_scene, render_array, scene_paths


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("scene") / "SYN_TEST_RED.JP2"
    info = generate_scene(
        out, (400, 520), seed=21, scale=0.5, coral_fraction=0.25, latitude=42.0, longitude=155.0
    )
    return out, info


def test_all_files_are_written_beside_the_image(scene):
    out, info = scene
    paths = scene_paths(out)
    for key in ("image", "label", "mask", "classes", "classes_json", "description"):
        assert paths[key].exists(), key
    assert info.label.name == "SYN_TEST_RED.LBL" and info.mask.name == "SYN_TEST_RED_mask.tif"


def test_jp2_reads_back_like_a_hirise_product(scene):
    from areoscan.io import open_raster

    out, info = scene
    dn, lab, _ = render_array(
        (400, 520), seed=21, scale=0.5, coral_fraction=0.25, latitude=42.0, longitude=155.0
    )
    with open_raster(out) as r:
        assert r.shape == (400, 520) and r.bit_depth == 10 and r.nodata == 0
        assert r.levels == 4  # smallest level >= ~32 px, as write_jp2 sizes real products
        assert r.scale == pytest.approx(0.5)
        assert np.array_equal(r.read_raw(0), dn)  # lossless
        lon, lat = r.georef.pixel_to_lonlat(200, 260)
        assert abs(lat - 42.0) < 0.01 and abs(lon - 155.0) < 0.01


def test_masks_match_classes_and_footprint(scene):
    import rasterio

    out, info = scene
    with rasterio.open(info.mask) as m, rasterio.open(info.classes) as c, rasterio.open(out) as img:
        mask, cls, dn = m.read(1), c.read(1), img.read(1)
        assert m.nodata == NODATA and m.transform == c.transform
        assert m.crs is not None and m.crs == c.crs
    assert set(np.unique(mask)) <= {0, 1, NODATA}
    assert np.array_equal(mask == 1, cls == int(Terrain.BRAIN_CORAL))
    assert np.array_equal(mask == NODATA, dn == 0)
    assert abs(info.coral_fraction - 0.25) < 0.1


def test_description_and_class_sidecar(scene):
    out, info = scene
    d = json.loads(scene_paths(out)["description"].read_text())
    assert d["seed"] == 21 and d["scale_m_per_px"] == 0.5 and d["latitude"] == 42.0
    assert d["class_table"]["brain_coral"] == 1 and d["class_table"]["nodata"] == 255
    assert set(d["class_fractions"]) == {t.slug for t in Terrain}
    assert abs(sum(d["class_fractions"].values()) - 1) < 1e-6
    side = json.loads(scene_paths(out)["classes_json"].read_text())
    assert side["classes"]["dunes"] == int(Terrain.DUNES)


def test_label_is_equirectangular_with_hirise_keys(scene):
    from areoscan.io import read_label

    _, info = scene
    lab = read_label(info.label)
    assert lab.projection == "EQUIRECTANGULAR" and lab.map_scale == 0.5
    assert (lab.lines, lab.line_samples) == (400, 520) and lab.bit_depth == 10
    assert lab.compressed_file == "SYN_TEST_RED.JP2"
    assert lab.minimum_latitude < 42.0 < lab.maximum_latitude


def test_no_classes_option_skips_the_class_raster(tmp_path):
    info = generate_scene(tmp_path / "a.jp2", (64, 96), seed=1, scale=0.5, classes=False)
    assert info.classes is None and not (tmp_path / "a_classes.tif").exists()
    assert (tmp_path / "a.lbl").exists() and (tmp_path / "a_mask.tif").exists()


def test_non_jp2_output_is_refused(tmp_path):
    with pytest.raises(DataError):
        generate_scene(tmp_path / "a.tif", (64, 64), seed=1)


def test_tars_appear_only_when_asked_for(tmp_path):
    from areoscan.synth import render_array

    _, lab, _ = render_array((256, 256), seed=8, scale=0.5, coral_fraction=0.2)
    assert not (lab == int(Terrain.TARS)).any()
    info = generate_scene(
        tmp_path / "T.JP2", (256, 256), seed=8, scale=0.5, coral_fraction=0.2, kinds=["tars"]
    )
    assert info.class_fractions["tars"] > 0.6 and info.class_fractions["brain_coral"] > 0.05
