"""Each scan stage on its own: typed results in, typed results out (see areoscan.scan.stages)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from areoscan.errors import ModelError
from areoscan.scan.config import ScanConfig
from areoscan.scan.outputs import OutputFolder
from areoscan.scan.publish import publish_stage
from areoscan.scan.quant import quantise
from areoscan.scan.screen import Screen
from areoscan.scan.stages import (
    Opened,
    Planned,
    Predicted,
    ScanRun,
    clean_stage,
    open_stage,
    plan_stage,
    predict_stage,
    screen_stage,
    vectorise_stage,
)
from areoscan.scan.store import GroupStore
from areoscan.scan.summary import build_summary
from areoscan.scan.vectorize import Regions
from areoscan.tiling import Window

from .conftest import SCREEN_TILE, SEG_TILE


class Bright:
    """A stand-in segmenter: probability 1 where the pixel is brighter than 0.7, else 0."""

    tile_size, threshold, classes = SEG_TILE, 0.5, ["background", "coral"]

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        return (np.asarray(tiles) > 0.7).astype(np.float32)


@pytest.fixture
def run(test_models) -> ScanRun:
    screen, seg = test_models
    return ScanRun(ScanConfig(screen_model=screen, segment_model=seg, backend="torch", fast=True))


@pytest.fixture
def opened(patch_scene, run):
    o = open_stage(patch_scene[0], run)
    with o.raster:
        yield o


def _screen_of(opened: Opened, flagged: list[Window]) -> Screen:
    """A screen result flagging exactly ``flagged`` (screen-level windows)."""
    shape = opened.raster.shape_at(opened.screen_level.level)
    probs = np.ones(len(flagged), dtype=np.float32)
    footprint = np.ones(shape, dtype=bool)
    return Screen(opened.screen_level.level, shape, SCREEN_TILE, flagged, probs, 0.5, footprint)


def _predicted(opened: Opened, run: ScanRun, tmp_path) -> Predicted:
    # the patch (rows 301-601, cols 653-913 at level 0) lies in screen tiles (64-160, 160-224)
    flagged = [Window(r, c, SCREEN_TILE, SCREEN_TILE) for r in (64, 96, 128) for c in (160, 192)]
    planned = plan_stage(opened, _screen_of(opened, flagged), run)
    store = GroupStore(tmp_path / "p.u8", [g.bbox for g in planned.plan.groups])
    return predict_stage(opened, planned, Bright(), [store], run)


def test_open_reads_cards_levels_and_the_observation(opened):
    assert opened.observation_id == "ESP_012345_1234"
    assert opened.backend == "torch"
    # 0.25 m/px image: the 1 m/px screen reads level 2, the 0.25 m/px segmenter level 0
    assert (opened.screen_level.level, opened.segment_level.level) == (2, 0)
    assert opened.screen_card.task == "classification"
    assert opened.segment_card.task == "segmentation"
    assert opened.notes == []


def test_open_refuses_models_of_the_wrong_kind(patch_scene, test_models):
    screen, seg = test_models
    run = ScanRun(ScanConfig(screen_model=seg, segment_model=screen, backend="torch"))
    with pytest.raises(ModelError, match="must be a classifier"):
        open_stage(patch_scene[0], run)


def test_screen_flags_the_tiles_of_the_patch(opened, run):
    from areoscan.scan.backends import load_screen

    scr = screen_stage(opened, load_screen(run.config.screen_model, "torch", 1), run)
    assert scr.level == 2 and scr.tile == SCREEN_TILE
    r0, c0, r1, c1 = (v // 4 for v in (301, 653, 601, 913))
    for w in scr.flagged:  # every flagged tile touches the patch
        assert w.row < r1 and w.row + w.height > r0 and w.col < c1 and w.col + w.width > c0
    assert len(scr.flagged) > 0 and not scr.footprint[:, :10].any()
    assert "screen" in run.clock.timings


def test_plan_covers_the_flagged_area_in_card_tiles(opened, run):
    flagged = [Window(80, 170, SCREEN_TILE, SCREEN_TILE)]
    planned = plan_stage(opened, _screen_of(opened, flagged), run)
    assert isinstance(planned, Planned)
    plan = planned.plan
    assert plan.level == 0 and plan.tile == SEG_TILE and plan.overlap == SEG_TILE // 8
    assert planned.scale == 0.25 and plan.margin == 64  # 16 m at 0.25 m/px
    grown = Window(320 - 64, 680 - 64, 128 + 128, 128 + 128)
    covered = np.zeros(plan.shape, dtype=bool)
    for t in plan.tiles:
        covered[t.slices] = True
    assert covered[grown.slices].all()
    assert planned.batch == run.config.segment_batch(SEG_TILE, SEG_TILE)
    assert sum(len(b.reads) for b in planned.bands) >= 1


def test_predict_blends_the_predictor_into_the_store(opened, run, tmp_path):
    predicted = _predicted(opened, run, tmp_path)
    assert predicted.threshold == 0.5
    assert predicted.stats.tiles == len(predicted.planned.plan.tiles)
    g = predicted.planned.plan.groups[0]
    codes = predicted.store.read(g.index, g.bbox.row, g.bbox.row + g.bbox.height)
    inside = codes[350 - g.bbox.row, 700 - g.bbox.col]
    assert inside == quantise(np.array([1.0], dtype=np.float32))[0]
    predicted.store.close()


def test_clean_and_vectorise_give_the_patch_as_one_region(opened, run, tmp_path):
    predicted = _predicted(opened, run, tmp_path)
    cleaned = clean_stage(predicted, run)
    assert cleaned.params.opening_px == 0  # fast: no refinements
    assert cleaned.params.min_area_px == 8000  # 500 m² at 0.25 m/px
    assert sum(g.n for g in cleaned.groups) == 1
    regions = vectorise_stage(opened, cleaned, run)
    assert len(regions) == 1
    rec = regions.records[0]
    assert rec["area_px"] == 300 * 260 and rec["region_id"] == 1
    assert (rec["row0"], rec["col0"], rec["row1"], rec["col1"]) == (301, 653, 601, 913)
    assert rec["area_m2"] == pytest.approx(300 * 260 * 0.0625)
    predicted.store.close()


def test_config_threshold_overrides_the_predictor_in_clean(opened, run, tmp_path):
    predicted = _predicted(opened, run, tmp_path)
    strict = ScanRun(run.config.with_options(segment_threshold=0.9), run.clock)
    assert clean_stage(predicted, strict).params.threshold == 0.9
    predicted.store.close()


def test_publish_of_an_empty_screen_writes_no_mask(opened, run, tmp_path):
    scr = _screen_of(opened, [])
    with OutputFolder(tmp_path / "out", opened.observation_id) as folder:
        summary = publish_stage(folder, opened, scr, None, Regions(), run, ["a note"])
    out = tmp_path / "out" / "ESP_012345_1234"
    assert summary.status == "empty" and summary.notes == ["a note"]
    assert sorted(p.name for p in out.iterdir()) == sorted(summary.outputs)
    assert "mask.tif" not in summary.outputs
    assert json.loads((out / "summary.json").read_text())["flagged_tiles"] == 0


def test_summary_is_built_from_the_stage_results(opened, run, tmp_path):
    predicted = _predicted(opened, run, tmp_path)
    cleaned = clean_stage(predicted, run)
    regions = vectorise_stage(opened, cleaned, run)
    scr = _screen_of(opened, [Window(80, 170, SCREEN_TILE, SCREEN_TILE)])
    s = build_summary(opened, scr, cleaned, regions, run.config, output_dir="x",
                      quicklook_level=1, notes=[])  # fmt: skip
    assert s.status == "done" and s.regions == 1 and s.flagged_tiles == 1
    assert s.total_area_m2 == pytest.approx(4875.0)
    assert s.segment["tiles"] == predicted.stats.tiles and s.segment["screen"]["tiles"] == 1
    assert s.parameters["clean"] == cleaned.params.to_dict()
    assert s.parameters["backend"] == "torch" and s.parameters["fast"] is True
    assert s.models["segment"]["name"] == "test-seg"
    predicted.store.close()
