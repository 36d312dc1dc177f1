"""Scan one image: open → screen → plan → predict → clean → vectorise → publish.

Use :func:`scan_image` from Python (the survey calls it on Dask workers) and ``areoscan scan`` from
a shell. It returns a :class:`ScanSummary`, also written as ``summary.json`` beside ``mask.tif``,
``salience.tif``, ``regions.gpkg``, ``regions.geojson`` and ``quicklook.png`` in
``out_dir/<OBSERVATION_ID>/`` (see :mod:`areoscan.scan.outputs` for how they appear atomically).
An image with nothing flagged by the screen ends there (status ``"empty"``: no mask is written).
The stages themselves live in :mod:`areoscan.scan.stages` and :mod:`areoscan.scan.publish`; this
module only loads the models and runs the stages in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from areoscan.scan.config import ScanConfig
from areoscan.scan.outputs import OutputFolder
from areoscan.scan.stages import Planned
from areoscan.scan.store import GroupStore
from areoscan.scan.summary import ScanSummary, StageClock

__all__ = ["ScanSummary", "scan_image"]


def scan_image(
    source: str | Path,
    out_dir: str | Path,
    config: ScanConfig | None = None,
    *,
    progress: bool = True,
    cache_dir: Path | None = None,
    max_bytes: int | None = None,
    **options: Any,
) -> ScanSummary:
    """Scan one HiRISE image (path or http(s) URL) and publish its outputs in ``out_dir/<OBS_ID>/``.

    config: how to scan (:class:`~areoscan.scan.config.ScanConfig`; default: its defaults).
    options: fields of the config to replace (``scan_image(path, out, fast=True)``). progress:
    report stages on stderr. cache_dir: download folder for URLs. max_bytes: the most bytes a URL
    may take, downloaded whole or read by the packet (a survey's ``--max-image-mb``).
    """
    import rasterio

    from areoscan.io.heap import limit_heap_growth
    from areoscan.scan.backends import load_detect, load_screen, load_segment
    from areoscan.scan.detect import detect_stage
    from areoscan.scan.publish import publish_stage
    from areoscan.scan.stages import (
        ScanRun,
        class_store_count,
        clean_stage,
        open_stage,
        plan_stage,
        predict_stage,
        screen_stage,
        vectorise_stage,
    )
    from areoscan.scan.vectorize import Regions

    cfg = (config or ScanConfig()).with_options(**options)
    cfg.check()
    limit_heap_growth()
    run = ScanRun(cfg, StageClock(), progress)
    opened = open_stage(source, run, cache_dir, max_bytes)
    notes = opened.notes
    with rasterio.Env(GDAL_CACHEMAX=cfg.gdal_cache_mb), opened.raster:
        with OutputFolder(out_dir, opened.observation_id) as folder:
            with run.clock.stage("load_models"):
                screener = load_screen(cfg.screen_model, opened.backend, cfg.threads)
            screened = screen_stage(opened, screener, run)
            del screener  # its inference buffers (hundreds of MB) are not needed any more
            regions, cleaned = Regions(), None  # what an image with nothing flagged publishes
            if int(screened.flags.sum()):
                with run.clock.stage("load_models"):
                    predictor = load_segment(cfg.segment_model, opened.backend, cfg.threads)
                planned = plan_stage(opened, screened, run)
                with run.clock.stage("segment"):
                    stores = _stores(folder, planned, class_store_count(predictor.classes))
                predicted = predict_stage(opened, planned, predictor, stores, run)
                del predictor
                cleaned = clean_stage(predicted, run)
                regions = vectorise_stage(opened, cleaned, run)
            else:
                notes.append("nothing flagged by the screen: not segmented, no mask.tif written")
            detections = None
            if cfg.detector is not None:
                with run.clock.stage("load_models"):
                    detector = load_detect(cfg.detector, cfg.threads, cfg.detect_min_score)
                detections = detect_stage(opened, screened, detector, run)
                del detector
            summary = publish_stage(folder, opened, screened, cleaned, regions, run, notes,
                                    detections)  # fmt: skip
    run.say(f"{summary.status}: {summary.regions} regions, {summary.detections} detections, "
            f"{summary.total_area_m2:.0f} m² "
            f"({summary.percent_of_footprint:.2f}% of the footprint) in {summary.timings['total']:.1f} s "
            f"-> {summary.output_dir}")  # fmt: skip
    return summary


def _stores(folder: OutputFolder, planned: Planned, n: int) -> list[GroupStore]:
    """``n`` work files over the plan's group boxes in the temporary folder (removed with it)."""
    boxes = [g.bbox for g in planned.plan.groups]
    names = [".probabilities.u8"] if n == 1 else [f".probabilities-{c}.u8" for c in range(1, n + 1)]
    stores = [GroupStore(folder.path(name), boxes) for name in names]
    folder.cleanups += [s.close for s in stores]
    return stores
