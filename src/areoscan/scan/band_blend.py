"""Blend one band's tiles into its final rows, segment by segment, and store them as one-byte codes.

Use :class:`BandBlend` inside the segment stage (:func:`areoscan.scan.segment.segment_groups`): it
keeps a band's blend per group in column segments, so only a few segments of float sums are alive
at once however wide the image, and writes each finished segment to the
:class:`~areoscan.scan.store.GroupStore` as one-byte probabilities (:mod:`areoscan.scan.quant`),
with no-data and uncovered pixels marked. Tiles reaching below the band travel to the next band
as :data:`Part` (:func:`rows_below`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from areoscan.scan.quant import NO_VALUE, NODATA, quantise
from areoscan.scan.store import ClassStores, GroupStore
from areoscan.scan.windows import TileGroup
from areoscan.tiling import Blender, Window

# a tile (or its lower rows) waiting to be blended: group, window, probabilities, weights
Part = tuple[int, Window, np.ndarray, np.ndarray]


def rows_below(part: Part, row: int) -> Part:
    """The rows of a tile part from level row ``row`` down (probabilities copied, so the rest of
    the tile is freed; weights are views of :func:`areoscan.tiling.blend.tile_weights`)."""
    gi, win, prob, weight = part
    k = max(0, row - win.row)
    rows = Window(win.row + k, win.col, win.height - k, win.width)
    return gi, rows, prob[..., k:, :].copy(), weight[k:]


class BandBlend:
    """The blends of one band's final rows, kept per group in column segments of ``seg_px``.

    Tiles (and the parts of tiles carried from the band above, added lazily) are blended into the
    segments they touch; :meth:`flush` writes and frees every segment left of the next read's first
    tile. Only a few segments are ever alive, not the band's whole width (40,000 px x 384 rows of
    float32 sums and weights would be 123 MB).
    """

    def __init__(self, groups: list[TileGroup], rows: Window, store: GroupStore | ClassStores,
                 carry: list[Part], seg_px: int) -> None:  # fmt: skip
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
