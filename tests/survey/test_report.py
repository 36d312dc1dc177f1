import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.errors import DataError
from areoscan.survey.report import rank_candidates, write_report

from .surveydata import make_survey as _survey
from .surveydata import region as _region


def test_ranking_keys():
    regions = [
        dict(_region(1, 5000.0, 0.6, 0, 0), observation_id="A"),
        dict(_region(2, 1000.0, 0.95, 0, 0), observation_id="A"),
        dict(_region(1, 4000.0, 0.9, 0, 0), observation_id="B"),
    ]
    by_score = rank_candidates(regions)
    assert [(d["observation_id"], d["region_id"]) for d in by_score] == [
        ("B", 1),
        ("A", 1),
        ("A", 2),
    ]
    assert by_score[0]["score"] == pytest.approx(3600.0) and by_score[0]["rank"] == 1
    assert [d["area_m2"] for d in rank_candidates(regions, "area")] == [5000.0, 4000.0, 1000.0]
    assert [d["mean_prob"] for d in rank_candidates(regions, "probability")] == [0.95, 0.9, 0.6]
    with pytest.raises(DataError):
        rank_candidates(regions, "colour")


def test_report_files(tmp_path: Path):
    out = _survey(tmp_path)
    basemap = tmp_path / "base.jpg"
    Image.fromarray(np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (32, 1))).save(basemap)
    paths = write_report(out, basemap=basemap)
    assert paths.n_candidates == 3
    rows = list(csv.DictReader(paths.candidates_csv.open()))
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["observation_id"] == "ESP_011201_2200" and rows[0]["centroid_lon_180"] == "120"
    assert rows[1]["centroid_lon_180"] == "-10"
    gj = json.loads(paths.candidates_geojson.read_text())
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 3
    assert gj["features"][0]["geometry"]["type"] == "Polygon"
    images = list(csv.DictReader(paths.images_csv.open()))
    assert [i["status"] for i in images] == ["done", "done", "empty", "failed"]
    with Image.open(paths.map_png) as im:
        assert im.size[0] >= 1000 and im.size[1] >= 500
    page = paths.static_html.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page  # catalogue text is escaped
    assert "quicklooks/ESP_011200_2200.jpg" in page
    assert (paths.folder / "quicklooks" / "ESP_011200_2200.jpg").is_file()
    assert "http" not in page.replace("http://h/", "")  # offline: no external resources
    # the map without a basemap draws a grid
    write_report(out, out=tmp_path / "r2")
    assert (tmp_path / "r2" / "map.png").stat().st_size > 10_000


def test_report_errors(tmp_path: Path):
    with pytest.raises(DataError, match="no survey catalogue"):
        write_report(tmp_path / "nothing")
    out = _survey(tmp_path)
    with pytest.raises(DataError, match="basemap"):
        write_report(out, basemap=tmp_path / "missing.jpg")
