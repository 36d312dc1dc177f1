"""End-to-end scans of small JP2 scenes with the tiny test models (see conftest)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from areoscan.errors import ScaleError
from areoscan.scan import read_regions, scan_image

from .conftest import SEG_TILE, background, write_scene


def _mask(out: Path) -> np.ndarray:
    with rasterio.open(out / "mask.tif") as ds:
        return ds.read(1)


def _truth(shape, box):
    r0, c0, r1, c1 = box
    t = np.zeros(shape, dtype=bool)
    t[r0:r1, c0:c1] = True
    return t


@pytest.mark.parametrize(("segment_tile", "overlap"), [(None, None), (384, None), (None, 0)])
def test_patch_found_on_exactly_its_pixels(patch_scene, test_models, tmp_path, segment_tile,
                                           overlap):  # fmt: skip
    path, box = patch_scene
    screen, seg = test_models
    s = scan_image(path, tmp_path / "out", screen_model=screen, segment_model=seg, fast=True,
                   progress=False, segment_tile=segment_tile, segment_overlap=overlap)  # fmt: skip
    assert s.segment["tile"] == (segment_tile or SEG_TILE)
    assert s.segment["overlap"] == (SEG_TILE // 8 if overlap is None else overlap)
    out = Path(s.output_dir)
    assert s.status == "done" and s.regions == 1 and out.name == "ESP_012345_1234"
    m = _mask(out)
    found = m == 1
    truth = _truth(m.shape, box)
    # exact here; the requirement is alignment within 1 px
    diff = found ^ truth
    assert diff.sum() == 0
    assert (m[:, :40] == 255).all() and (m[:, 40:][~truth[:, 40:]] == 0).all()
    assert sorted(p.name for p in out.iterdir()) == sorted(s.outputs)


def test_default_cleaning_keeps_the_patch_within_a_pixel(patch_scene, test_models, tmp_path):
    path, box = patch_scene
    screen, seg = test_models
    s = scan_image(path, tmp_path / "out", screen_model=screen, segment_model=seg, progress=False)
    summary = json.loads((Path(s.output_dir) / "summary.json").read_text())
    assert summary["parameters"]["backend"] == "onnx"  # the default (auto) when onnxruntime works
    found = _mask(Path(s.output_dir)) == 1
    rows, cols = np.nonzero(found)
    r0, c0, r1, c1 = box
    assert abs(rows.min() - r0) <= 1 and abs(rows.max() + 1 - r1) <= 1
    assert abs(cols.min() - c0) <= 1 and abs(cols.max() + 1 - c1) <= 1
    # the opening only rounds the corners
    assert (found ^ _truth(found.shape, box)).sum() < 100


def test_outputs_are_georeferenced_and_consistent(patch_scene, test_models, tmp_path):
    import pyogrio
    from pyproj import CRS

    path, box = patch_scene
    screen, seg = test_models
    s = scan_image(
        path, tmp_path / "out", screen_model=screen, segment_model=seg, fast=True, progress=False
    )
    out = Path(s.output_dir)
    from areoscan.io import open_raster

    with open_raster(path) as r, rasterio.open(out / "mask.tif") as ds:
        assert CRS.from_wkt(ds.crs.to_wkt()).equals(r.crs)
        assert ds.transform.almost_equals(r.transform)
        assert ds.nodata == 255 and ds.dtypes[0] == "uint8"
        assert ds.overviews(1)  # COG with overviews
        lon, lat = r.georef.pixel_to_lonlat((box[0] + box[2] - 1) / 2, (box[1] + box[3] - 1) / 2)
    with rasterio.open(out / "salience.tif") as sal:
        assert sal.shape == (256, 384) and sal.nodata == 255
    summary = json.loads((out / "summary.json").read_text())
    assert summary["regions"] == 1 and summary["status"] == "done"
    assert summary["total_area_m2"] == pytest.approx(300 * 260 * 0.0625)
    area_fp = (1024 * 1536 - 40 * 1024) * 0.0625
    assert summary["percent_of_footprint"] == pytest.approx(
        100 * 300 * 260 * 0.0625 / area_fp, rel=1e-3
    )
    assert set(summary["timings"]) >= {"screen", "segment", "clean", "write", "total"}
    if sys.platform.startswith("linux"):  # peak RSS after each stage: present and never falling
        peaks = [summary["peak_rss_mb"][k] for k in ("screen", "segment", "clean", "write")]
        assert peaks[0] > 0 and peaks == sorted(peaks)
    assert summary["models"]["screen"]["name"] == "test-screen"
    regions = read_regions(out)
    assert len(regions) == 1
    reg = regions[0]
    assert reg["centroid_lat"] == pytest.approx(lat, abs=1e-6)
    assert reg["centroid_lon"] == pytest.approx(lon, abs=1e-6)
    assert reg["mean_prob"] > 0.95 and reg["max_prob"] >= reg["mean_prob"]
    assert (reg["row0"], reg["col0"], reg["row1"], reg["col1"]) == box
    ring = np.asarray(reg["geometry"]["coordinates"][0])
    assert -180 <= ring[:, 0].min() and ring[:, 0].max() <= 180
    info = pyogrio.read_info(out / "regions.gpkg")
    assert info["features"] == 1 and CRS.from_user_input(info["crs"]).is_projected
    assert (out / "quicklook.png").stat().st_size > 0


def test_nothing_flagged_ends_after_the_screen(test_models, tmp_path):
    screen, seg = test_models
    path = write_scene(tmp_path / "ESP_000001_1111_RED.JP2", background((512, 768)))
    s = scan_image(path, tmp_path / "out", screen_model=screen, segment_model=seg, progress=False)
    out = Path(s.output_dir)
    assert s.status == "empty" and s.flagged_tiles == 0 and s.regions == 0
    assert "segment" not in s.timings
    assert not (out / "mask.tif").exists()
    assert any("nothing flagged" in n for n in s.notes)
    assert read_regions(out) == []
    assert json.loads((out / "summary.json").read_text())["status"] == "empty"


@pytest.mark.parametrize(("scale", "screen_level", "factor"), [(0.25, 2, 1.0), (0.5, 2, 2.0)])
def test_levels_follow_the_map_scale(test_models, tmp_path, scale, screen_level, factor):
    """A 0.5 m/px image is resampled to the segmenter's 0.25 m/px (within its default 2x)."""
    screen, seg = test_models
    img = background((512, 768))
    img[100:300, 200:400] = 900
    path = write_scene(tmp_path / "ESP_000002_2222_RED.JP2", img, scale=scale)
    s = scan_image(
        path,
        tmp_path / "out",
        screen_model=screen,
        segment_model=seg,
        fast=True,
        progress=False,
        min_area_m2=10,
    )
    assert s.levels["screen"]["level"] == screen_level and s.levels["screen"]["note"] is None
    assert s.levels["segment"]["level"] == 0 and s.levels["segment"]["note"] is None
    policy = json.loads((tmp_path / "out" / s.observation_id / "summary.json").read_text())
    policy = policy["image"]["scale_policy"]
    assert policy["image_m_per_px"] == scale and policy["upsample_factor"] == factor
    assert any("resampled x2" in n for n in s.notes) == (factor > 1)
    assert s.scale == 0.25 and s.image["shape"] == [round(512 * factor), round(768 * factor)]
    assert s.regions == 1
    assert s.total_area_m2 == pytest.approx(200 * 200 * scale**2, rel=0.02)


@pytest.mark.parametrize("scale", [0.75, 6.0])
def test_far_coarser_images_are_refused(test_models, tmp_path, scale):
    screen, seg = test_models
    path = write_scene(tmp_path / "ESP_000002_2222_RED.JP2", background((256, 256)), scale=scale)
    with pytest.raises(ScaleError, match=rf"image is {scale:g} m/px, far coarser than model .* "
                       r"\(trained at 0.25 m/px, usable down to 0.5 m/px\)"):  # fmt: skip
        scan_image(path, tmp_path / "out", screen_model=screen, segment_model=seg, progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_image_without_label_uses_pixel_coordinates(test_models, tmp_path):
    screen, seg = test_models
    img = background((512, 768))
    img[100:300, 200:400] = 900
    path = write_scene(tmp_path / "plain.jp2", img, label=False)
    s = scan_image(
        path,
        tmp_path / "out",
        screen_model=screen,
        segment_model=seg,
        fast=True,
        progress=False,
        min_area_m2=10,
    )
    assert s.observation_id == "plain" and s.scale is None and s.regions == 1
    assert any("no georeference" in n for n in s.notes)
    reg = read_regions(s.output_dir)[0]
    assert reg["centroid_lat"] is None and reg["area_px"] == 200 * 200


def test_a_crash_leaves_the_previous_outputs_and_no_half_folder(
    patch_scene, test_models, tmp_path, monkeypatch
):
    path, _ = patch_scene
    screen, seg = test_models
    first = scan_image(
        path, tmp_path / "out", screen_model=screen, segment_model=seg, fast=True, progress=False
    )
    before = (Path(first.output_dir) / "summary.json").read_text()

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("areoscan.scan.quicklook.write_quicklook", boom)
    with pytest.raises(RuntimeError):
        scan_image(path, tmp_path / "out", screen_model=screen, segment_model=seg, progress=False)
    assert (Path(first.output_dir) / "summary.json").read_text() == before
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ESP_012345_1234"]


def test_onnx_backend_gives_the_same_mask_without_torch(patch_scene, test_models, tmp_path):
    from areoscan.models import load_model
    from areoscan.models.export import export_onnx

    path, _ = patch_scene
    screen, seg = test_models
    onnx = []
    for model in (screen, seg):
        module, card = load_model(model)
        onnx.append(export_onnx(module, card, tmp_path / f"{card.name}.onnx"))
    a = scan_image(path, tmp_path / "a", screen_model=screen, segment_model=seg, fast=True,
                   progress=False)  # fmt: skip
    b = scan_image(path, tmp_path / "b", screen_model=onnx[0], segment_model=onnx[1], fast=True,
                   progress=False, backend="onnx")  # fmt: skip
    assert np.array_equal(_mask(Path(a.output_dir)), _mask(Path(b.output_dir)))
    assert b.models["segment"]["name"] == "test-seg"


def test_a_finer_image_without_a_level_near_the_model_is_resampled_onto_one(test_models, tmp_path):
    """0.18 m/px: levels at 0.18 and 0.36 m/px; x1.44 puts level 1 on the segmenter's 0.25 m/px."""
    screen, seg = test_models
    img = background((512, 768))
    img[100:300, 200:400] = 900
    path = write_scene(tmp_path / "ESP_000002_2222_RED.JP2", img, scale=0.18)
    s = scan_image(path, tmp_path / "out", screen_model=screen, segment_model=seg, fast=True,
                   progress=False, min_area_m2=10)  # fmt: skip
    assert s.levels["segment"]["level"] == 1 and s.levels["segment"]["note"] is None
    assert s.levels["segment"]["scale_m_per_px"] == pytest.approx(0.25)
    assert s.levels["screen"]["scale_m_per_px"] == pytest.approx(1.0)
    policy = s.image["scale_policy"]
    assert policy["upsample_factor"] == pytest.approx(1.44) and policy["image_m_per_px"] == 0.18
    assert any("resampled x1.44" in n for n in s.notes)
    assert s.regions == 1
    assert s.total_area_m2 == pytest.approx(200 * 200 * 0.18**2, rel=0.05)
    # the tolerance lives in ScanConfig: 50 % accepts level 0 (0.72x the model's scale) as is
    s = scan_image(path, tmp_path / "loose", screen_model=screen, segment_model=seg, fast=True,
                   progress=False, min_area_m2=10, level_tolerance=0.5)  # fmt: skip
    assert s.image["scale_policy"]["upsample_factor"] == 1.0 and s.levels["segment"]["level"] == 0
