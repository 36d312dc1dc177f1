"""What a scan found and how: :class:`ScanSummary` (``summary.json``), built from the stages' results.

Use :func:`build_summary` once the publish stage has written the files: it reads every figure from
the typed results the stages passed along (:mod:`areoscan.scan.stages`) and the
:class:`StageClock` that timed them, so the summary cannot disagree with what the stages did.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from areoscan import __version__
from areoscan.models.card import ModelCard

if TYPE_CHECKING:
    from areoscan.scan.config import ScanConfig
    from areoscan.scan.detect import Detections
    from areoscan.scan.screen import Screen
    from areoscan.scan.stages import Cleaned, Opened
    from areoscan.scan.vectorize import Regions


@dataclass
class ScanSummary:
    """What a scan found and how: the content of ``summary.json``.

    status: ``"done"`` (segmented; regions may be 0) or ``"empty"`` (nothing flagged by the screen).
    scale: image map scale (m/px, None without a label). levels: screen/segment level choices.
    flagged_tiles / screened_tiles: screen counts. regions: number of regions; total_area_m2 and
    percent_of_footprint: their extent. centre_lat / centre_lon: image centre (east lon 0–360).
    detections: objects found by the detect stage (``--detector``; 0 without one); detect: how
    it ran and the count per class (empty without a detector).
    timings: seconds per stage. peak_rss_mb: the process's peak resident memory (MB) when each
    stage ended (monotone: the first stage reaching the final value set the peak). models: name,
    architecture, date and weights hash of each model.
    notes: anything unusual (scale mismatch, no georeference, files not written).
    """

    observation_id: str
    status: str
    source: str
    output_dir: str
    scale: float | None
    levels: dict[str, Any]
    flagged_tiles: int
    screened_tiles: int
    regions: int = 0
    total_area_m2: float = 0.0
    percent_of_footprint: float = 0.0
    centre_lat: float | None = None
    centre_lon: float | None = None
    detections: int = 0
    detect: dict[str, Any] = field(default_factory=dict)
    image: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    segment: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    areoscan_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what summary.json holds)."""
        return dataclasses.asdict(self)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far (MB; Linux ``VmHWM``), None elsewhere."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return None


class StageClock:
    """Wall time per stage (summed over repeated entries), and the peak RSS when each ended.

    Use one per scan: ``with clock.stage("screen"): ...``; :attr:`timings` and :attr:`peak_rss`
    go into the summary.
    """

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.peak_rss: dict[str, float] = {}
        self.start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as (part of) stage ``name``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t0, 3)
            rss = peak_rss_mb()
            if rss is not None:
                self.peak_rss[name] = rss

    def total(self) -> float:
        """Seconds since the clock started."""
        return round(time.perf_counter() - self.start, 3)


def model_info(card: ModelCard) -> dict[str, Any]:
    """What the summary says about a model: name, architecture, date, weights hash, tile, scale."""
    return {
        "name": card.name,
        "arch": card.arch,
        "created": card.created,
        "areoscan_version": card.areoscan_version,
        "weights_sha256": card.weights_sha256[:16],
        "tile_size": card.tile_size,
        "scale_m_per_px": card.scale_m_per_px,
        "threshold": card.threshold,
    }


def _per_class(classes: list[str], regions: Regions) -> dict[str, dict[str, float]]:
    """Regions and area (m²) per foreground class of a multi-class model."""
    out = {name: {"regions": 0, "area_m2": 0.0} for name in classes[1:]}
    for rec in regions.records:
        entry = out[rec["class_name"]]
        entry["regions"] += 1
        entry["area_m2"] = round(entry["area_m2"] + (rec["area_m2"] or 0.0), 3)
    return out


def build_summary(
    opened: Opened,
    screened: Screen,
    cleaned: Cleaned | None,
    regions: Regions,
    config: ScanConfig,
    *,
    output_dir: str,
    quicklook_level: int,
    notes: list[str],
    detections: Detections | None = None,
) -> ScanSummary:
    """The summary of a scan from its stages' results (``cleaned`` is None when nothing was flagged).

    notes: everything unusual the stages reported, in order. detections: the detect stage's
    result (None: the scan had no detector).
    """
    raster, shot, seg = opened.raster, opened.screen_level, opened.segment_level
    fp_px0 = float(screened.footprint.sum()) * 4.0**shot.level
    coral_px0 = float(sum(r["area_px"] for r in regions.records)) * 4.0**seg.level
    lat = lon = None
    if raster.georef is not None:
        lon, lat = raster.georef.corners_lonlat(raster.shape)["centre"]
    n_flag = int(screened.flags.sum())
    seg_info: dict[str, Any] = {}
    if cleaned is not None:
        predicted = cleaned.predicted
        seg_info = {**predicted.planned.plan.to_dict(), **predicted.stats.to_dict()}
        if predicted.multiclass:
            seg_info["classes"] = _per_class(predicted.classes, regions)
    models = {"screen": model_info(opened.screen_card), "segment": model_info(opened.segment_card)}
    if opened.detect_card is not None:
        models["detect"] = model_info(opened.detect_card)
    return ScanSummary(
        observation_id=opened.observation_id,
        status="done" if n_flag else "empty",
        source=opened.source,
        output_dir=output_dir,
        scale=raster.scale,
        levels={"screen": shot.to_dict(), "segment": seg.to_dict(), "quicklook": quicklook_level},
        flagged_tiles=n_flag,
        screened_tiles=len(screened.windows),
        regions=len(regions),
        total_area_m2=round(regions.total_area_m2, 3),
        percent_of_footprint=round(100.0 * coral_px0 / fp_px0, 4) if fp_px0 else 0.0,
        centre_lat=lat,
        centre_lon=lon,
        image={
            "path": str(raster.path),
            "shape": list(raster.shape),
            "levels": raster.levels,
            "bit_depth": raster.bit_depth,
            "projection": raster.georef.projection_name() if raster.georef is not None else None,
            "footprint_px": int(fp_px0),
            "footprint_area_m2": fp_px0 * raster.scale**2 if raster.scale else None,
            "scale_policy": opened.scale_policy,
            "bytes_in_file": raster.bytes_total,
            "bytes_fetched": raster.bytes_fetched,
        },
        models=models,
        detections=len(detections) if detections is not None else 0,
        detect=dict(detections.info) if detections is not None else {},
        parameters={
            "fast": config.fast,
            "threads": config.threads,
            "memory_mb": config.memory_mb,
            "backend": opened.backend,
            "screen_threshold": screened.threshold,
            "min_area_m2": config.min_area_m2,
            "margin_m": config.margin_m,
            "screen_overlap": screened.overlap,
            "segment_tile": seg_info.get("tile"),
            "clean": cleaned.params.to_dict() if cleaned is not None else None,
        },
        segment={"screen": screened.to_dict(), **seg_info},
        notes=list(notes),
    )
