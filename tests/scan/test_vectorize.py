"""Region polygons and measurements, and how they are written and read back."""

import json

import numpy as np
import pytest
import shapely

from areoscan.errors import DataError
from areoscan.io import open_raster
from areoscan.scan.clean import drop_small_runs, label_regions
from areoscan.scan.outputs import read_regions, write_regions
from areoscan.scan.quant import quantise
from areoscan.scan.runs import Runs
from areoscan.scan.vectorize import measure_regions
from areoscan.tiling import Window

from .conftest import background, write_scene


def _measure(mask, q, bbox, level, raster, **kw):
    """measure_regions of a mask whose array sits at ``bbox`` (level coordinates)."""
    runs, ids, n = drop_small_runs(Runs.from_mask(mask, bbox.row, bbox.col), 1)

    def read(r0, r1, c0, c1):
        return q[r0 - bbox.row : r1 - bbox.row, c0 - bbox.col : c1 - bbox.col]

    return measure_regions(runs, ids, n, read, level, raster, **kw)


@pytest.fixture
def raster(tmp_path):
    path = write_scene(tmp_path / "ESP_000003_3333_RED.JP2", background((256, 384)), scale=0.5)
    with open_raster(path) as r:
        yield r


def test_measurements_of_two_regions_one_with_a_hole(raster, tmp_path):
    bbox = Window(40, 60, 100, 200)  # where the group's array sits in the image
    mask = np.zeros((100, 200), dtype=bool)
    mask[10:60, 10:60] = True
    mask[30:40, 30:40] = False  # a hole
    mask[70:90, 150:190] = True
    q = quantise(np.where(mask, 0.8, 0.1))
    q[75, 160] = quantise(np.array(1.0))[()]
    labels, _ = label_regions(mask)
    regs = _measure(mask, q, bbox, 0, raster)
    assert len(regs) == 2
    a, b = regs.records
    assert a["area_px"] == 2500 - 100 and a["area_m2"] == pytest.approx(2400 * 0.25)
    assert (a["row0"], a["col0"], a["row1"], a["col1"]) == (50, 70, 100, 120)
    assert b["max_prob"] == pytest.approx(1.0) and a["mean_prob"] == pytest.approx(0.8, abs=0.004)
    # polygons in map coordinates have the regions' areas, the hole included as an interior
    pa, pb = regs.geometries
    assert pa.area == pytest.approx(a["area_m2"]) and len(pa.interiors) == 1
    assert pb.area == pytest.approx(b["area_m2"])
    # the centroid is the mean pixel centre, converted with the image's georeference
    rows, cols = np.nonzero(labels == 1)
    lon, lat = raster.georef.pixel_to_lonlat(rows.mean() + 40, cols.mean() + 60)
    assert a["centroid_lon"] == pytest.approx(lon) and a["centroid_lat"] == pytest.approx(lat)
    regs.renumber()
    write_regions(tmp_path, regs, raster, "ESP_000003_3333")
    (tmp_path / "summary.json").write_text("{}")
    back = read_regions(tmp_path)
    assert [r["region_id"] for r in back] == [1, 2] and back[0]["area_px"] == 2400
    geo = shapely.geometry.shape(back[0]["geometry"])
    assert geo.is_valid and geo.exterior.is_ccw  # RFC 7946 orientation, in lon/lat
    minx, miny, maxx, maxy = geo.bounds
    assert minx < lon < maxx and miny < lat < maxy
    doc = json.loads((tmp_path / "regions.geojson").read_text())
    assert doc["type"] == "FeatureCollection" and doc["areoscan"]["body"] == "Mars"


def test_level_one_group_reports_level_zero_bbox(raster):
    mask = np.zeros((20, 20), dtype=bool)
    mask[5:10, 5:15] = True
    q = quantise(mask.astype(np.float32))
    regs = _measure(mask, q, Window(10, 10, 20, 20), 1, raster)
    r = regs.records[0]
    assert (r["row0"], r["col0"], r["row1"], r["col1"]) == (30, 30, 40, 50)
    assert r["area_m2"] == pytest.approx(50 * 1.0)  # 1 m/px at level 1 of a 0.5 m/px image


def test_read_regions_needs_a_finished_folder(tmp_path):
    with pytest.raises(DataError, match="summary.json"):
        read_regions(tmp_path)


def test_a_region_painted_in_chunks_is_measured_whole(raster):
    bbox = Window(0, 0, 100, 120)
    mask = np.zeros((100, 120), dtype=bool)
    mask[20:80, 30:90] = True
    mask[40:60, 50:70] = False
    q = quantise(np.where(mask, 0.8, 0.1))
    whole = _measure(mask, q, bbox, 0, raster)
    split = _measure(mask, q, bbox, 0, raster, chunk_px=120 * 7)  # painted 7 rows at a time
    a, b = whole.records[0], split.records[0]
    assert a == b
    assert (
        whole.geometries[0].equals(split.geometries[0]) and len(split.geometries[0].interiors) == 1
    )
