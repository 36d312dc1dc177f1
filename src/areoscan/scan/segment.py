"""Segment the selected tiles at full resolution, band by band, within a memory budget.

Use :func:`segment_groups` after :func:`areoscan.scan.windows.plan_segmentation` and
:func:`areoscan.scan.bands.plan_bands`, which cut the selected tiles into horizontal *bands* whose
decoded area fits ``memory_mb``. Each band is decoded with one window read per band (only the
columns its tiles need), its tiles are predicted in batches, and every tile is blended with smooth
weights (:class:`~areoscan.scan.band_blend.BandBlend`) into the rows the band completes. Tiles
reaching below those rows are carried into the next band, so overlapping tiles blend across band
edges exactly as if the image had been segmented in one piece, without seams and without ever
predicting a tile twice.
Results go, per :class:`~areoscan.scan.windows.TileGroup`, into a disk-backed
:class:`~areoscan.scan.store.GroupStore` as one-byte probabilities (:mod:`areoscan.scan.quant`);
pixels whose input is no data are marked as such.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from areoscan.progress import progress_bar
from areoscan.scan.band_blend import BandBlend, Part, rows_below
from areoscan.scan.bands import Band, Read
from areoscan.scan.store import ClassStores, GroupStore
from areoscan.scan.windows import SegmentPlan
from areoscan.tiling import Window
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


# Width of the column segments a band's blend is kept in (see
# :class:`~areoscan.scan.band_blend.BandBlend`).
BLEND_SEGMENT_PX = 2048


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
    carry: list[Part] = []
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
            blend = BandBlend(groups, Window(f0, 0, f1 - f0, width), store, carry, BLEND_SEGMENT_PX)
            t0 = time.perf_counter()
            carry = [rows_below(c, f1) for c in carry if c[1].row + c[1].height > f1]
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
                            carry.append(rows_below(whole, f1))
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
    each read are kept (``keep`` × ``width`` raw samples; over :attr:`Read.kept_cols`) for the
    reads that reuse them (:attr:`Read.reuse`).
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
            c0, c1 = read.kept_cols
            self.tail[self.keep - k :, c0:c1] = data[-k:, c0 - win.col : c1 - win.col]
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
