import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.survey.catalogue import Catalogue
from areoscan.survey.interactive import candidate_columns
from areoscan.survey.report import write_report
from areoscan.survey.vetting import load_verdicts, read_verdicts, vet

from .browser import markup_urls, needs_chromium, read_json_pre, visit, with_script
from .surveydata import make_survey

A, B = "ESP_011200_2200", "ESP_011201_2200"  # ranked B1, A1, A2; A has the 300 x 200 quick-look


def _basemap(tmp_path: Path) -> Path:
    y, x = np.mgrid[0:256, 0:512]
    path = tmp_path / "basemap.jpg"
    Image.fromarray(((np.sin(x / 20) * np.cos(y / 15) + 1) * 100 + 20).astype(np.uint8)).save(path)
    return path


def test_report_pages_are_offline_and_linked(tmp_path: Path):
    survey = make_survey(tmp_path)
    hostile = tmp_path / "hostile.csv"
    hostile.write_text(
        f"observation,region,verdict,note\n{A},2,no,</script><script>alert(1)</script>\n"
    )
    vet(survey, hostile)
    paths = write_report(survey, basemap=_basemap(tmp_path))
    page = paths.html.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page  # catalogue text cannot close the page's scripts
    assert markup_urls(page) == []
    assert "data:image/jpeg;base64," in page  # the basemap travels inside the page
    for name in ("candidates", "verdict-buttons", "verdict-note", "download", "table"):
        assert f'"name":"{name}"' in page
    assert f"scans/{A}.html" in page and f"quicklooks/{A}.jpg" in page
    viewer = paths.viewers[A].read_text(encoding="utf-8")
    assert markup_urls(viewer) == [] and "<script" not in viewer
    assert f'src="../quicklooks/{A}.jpg"' in viewer
    # region 1: rows 100-600, cols 200-900 of a 2000 x 3000 image, quick-look 1:10
    assert '<rect id="r1" x="20.0" y="10.0" width="70.0" height="50.0">' in viewer
    assert viewer.count("<rect ") == 2 and "5,000 m²" in viewer
    assert "&lt;script&gt;alert(1)" in viewer and "<script>alert" not in viewer
    assert set(paths.viewers) == {A}  # B has no quick-look: no viewer


def test_candidate_columns_place_boxes_on_the_quicklook():
    ranked = [
        {
            "rank": 1,
            "observation_id": A,
            "region_id": 3,
            "area_m2": 10.0,
            "mean_prob": None,
            "max_prob": 0.8,
            "centroid_lat": 1.0,
            "centroid_lon_180": -10.0,
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [
                    [[[350, 1], [351, 1], [350, 2], [350, 1]]],
                    [[[5, 5], [6, 5], [5, 5]]],
                ],
            },
            "properties": {"row0": 10, "col0": 20, "row1": 30, "col1": 60},
        }
    ]
    ql = {A: {"url": "q.jpg", "width": 100, "height": 50, "fx": 0.5, "fy": 0.25, "viewer": "v"}}
    cols = candidate_columns(ranked, ql)
    assert cols["prob"] == [0.8] and cols["verdict"] == [""]
    assert (cols["box_x0"], cols["box_x1"]) == ([10.0], [30.0])
    assert (cols["box_y0"], cols["box_y1"]) == ([2.5], [7.5])
    xs = cols["xs"][0]
    assert xs[:3] == [-10.0, -9.0, -10.0] and math.isnan(xs[4]) and xs[5:7] == [5.0, 6.0]
    no_ql = candidate_columns(ranked, {})
    assert math.isnan(no_ql["box_x0"][0]) and no_ql["ql_url"] == [""]


@pytest.mark.slow
@needs_chromium
def test_report_renders_offline_without_script_errors(tmp_path: Path):
    paths = write_report(make_survey(tmp_path), basemap=_basemap(tmp_path))
    shot = tmp_path / "shot.png"
    seen = visit(paths.html, tmp_path / "chromium", screenshot=shot)
    assert seen.script_errors == [] and seen.requests == []
    assert any("document idle" in m for m in seen.console)  # Bokeh rendered the document
    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("L"))
    map_area = pixels[80:450, 60:800]  # the map canvas: basemap, candidates, axes
    assert map_area.std() > 20 and len(np.unique(map_area)) > 50
    viewer = visit(paths.viewers[A], tmp_path / "chromium2", screenshot=tmp_path / "v.png")
    assert viewer.script_errors == [] and viewer.requests == []


# Drives the page as a person would: tap candidates, press verdict buttons, type notes, download.
DRIVE = """
(async function run() {
  const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
  if (!doc || !doc.get_model_by_name("download")) { setTimeout(run, 50); return; }
  const pause = () => new Promise((r) => setTimeout(r, 100));
  const model = (name) => doc.get_model_by_name(name);
  const src = model("candidates"), buttons = model("verdict-buttons"), note = model("verdict-note");
  const out = document.createElement("pre"); out.id = "result"; document.body.appendChild(out);
  URL.createObjectURL = (blob) => {
    blob.text().then((csv) => {
      const cells = [...Bokeh.index.find_one(model("table")).shadow_el.querySelectorAll(".slick-cell")];
      const quick = Bokeh.index.find_one(model("quicklook")).shadow_el.querySelector("img");
      out.textContent = JSON.stringify({
        csv: csv, cells: cells.map((c) => c.textContent), quicklook: quick ? quick.naturalWidth : -1,
      });
    });
    return "data:,";
  };
  for (const [i, active, text] of STEPS) {
    src.selected.indices = [i]; await pause();
    buttons.active = active; await pause();
    if (text !== null) { note.value = text; await pause(); }
  }
  model("download").trigger_event(new (Bokeh.require("core/bokeh_events").ButtonClick)());
})();
"""


@pytest.mark.slow
@needs_chromium
def test_verdicts_downloaded_from_the_page_are_what_vet_reads(tmp_path: Path):
    survey = make_survey(tmp_path)
    vet_first = tmp_path / "first.csv"
    vet_first.write_text(f"observation,region,verdict,note\n{B},1,no,dunes\n")
    vet(survey, vet_first)  # a stored verdict starts in the page and can be changed there
    paths = write_report(survey)
    note = 'polygonal, "brain" texture\nsecond line'
    # rows in rank order: 0 = B1 (stored: no), 1 = A1, 2 = A2; buttons: unvetted, yes, no, maybe
    steps = [[1, 1, note], [2, 3, None], [0, 0, None], [2, 2, "x"], [2, 3, ""]]
    driven = with_script(paths.html, DRIVE.replace("STEPS", json.dumps(steps)), "drive.html")
    seen = visit(driven, tmp_path / "chromium")
    assert seen.script_errors == [] and seen.requests == []
    result = read_json_pre(seen.dom, "result")
    assert isinstance(result, dict)
    assert "yes" in result["cells"] and "maybe" in result["cells"]  # the table follows the buttons
    assert result["quicklook"] == 300  # A2's quick-look loaded beside the map
    downloaded = tmp_path / "verdicts.csv"
    downloaded.write_text(result["csv"], encoding="utf-8")
    verdicts, skipped = read_verdicts(downloaded)
    assert skipped == 0
    assert [(v.observation_id, v.region_id, v.verdict, v.note) for v in verdicts] == [
        (A, 1, "yes", note),
        (A, 2, "maybe", ""),
    ]
    assert vet(survey, downloaded).added == 2
    with Catalogue(survey, lock=False, create=False) as cat:
        stored = load_verdicts(cat)
    assert stored[(A, 1)]["note"] == note
    assert stored[(B, 1)]["verdict"] == "no"  # un-marking in the page does not retract a verdict
