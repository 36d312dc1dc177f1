"""Segment the selected tiles at full resolution, band by band, within a memory budget.

Use :func:`segment_groups` after :func:`areoscan.scan.windows.plan_segmentation`. The selected tiles
are cut into horizontal *bands* (:func:`plan_bands`) whose decoded area fits ``memory_mb``; each
band is decoded with one window read per band (only the columns its tiles need), its tiles are
predicted in batches, and every tile is blended with smooth weights
(:class:`~areoscan.tiling.Blender`) into the rows the band completes. Tiles reaching below those
rows are carried into the next band, so overlapping tiles blend across band edges exactly as if the
image had been segmented in one piece, without seams and without ever predicting a tile twice.
Results go, per :class:`~areoscan.scan.windows.TileGroup`, into a disk-backed
:class:`~areoscan.scan.store.GroupStore` as one-byte probabilities (:mod:`areoscan.scan.quant`);
pixels whose input is no data are marked as such.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from areoscan.progress import progress_bar
from areoscan.scan.quant import NO_VALUE, NODATA, quantise
from areoscan.scan.store import ClassStores, GroupStore
from areoscan.scan.windows import SegmentPlan
from areoscan.tiling import Blender, Window
from areoscan.tiling.blend import tile_weights


class LevelReader(Protocol):
    """What the segment stage reads from an image (:class:`areoscan.io.Raster` is one)."""

    @property
    def bit_depth(self) -> int:
        """Significant bits per sample (raw / (2**bit_depth - 1) is what the models read)."""
        ...

    @property
    def nodata(self) -> int | None:
        """Raw value of no-data pixels, if any."""
        ...

    def read_raw(self, level: int = 0, window: Any = None) -> np.ndarray:
        """Raw samples of a ``(row, col, height, width)`` window of a resolution level."""
        ...

    def close(self) -> None:
        """Free the decoder (a JPEG2000 raster reopens it on the next read)."""
        ...


class SegmentPredictorFn(Protocol):
    """Per-pixel probabilities of a batch of tiles (float32 (N, 1, H, W) in [0, 1] → (N, K, H, W)).

    Channel 0 is the positive class of a binary segmenter.
    """

    def __call__(self, tiles: np.ndarray) -> np.ndarray: ...


# Bytes per decoded pixel of a window in flight: OpenJPEG's windowed decode (~22, measured in
# docs/io.md) and its int32 output (4), the raw copy and reused rows (2-4), carried tile parts and
# results (~7). Conservative since blends are kept per column segment (:class:`_BandBlend`), but the
# windows it gives (5.8 Mpx in the 1 Gpx benchmark) are the measured sweet spot for speed.
BAND_BYTES_PER_PX = 37.0
# Width of the column segments a band's blend is kept in (see :class:`_BandBlend`).
BLEND_SEGMENT_PX = 2048


@dataclass
class Read:
    """One window and the tiles predicted from it: ``(group index, tile)`` pairs.

    reuse: rows at the top of the window already decoded by the previous band (the tiles' vertical
    overlap, kept by the reader); only :attr:`decode` is decoded.
    """

    window: Window
    tiles: list[tuple[int, Window]] = field(default_factory=list)
    reuse: int = 0

    @property
    def decode(self) -> Window:
        """The part of the window that is decoded (below the reused rows)."""
        w = self.window
        return Window(w.row + self.reuse, w.col, w.height - self.reuse, w.width)


def _plan_reuse(bands: list[Band], keep: int, width: int) -> None:
    """Set each read's ``reuse``: rows the reader still holds from earlier reads.

    The reader keeps, for every column, the last ``keep`` rows of the last read that covered it
    (:class:`_Prefetcher`); a read starting inside those rows, over columns whose kept rows all
    end on the same row, decodes only the rows below them.
    """
    ends = np.full(width, -1, dtype=np.int64)  # level row after the kept rows of each column
    kept = np.zeros(width, dtype=np.int64)
    for band in bands:
        for read in band.reads:
            w = read.window
            cols = slice(w.col, w.col + w.width)
            end = int(ends[w.col])
            if w.row < end < w.row + w.height and (ends[cols] == end).all():
                if (kept[cols] >= end - w.row).all():
                    read.reuse = end - w.row
            ends[cols] = w.row + w.height
            kept[cols] = min(keep, w.height)


@dataclass
class Band:
    """A group of reads whose tiles complete the blend of rows ``final[0]:final[1]``."""

    reads: list[Read]
    final: tuple[int, int]


def _bbox(tiles: list[tuple[int, Window]]) -> Window:
    r0 = min(t.row for _, t in tiles)
    c0 = min(t.col for _, t in tiles)
    r1 = max(t.row + t.height for _, t in tiles)
    c1 = max(t.col + t.width for _, t in tiles)
    return Window(r0, c0, r1 - r0, c1 - c0)


def _column_clusters(tiles: list[tuple[int, Window]], gap: int) -> list[list[tuple[int, Window]]]:
    """Split tiles into runs along the columns separated by more than ``gap`` px of no tile."""
    runs: list[list[tuple[int, Window]]] = []
    right = None
    for gt in sorted(tiles, key=lambda gt: (gt[1].col, gt[1].row)):
        t = gt[1]
        if right is None or t.col > right + gap:
            runs.append([])
            right = t.col + t.width
        runs[-1].append(gt)
        right = max(right, t.col + t.width)
    return runs


def _chunks(tiles: list[tuple[int, Window]], budget_px: float) -> list[Read]:
    """Reads covering ``tiles`` (one tile row), each within ``budget_px`` (at least one tile)."""
    reads: list[Read] = []
    chunk: list[tuple[int, Window]] = []
    for gt in sorted(tiles, key=lambda gt: gt[1].col):
        b = _bbox([*chunk, gt])
        if chunk and b.height * b.width > budget_px:
            reads.append(Read(_bbox(chunk), chunk))
            chunk = []
        chunk.append(gt)
    reads.append(Read(_bbox(chunk), chunk))
    return reads


def plan_bands(
    plan: SegmentPlan,
    memory_mb: float = 1024,
    reserved_mb: float = 0.0,
    bytes_per_px: float = BAND_BYTES_PER_PX,
    gap: int | None = None,
    prefetch: bool = True,
    max_read_px: float | None = None,
) -> list[Band]:
    """Cut the plan's tiles into bands of whole tile rows whose decoded area fits the budget.

    Consecutive overlapping tile rows join one band while the band's decoded area fits
    ``memory_mb - reserved_mb`` (reserved: what the decoder needs whatever the window — a JPEG2000
    decoder holds the whole compressed tile); rows with no selected tile are never decoded. Within
    a band, runs of tiles separated by more than ``gap`` px (default: two tiles) are read as
    separate windows. A single tile row wider than the budget is read in column chunks; the budget
    is never cut below one tile. prefetch: two windows are in flight (see :func:`segment_groups`),
    so each gets half the budget. max_read_px: no window larger than this (at least one tile).
    OpenJPEG needs ~26 bytes per pixel while it decodes, but small windows cost speed: on the 1 Gpx
    benchmark, 3 Mpx windows instead of 5.5 Mpx took 57 MB off the peak and added 11 % wall time.
    """
    gap = 2 * plan.tile if gap is None else gap
    by_row: dict[int, list[tuple[int, Window]]] = {}
    for g in plan.groups:
        for t in g.tiles:
            by_row.setdefault(t.row, []).append((g.index, t))
    budget_px = max(0.0, (memory_mb - reserved_mb) * 2**20 / bytes_per_px / (2 if prefetch else 1))
    if max_read_px is not None:
        budget_px = min(budget_px, max_read_px)
    budget_px = max(budget_px, float(plan.tile * plan.tile))

    def area(tiles: list[tuple[int, Window]]) -> int:
        boxes = [_bbox(run) for run in _column_clusters(tiles, gap)]
        return sum(b.height * b.width for b in boxes)

    groups_of_rows: list[list[tuple[int, Window]]] = []
    for r in sorted(by_row):
        row_tiles = by_row[r]
        if groups_of_rows:
            last = groups_of_rows[-1]
            touches = r <= max(t.row + t.height for _, t in last)
            if touches and area(last + row_tiles) <= budget_px:
                last.extend(row_tiles)
                continue
        groups_of_rows.append(list(row_tiles))
    out: list[Band] = []
    height = plan.shape[0]
    for k, tiles in enumerate(groups_of_rows):
        reads: list[Read] = []
        for run in _column_clusters(tiles, gap):
            box = _bbox(run)
            reads += (
                _chunks(run, budget_px) if box.height * box.width > budget_px else [Read(box, run)]
            )
        start = 0 if k == 0 else out[-1].final[1]
        end = (
            height if k == len(groups_of_rows) - 1 else min(t.row for _, t in groups_of_rows[k + 1])
        )
        out.append(Band(reads, (start, end)))
    _plan_reuse(out, plan.overlap, plan.shape[1])
    return out


@dataclass
class SegmentStats:
    """Where the segment stage spent its time, and how much it decoded."""

    decode_s: float = 0.0
    predict_s: float = 0.0
    blend_s: float = 0.0
    reads: int = 0
    decoded_px: int = 0
    tiles: int = 0
    bands: int = 0

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready copy."""
        return dict(self.__dict__)


def segment_groups(
    raster: LevelReader,
    predictor: SegmentPredictorFn,
    plan: SegmentPlan,
    bands: list[Band],
    store: GroupStore | ClassStores,
    *,
    batch: int = 8,
    progress: bool = False,
    prefetch: bool = True,
    refresh_mpx: int = 128,
) -> SegmentStats:
    """Write blended one-byte probabilities of each group into ``store``; return timing figures.

    predictor: callable ``(N, 1, H, W) float32 -> (N, K, H, W)`` probabilities (channel 0 is the
    positive class), e.g. :func:`areoscan.models.segmenters.load_segmenter`. prefetch: decode the
    next window in a background thread while the current one is predicted (two windows in flight:
    plan the bands with ``prefetch=True`` too). ``decode_s`` then counts only the time spent
    waiting for the decoder. refresh_mpx: reopen a JPEG2000 decoder after this many decoded
    megapixels (it retains about a byte per decoded pixel).
    """
    groups = plan.groups
    width = plan.shape[1]
    stats = SegmentStats(bands=len(bands))
    carry: list[_Part] = []
    bar = progress_bar(total=sum(len(g.tiles) for g in groups), desc=f"segment L{plan.level}",
                       unit="tile", enabled=progress)  # fmt: skip
    all_reads = [r for b in bands for r in b.reads]
    reads = _Prefetcher(raster, plan.level, all_reads, prefetch, refresh_mpx * 1_000_000,
                        keep=plan.overlap, width=width)  # fmt: skip
    scale = np.float32(1.0 / (2 ** int(raster.bit_depth) - 1))
    raw_nodata = raster.nodata
    try:
        for band in bands:
            f0, f1 = band.final
            blend = _BandBlend(
                groups, Window(f0, 0, f1 - f0, width), store, carry, BLEND_SEGMENT_PX
            )
            t0 = time.perf_counter()
            carry = [_rows_below(c, f1) for c in carry if c[1].row + c[1].height > f1]
            stats.blend_s += time.perf_counter() - t0
            for k, read in enumerate(band.reads):
                t0 = time.perf_counter()
                data = reads.next()
                stats.decode_s += time.perf_counter() - t0
                stats.reads += 1
                stats.decoded_px += read.decode.height * read.decode.width
                for i in range(0, len(read.tiles), batch):
                    chunk = read.tiles[i : i + batch]
                    tiles = [data[_rel(t, read.window)] for _, t in chunk]
                    t0 = time.perf_counter()
                    probs = _predict(predictor, tiles, scale)
                    stats.predict_s += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    for (gi, tile), x, p in zip(chunk, tiles, probs, strict=True):
                        if raw_nodata is not None:
                            p[..., x == raw_nodata] = np.nan
                        blend.add(gi, tile, p)
                        if tile.row + tile.height > f1:  # keep only what the next bands need
                            whole = (gi, tile, p, tile_weights(tile.height, tile.width))
                            carry.append(_rows_below(whole, f1))
                    stats.blend_s += time.perf_counter() - t0
                    stats.tiles += len(chunk)
                    bar.update(len(chunk))
                del data
                t0 = time.perf_counter()
                later = band.reads[k + 1 :]
                blend.flush(min((t.col for r in later for _, t in r.tiles), default=None))
                stats.blend_s += time.perf_counter() - t0
    finally:
        reads.close()
        bar.close()
    return stats


class _Prefetcher:
    """Decode the reads' windows in order, one ahead in a background thread (if ``enabled``).

    OpenJPEG's windowed decode keeps about one core busy; decoding the next window while the
    network predicts the current one uses the second core. Only the worker thread ever decodes, one
    window at a time, so the raster's decoder is never used concurrently. The last ``keep`` rows of
    each read are kept (``keep`` × ``width`` raw samples) for the reads that reuse them
    (:attr:`Read.reuse`).
    """

    def __init__(self, raster: LevelReader, level: int, reads: list[Read], enabled: bool,
                 refresh_px: int, keep: int = 0, width: int = 0) -> None:  # fmt: skip
        from concurrent.futures import ThreadPoolExecutor

        self.raster, self.level, self.reads = raster, level, reads
        self.pool = ThreadPoolExecutor(max_workers=1) if enabled else None
        self.refresh_px, self.since_refresh = refresh_px, 0
        self.keep = keep
        # per column, the last `keep` rows of the last read over it (last row = tail[-1])
        self.tail = np.zeros((keep, width), dtype=np.uint16) if keep and width else None
        self.i = 0
        self.pending: Any = None
        self._submit()

    def _read(self, read: Read) -> np.ndarray:
        if self.since_refresh >= self.refresh_px and getattr(self.raster, "format", "") == "jp2":
            # OpenJPEG keeps per-code-block state of every window decoded (~1 B/px measured);
            # reopening the decoder (~0.3 s) returns it
            self.raster.close()
            self.since_refresh = 0
        win, dec = read.window, read.decode
        self.since_refresh += dec.height * dec.width
        new = np.asarray(self.raster.read_raw(self.level, dec.as_tuple()))
        if self.tail is not None and self.tail.dtype != new.dtype:
            self.tail = self.tail.astype(new.dtype)
        data = new
        if read.reuse:  # rows win.row .. win.row + reuse are the last rows kept for these columns
            assert self.tail is not None
            top = self.tail[self.keep - read.reuse :, win.col : win.col + win.width]
            data = np.concatenate([top, new])
        if self.tail is not None:  # keep the last rows, aligned on the tail's last row
            k = min(self.keep, win.height)
            self.tail[self.keep - k :, win.col : win.col + win.width] = data[-k:]
        return data

    def _submit(self) -> None:
        if self.pool is not None and self.i < len(self.reads):
            self.pending = self.pool.submit(self._read, self.reads[self.i])

    def next(self) -> np.ndarray:
        """The next read's raw samples (uint16 / uint8: a third of float32's memory)."""
        if self.pool is None:
            data = self._read(self.reads[self.i])
            self.i += 1
            return data
        data = self.pending.result()
        self.i += 1
        self._submit()
        return data

    def close(self) -> None:
        """Wait for a decode in flight and stop the thread."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


# a tile (or its lower rows) waiting to be blended: group, window, probabilities, weights
_Part = tuple[int, Window, np.ndarray, np.ndarray]


def _rows_below(part: _Part, row: int) -> _Part:
    """The rows of a tile part from level row ``row`` down (probabilities copied, so the rest of
    the tile is freed; weights are views of :func:`tile_weights`)."""
    gi, win, prob, weight = part
    k = max(0, row - win.row)
    rows = Window(win.row + k, win.col, win.height - k, win.width)
    return gi, rows, prob[..., k:, :].copy(), weight[k:]


class _BandBlend:
    """The blends of one band's final rows, kept per group in column segments of ``seg_px``.

    Tiles (and the parts of tiles carried from the band above, added lazily) are blended into the
    segments they touch; :meth:`flush` writes and frees every segment left of the next read's first
    tile. Only a few segments are ever alive, not the band's whole width (40,000 px x 384 rows of
    float32 sums and weights would be 123 MB).
    """

    def __init__(self, groups: list[Any], rows: Window, store: GroupStore | ClassStores,
                 carry: list[_Part],
                 seg_px: int = 2048) -> None:  # fmt: skip
        self.groups, self.rows, self.store, self.seg_px = groups, rows, store, seg_px
        self.carry = deque(sorted(carry, key=lambda c: c[1].col))  # popped (freed) once added
        self.segments: dict[tuple[int, int], Blender] = {}

    def add(
        self, gi: int, tile: Window, prob: np.ndarray, weight: np.ndarray | None = None
    ) -> None:
        """Blend a tile into group ``gi``'s segments of the band's final rows it touches."""
        region = self.groups[gi].bbox.intersect(self.rows)
        if region is None or tile.intersect(region) is None:
            return
        s = self.seg_px
        for k in range(tile.col // s, (tile.col + tile.width - 1) // s + 1):
            key = (gi, k)
            if key not in self.segments:
                part = region.intersect(Window(region.row, k * s, region.height, s))
                if part is None or part.intersect(tile) is None:
                    continue
                self.segments[key] = Blender(part, channels=1 if prob.ndim == 2 else len(prob))
            self.segments[key].add(tile, prob, weight)

    def flush(self, col: int | None) -> None:
        """Finish every segment ending at or left of level column ``col`` (None: all of them)."""
        edge = np.inf if col is None else col
        while self.carry and self.carry[0][1].col < edge:
            self.add(*self.carry.popleft())
        for key in sorted(self.segments):
            blender = self.segments[key]
            if blender.region.col + blender.region.width <= edge:
                self.store.write(key[0], blender.region, _codes(blender))
                del self.segments[key]


def _rel(tile: Window, base: Window) -> tuple[slice, slice]:
    """Slices of ``tile`` inside an array holding ``base``."""
    r, c = tile.row - base.row, tile.col - base.col
    return slice(r, r + tile.height), slice(c, c + tile.width)


def _predict(
    predictor: SegmentPredictorFn, tiles: list[np.ndarray], scale: np.float32
) -> list[np.ndarray]:
    """Probabilities per raw tile (``raw × scale`` is what the model reads: DN / (2^bits − 1)):
    ``(H, W)`` of the positive class for one output, ``(K, H, W)`` for K classes; equal shapes are
    batched together."""
    out: list[np.ndarray | None] = [None] * len(tiles)
    shapes: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(tiles):
        shapes.setdefault(t.shape, []).append(i)
    for idx in shapes.values():
        x = np.stack([tiles[i] for i in idx])[:, None].astype(np.float32)
        x *= scale
        p = np.asarray(predictor(x), dtype=np.float32)
        for k, i in enumerate(idx):
            out[i] = np.array(p[k, 0] if p.shape[1] == 1 else p[k], dtype=np.float32, copy=True)
    return [p for p in out if p is not None]


def _codes(blender: Blender, chunk_px: int = 1 << 21) -> np.ndarray:
    """One-byte codes of a finished blend (no value where uncovered, NODATA where input was).

    One channel: ``(h, w)`` codes of the positive class. K channels (channel 0 = background):
    ``(K - 1, h, w)``, class c's probability where c is the pixel's argmax, else 0. Computed a few
    columns at a time, so the float temporaries stay small however wide the band.
    """
    h, w, k = blender.region.height, blender.region.width, blender.channels
    codes = np.empty((max(1, k - 1), h, w), dtype=np.uint8)
    step = max(1, chunk_px // max(1, h * k))
    for c in range(0, w, step):
        cols = slice(c, min(w, c + step))
        res = blender.result(cols)
        nodata, uncovered = np.isnan(res[0]), ~blender.covered(cols)
        with np.errstate(invalid="ignore"):
            parts = quantise(res) if k == 1 else _argmax_codes(res)
        for part in parts:  # NaN (no data) casts to an arbitrary code, overwritten here
            part[nodata] = NODATA
            part[uncovered] = NO_VALUE
        codes[:, :, cols] = parts
    return codes[0] if k == 1 else codes


def _argmax_codes(res: np.ndarray) -> np.ndarray:
    """``(K - 1, h, w)`` codes: class c's probability where c is the argmax of ``res``, else 0."""
    best = np.nan_to_num(res, nan=0.0).argmax(axis=0)
    q = quantise(res[1:])
    q[best[None] != np.arange(1, len(res))[:, None, None]] = 0
    return q
