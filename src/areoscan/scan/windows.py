"""From flagged screen tiles to the segmenter's tiles: where the expensive model runs.

Use :func:`plan_segmentation` after the screen. Each flagged tile is mapped to the segment level and
grown by a margin; the segmenter's tiles are the tiles of one regular, overlapping
:class:`~areoscan.tiling.TileGrid` over the whole segment level whose *cells* (the tile minus half
of each overlap) meet a grown flagged tile — the fewest tiles that predict every flagged pixel at
least half an overlap away from a tile edge.
Selected tiles that overlap form a :class:`TileGroup` (a connected patch of tiles): regions can
never cross from one group to another, so each group is blended, cleaned and vectorised on its own
bounding box — the image is never held whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from areoscan.tiling import TileGrid, Window, window_between_levels


@dataclass
class TileGroup:
    """A connected set of segment tiles.

    index: group number (0-based); bbox: bounding window of the tiles at the segment level;
    tiles: the tiles (segment-level windows, row-major).
    """

    index: int
    bbox: Window
    tiles: list[Window] = field(default_factory=list)


def union_area(windows: list[Window]) -> int:
    """Pixels inside at least one of ``windows``, without rasterising them.

    The rectangles' edges cut the plane into a coarse grid of cells (a few hundred per axis for a
    tile grid); cells inside a rectangle are marked and their areas summed. On the 1 Gpx benchmark
    this replaced gigapixel boolean masks that took 2.9 s of the scan.
    """
    if not windows:
        return 0
    rows = np.unique([v for w in windows for v in (w.row, w.row + w.height)])
    cols = np.unique([v for w in windows for v in (w.col, w.col + w.width)])
    marked = np.zeros((len(rows) - 1, len(cols) - 1), dtype=bool)
    for w in windows:
        r0, r1 = np.searchsorted(rows, [w.row, w.row + w.height])
        c0, c1 = np.searchsorted(cols, [w.col, w.col + w.width])
        marked[r0:r1, c0:c1] = True
    return int(np.diff(rows) @ marked.astype(np.int64) @ np.diff(cols))


@dataclass
class SegmentPlan:
    """Where and how the segmenter runs.

    level / shape: segment level and its (h, w); tile / overlap: tile side and overlap (px);
    margin: growth of each flagged tile (px at the segment level); groups: the tile groups.
    """

    level: int
    shape: tuple[int, int]
    tile: int
    overlap: int
    margin: int
    groups: list[TileGroup]

    @property
    def tiles(self) -> list[Window]:
        """All selected tiles, row-major."""
        return sorted(t for g in self.groups for t in g.tiles)

    @property
    def covered_px(self) -> int:
        """Pixels inside at least one selected tile (area of the union of the tiles)."""
        return union_area(self.tiles)

    def to_dict(self) -> dict[str, Any]:
        """Counts for the summary."""
        covered = self.covered_px
        return {
            "level": self.level,
            "tile": self.tile,
            "overlap": self.overlap,
            "margin_px": self.margin,
            "tiles": sum(len(g.tiles) for g in self.groups),
            "groups": len(self.groups),
            "segmented_px": covered,
            "segmented_fraction": covered / max(1, self.shape[0] * self.shape[1]),
        }


def grow_flagged(
    flagged: list[Window],
    screen_level: int,
    level: int,
    shape: tuple[int, int],
    margin: int,
) -> list[Window]:
    """Flagged screen tiles as segment-level windows grown by ``margin`` px, clipped to ``shape``."""
    full = Window(0, 0, shape[0], shape[1])
    out = []
    for w in flagged:
        m = window_between_levels(w, screen_level, level)
        grown = Window(m.row - margin, m.col - margin, m.height + 2 * margin, m.width + 2 * margin)
        clipped = grown.intersect(full)
        if clipped is not None:
            out.append(clipped)
    return out


def _cell_hits(
    starts: np.ndarray, size: int, length: int, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """(n_starts, n_rects) bool: the *cell* of tile i meets the interval [lo, hi).

    Cells split each overlap between consecutive tiles at its middle, so they partition the axis
    and every pixel of a cell lies at least half an overlap inside its tile (except at the image
    edges): selecting the tiles whose cells meet an area covers the area with context.
    """
    bounds = np.empty(len(starts) + 1, dtype=np.float64)
    bounds[0], bounds[-1] = 0, length
    bounds[1:-1] = (starts[:-1] + size + starts[1:]) / 2.0
    return (bounds[:-1, None] < hi[None, :]) & (bounds[1:, None] > lo[None, :])


def plan_segmentation(
    flagged: list[Window],
    screen_level: int,
    level: int,
    shape: tuple[int, int],
    tile: int = 512,
    overlap: int = 128,
    margin: int = 128,
) -> SegmentPlan:
    """Select the segment-level tiles whose cells meet the flagged area and group them.

    flagged: flagged tiles at ``screen_level``; level / shape: segment level and its (h, w);
    tile / overlap: the segmenter's tile grid (overlap about the network's receptive field, so
    every pixel is predicted away from a tile edge at least once); margin: px added around each
    flagged tile, so that a patch only partly flagged is still segmented whole.
    """
    grid = TileGrid(shape, tile, overlap)
    wins = grid.windows()
    th, tw = wins[0].height, wins[0].width
    rows = np.array(sorted({w.row for w in wins}), dtype=np.int64)
    cols = np.array(sorted({w.col for w in wins}), dtype=np.int64)
    rects = grow_flagged(flagged, screen_level, level, shape, margin)
    if not rects:
        return SegmentPlan(level, shape, tile, overlap, margin, [])
    r0 = np.array([r.row for r in rects], dtype=np.int64)
    c0 = np.array([r.col for r in rects], dtype=np.int64)
    r1 = r0 + np.array([r.height for r in rects], dtype=np.int64)
    c1 = c0 + np.array([r.width for r in rects], dtype=np.int64)
    row_hit = _cell_hits(rows, th, shape[0], r0, r1).astype(np.float32)
    col_hit = _cell_hits(cols, tw, shape[1], c0, c1).astype(np.float32)
    selected = (row_hit @ col_hit.T) > 0  # (n_rows, n_cols): some rect meets the cell of (i, j)
    # neighbouring grid tiles overlap (or touch when overlap == 0): 8-connected patches of tiles
    labels, n = ndi.label(selected, structure=np.ones((3, 3), dtype=bool))
    groups: list[TileGroup] = []
    for g, sl in enumerate(ndi.find_objects(labels)):
        if sl is None:
            continue
        ii, jj = np.nonzero(labels[sl] == g + 1)
        ii, jj = ii + sl[0].start, jj + sl[1].start
        tiles = [Window(int(rows[i]), int(cols[j]), th, tw) for i, j in zip(ii, jj, strict=True)]
        top, left = int(rows[ii].min()), int(cols[jj].min())
        bottom, right = int(rows[ii].max()) + th, int(cols[jj].max()) + tw
        groups.append(TileGroup(len(groups), Window(top, left, bottom - top, right - left), tiles))
    return SegmentPlan(level, shape, tile, overlap, margin, groups)
