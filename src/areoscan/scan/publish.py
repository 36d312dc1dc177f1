"""The publish stage: write a scan's files into its temporary folder, then ``summary.json``, then rename.

Use :func:`publish_stage` last, inside the :class:`~areoscan.scan.outputs.OutputFolder` the scan
writes into: ``mask.tif`` (only when something was segmented), ``salience.tif``, ``regions.gpkg``,
``regions.geojson``, ``detections.gpkg`` and ``detections.geojson`` (with a detector),
``quicklook.png`` and, built from the stages' results, ``summary.json``; the folder then appears as ``OUT/<OBSERVATION_ID>`` in one rename.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from areoscan.scan import quicklook
from areoscan.scan.detect import Detections
from areoscan.scan.outputs import (
    OutputFolder,
    RowReader,
    write_features,
    write_json,
    write_mask_cog,
    write_regions,
    write_salience,
)
from areoscan.scan.screen import Screen
from areoscan.scan.stages import Cleaned, Opened, ScanRun
from areoscan.scan.summary import ScanSummary, build_summary
from areoscan.scan.vectorize import Regions
from areoscan.tiling import Window


def _transform(opened: Opened, level: int) -> Any:
    """The level's affine, or a pixel-scale one for an image without georeference."""
    from affine import Affine

    t = opened.raster.transform_at(level)
    return t if t is not None else Affine.scale(2**level)


def write_mask(folder: OutputFolder, opened: Opened, screened: Screen, cleaned: Cleaned,
               threads: int) -> None:  # fmt: skip
    """``mask.tif`` at the segment level: the cleaned groups over the screen's footprint."""
    raster, shot, seg = opened.raster, opened.screen_level.level, opened.segment_level.level
    store = cleaned.predicted.store  # coverage and no data are the same in every class's store
    parts: list[tuple[Window, RowReader, RowReader]] = [
        (g.bbox, partial(store.read, g.index), partial(_class_rows, cleaned, g.index))
        for g in cleaned.groups
    ]
    factor = 2 ** max(0, shot - seg)
    step = 2 ** max(0, seg - shot)
    footprint = screened.footprint if shot >= seg else screened.footprint[::step, ::step]
    write_mask_cog(folder.path("mask.tif"), raster.shape_at(seg), _transform(opened, seg),
                   raster.crs, footprint, factor, parts, threads=threads)  # fmt: skip


def _class_rows(cleaned: Cleaned, g: int, row0: int, row1: int) -> np.ndarray:
    """Mask values of group ``g``'s rows: 1 for a binary model, else the class index (0 none)."""
    if not cleaned.predicted.multiclass:
        return cleaned.by_class[0][g].mask_rows(row0, row1)
    out: np.ndarray | None = None
    for k, groups in enumerate(cleaned.by_class, start=1):
        rows = groups[g].mask_rows(row0, row1).view(np.uint8) * np.uint8(k)
        out = rows if out is None else np.maximum(out, rows)
    assert out is not None
    return out


def publish_stage(folder: OutputFolder, opened: Opened, screened: Screen, cleaned: Cleaned | None,
                  regions: Regions, run: ScanRun, notes: list[str],
                  detections: Detections | None = None) -> ScanSummary:  # fmt: skip
    """Write every output and ``summary.json``, publish the folder; return the summary.

    detections: the detect stage's result (None: no detector; no detections files).
    """
    raster, clock = opened.raster, run.clock
    with clock.stage("write"):
        outputs = []
        if cleaned is not None and cleaned.groups:
            write_mask(folder, opened, screened, cleaned, run.config.threads)
            outputs.append("mask.tif")
        write_salience(folder.path("salience.tif"), screened.salience(),
                       _transform(opened, screened.level), raster.crs)  # fmt: skip
        write_regions(folder.tmp, regions, raster, opened.observation_id)
        outputs += ["salience.tif", "regions.gpkg", "regions.geojson"]
        if detections is not None:
            write_features(folder.tmp, "detections", detections.records, detections.geometries,
                           detections.fields, raster, opened.observation_id)  # fmt: skip
            outputs += ["detections.gpkg", "detections.geojson"]
        outlines = detections.geometries if detections is not None else []
        _, ql_level = quicklook.write_quicklook(folder.path("quicklook.png"), raster, regions.geometries,
                                      screened.flagged, screened.level, detections=outlines)  # fmt: skip
        outputs.append("quicklook.png")
    if cleaned is not None:
        cleaned.predicted.close()
    summary = build_summary(opened, screened, cleaned, regions, run.config,
                            output_dir=str(folder.final), quicklook_level=ql_level,
                            notes=notes, detections=detections)  # fmt: skip
    summary.outputs = [*outputs, "summary.json"]
    summary.timings = {**clock.timings, "total": clock.total()}
    summary.peak_rss_mb = dict(clock.peak_rss)
    write_json(folder.path("summary.json"), summary.to_dict())
    folder.publish()
    return summary
