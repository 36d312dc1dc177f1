"""The detect stage: an object detector over a whole image (or the screen's flagged area), tiled.

Use :func:`detect_stage` when the scan has a detector (``areoscan scan --detector NAME``). The
detector reads the resolution level nearest its card's ``scale_m_per_px`` (the same choice as the
segmenter's, :func:`~areoscan.scan.levels.choose_level`); its tiles are cut at that level so each
covers ``tile_size`` model pixels of ground and are resampled to exactly the training scale (the
card's resize rule) before the network, so a 0.3 m/px level feeds a 0.25 m/px detector at 0.25.
Tiles overlap by :meth:`~areoscan.scan.config.ScanConfig.detect_overlap_px` and are decoded in the
segmenter's memory-bounded bands (:func:`~areoscan.scan.bands.plan_bands`); instances of all tiles
are merged by :func:`~areoscan.scan.instances.merge_instances` (cross-tile NMS per class, truncated
pieces merged) and measured here: class, score, area (m²), centroid lat/lon, box in level-0 pixels
and in map coordinates, outline polygon (the mask's, or the box). With ``detect_gate`` only the
tiles around the screen's flagged tiles are run, as for the segmenter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from areoscan.models.classify import resize_tile
from areoscan.models.predictor import InstanceModel, Instances
from areoscan.scan.bands import Band, plan_bands
from areoscan.scan.instances import Found, merge_instances
from areoscan.scan.screen import Screen
from areoscan.scan.stages import Opened, ScanRun
from areoscan.scan.vectorize import group_transform
from areoscan.scan.windows import SegmentPlan, plan_segmentation
from areoscan.tiling import Window

FIELDS = (
    "detection_id",
    "class_id",
    "class_name",
    "score",
    "area_m2",
    "centroid_lat",
    "centroid_lon",
    "row0",
    "col0",
    "row1",
    "col1",
    "x_min",
    "y_min",
    "x_max",
    "y_max",
    "truncated",
)


@dataclass
class Detections:
    """The detect stage's result: ``records`` (dicts keyed by :data:`FIELDS`) and outlines.

    geometries: shapely polygons in the image CRS (level-0 pixels without a georeference).
    ``row0 … col1``: level-0 pixel box (end exclusive); ``x_min … y_max``: the box in map
    coordinates (metres; level-0 pixels without a georeference); ``centroid_lon``: east 0–360°.
    info: how the stage ran (level, tile, overlap, tiles, merge counts, timings) for the summary.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    geometries: list[Any] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        """Columns of detections.gpkg / .geojson."""
        return FIELDS

    def __len__(self) -> int:
        return len(self.records)

    def per_class(self) -> dict[str, int]:
        """Detections per class name."""
        out: dict[str, int] = {}
        for rec in self.records:
            out[rec["class_name"]] = out.get(rec["class_name"], 0) + 1
        return out


def detect_plan(opened: Opened, screened: Screen, run: ScanRun, model_tile: int) -> SegmentPlan:
    """Tiles of the detect level: the whole level, or around the flagged tiles (``detect_gate``)."""
    cfg, raster = run.config, opened.raster
    assert opened.detect_level is not None
    level = opened.detect_level.level
    shape = raster.shape_at(level)
    zoom = detect_zoom(opened)
    tile = max(8, round(model_tile / zoom))
    overlap = min(tile - 1, round(cfg.detect_overlap_px(model_tile) / zoom))
    if cfg.detect_gate:
        scale = raster.scale_at(level) if raster.scale is not None else None
        margin = cfg.margin_px(scale, tile)
        return plan_segmentation(screened.flagged, screened.level, level, shape, tile, overlap,
                                 margin)  # fmt: skip
    whole = [Window(0, 0, shape[0], shape[1])]
    return plan_segmentation(whole, level, level, shape, tile, overlap, 0)


def detect_zoom(opened: Opened) -> float:
    """Model pixels per detect-level pixel (1 when the image or the card has no scale)."""
    card, choice = opened.detect_card, opened.detect_level
    if card is None or choice is None or choice.scale is None or not card.scale_m_per_px:
        return 1.0
    return float(choice.scale) / float(card.scale_m_per_px)


def detect_stage(
    opened: Opened, screened: Screen, model: InstanceModel, run: ScanRun
) -> Detections:
    """Run ``model`` over the planned tiles, merge across tiles, measure; see the module docstring."""
    cfg, raster, clock = run.config, opened.raster, run.clock
    assert opened.detect_level is not None and opened.detect_card is not None
    level, model_tile = opened.detect_level.level, int(model.tile_size)
    min_score = model.threshold if cfg.detect_min_score is None else cfg.detect_min_score
    with clock.stage("detect"):
        plan = detect_plan(opened, screened, run, model_tile)
        reserved = raster.path.stat().st_size / 2**20 if raster.format == "jp2" else 0
        bands = plan_bands(plan, cfg.memory_mb, reserved_mb=reserved, prefetch=False)
        found, timing = _run_tiles(opened, plan, bands, model, run, min_score)
        merged = merge_instances(found, cfg.detect_nms_iou, cfg.detect_merge_ios)
    if raster.format == "jp2":
        raster.close()
    with clock.stage("vectorize"):
        out = measure_detections(merged.found, opened, model.classes, level)
    out.info = {
        "level": level,
        "scale_m_per_px": opened.detect_level.scale,
        "zoom": round(detect_zoom(opened), 6),
        "tile": plan.tile,
        "model_tile": model_tile,
        "overlap": plan.overlap,
        "gated": cfg.detect_gate,
        "tiles": sum(len(g.tiles) for g in plan.groups),
        "min_score": min_score,
        "nms_iou": cfg.detect_nms_iou,
        "raw_instances": len(found),
        "suppressed": merged.suppressed,
        "pieces_merged": merged.pieces_merged,
        "classes": out.per_class(),
        **timing,
    }
    run.say(f"detect: {out.info['tiles']} tiles of {plan.tile} px at level {level}, "
            f"{len(found)} instances -> {len(out)} detections ({merged.suppressed} duplicates, "
            f"{merged.pieces_merged} pieces merged) in {clock.timings['detect']:.1f} s")  # fmt: skip
    return out


def _run_tiles(opened: Opened, plan: SegmentPlan, bands: list[Band], model: InstanceModel,
               run: ScanRun, min_score: float) -> tuple[Found, dict[str, float]]:  # fmt: skip
    """Decode each band's windows, detect on batches of tiles; instances in level px.

    Tiles wholly in no data (a HiRISE image's margins, up to a third of its grid) are skipped.
    """
    from areoscan.progress import progress_bar

    raster, cfg = opened.raster, run.config
    shape, tile = plan.shape, plan.tile
    scale = np.float32(1.0 / (2 ** int(raster.bit_depth) - 1))
    refresh, since = cfg.decoder_refresh_mpx() * 1_000_000, 0
    found, index = Found(), 0
    timing = {"decode_s": 0.0, "predict_s": 0.0, "empty_tiles": 0.0, "reads": 0.0}
    bar = progress_bar(total=sum(len(g.tiles) for g in plan.groups), desc=f"detect L{plan.level}",
                       unit="tile", enabled=run.progress)  # fmt: skip
    try:
        for read in (r for band in bands for r in band.reads):
            if since >= refresh and raster.format == "jp2":
                raster.close()  # OpenJPEG keeps ~1 B per decoded px until reopened
                since = 0
            t0 = time.perf_counter()
            win = read.window
            data = np.asarray(raster.read_raw(plan.level, win.as_tuple()))
            since += win.height * win.width
            timing["decode_s"] += time.perf_counter() - t0
            timing["reads"] += 1
            tiles = [t for _, t in read.tiles if not _no_data(data, t, win, raster.nodata)]
            timing["empty_tiles"] += len(read.tiles) - len(tiles)
            bar.update(len(read.tiles) - len(tiles))
            for i in range(0, len(tiles), cfg.detect_batch):
                chunk = tiles[i : i + cfg.detect_batch]
                batch = np.stack([_tile_input(data, t, win, tile, raster.nodata, scale)
                                  for t in chunk])  # fmt: skip
                t0 = time.perf_counter()
                results = _detect(model, batch, tile)
                timing["predict_s"] += time.perf_counter() - t0
                for t, inst in zip(chunk, results, strict=True):
                    found.add(inst, t, index, shape, min_score)
                    index += 1
                bar.update(len(chunk))
    finally:
        bar.close()
    timing["empty_tiles"], timing["reads"] = int(timing["empty_tiles"]), int(timing["reads"])
    return found, {k: round(v, 3) for k, v in timing.items()}


def _no_data(data: np.ndarray, t: Window, win: Window, nodata: int | None) -> bool:
    """True when every pixel of tile ``t`` is no data (a HiRISE margin): not worth a detector call."""
    if nodata is None:
        return False
    rows = slice(t.row - win.row, t.row - win.row + t.height)
    return bool((data[rows, t.col - win.col : t.col - win.col + t.width] == nodata).all())


def _tile_input(data: np.ndarray, t: Window, win: Window, tile: int, nodata: int | None,
                scale: np.float32) -> np.ndarray:  # fmt: skip
    """A ``(tile, tile)`` float32 input in [0, 1]: the tile's pixels, no data and padding 0."""
    raw = data[
        t.row - win.row : t.row - win.row + t.height, t.col - win.col : t.col - win.col + t.width
    ]
    x = np.zeros((tile, tile), dtype=np.float32)
    x[: t.height, : t.width] = raw * scale
    if nodata is not None:
        x[: t.height, : t.width][raw == nodata] = 0.0
    return x


def _detect(model: InstanceModel, batch: np.ndarray, tile: int) -> list[Instances]:
    """``model.detect`` on tiles resampled to its own tile size; results back in tile px."""
    side = int(model.tile_size)
    if side == tile:
        return model.detect(batch[:, None])
    rule = getattr(getattr(model, "card", None), "resize", None) or "bilinear"
    x = np.stack([resize_tile(b, side, rule) for b in batch])[:, None]
    k = tile / side
    out = []
    for inst in model.detect(x):
        masks = None
        if inst.masks is not None and len(inst):
            masks = np.stack([_resize_mask(m, tile) for m in inst.masks])
        out.append(Instances(np.asarray(inst.boxes, np.float32) * np.float32(k), inst.scores,
                             inst.labels, masks))  # fmt: skip
    return out


def _resize_mask(mask: np.ndarray, side: int) -> np.ndarray:
    """A bool mask resized (nearest) to ``(side, side)``."""
    from PIL import Image

    im = Image.fromarray(np.asarray(mask, dtype=np.uint8) * 255)
    return np.asarray(im.resize((side, side), Image.Resampling.NEAREST)) > 127


def measure_detections(found: Found, opened: Opened, classes: list[str], level: int) -> Detections:
    """Records and outlines of merged instances (level px) in the image's coordinates."""
    import shapely
    from rasterio.features import shapes
    from shapely.geometry import shape as to_shape

    raster = opened.raster
    georef = raster.georef
    t = group_transform(raster, level, Window(0, 0, 1, 1))
    px_area = abs(t.a * t.e - t.b * t.d)
    f = 2**level
    h0, w0 = raster.shape
    out = Detections()
    for k in range(len(found)):
        x0, y0, x1, y1 = (float(v) for v in found.boxes[k])
        mask = found.masks[k]
        if mask is not None:
            r, c = found.origins[k]
            tm = group_transform(raster, level, Window(r, c, *mask.shape))
            parts = [to_shape(g) for g, _ in shapes(mask.view(np.uint8), mask=mask,
                                                    connectivity=4, transform=tm)]  # fmt: skip
            geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
            rows, cols = np.nonzero(mask)
            cy, cx = float(rows.mean()) + r, float(cols.mean()) + c
            area = float(mask.sum())
        else:
            corners = [t @ xy for xy in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
            geom = shapely.Polygon(corners)
            cy, cx = (y0 + y1) / 2 - 0.5, (x0 + x1) / 2 - 0.5  # pixel-centre indices
            area = (x1 - x0) * (y1 - y0)
        (ax, ay), (bx, by) = t @ (x0, y0), t @ (x1, y1)
        lat = lon = None
        if georef is not None:
            lon, lat = (
                float(v) for v in georef.pixel_to_lonlat(cy, cx, lon_range=360, level=level)
            )
        label = int(found.labels[k])
        out.geometries.append(geom)
        out.records.append({
            "detection_id": k + 1,
            "class_id": label,
            "class_name": classes[label] if 0 <= label < len(classes) else str(label),
            "score": round(float(found.scores[k]), 6),
            "area_m2": area * px_area if georef is not None else None,
            "centroid_lat": lat,
            "centroid_lon": lon,
            "row0": int(np.floor(y0 * f)),
            "col0": int(np.floor(x0 * f)),
            "row1": int(min(h0, np.ceil(y1 * f))),
            "col1": int(min(w0, np.ceil(x1 * f))),
            "x_min": min(ax, bx),
            "y_min": min(ay, by),
            "x_max": max(ax, bx),
            "y_max": max(ay, by),
            "truncated": int(found.truncated[k] > 0),
        })  # fmt: skip
    return out
