"""GDAL formats: GeoTIFF/COG, VRT, PDS3 IMG (attached / detached label), ISIS3 cubes, any body."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS
from rasterio.shutil import copy as rio_copy

from areoscan.errors import RasterError
from areoscan.io import open_raster, write_geotiff, write_jp2
from areoscan.io.pdswriters import MapSpec, write_isis3, write_pds3

from .conftest import textured

MOON = MapSpec("EQUIRECTANGULAR", "MOON", 1737.4, 0.0, 20.0, 2.0, 40000.0, -30000.0)
MARS = MapSpec("EQUIRECTANGULAR", "MARS", 3396.19, 10.0, 135.0, 6.0, 1.2e6, 3.0e5)


def _data(bits: int, shape: tuple[int, int] = (96, 128)) -> np.ndarray:
    ten = textured(shape, seed=5).astype(np.int64)
    return ((ten << bits) >> 10).astype(np.uint8 if bits <= 8 else np.uint16)


def _write(kind: str, folder: Path, data: np.ndarray, spec: MapSpec, bits: int) -> Path:
    """One product of ``kind``; returns the path a user would pass."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "pds3":
        return write_pds3(folder / "P.IMG", data, spec, bits=bits)
    if kind == "pds3-detached":
        return write_pds3(folder / "P.IMG", data, spec, detached=True, bits=bits)
    if kind == "pds3-lbl":
        return write_pds3(folder / "P.IMG", data, spec, detached=True, bits=bits).with_suffix(
            ".LBL"
        )
    if kind == "isis3":
        return write_isis3(folder / "P.cub", data, spec)
    crs, transform = (
        CRS.from_proj4(spec.proj_string()),
        Affine(spec.scale, 0, spec.x0, 0, -spec.scale, spec.y0),
    )
    nbits = None if bits in (8, 16) else bits
    if kind == "cog":
        return write_geotiff(folder / "P.tif", data, crs=crs, transform=transform, cog=True)
    tif = write_geotiff(folder / "P.tif", data, crs=crs, transform=transform, nbits=nbits)
    if kind == "vrt":
        rio_copy(tif, folder / "P.vrt", driver="VRT")
        return folder / "P.vrt"
    return tif


KINDS = ("tiff", "cog", "vrt", "pds3", "pds3-detached", "pds3-lbl", "isis3")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bits", [8, 10, 12, 16])
def test_every_format_and_depth(tmp_path: Path, kind: str, bits: int) -> None:
    data = _data(bits)
    path = _write(kind, tmp_path, data, MARS, bits)
    with open_raster(path) as r:
        expected_bits = bits
        if kind == "isis3" or kind == "cog":  # no mask / NBITS: the data type's width
            expected_bits = 8 if bits == 8 else 16
        assert r.bit_depth == expected_bits
        assert r.body == "Mars"
        assert r.scale == pytest.approx(6.0)
        assert r.transform.c == pytest.approx(1.2e6) and r.transform.f == pytest.approx(3.0e5)
        np.testing.assert_array_equal(r.read_raw(0), data)
        np.testing.assert_allclose(r.read(0), data / (2**expected_bits - 1), rtol=1e-6)
        assert r.shape_at(1) == (48, 64) and r.read(1).shape == (48, 64)
        rows = [s.data.shape[0] for s in r.strips(0, rows=32)]
        assert sum(rows) == 96 and len(rows) == 3
        if kind.startswith("pds3"):
            assert r.path.name == "P.IMG"
            assert (r.label_path is None) == (kind == "pds3")


def test_moon_equirectangular_geotiff(tmp_path: Path) -> None:
    data = _data(10, (128, 160))
    crs = CRS.from_authority("IAU_2015", "30110")  # Moon sphere, equirectangular, clon 0
    transform = Affine(1.0, 0, 606000.0, 0, -1.0, 30000.0)  # ~20 E, ~1 N
    tif = write_geotiff(tmp_path / "M.tif", data, crs=crs, transform=transform, nbits=10)
    with open_raster(tif) as r:
        assert r.body == "Moon" and r.bit_depth == 10 and r.scale == pytest.approx(1.0)
        lon, lat = r.georef.pixel_to_lonlat(0, 0)
        assert lon == pytest.approx(np.degrees(606000.5 / 1737400.0), abs=1e-6)
        assert lat == pytest.approx(np.degrees(29999.5 / 1737400.0), abs=1e-6)


@pytest.mark.parametrize(
    ("projection", "clat", "method"),
    [
        ("EQUIRECTANGULAR", 10.0, "Equidistant Cylindrical"),
        ("POLAR STEREOGRAPHIC", -90.0, "Polar Stereographic"),
        ("SINUSOIDAL", 0.0, "Sinusoidal"),
        ("ORTHOGRAPHIC", 20.0, "Orthographic"),
    ],
)
@pytest.mark.parametrize("kind", ["pds3", "isis3"])
def test_projections_and_bodies(
    tmp_path: Path, projection: str, clat: float, method: str, kind: str
) -> None:
    data = _data(8)
    for spec in (MARS, MOON):
        placed = MapSpec(projection, spec.body, spec.radius_km, clat, 30.0, 5.0, 2000.0, -1000.0)
        path = _write(kind, tmp_path / spec.body, data, placed, 8)
        with open_raster(path) as r:
            assert r.body == spec.body.capitalize()
            assert r.georef.projection_name().startswith(method)
            x, y = r.georef.pixel_to_xy(0, 0)
            assert (x, y) == (pytest.approx(2002.5), pytest.approx(-1002.5))
            lon, lat = r.georef.xy_to_lonlat(x, y)
            assert r.georef.lonlat_to_xy(lon, lat) == (pytest.approx(x), pytest.approx(y))


def test_multiband_needs_band(tmp_path: Path) -> None:
    rgb = np.stack([_data(8), _data(8)[::-1], _data(8)[:, ::-1]])
    tif = write_geotiff(tmp_path / "rgb.tif", rgb, overviews=False)
    with pytest.raises(RasterError, match=r"has 3 bands; pass --band N \(1..3\)"):
        open_raster(tif)
    with open_raster(tif, band=2) as r:
        np.testing.assert_array_equal(r.read_raw(0), rgb[1])
    with pytest.raises(RasterError, match="--band 4 does not exist; the image has 3"):
        open_raster(tif, band=4)


def test_multiband_jp2_band_goes_through_gdal(tmp_path: Path) -> None:
    import glymur

    rgb = np.dstack([_data(8), _data(8)[::-1], _data(8)[:, ::-1]])
    path = tmp_path / "c.jp2"
    glymur.Jp2k(str(path), data=rgb)
    with pytest.raises(RasterError, match="has 3 bands"):
        open_raster(path)
    with open_raster(path, band=3) as r:
        np.testing.assert_array_equal(r.read_raw(0), rgb[:, :, 2])
    one = write_jp2(tmp_path / "one.jp2", _data(10), numres=3)
    with open_raster(one, band=1) as r:
        assert r.format == "jp2" and r.levels == 3  # the OpenJPEG path


def test_unprojected_inputs_are_refused(tmp_path: Path) -> None:
    data = _data(8)
    img = write_pds3(tmp_path / "E.IMG", data, MARS)
    text = img.read_bytes()
    start, end = text.index(b"OBJECT = IMAGE_MAP"), text.index(b"END_OBJECT = IMAGE_MAP")
    stripped = text[:start] + b" " * (end + 34 - start) + text[end + 34 :]
    (tmp_path / "EDR.IMG").write_bytes(stripped)
    with pytest.raises(RasterError, match="no IMAGE_MAP_PROJECTION: an unprojected"):
        open_raster(tmp_path / "EDR.IMG")
