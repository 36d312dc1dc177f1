"""write_jp2 makes HiRISE-like JPEG2000; write_geotiff makes georeferenced (COG) GeoTIFFs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import glymur
import numpy as np
import pytest
import rasterio
from affine import Affine

from areoscan.errors import OutputError
from areoscan.io import Georef, write_geotiff, write_jp2
from areoscan.io.writers import default_numres


def test_jp2_is_single_tile_10_bit_lossless(tmp_path: Path, texture: Any) -> None:
    data = texture((130, 200))
    path = write_jp2(tmp_path / "A_RED.JP2", data, numres=3)
    jp2 = glymur.Jp2kr(str(path))
    siz, cod = jp2.codestream.segment[1], jp2.codestream.segment[2]
    assert siz.bitdepth == (10,)
    assert (siz.xtsiz, siz.ytsiz) == (200, 130)  # one tile
    assert cod.num_res == 2  # decomposition levels = resolution levels - 1
    assert cod.code_block_size == (64, 64)
    np.testing.assert_array_equal(jp2[:], data)
    assert [p.name for p in tmp_path.iterdir()] == ["A_RED.JP2"]


def test_default_levels_like_hirise() -> None:
    assert default_numres((52834, 28260)) == 10
    assert default_numres((25000, 20000)) == 10
    assert default_numres((256, 320)) == 4  # smallest level 32 px
    assert default_numres((40, 40)) == 1


def test_lossy_and_8_bit(tmp_path: Path, texture: Any) -> None:
    data = (texture((128, 128)) // 4).astype(np.uint8)
    path = write_jp2(tmp_path / "b.jp2", data, bit_depth=8, lossless=False, cratio=5)
    jp2 = glymur.Jp2kr(str(path))
    assert jp2.codestream.segment[1].bitdepth == (8,)
    assert jp2.codestream.segment[2].xform == 0  # 9/7 irreversible
    assert np.abs(jp2[:].astype(int) - data).mean() < 10


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (np.full((64, 64), 1024, np.uint16), {}, "does not fit in 10 bits"),
        (np.zeros((2, 64, 64), np.uint16), {}, "2-D"),
        (np.zeros((64, 64), np.float32), {}, "unsigned integer"),
        (np.zeros((64, 64), np.uint16), {"numres": 8}, "resolution levels"),
        (np.zeros((64, 64), np.uint16), {"bit_depth": 17}, "bit_depth"),
    ],
)
def test_jp2_refuses_bad_data(tmp_path: Path, data: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(OutputError, match=message):
        write_jp2(tmp_path / "x.jp2", data, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_geotiff_with_crs_transform_nodata_overviews(tmp_path: Path, texture: Any) -> None:
    from areoscan.io.georef import label_centred_on

    g = Georef.from_label(label_centred_on(40.0, 100.0, 600, 500))
    data = texture((600, 500))
    path = write_geotiff(tmp_path / "s.tif", data, crs=g.crs, transform=g.transform, nodata=0)
    with rasterio.open(path) as ds:
        assert ds.transform == g.transform
        assert ds.nodata == 0
        assert ds.overviews(1) == [2]  # 500 px / 4 < 128: no 4x level
        assert ds.crs.to_wkt()
        np.testing.assert_array_equal(ds.read(1), data)
    # the CRS survives the file: lon/lat of the centre pixel are unchanged
    again = Georef.from_crs_transform(ds.crs.to_wkt(), ds.transform)
    assert again.pixel_to_lonlat(299.5, 249.5) == pytest.approx(g.pixel_to_lonlat(299.5, 249.5))


def test_cog_mask(tmp_path: Path) -> None:
    mask = np.zeros((512, 300), bool)
    mask[100:200, 50:80] = True
    path = write_geotiff(
        tmp_path / "mask.tif",
        mask,
        transform=Affine(0.25, 0, 0, 0, -0.25, 0),
        cog=True,
        resampling="nearest",
    )
    with rasterio.open(path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.dtypes[0] == "uint8"
        assert ds.read(1).sum() == 100 * 30


def test_geotiff_refuses_empty(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="needs"):
        write_geotiff(tmp_path / "e.tif", np.zeros((0, 5)))
