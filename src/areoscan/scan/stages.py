"""The scan's stages: open → screen → plan → predict → clean → vectorise (→ publish, in ``publish``).

Use these through :func:`areoscan.scan.scan_image`, or one at a time (tests, notebooks): each stage
is a function taking the typed results of the stages before it and returning its own
(:class:`Opened`, :class:`~areoscan.scan.screen.Screen`, :class:`Planned`, :class:`Predicted`,
:class:`Cleaned`, :class:`~areoscan.scan.vectorize.Regions`); every setting comes from the
:class:`~areoscan.scan.config.ScanConfig` in :class:`ScanRun`. Models are loaded by the caller and
handed in, so a stage never decides which model kind it runs on.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from areoscan.errors import ModelError
from areoscan.io.raster import Raster
from areoscan.io.window import WindowLike
from areoscan.models.card import ModelCard
from areoscan.models.predictor import TILE_TASK_MODULES, PixelModel
from areoscan.scan.bands import Band, plan_bands
from areoscan.scan.clean import CleanParams, clean_params
from areoscan.scan.config import ScanConfig
from areoscan.scan.levels import LevelChoice, choose_level
from areoscan.scan.quant import LEVELS
from areoscan.scan.regions import CleanedGroup, clean_group
from areoscan.scan.scale import align_levels, apply_scale_policy
from areoscan.scan.screen import Screen, TileScreen, screen_image
from areoscan.scan.segment import SegmentStats, segment_groups
from areoscan.scan.store import ClassStores, GroupStore
from areoscan.scan.summary import StageClock
from areoscan.scan.vectorize import Regions, measure_regions
from areoscan.scan.windows import SegmentPlan, plan_segmentation


@dataclass
class ScanRun:
    """What every stage may use: the config, the clock timing the stages, progress on stderr."""

    config: ScanConfig = field(default_factory=ScanConfig)
    clock: StageClock = field(default_factory=StageClock)
    progress: bool = False

    def say(self, msg: str) -> None:
        """One progress line on stderr (when ``progress``)."""
        if self.progress:
            print(f"areoscan scan: {msg}", file=sys.stderr, flush=True)


@dataclass
class Opened:
    """The open stage's result: the image (not yet decoded) and the models' cards and levels.

    backend: the inference backend resolved from the config's (``auto`` → onnx or torch).
    screen_level / segment_level: the resolution level each model reads. notes: what was unusual.
    """

    raster: Raster
    observation_id: str
    source: str
    backend: str
    screen_card: ModelCard
    segment_card: ModelCard
    screen_level: LevelChoice
    segment_level: LevelChoice
    notes: list[str] = field(default_factory=list)
    scale_policy: dict[str, Any] = field(default_factory=dict)  # scan/scale.py's decision
    detect_card: ModelCard | None = None  # the detector's (config.detector), if any
    detect_level: LevelChoice | None = None


@dataclass
class Planned:
    """The plan stage's result: the segment tiles and groups, the bands they are decoded in.

    batch: tiles per inference call; scale: m/px of the segment level (None without a map scale).
    """

    plan: SegmentPlan
    bands: list[Band]
    batch: int
    scale: float | None


@dataclass
class Predicted:
    """The predict stage's result: blended one-byte probabilities per group, one store per class.

    stores: one :class:`GroupStore` per foreground class (one for a binary model: the positive
    class's probability; else class c's probability where c is the argmax, 0 elsewhere).
    threshold: the model's own decision threshold (the card's; the config may override it).
    classes: the model's class names (index = output channel; channel 0 is the background when
    there are more than two).
    """

    planned: Planned
    stores: list[GroupStore]
    stats: SegmentStats
    threshold: float
    classes: list[str] = field(default_factory=lambda: ["background", "positive"])

    @property
    def store(self) -> GroupStore:
        """The first (for a binary model: the only) class's store."""
        return self.stores[0]

    @property
    def multiclass(self) -> bool:
        """True for a model with more than two classes (class raster, per-class polygons)."""
        return len(self.classes) > 2

    def close(self) -> None:
        """Delete the stores' work files."""
        for store in self.stores:
            store.close()


@dataclass
class Cleaned:
    """The clean stage's result: kept runs and region ids of each group, per foreground class.

    by_class[c]: the groups cleaned from ``predicted.stores[c]``; params: the rules applied.
    """

    predicted: Predicted
    params: CleanParams
    by_class: list[list[CleanedGroup]]

    @property
    def groups(self) -> list[CleanedGroup]:
        """The first (for a binary model: the only) class's cleaned groups."""
        return self.by_class[0]


def _card(model: str | Path) -> ModelCard:
    from areoscan.models.registry import load_card

    if str(model).lower().endswith(".onnx"):
        from areoscan.models.export import card_from_onnx

        return card_from_onnx(model)
    return load_card(model)


def safe_name(text: str) -> str:
    """A folder name made of ``text`` (the observation id, or the file's stem)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "image"


def _load_cards(cfg: ScanConfig) -> tuple[ModelCard, ModelCard, int]:
    """(screen card, segment card, segment tile); ModelError for the wrong kinds or overlap."""
    screen_card, seg_card = _card(cfg.screen_model), _card(cfg.segment_model)
    if screen_card.task != "classification" or seg_card.task not in TILE_TASK_MODULES:
        raise ModelError(
            f"--screen-model must be a classifier and --segment-model a segmenter "
            f"({' or '.join(sorted(TILE_TASK_MODULES))} model); got "
            f"{screen_card.name!r} ({screen_card.task}) and {seg_card.name!r} ({seg_card.task})"
        )
    seg_tile = cfg.segment_tile_px(seg_card.tile_size)
    if cfg.segment_overlap is not None and not 0 <= cfg.segment_overlap < seg_tile:
        raise ModelError(
            f"segment overlap {cfg.segment_overlap} px must be >= 0 and smaller than "
            f"the {seg_tile}-px segment tile"
        )
    return screen_card, seg_card, seg_tile


def _detect_card(cfg: ScanConfig) -> ModelCard | None:
    """The detector's card (None without one); ModelError when it is not a detector."""
    if cfg.detector is None:
        return None
    card = _card(cfg.detector)
    if card.task != "detection":
        raise ModelError(f"--detector {cfg.detector}: {card.name!r} is a {card.task} model, "
                         "not a detector")  # fmt: skip
    return card


def open_stage(
    source: str | Path, run: ScanRun, cache_dir: Path | None = None, max_bytes: int | None = None
) -> Opened:
    """Resolve the backend, read the model cards, open the image and choose each model's level.

    The raster is open but nothing is decoded; use it as a context manager (it closes the image).
    cache_dir / max_bytes: for a URL, where its bytes go and the most it may take (whole or by
    the packet).
    """
    from areoscan.io import open_raster
    from areoscan.scan.backends import resolve_backend

    cfg, clock = run.config, run.clock
    notes: list[str] = []
    with clock.stage("load_models"):  # exports the models to ONNX once (cached) for onnx/auto
        backend, why = resolve_backend(cfg.backend, [cfg.screen_model, cfg.segment_model])
    if why:
        notes.append(why)
    if backend == "torch" and "torch" not in sys.modules:
        # OpenMP workers sleep instead of spinning while the decoder thread shares the cores (read
        # when torch loads libgomp). 1 Gpx benchmark: screen 19 -> 39 s but prediction 395 -> 324 s,
        # whole scan 475 -> 419 s.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with clock.stage("open"):
        screen_card, seg_card, _ = _load_cards(cfg)
        det_card = _detect_card(cfg)
        raster = open_raster(source, cache_dir=cache_dir, threads=cfg.threads, band=cfg.band,
                             max_bytes=max_bytes)  # fmt: skip
    obs = safe_name(raster.observation_id or raster.path.stem)
    if raster.georef is None:
        notes.append("image has no georeference (no PDS3 label): outputs are in pixel coordinates")
    try:
        cards = [screen_card, seg_card] + ([det_card] if det_card is not None else [])
        scaling = apply_scale_policy(raster, cards)  # ScaleError if too coarse
        scaling = align_levels(raster, seg_card, cfg.level_tolerance, scaling)
        notes += [scaling.note] if scaling.note else []
        tol = cfg.level_tolerance
        shot = choose_level(raster.scale, raster.levels, screen_card, "screen", tol)
        seg = choose_level(raster.scale, raster.levels, seg_card, "segment", tol)
        det = None if det_card is None else choose_level(raster.scale, raster.levels, det_card,
                                                         "detect", tol)  # fmt: skip
    except BaseException:
        raster.close()
        raise
    notes += [n for n in (shot.note, seg.note, det.note if det else None) if n]
    for note in notes:
        run.say(note)
    run.say(f"{obs}: {raster.shape[0]} x {raster.shape[1]} px, {raster.levels} levels, "
            f"scale {raster.scale} m/px; screen at level {shot.level}, segment at level {seg.level}")  # fmt: skip
    return Opened(raster, obs, str(source), backend, screen_card, seg_card, shot, seg, notes,
                  scaling.to_dict(), det_card, det)  # fmt: skip


def screen_stage(opened: Opened, screener: TileScreen, run: ScanRun) -> Screen:
    """Classify every tile of the screen level; the flagged ones are segmented next."""
    cfg, raster = run.config, opened.raster
    with run.clock.stage("screen"):
        raster.prefetch(opened.screen_level.level)  # remote by the packet: this level only
        scr = screen_image(raster, screener, opened.screen_level.level,
                           threshold=cfg.screen_threshold, overlap=cfg.screen_overlap,
                           min_valid=cfg.screen_min_valid, batch=cfg.screen_batch,
                           memory_mb=cfg.memory_mb, progress=run.progress)  # fmt: skip
    if raster.format == "jp2":  # free the screen level's decoder (it holds the codestream)
        raster.close()  # a JP2 raster reopens its decoder on the next read
    run.say(f"screen: {len(scr.windows)} tiles, {int(scr.flags.sum())} flagged "
            f"(p >= {scr.threshold:g}) in {run.clock.timings['screen']:.1f} s")  # fmt: skip
    return scr


def plan_stage(opened: Opened, screened: Screen, run: ScanRun) -> Planned:
    """The segment tiles around the flagged screen tiles, grouped, in bands that fit the budget."""
    cfg, raster, level = run.config, opened.raster, opened.segment_level.level
    card_tile = int(opened.segment_card.tile_size)
    tile = cfg.segment_tile_px(card_tile)
    scale = raster.scale_at(level) if raster.scale is not None else None
    with run.clock.stage("segment"):
        plan = plan_segmentation(screened.flagged, screened.level, level, raster.shape_at(level),
                                 tile, cfg.segment_overlap_px(card_tile),
                                 cfg.margin_px(scale, card_tile))  # fmt: skip
        # the decoder holds the compressed file: the whole of it, or (by the packet) at most as much
        reserved = raster.bytes_total / 2**20 if raster.format == "jp2" else 0
        bands = plan_bands(plan, cfg.memory_mb, reserved_mb=reserved)
    return Planned(plan, bands, cfg.segment_batch(card_tile, tile), scale)


def class_store_count(classes: list[str]) -> int:
    """Stores a model needs: 1 for two classes (one sigmoid output), else one per foreground class."""
    return 1 if len(classes) <= 2 else len(classes) - 1


def predict_stage(opened: Opened, planned: Planned, predictor: PixelModel,
                  stores: list[GroupStore], run: ScanRun) -> Predicted:  # fmt: skip
    """Run the tile model on the planned tiles; blended probabilities go into ``stores``.

    stores: :func:`class_store_count` stores over the plan's group boxes.
    """
    raster, plan = opened.raster, planned.plan
    store = stores[0] if len(stores) == 1 else ClassStores(stores)
    with run.clock.stage("segment"):
        # remote by the packet: the precincts of the reads only (the whole level without them)
        reads: list[WindowLike] = [r.decode for band in planned.bands for r in band.reads]
        raster.prefetch(opened.segment_level.level, reads)
        stats = segment_groups(raster, predictor, plan, planned.bands, store,
                               progress=run.progress, batch=planned.batch,
                               refresh_mpx=run.config.decoder_refresh_mpx())  # fmt: skip
    if raster.format == "jp2":
        raster.close()  # the level-0 decoder's codestream is not needed for cleaning
    run.say(f"segment: {stats.tiles} tiles of {plan.tile} px in "
            f"{len(plan.groups)} groups, {stats.reads} reads, {run.clock.timings['segment']:.1f} s "
            f"(decode {stats.decode_s:.1f} s, predict {stats.predict_s:.1f} s)")  # fmt: skip
    return Predicted(planned, stores, stats, predictor.threshold, list(predictor.classes))


def clean_stage(predicted: Predicted, run: ScanRun) -> Cleaned:
    """Threshold, open, fill holes and drop small regions, group by group (class by class).

    A multi-class model's pixel belongs to its argmax class (the threshold is then the smallest
    code: every pixel its class won), so the classes never overlap.
    """
    cfg = run.config
    threshold = predicted.threshold if cfg.segment_threshold is None else cfg.segment_threshold
    if predicted.multiclass:
        threshold = 1.0 / LEVELS
    params = clean_params(predicted.planned.scale, threshold, min_area_m2=cfg.min_area_m2,
                          max_hole_m2=cfg.max_hole_m2, opening_m=cfg.opening_m,
                          fast=cfg.fast)  # fmt: skip
    by_class: list[list[CleanedGroup]] = []
    for store in predicted.stores:
        by_class.append([])
        for group in predicted.planned.plan.groups:
            with run.clock.stage("clean"):
                by_class[-1].append(clean_group(store, group.index, params,
                                                memory_mb=cfg.clean_memory_mb(),
                                                threads=cfg.threads))  # fmt: skip
    return Cleaned(predicted, params, by_class)


def vectorise_stage(opened: Opened, cleaned: Cleaned, run: ScanRun) -> Regions:
    """Polygons and measurements of the cleaned regions, numbered largest first."""
    predicted, level = cleaned.predicted, opened.segment_level.level
    regions = Regions()
    for k, (store, groups) in enumerate(zip(predicted.stores, cleaned.by_class, strict=True)):
        for cg in groups:
            with run.clock.stage("vectorize"):
                found = measure_regions(cg.runs, cg.region, cg.n, partial(store.read, cg.index),
                                        level, opened.raster)  # fmt: skip
            if predicted.multiclass:
                for rec in found.records:
                    rec.update(class_id=k + 1, class_name=predicted.classes[k + 1])
            regions.extend(found)
    regions.renumber()
    run.say(f"clean: {len(regions)} regions in {run.clock.timings.get('clean', 0):.1f} s")
    return regions
