"""Scan one image: screen → segment flagged windows → clean → publish georeferenced outputs.

Use :func:`scan_image` from Python (the survey calls it on Dask workers) and ``areoscan scan`` from
a shell. It returns a :class:`ScanSummary`, also written as ``summary.json`` beside ``mask.tif``,
``salience.tif``, ``regions.gpkg``, ``regions.geojson`` and ``quicklook.png`` in
``out_dir/<OBSERVATION_ID>/`` (see :mod:`areoscan.scan.outputs` for how they appear atomically).
An image with nothing flagged by the screen ends there (status ``"empty"``: no mask is written).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from areoscan import __version__
from areoscan.models.card import ModelCard
from areoscan.scan.config import ScanConfig
from areoscan.scan.levels import LevelChoice, choose_level


@dataclass
class ScanSummary:
    """What a scan found and how: the content of ``summary.json``.

    status: ``"done"`` (segmented; regions may be 0) or ``"empty"`` (nothing flagged by the screen).
    scale: image map scale (m/px, None without a label). levels: screen/segment level choices.
    flagged_tiles / screened_tiles: screen counts. regions: number of regions; total_area_m2 and
    percent_of_footprint: their extent. centre_lat / centre_lon: image centre (east lon 0–360).
    timings: seconds per stage. peak_rss_mb: the process's peak resident memory (MB) when each
    stage ended (monotone: the first stage reaching the final value set the peak). models: name, architecture, date and weights hash of each model.
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


class _Clock:
    """Wall time per stage, and the process's peak RSS when each stage ended."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.peak_rss: dict[str, float] = {}
        self.start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t0, 3)
            rss = peak_rss_mb()
            if rss is not None:
                self.peak_rss[name] = rss

    def total(self) -> float:
        return round(time.perf_counter() - self.start, 3)


def _card(model: str | Path) -> ModelCard:
    from areoscan.models.registry import load_card

    if str(model).lower().endswith(".onnx"):
        from areoscan.models.export import card_from_onnx

        return card_from_onnx(model)
    return load_card(model)


def _model_info(card: ModelCard) -> dict[str, Any]:
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


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "image"


def scan_image(
    source: str | Path,
    out_dir: str | Path,
    config: ScanConfig | None = None,
    *,
    progress: bool = True,
    cache_dir: Path | None = None,
    **options: Any,
) -> ScanSummary:
    """Scan one HiRISE image (path or http(s) URL) and publish its outputs in ``out_dir/<OBS_ID>/``.

    config: how to scan (:class:`~areoscan.scan.config.ScanConfig`; default: its defaults).
    options: fields of the config to replace (``scan_image(path, out, fast=True)``). progress:
    report stages on stderr. cache_dir: download folder for URLs.
    """
    import rasterio

    from areoscan.errors import ModelError
    from areoscan.io import open_raster
    from areoscan.scan.backends import load_screen, load_segment
    from areoscan.scan.clean import clean_params
    from areoscan.scan.outputs import (
        OutputFolder,
        write_json,
        write_mask_cog,
        write_regions,
        write_salience,
    )
    from areoscan.scan.quicklook import write_quicklook
    from areoscan.scan.regions import clean_group
    from areoscan.scan.screen import screen_image
    from areoscan.scan.segment import plan_bands, segment_groups
    from areoscan.scan.store import GroupStore
    from areoscan.scan.vectorize import Regions, measure_regions
    from areoscan.scan.windows import plan_segmentation

    def say(msg: str) -> None:
        if progress:
            print(f"areoscan scan: {msg}", file=sys.stderr, flush=True)

    cfg = (config or ScanConfig()).with_options(**options)
    cfg.check()
    screen_model, segment_model, threads = cfg.screen_model, cfg.segment_model, cfg.threads
    memory_mb, backend, fast = cfg.memory_mb, cfg.backend, cfg.fast
    from areoscan.io.heap import limit_heap_growth
    from areoscan.scan.backends import resolve_backend

    limit_heap_growth()
    clock = _Clock()
    notes: list[str] = []
    with clock.stage("load_models"):  # exports the models to ONNX once (cached) for onnx/auto
        backend, why = resolve_backend(backend, [screen_model, segment_model])
    if why:
        notes.append(why)
    if backend == "torch" and "torch" not in sys.modules:
        # OpenMP workers sleep instead of spinning while the decoder thread shares the cores (read
        # when torch loads libgomp). 1 Gpx benchmark: screen 19 -> 39 s but prediction 395 -> 324 s,
        # whole scan 475 -> 419 s.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with clock.stage("open"):
        screen_card, seg_card = _card(screen_model), _card(segment_model)
        if screen_card.task != "classification" or seg_card.task != "segmentation":
            raise ModelError(
                f"--screen-model must be a classifier and --segment-model a segmenter; got "
                f"{screen_card.name!r} ({screen_card.task}) and {seg_card.name!r} ({seg_card.task})"
            )
        seg_tile = cfg.segment_tile_px(seg_card.tile_size)
        if cfg.segment_overlap is not None and not 0 <= cfg.segment_overlap < seg_tile:
            raise ModelError(
                f"segment overlap {cfg.segment_overlap} px must be >= 0 and smaller than "
                f"the {seg_tile}-px segment tile"
            )
        raster = open_raster(source, cache_dir=cache_dir, threads=threads)
    with rasterio.Env(GDAL_CACHEMAX=cfg.gdal_cache_mb), raster:
        obs = _safe_name(raster.observation_id or raster.path.stem)
        if raster.georef is None:
            notes.append(
                "image has no georeference (no PDS3 label): outputs are in pixel coordinates"
            )
        shot: LevelChoice = choose_level(raster.scale, raster.levels, screen_card, "screen")
        seg: LevelChoice = choose_level(raster.scale, raster.levels, seg_card, "segment")
        notes += [n for n in (shot.note, seg.note) if n]
        for note in notes:
            say(note)
        say(f"{obs}: {raster.shape[0]} x {raster.shape[1]} px, {raster.levels} levels, "
            f"scale {raster.scale} m/px; screen at level {shot.level}, segment at level {seg.level}")  # fmt: skip
        with OutputFolder(out_dir, obs) as folder:
            with clock.stage("load_models"):
                screener = load_screen(screen_model, backend, threads)
            with clock.stage("screen"):
                scr = screen_image(raster, screener, shot.level, threshold=cfg.screen_threshold,
                                   overlap=cfg.screen_overlap, min_valid=cfg.screen_min_valid,
                                   batch=cfg.screen_batch, memory_mb=memory_mb,
                                   progress=progress)  # fmt: skip
            del screener  # its inference buffers (hundreds of MB) are not needed any more
            n_flag = int(scr.flags.sum())
            if raster.format == "jp2":  # free the screen level's decoder (it holds the codestream)
                raster.close()  # a JP2 raster reopens its decoder on the next read
            say(f"screen: {len(scr.windows)} tiles, {n_flag} flagged (p >= {scr.threshold:g}) "
                f"in {clock.timings['screen']:.1f} s")  # fmt: skip
            regions = Regions()
            parts: list[tuple[Any, Any, Any]] = []
            seg_info: dict[str, Any] = {}
            params = None
            store = None
            if n_flag:
                with clock.stage("load_models"):
                    predictor = load_segment(segment_model, backend, threads)
                scale_seg = raster.scale_at(seg.level) if raster.scale is not None else None
                card_tile = predictor.tile_size
                tile = seg_tile  # checked against the overlap above
                overlap = cfg.segment_overlap_px(card_tile)
                margin = cfg.margin_px(scale_seg, card_tile)
                batch = cfg.segment_batch(card_tile, tile)
                with clock.stage("segment"):
                    plan = plan_segmentation(scr.flagged, shot.level, seg.level,
                                             raster.shape_at(seg.level), tile, overlap,
                                             margin)  # fmt: skip
                    reserved = raster.path.stat().st_size / 2**20 if raster.format == "jp2" else 0
                    bands = plan_bands(plan, memory_mb, reserved_mb=reserved)
                    store = GroupStore(
                        folder.path(".probabilities.u8"), [g.bbox for g in plan.groups]
                    )
                    folder.cleanups.append(store.close)
                    stats = segment_groups(raster, predictor, plan, bands, store, progress=progress,
                                           batch=batch,
                                           refresh_mpx=cfg.decoder_refresh_mpx())  # fmt: skip
                if raster.format == "jp2":
                    raster.close()  # the level-0 decoder's codestream is not needed for cleaning
                seg_info = {**plan.to_dict(), **stats.to_dict()}
                say(f"segment: {stats.tiles} tiles of {tile} px in "
                    f"{len(plan.groups)} groups, {stats.reads} reads, {clock.timings['segment']:.1f} s "
                    f"(decode {stats.decode_s:.1f} s, predict {stats.predict_s:.1f} s)")  # fmt: skip
                threshold = (predictor.threshold if cfg.segment_threshold is None
                             else cfg.segment_threshold)  # fmt: skip
                params = clean_params(scale_seg, threshold, min_area_m2=cfg.min_area_m2,
                                      max_hole_m2=cfg.max_hole_m2, opening_m=cfg.opening_m,
                                      fast=fast)  # fmt: skip
                for group in plan.groups:
                    read_q = partial(store.read, group.index)
                    with clock.stage("clean"):
                        cg = clean_group(store, group.index, params, memory_mb=cfg.clean_memory_mb(),
                                         threads=threads)  # fmt: skip
                    with clock.stage("vectorize"):
                        regions.extend(measure_regions(cg.runs, cg.region, cg.n, read_q,
                                                       seg.level, raster))  # fmt: skip
                    parts.append((group.bbox, read_q, cg.mask_rows))
                regions.renumber()
                say(f"clean: {len(regions)} regions in {clock.timings.get('clean', 0):.1f} s")
            else:
                notes.append("nothing flagged by the screen: not segmented, no mask.tif written")
            with clock.stage("write"):
                outputs = _write_all(folder, raster, scr, shot.level, seg.level, parts, regions,
                                     obs, threads, write_mask_cog, write_salience, write_regions)  # fmt: skip
                _, ql_level = write_quicklook(folder.path("quicklook.png"), raster,
                                              regions.geometries, scr.flagged, shot.level)  # fmt: skip
                outputs.append("quicklook.png")
            if store is not None:
                store.close()
            summary = _summary(raster, obs, source, folder.final, shot, seg, scr, regions, seg_info,
                               params, notes, screen_card, seg_card, fast, threads, memory_mb,
                               backend, cfg.min_area_m2, cfg.margin_m, ql_level)  # fmt: skip
            summary.outputs = [*outputs, "summary.json"]
            summary.timings = {**clock.timings, "total": clock.total()}
            summary.peak_rss_mb = dict(clock.peak_rss)
            write_json(folder.path("summary.json"), summary.to_dict())
            folder.publish()
    say(f"{summary.status}: {summary.regions} regions, {summary.total_area_m2:.0f} m² "
        f"({summary.percent_of_footprint:.2f}% of the footprint) in {summary.timings['total']:.1f} s "
        f"-> {summary.output_dir}")  # fmt: skip
    return summary


def _write_all(folder: Any, raster: Any, scr: Any, screen_level: int, seg_level: int,
               parts: list[Any], regions: Any, obs: str, threads: int, write_mask_cog: Any,
               write_salience: Any, write_regions: Any) -> list[str]:  # fmt: skip
    """Write mask (if segmented), salience and regions into the temporary folder."""
    written = []
    if parts:
        factor = 2 ** max(0, screen_level - seg_level)
        fp = scr.footprint if screen_level >= seg_level else scr.footprint[:: 2 ** (seg_level - screen_level), :: 2 ** (seg_level - screen_level)]  # fmt: skip
        write_mask_cog(folder.path("mask.tif"), raster.shape_at(seg_level),
                       _transform(raster, seg_level), raster.crs, fp, factor, parts,
                       threads=threads)  # fmt: skip
        written.append("mask.tif")
    write_salience(folder.path("salience.tif"), scr.salience(), _transform(raster, screen_level),
                   raster.crs)  # fmt: skip
    write_regions(folder.tmp, regions, raster, obs)
    return [*written, "salience.tif", "regions.gpkg", "regions.geojson"]


def _transform(raster: Any, level: int) -> Any:
    from affine import Affine

    t = raster.transform_at(level)
    return t if t is not None else Affine.scale(2**level)


def _summary(raster: Any, obs: str, source: Any, out: Path, shot: LevelChoice, seg: LevelChoice,
             scr: Any, regions: Any, seg_info: dict[str, Any], params: Any, notes: list[str],
             screen_card: ModelCard, seg_card: ModelCard, fast: bool, threads: int,
             memory_mb: float, backend: str, min_area_m2: float, margin_m: float,
             ql_level: int) -> ScanSummary:  # fmt: skip
    fp_px0 = float(scr.footprint.sum()) * 4.0**shot.level
    coral_px0 = float(sum(r["area_px"] for r in regions.records)) * 4.0**seg.level
    lat = lon = None
    if raster.georef is not None:
        lon, lat = raster.georef.corners_lonlat(raster.shape)["centre"]
    n_flag = int(scr.flags.sum())
    return ScanSummary(
        observation_id=obs,
        status="done" if n_flag else "empty",
        source=str(source),
        output_dir=str(out),
        scale=raster.scale,
        levels={"screen": shot.to_dict(), "segment": seg.to_dict(), "quicklook": ql_level},
        flagged_tiles=n_flag,
        screened_tiles=len(scr.windows),
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
        },
        models={"screen": _model_info(screen_card), "segment": _model_info(seg_card)},
        parameters={
            "fast": fast,
            "threads": threads,
            "memory_mb": memory_mb,
            "backend": backend,
            "screen_threshold": scr.threshold,
            "min_area_m2": min_area_m2,
            "margin_m": margin_m,
            "screen_overlap": scr.overlap,
            "segment_tile": seg_info.get("tile"),
            "clean": params.to_dict() if params is not None else None,
        },
        segment={"screen": scr.to_dict(), **seg_info},
        notes=notes,
    )
