"""Raster: levels, windows, scaling, footprint, strips, labels and the GeoJP2 / GeoTIFF / PNG paths."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import glymur
import numpy as np
import pytest

from areoscan.errors import LabelError, RasterError
from areoscan.io import Jp2Layout, Raster, open_raster, write_geotiff, write_jp2, write_label
from areoscan.io.georef import label_centred_on
from areoscan.io.window import Window


def test_facts_from_jp2_and_label(scene: tuple[Path, np.ndarray, Any]) -> None:
    path, data, label = scene
    with open_raster(path) as r:
        assert isinstance(r, Raster)
        assert r.shape == (320, 256)
        assert r.levels == 4
        assert r.bit_depth == 10
        assert r.nodata == 0
        assert r.observation_id == "ESP_012345_1850"
        assert r.scale == 0.25 and r.scale_at(2) == 1.0
        assert (
            r.label is not None and r.label.line_projection_offset == label.line_projection_offset
        )
        assert r.label_path == path.with_suffix(".LBL")
        assert r.georef is not None and r.crs is not None
        assert r.transform == r.georef.transform
        assert r.transform_at(1).a == 0.5
        assert [r.shape_at(k) for k in range(4)] == [(320, 256), (160, 128), (80, 64), (40, 32)]


def test_levels_are_what_the_codec_returns(scene: tuple[Path, np.ndarray, Any]) -> None:
    path, data, _ = scene
    jp2 = glymur.Jp2kr(str(path))
    with open_raster(path) as r:
        np.testing.assert_array_equal(r.read_raw(0), data)
        for level in (1, 2, 3):
            s = 2**level
            np.testing.assert_array_equal(r.read_raw(level), jp2[::s, ::s])
        # a reduced level is the wavelet low-pass image, not decimation
        assert not np.array_equal(r.read_raw(2), data[::4, ::4])


def test_windows_at_levels_and_clipping(scene: tuple[Path, np.ndarray, Any]) -> None:
    path, data, _ = scene
    jp2 = glymur.Jp2kr(str(path))
    full1 = jp2[::2, ::2]
    with open_raster(path) as r:
        np.testing.assert_array_equal(r.read_raw(0, (10, 20, 30, 40)), data[10:40, 20:60])
        np.testing.assert_array_equal(r.read_raw(0, Window(10, 20, 30, 40)), data[10:40, 20:60])
        np.testing.assert_array_equal(r.read_raw(1, (5, 7, 50, 60)), full1[5:55, 7:67])
        # random order on the same persistent decoder, then another level and back
        for win in [(100, 0, 60, 128), (0, 100, 10, 28), (150, 120, 10, 8)]:
            np.testing.assert_array_equal(
                r.read_raw(1, win), full1[win[0] : win[0] + win[2], win[1] : win[1] + win[3]]
            )
        r.read_raw(3)
        np.testing.assert_array_equal(
            r.read_raw(0, (300, 250, 100, 100)), data[300:, 250:]
        )  # clipped
        assert r.read(0, (-5, -5, 10, 10)).shape == (5, 5)
        with pytest.raises(RasterError, match="outside"):
            r.read(0, (400, 0, 10, 10))
        with pytest.raises(RasterError, match="level 4 is not in 0..3"):
            r.read(4)


def test_windows_of_a_multi_tile_file(tmp_path: Path, texture: Any) -> None:
    data = texture((300, 260), seed=4, border=False)
    path = write_jp2(tmp_path / "tiled.jp2", data, numres=3, layout=Jp2Layout(tile=128))
    full1 = glymur.Jp2kr(str(path))[::2, ::2]
    with pytest.warns(UserWarning, match="9 tiles"), open_raster(path, threads=1) as r:
        windows = [(10, 10, 50, 60), (100, 120, 60, 50), (140, 0, 10, 130)]
        for y, x, h, w in windows:  # one level after the other: the same decoder would serve
            np.testing.assert_array_equal(r.read_raw(0, (y, x, h, w)), data[y : y + h, x : x + w])
        for y, x, h, w in windows:
            np.testing.assert_array_equal(
                r.read_raw(1, (y // 2, x // 2, h // 2, w // 2)),
                full1[y // 2 : y // 2 + h // 2, x // 2 : x // 2 + w // 2],
            )


def test_read_scales_by_bit_depth(scene: tuple[Path, np.ndarray, Any]) -> None:
    path, data, _ = scene
    with open_raster(path) as r:
        out = r.read(0, (0, 0, 50, 256))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, data[:50] / 1023.0, rtol=1e-6)
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_footprint(scene: tuple[Path, np.ndarray, Any]) -> None:
    path, data, _ = scene
    with open_raster(path) as r:
        np.testing.assert_array_equal(r.footprint(0), data != 0)
        fp2 = r.footprint(2, memory_mb=1)  # several strips
        assert fp2.shape == (80, 64)
        assert abs(fp2.mean() - (data != 0).mean()) < 0.03


@pytest.mark.parametrize("level", [0, 1])
@pytest.mark.parametrize(("rows", "overlap"), [(64, 0), (37, 5), (None, 3)])
def test_strips_cover_the_level(
    scene: tuple[Path, np.ndarray, Any], level: int, rows: int | None, overlap: int
) -> None:
    path, _, _ = scene
    with open_raster(path) as r:
        whole = r.read(level)
        strips = list(r.strips(level, memory_mb=0.4, overlap=overlap, rows=rows))
    assert len(strips) > 1
    np.testing.assert_array_equal(np.concatenate([s.core for s in strips]), whole)
    for s in strips:
        np.testing.assert_array_equal(s.data, whole[s.row0 : s.row1])
        assert s.row0 == max(0, s.core0 - overlap)
        assert s.data.dtype == np.float32


def test_strips_without_prefetch_and_early_stop(scene: tuple[Path, np.ndarray, Any]) -> None:
    path, _, _ = scene
    with open_raster(path) as r:
        a = [s.core for s in r.strips(0, rows=100, prefetch=False)]
        gen = r.strips(0, rows=100)
        first = next(gen)
        gen.close()  # the prefetch thread finishes and is joined
        np.testing.assert_array_equal(first.core, a[0])


def test_strip_budget_too_small(scene: tuple[Path, np.ndarray, Any]) -> None:
    path, _, _ = scene
    with open_raster(path) as r, pytest.raises(RasterError, match="allow at least"):
        next(r.strips(0, memory_mb=0.01, overlap=10))


def test_label_is_optional_or_required(bare_jp2: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = bare_jp2
    with open_raster(path) as r:
        assert (
            r.label is None and r.georef is None and r.scale is None and r.transform_at(1) is None
        )
        assert r.observation_id is None
    with pytest.raises(LabelError, match="no PDS3 label"):
        open_raster(path, require_label=True)
    with pytest.raises(LabelError, match="label not found"):
        open_raster(path, label=tmp_path / "nope.LBL")


def test_explicit_label_and_lowercase_label_beside(
    bare_jp2: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, _ = bare_jp2
    image = tmp_path / "PSP_001000_2000_red.jp2"
    shutil.copy(path, image)
    write_label(tmp_path / "psp_001000_2000_RED.lbl", label_centred_on(20.0, 10.0, 200, 300, 0.5))
    with open_raster(image) as r:
        assert r.label is not None and r.scale == 0.5
        assert r.observation_id == "PSP_001000_2000"


def test_label_that_does_not_match_the_image(
    bare_jp2: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, _ = bare_jp2
    lbl = write_label(tmp_path / "other.LBL", label_centred_on(20.0, 10.0, 201, 300))
    with pytest.raises(LabelError, match="describes 201 x 300"):
        open_raster(path, label=lbl)


def test_geojp2_box_gives_georeference_without_label(tmp_path: Path, texture: Any) -> None:
    import rasterio

    g_label = label_centred_on(-40.0, 200.0, 256, 256, 1.0)
    from areoscan.io import Georef

    g = Georef.from_label(g_label)
    data = texture((256, 256), border=False)
    profile = {
        "driver": "JP2OpenJPEG",
        "height": 256,
        "width": 256,
        "count": 1,
        "dtype": "uint16",
        "crs": rasterio.crs.CRS.from_wkt(g.crs.to_wkt()),
        "transform": g.transform,
        "QUALITY": 100,
        "REVERSIBLE": "YES",
        "NBITS": 10,
        "RESOLUTIONS": 3,
    }
    path = tmp_path / "geo.jp2"
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
    with open_raster(path) as r:
        assert r.label is None
        assert r.georef is not None
        assert r.transform == g.transform
        assert r.scale == pytest.approx(1.0)
        lon, lat = r.georef.pixel_to_lonlat(127.5, 127.5)
        assert (lon, lat) == pytest.approx((200.0, -40.0), abs=1e-6)
        np.testing.assert_array_equal(r.read_raw(0), data)


def test_geotiff_and_png(tmp_path: Path, texture: Any) -> None:
    from PIL import Image

    data = texture((300, 200))
    tif = write_geotiff(tmp_path / "a.tif", data, nodata=0, overviews=False)
    with open_raster(tif) as r:
        assert r.format == "tiff" and r.bit_depth == 16 and r.nodata == 0
        np.testing.assert_array_equal(r.read_raw(0, (5, 5, 20, 20)), data[5:25, 5:25])
        assert r.shape_at(1) == (150, 100)
        assert r.read(1).shape == (150, 100)
        assert r.georef is None
    png = tmp_path / "b.png"
    Image.fromarray((data // 4).astype(np.uint8)).save(png)
    with open_raster(png) as r:
        assert r.format == "png" and r.bit_depth == 8 and r.nodata is None
        assert r.footprint(0).all()
        np.testing.assert_allclose(r.read(0), (data // 4) / 255.0, rtol=1e-6)


def test_write_jp2_round_trip_through_raster(tmp_path: Path, texture: Any) -> None:
    data = texture((100, 90))
    path = write_jp2(tmp_path / "c.JP2", data, numres=2)
    with open_raster(path) as r:
        assert r.levels == 2
        np.testing.assert_array_equal(r.read_raw(), data)
