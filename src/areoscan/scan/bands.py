"""Plan the windows the segment stage decodes: *bands* of whole tile rows within a memory budget.

Use :func:`plan_bands` after :func:`areoscan.scan.windows.plan_segmentation` to get the reads
:func:`areoscan.scan.segment.segment_groups` decodes (and the scan's detector reuses): each band
is a few windows whose decoded area fits ``memory_mb``, and the band's final rows are those its
tiles complete, so tiles reaching below them are blended with the next band's. Pure geometry: no
pixels are read here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from areoscan.scan.windows import SegmentPlan
from areoscan.tiling import Window

# Bytes per decoded pixel of a window in flight: OpenJPEG's windowed decode (~22, measured in
# docs/io.md) and its int32 output (4), the raw copy and reused rows (2-4), carried tile parts and
# results (~7). Conservative since blends are kept per column segment
# (:class:`~areoscan.scan.band_blend.BandBlend`), but the windows it gives (5.8 Mpx in the 1 Gpx
# benchmark) are the measured sweet spot for speed.
BAND_BYTES_PER_PX = 37.0


@dataclass
class Read:
    """One window and the tiles predicted from it: ``(group index, tile)`` pairs.

    reuse: rows at the top of the window already decoded by the previous band (the tiles' vertical
    overlap, kept by the reader); only :attr:`decode` is decoded. keep: the columns (start, end)
    whose last rows the reader keeps after this read (None: all of the window's): not those a later
    read of the same band covers, whose own reuse needs the previous band's rows there.
    """

    window: Window
    tiles: list[tuple[int, Window]] = field(default_factory=list)
    reuse: int = 0
    keep: tuple[int, int] | None = None

    @property
    def kept_cols(self) -> tuple[int, int]:
        """(start, end) columns whose last rows the reader keeps after this read."""
        w = self.window
        return self.keep if self.keep is not None else (w.col, w.col + w.width)

    @property
    def decode(self) -> Window:
        """The part of the window that is decoded (below the reused rows)."""
        w = self.window
        return Window(w.row + self.reuse, w.col, w.height - self.reuse, w.width)


@dataclass
class Band:
    """A group of reads whose tiles complete the blend of rows ``final[0]:final[1]``."""

    reads: list[Read]
    final: tuple[int, int]


def _plan_reuse(bands: list[Band], keep: int, width: int) -> None:
    """Set each read's ``reuse``: rows the reader still holds from earlier reads.

    The reader keeps, for every column, the last ``keep`` rows of the last read that covered it
    (:class:`areoscan.scan.segment._Prefetcher`); a read starting inside those rows, over columns
    whose kept rows all end on the same row, decodes only the rows below them.
    """
    ends = np.full(width, -1, dtype=np.int64)  # level row after the kept rows of each column
    kept = np.zeros(width, dtype=np.int64)
    for band in bands:
        for k, read in enumerate(band.reads):
            w = read.window
            cols = slice(w.col, w.col + w.width)
            end = int(ends[w.col])
            if w.row < end < w.row + w.height and (ends[cols] == end).all():
                if (kept[cols] >= end - w.row).all():
                    read.reuse = end - w.row
            # neighbouring chunks of a band share the tiles' overlap: leave those columns to the
            # later read, so that it too finds the previous band's rows there
            later = min((r.window.col for r in band.reads[k + 1 :]), default=w.col + w.width)
            if later < w.col + w.width:
                read.keep = (w.col, max(w.col, later))
            c0, c1 = read.kept_cols
            ends[c0:c1] = w.row + w.height
            kept[c0:c1] = min(keep, w.height)


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
