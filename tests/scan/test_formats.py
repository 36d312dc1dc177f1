"""Every format areoscan reads scans: PDS3 IMG (attached, detached), ISIS3, VRT, COG, a Moon GeoTIFF."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.shutil import copy as rio_copy

from areoscan.cli import main
from areoscan.io import write_geotiff
from areoscan.io.pdswriters import MapSpec, write_isis3, write_pds3
from areoscan.scan import read_regions, scan_image

from .conftest import background

PATCH = (100, 200, 300, 400)  # r0, c0, r1, c1 of the bright patch in a 512 x 768 scene
MARS = MapSpec("EQUIRECTANGULAR", "MARS", 3396.19, 0.0, 77.0, 0.25, 4.5e6, -1.2e6)
MOON = MapSpec("EQUIRECTANGULAR", "MOON", 1737.4, 0.0, 0.0, 0.25, 600000.0, 30000.0)


def _scene() -> np.ndarray:
    img = background((512, 768), seed=6)
    r0, c0, r1, c1 = PATCH
    img[r0:r1, c0:c1] = 900
    img[:, :24] = 0
    return img


def _write(kind: str, folder: Path, img: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    if kind == "pds3":
        return write_pds3(folder / "P01_000001_1234_XI.IMG", img, MARS, bits=10)
    if kind == "pds3-detached":
        img_path = write_pds3(folder / "P01_000001_1234_XI.IMG", img, MARS, detached=True, bits=10)
        return img_path.with_suffix(".LBL")
    if kind == "isis3":  # no SAMPLE_BIT_MASK in a cube: 16-bit data, scaled by 65535
        return write_isis3(folder / "P01_000001_1234_XI.cub", img << 6, MARS)
    spec = MOON if kind == "moon-tif" else MARS
    crs = CRS.from_proj4(spec.proj_string())
    transform = Affine(spec.scale, 0, spec.x0, 0, -spec.scale, spec.y0)
    tif = write_geotiff(folder / "P01.tif", img, crs=crs, transform=transform, nodata=0, nbits=10,
                        cog=kind == "cog")  # fmt: skip
    if kind == "vrt":
        rio_copy(tif, folder / "P01.vrt", driver="VRT")
        return folder / "P01.vrt"
    return tif


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pds3", "pds3-detached", "isis3", "vrt", "cog", "moon-tif"])
def test_every_format_scans(test_models, tmp_path: Path, kind: str) -> None:
    img = _scene()
    path = _write(kind, tmp_path / "in", img)
    screen, seg = test_models
    s = scan_image(path, tmp_path / "out", screen_model=screen, segment_model=seg, fast=True,
                   progress=False, min_area_m2=10)  # fmt: skip
    assert s.regions == 1 and s.scale == pytest.approx(0.25)
    r0, c0, r1, c1 = PATCH
    assert s.total_area_m2 == pytest.approx((r1 - r0) * (c1 - c0) * 0.0625, rel=0.03)
    region = read_regions(s.output_dir)[0]
    assert (region["row0"], region["col0"]) == pytest.approx((r0, c0), abs=2)
    summary = json.loads((Path(s.output_dir) / "summary.json").read_text())
    assert summary["image"]["scale_policy"]["upsample_factor"] == 1.0
    with rasterio.open(Path(s.output_dir) / "mask.tif") as ds:
        assert ds.crs is not None and ds.transform.a == pytest.approx(0.25)
        assert CRS(ds.crs.to_wkt()).ellipsoid.semi_major_metre == pytest.approx(
            (MOON if kind == "moon-tif" else MARS).radius_km * 1000.0
        )


@pytest.mark.slow
def test_scan_cli_band_of_a_multiband_image(test_models, tmp_path: Path, capsys) -> None:
    img = _scene()
    spec = MARS
    crs = CRS.from_proj4(spec.proj_string())
    transform = Affine(spec.scale, 0, spec.x0, 0, -spec.scale, spec.y0)
    stack = np.stack([background((512, 768), seed=1), img, background((512, 768), seed=2)])
    tif = write_geotiff(tmp_path / "COLOR.tif", stack, crs=crs, transform=transform, nbits=10)
    screen, seg = test_models
    argv = ["scan", str(tif), "--out", str(tmp_path / "out"), "--screen-model", str(screen),
            "--segment-model", str(seg), "--fast", "--quiet", "--min-area", "10"]  # fmt: skip
    assert main(argv) == 2
    assert "pass --band N (1..3)" in capsys.readouterr().err
    assert main([*argv, "--band", "2"]) == 0
    assert "1 regions" in capsys.readouterr().out
