"""``scan --detector``: tiled detection over a generated JP2, cross-tile merge, georeferenced output.

The exact tests use the blob detector of tests/conftest.py (torchvision's detection interface,
boxing every connected patch brighter than 0.6), so where it must find each object is known; one test
scans with a real, randomly initialised torchvision Faster R-CNN to exercise that path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pyogrio.raw import read

from areoscan.cli import main
from areoscan.io import open_raster
from areoscan.models import ModelCard, save_model
from areoscan.models.predictor import Instances
from areoscan.scan import scan_image
from areoscan.scan.detect import FIELDS
from areoscan.scan.instances import Found, merge_instances
from areoscan.tiling import TileGrid, Window

from .conftest import background, write_scene

DET_TILE = 256
RADIUS = 10


def _disc(img: np.ndarray, cy: float, cx: float, r: float = RADIUS) -> None:
    """A bright disc centred on continuous point (cy, cx) (pixel centres at +0.5)."""
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    img[(yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2 <= r * r] = 900


@pytest.fixture
def pits_scene(tmp_path: Path) -> Path:
    """768 x 1024 px at 0.25 m/px, centred on 40 N 120 E: a disc at the centre, one inside the
    overlap of the first two 256-px tiles (192 <= col < 256: seen whole by both), and one across
    the tile edge at col 256 of the overlap-free grid."""
    img = background((768, 1024))
    _disc(img, 384, 512)  # image centre
    _disc(img, 100, 224)  # in the overlap of tiles 0 and 1 (stride 192)
    _disc(img, 650, 256)  # on the edge between tiles 0 and 1 without overlap
    return write_scene(tmp_path / "ESP_012345_1234_RED.JP2", img)


def _scan(path: Path, models: tuple[Path, Path], det: Path, out: Path, **kw):
    screen, seg = models
    return scan_image(path, out, screen_model=screen, segment_model=seg, detector=det, fast=True,
                      progress=False, backend="torch", **kw)  # fmt: skip


def _features(folder: Path) -> list[dict]:
    doc = json.loads((folder / "detections.geojson").read_text())
    return doc["features"]


@pytest.mark.parametrize("masks", [False, True])
def test_detections_are_merged_georeferenced_and_written(
    blob_detector, pits_scene, test_models, tmp_path, masks
):
    det = blob_detector(tmp_path / "models", masks)
    s = _scan(pits_scene, test_models, det, tmp_path / "out")
    out = Path(s.output_dir)
    assert {"detections.gpkg", "detections.geojson"} <= set(s.outputs)
    assert sorted(p.name for p in out.iterdir()) == sorted(s.outputs)
    # 256-px tiles, overlap 64: the overlap disc is found whole twice (one suppressed); the
    # centre and edge discs are also seen cut by a tile edge (pieces merged into the whole view)
    assert s.detect["tiles"] == len(TileGrid((768, 1024), DET_TILE, DET_TILE // 4).windows())
    assert s.detect["overlap"] == DET_TILE // 4
    assert s.detections == 3 and s.detect["suppressed"] >= 1 and s.detect["classes"] == {"pit": 3}
    feats = _features(out)
    assert len(feats) == 3 and all(f["properties"]["class_name"] == "pit" for f in feats)
    centre = min(feats, key=lambda f: abs(f["properties"]["row0"] - 374))["properties"]
    # the image centre is 40 N 120 E (label_centred_on): 1 px = 0.25 m = 4.2e-6 degrees
    assert centre["centroid_lat"] == pytest.approx(40.0, abs=5e-6)
    assert centre["centroid_lon"] == pytest.approx(120.0, abs=5e-6)
    assert (centre["row0"], centre["col0"], centre["row1"], centre["col1"]) == (374, 502, 394, 522)
    disc_m2 = np.pi * RADIUS**2 * 0.25**2
    box_m2 = (2 * RADIUS * 0.25) ** 2
    want = disc_m2 if masks else box_m2
    assert centre["area_m2"] == pytest.approx(want, rel=0.08)
    with open_raster(pits_scene) as raster:
        x0, y0 = raster.transform @ (502, 374)
    assert centre["x_min"] == pytest.approx(x0) and centre["y_max"] == pytest.approx(y0)
    meta, _, geoms, columns = read(out / "detections.gpkg", layer="detections")
    names = list(meta["fields"])
    assert len(geoms) == 3 and names == list(FIELDS)
    assert sorted(columns[names.index("score")].tolist()) == sorted(
        f["properties"]["score"] for f in feats
    )
    assert columns[names.index("class_name")].tolist() == ["pit"] * 3


@pytest.mark.parametrize("masks", [False, True])
def test_pieces_cut_by_a_tile_edge_are_merged(
    blob_detector, pits_scene, test_models, tmp_path, masks
):
    det = blob_detector(tmp_path / "models", masks)
    s = _scan(pits_scene, test_models, det, tmp_path / "out", detect_overlap=0)
    # no overlap: the centre disc (cols 502-522) and the edge disc (cols 246-266) are each cut in
    # two by the tile edges at cols 512 and 256, and each is assembled from its two pieces
    assert s.detect["overlap"] == 0 and s.detect["pieces_merged"] == 2
    assert s.detections == 3
    boxes = sorted((p["row0"], p["col0"], p["row1"], p["col1"], p["truncated"])
                   for p in (f["properties"] for f in _features(Path(s.output_dir))))  # fmt: skip
    assert boxes == [(90, 214, 110, 234, 0), (374, 502, 394, 522, 0), (640, 246, 660, 266, 0)]


def test_quicklook_outlines_detections(blob_detector, pits_scene, test_models, tmp_path):
    det = blob_detector(tmp_path / "models")
    s = _scan(pits_scene, test_models, det, tmp_path / "out")
    ql = np.asarray(Image.open(Path(s.output_dir) / "quicklook.png").convert("RGB"))
    f = 2 ** s.levels["quicklook"]
    yellow = (ql[..., 0] == 255) & (ql[..., 1] == 220) & (ql[..., 2] == 0)
    around = yellow[(374 - 4) // f : (394 + 4) // f + 1, (502 - 4) // f : (522 + 4) // f + 1]
    assert around.any() and yellow.sum() < 0.05 * yellow.size


def test_python_api_returns_the_detections(blob_detector, pits_scene, test_models, tmp_path):
    from areoscan.api import run_scan

    screen, seg = test_models
    det = blob_detector(tmp_path / "models")
    res = run_scan(pits_scene, tmp_path / "out", screen_model=screen, segment_model=seg, detector=det,
               fast=True, backend="torch")  # fmt: skip
    assert len(res.detections) == res.summary.detections == 3
    assert res.paths.detections_gpkg is not None and res.paths.detections_geojson is not None
    assert {d["class_name"] for d in res.detections} == {"pit"}


def test_a_small_memory_budget_reads_more_windows_and_finds_the_same(
    blob_detector, pits_scene, test_models, tmp_path
):
    det = blob_detector(tmp_path / "models", masks=True)
    big = _scan(pits_scene, test_models, det, tmp_path / "a")
    small = _scan(pits_scene, test_models, det, tmp_path / "b", memory_mb=1)
    assert small.detect["reads"] > big.detect["reads"]

    def found(s):  # equal scores: the ids follow the read order, so compare by box
        keys = ("row0", "col0", "row1", "col1", "area_m2", "centroid_lat", "centroid_lon")
        return sorted(
            tuple(f["properties"][k] for k in keys) for f in _features(Path(s.output_dir))
        )

    assert found(small) == found(big) and len(found(big)) == 3


def test_tiles_wholly_in_no_data_are_skipped(blob_detector, tmp_path, test_models):
    img = background((768, 1024))
    img[:, :500] = 0  # a no-data margin, as HiRISE images have
    _disc(img, 384, 768)
    path = write_scene(tmp_path / "ESP_012345_1234_RED.JP2", img)
    det = blob_detector(tmp_path / "models")
    s = _scan(path, test_models, det, tmp_path / "out")
    grid = TileGrid((768, 1024), DET_TILE, DET_TILE // 4).windows()
    assert s.detect["empty_tiles"] == sum(t.col + t.width <= 500 for t in grid) > 0
    assert s.detections == 1


def test_gated_detector_runs_only_near_flagged_tiles(blob_detector, tmp_path, test_models):
    img = background((768, 1024))
    _disc(img, 384, 512)
    path = write_scene(tmp_path / "ESP_012345_1234_RED.JP2", img)
    det = blob_detector(tmp_path / "models")
    whole = _scan(path, test_models, det, tmp_path / "a")
    gated = _scan(path, test_models, det, tmp_path / "b", detect_gate=True)
    assert gated.detect["gated"] and 0 < gated.detect["tiles"] < whole.detect["tiles"]
    assert gated.detections == whole.detections == 1


@pytest.mark.slow
def test_a_real_torchvision_detector_scans(tmp_path, test_models):
    from areoscan.models.detectors import MOBILENET_LAYERS, build_detector

    img = background((512, 512))
    _disc(img, 256, 256)
    path = write_scene(tmp_path / "ESP_012345_1234_RED.JP2", img)
    kwargs = {"backbone": "mobilenet_v3_large", "anchors": [16, 32, 64], "min_size": DET_TILE,
              "max_size": DET_TILE, "channels": 32, "head": 64,
              "mobilenet_layers": list(MOBILENET_LAYERS)}  # fmt: skip
    torch.manual_seed(0)
    card = ModelCard(name="tiny-frcnn", task="detection", arch="fasterrcnn", classes=["pit"],
                     tile_size=DET_TILE, level=0, scale_m_per_px=0.25, arch_kwargs=kwargs,
                     threshold=0.0)  # fmt: skip
    _, det = save_model(build_detector("fasterrcnn", 1, **kwargs), card, tmp_path / "m")
    s = _scan(path, test_models, det, tmp_path / "out")
    feats = _features(Path(s.output_dir))
    assert s.detect["tiles"] == 9 and s.detections == len(feats) == s.detect["classes"].get(
        "pit", 0
    )
    assert s.detect["raw_instances"] >= s.detections
    assert all(0.0 <= f["properties"]["score"] <= 1.0 for f in feats)


@pytest.mark.parametrize(
    ("which", "needle"), [("no-such-detector", "no-such-detector"), ("{seg}", "not a detector")]
)
def test_bad_detector_is_one_line_and_exit_2(
    which, needle, pits_scene, test_models, tmp_path, capsys
):
    screen, seg = test_models
    name = str(seg) if which == "{seg}" else which
    code = main(["scan", str(pits_scene), "--out", str(tmp_path / "o"), "--screen-model", str(screen),
                 "--segment-model", str(seg), "--detector", name, "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err


def _inst(boxes, masks=None) -> Instances:
    n = len(boxes)
    return Instances(np.array(boxes, np.float32).reshape(-1, 4), np.linspace(0.9, 0.8, n, dtype=np.float32),
                     np.ones(n, np.int64), masks)  # fmt: skip


def test_merge_keeps_distinct_neighbours_and_lone_pieces():
    found = Found()
    shape = (200, 300)
    left, right = Window(0, 0, 100, 100), Window(0, 100, 100, 100)
    # an object cut at col 100 (rows 40-60), and another object in the right tile, rows 0-10, that
    # touches the edge but spans other rows; plus a piece at the image's own edge (not truncated)
    found.add(_inst([[90, 40, 100, 60], [0, 75, 5, 85]]), left, 0, shape, 0.5)
    found.add(_inst([[0, 40, 12, 60], [0, 0, 10, 10]]), right, 1, shape, 0.5)
    assert found.truncated == [0b0100, 0, 0b0001, 0b0001]
    merged = merge_instances(found)
    boxes = sorted(tuple(int(v) for v in b) for b in merged.found.boxes)
    assert merged.pieces_merged == 1 and merged.suppressed == 0
    assert boxes == [(0, 75, 5, 85), (90, 40, 112, 60), (100, 0, 110, 10)]
    lone = [tuple(int(v) for v in b) for b in merged.found.boxes].index((100, 0, 110, 10))
    assert merged.found.truncated[lone] == 0b0001  # kept, still cut


def test_merge_unites_the_masks_of_pieces():
    found = Found()
    shape = (100, 200)
    a = np.zeros((1, 100, 100), bool)
    a[0, 40:60, 90:100] = True
    b = np.zeros((1, 100, 100), bool)
    b[0, 45:55, 0:8] = True
    found.add(_inst([[90, 40, 100, 60]], a), Window(0, 0, 100, 100), 0, shape, 0.5)
    found.add(_inst([[0, 45, 8, 55]], b), Window(0, 100, 100, 100), 1, shape, 0.5)
    merged = merge_instances(found).found
    assert len(merged) == 1 and merged.origins[0] == (40, 90)
    mask = merged.masks[0]
    assert mask.shape == (20, 18) and mask.sum() == 20 * 10 + 10 * 8
