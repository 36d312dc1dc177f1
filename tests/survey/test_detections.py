"""Detections in a survey: a scan with a detector → the catalogue (schema 4) → the report pages."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from areoscan.io import label_centred_on, write_jp2, write_label
from areoscan.survey.catalogue import Catalogue
from areoscan.survey.catalogueschema import SCHEMA_VERSION
from areoscan.survey.engine import SurveyOptions, process_image
from areoscan.survey.jobs import Job
from areoscan.survey.report import write_report

from .testmodels import make_models

OBS = "ESP_011201_2200"
CENTRES = [(100, 150), (300, 400)]  # bright discs (row, col) on a dark 512 x 640 scene


def _scene(root: Path) -> Path:
    yy, xx = np.mgrid[:512, :640]
    img = np.full((512, 640), 200, np.uint16)
    for r, c in CENTRES:
        img[(yy + 0.5 - r) ** 2 + (xx + 0.5 - c) ** 2 <= 64] = 900
    path = root / f"{OBS}_RED.JP2"
    write_jp2(path, img, bit_depth=10)
    lab = label_centred_on(-20.0, 75.0, 512, 640, map_scale=0.25, product_id=f"{OBS}_RED")
    write_label(path.with_suffix(".LBL"), lab)
    return path


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, blob_detector) -> Path:
    """A survey folder holding one image scanned with the blob detector (two discs)."""
    tmp_path = tmp_path_factory.mktemp("detect-survey")
    screen, seg = make_models(tmp_path / "models")
    det = blob_detector(tmp_path / "models", masks=True)
    image = _scene(tmp_path)
    out = tmp_path / "survey"
    options = SurveyOptions(scan_kwargs={"screen_model": screen, "segment_model": seg,
                                         "detector": det, "backend": "torch", "progress": False})  # fmt: skip
    job = Job(OBS, str(image), remote=False)
    with Catalogue(out) as cat:
        cat.add_jobs([job])
        result = process_image(job.to_dict(), str(out), options)
        assert result["status"] == "done", result.get("error")
        cat.record_result(result)
    return out


@pytest.fixture
def survey(scanned: Path, tmp_path: Path) -> Path:
    """A copy of :func:`scanned`'s survey folder (its catalogue may be changed)."""
    return Path(shutil.copytree(scanned, tmp_path / "survey"))


def test_catalogue_holds_the_detections(survey: Path):
    with Catalogue(survey, lock=False, create=False) as cat:
        dets = cat.detections()
        image = cat.images()[0]
    assert image["detection_count"] == 2 and len(dets) == 2
    assert {d["class_name"] for d in dets} == {"pit"}
    assert all(d["geometry"]["type"] == "Polygon" for d in dets)  # as in detections.geojson
    boxes = sorted((d["properties"]["row0"], d["properties"]["col0"]) for d in dets)
    assert boxes == [(92, 142), (292, 392)]
    # the scene is centred on 20 S 75 E at 0.25 m/px (equirectangular on the 3396.19 km sphere):
    # each disc's latitude is the centre's plus its rows above the centre row (256)
    m_per_degree = 3396190.0 * np.pi / 180.0
    for d in dets:
        row = (d["properties"]["row0"] + d["properties"]["row1"]) / 2
        assert d["centroid_lat"] == pytest.approx(
            -20.0 + (256 - row) * 0.25 / m_per_degree, abs=5e-6
        )


def test_report_lists_and_outlines_detections(survey: Path):
    paths = write_report(survey)
    rows = list(csv.DictReader(paths.detections_csv.open()))
    assert [r["observation_id"] for r in rows] == [OBS, OBS] and rows[0]["class_name"] == "pit"
    page = paths.html.read_text()
    assert "Detected objects: 2" in page and '"detections-table"' in page
    assert "detected objects</a>: <b>2</b>" in paths.static_html.read_text()
    viewer = paths.viewers[OBS].read_text()
    assert viewer.count('<rect class="det"') == 2 and "2 detected objects" in viewer


def test_schema_3_catalogue_gains_the_detections_table(survey: Path):
    with sqlite3.connect(survey / "catalogue.sqlite") as conn:  # what schema 3 wrote
        conn.execute("DROP TABLE detections")
        conn.execute("ALTER TABLE images DROP COLUMN detection_count")
        conn.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    with Catalogue(survey) as cat:
        assert (
            cat.conn.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION) == "4"
        )
        assert cat.detections() == [] and cat.images()[0]["detection_count"] is None
        assert len(cat.regions()) == cat.images()[0]["region_count"]


def test_survey_verb_passes_the_detector_to_every_scan(tmp_path: Path, monkeypatch):
    import areoscan.survey.run as run
    from areoscan.cli import main

    seen: dict = {}

    def fake_survey(source, out, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(run, "survey", fake_survey)
    with pytest.raises(SystemExit):
        main(["survey", str(tmp_path), "--out", str(tmp_path / "s"), "--detector", "my-pits",
              "--detect-gate", "--quiet"])  # fmt: skip
    assert seen["detector"] == "my-pits" and seen["detect_gate"] is True
