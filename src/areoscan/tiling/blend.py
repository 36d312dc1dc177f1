"""Smooth blending of overlapping tile predictions into one seamless map.

Use :class:`Blender` when tiles predicted with overlap (see :class:`areoscan.tiling.grid.TileGrid`)
must be merged: each tile is weighted by :func:`blend_weights`, which falls smoothly towards the
tile edges (where a network sees least context), so neighbouring tiles hand over without seams.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from areoscan.io.window import Window


def blend_weights(height: int, width: int | None = None, floor: float = 1e-3) -> np.ndarray:
    """A separable raised-cosine (Hann-like) weight, 1 at the centre, ``floor`` at the edges.

    The floor keeps every pixel's weight positive so that image borders, covered by one tile only,
    still receive a prediction.
    """
    width = height if width is None else width

    def ramp(n: int) -> np.ndarray:
        if n == 1:
            return np.ones(1, dtype=np.float32)
        x = (np.arange(n, dtype=np.float64) + 0.5) / n
        return np.maximum(np.sin(np.pi * x) ** 2, floor).astype(np.float32)

    return np.outer(ramp(height), ramp(width)).astype(np.float32)


@lru_cache(maxsize=32)
def tile_weights(height: int, width: int) -> np.ndarray:
    """:func:`blend_weights` of a ``height × width`` tile, computed once per size (read-only).

    Use it wherever tiles of a few sizes are weighted many times (every band of a scan).
    """
    w = blend_weights(height, width)
    w.flags.writeable = False
    return w


class Blender:
    """Accumulates weighted tile predictions over a region and returns their weighted mean.

    Args:
        region: the window (in level pixel coordinates) the output covers; tiles may extend
            beyond it and are clipped.
        channels: number of values per pixel (1 for a binary probability, C for class scores).
    """

    def __init__(self, region: Window, channels: int = 1) -> None:
        self.region = region
        self.channels = channels
        self._sum = np.zeros((channels, region.height, region.width), dtype=np.float32)
        self._weight = np.zeros((region.height, region.width), dtype=np.float32)

    def add(self, win: Window, values: np.ndarray, weight: np.ndarray | None = None) -> None:
        """Add one tile's prediction: ``values`` is ``(C, h, w)`` or ``(h, w)`` for ``win``.

        weight: the tile's weights for ``win`` (default :func:`tile_weights` of its size); give the
        matching rows of the whole tile's :func:`tile_weights` when adding part of a tile.
        """
        if values.ndim == 2:
            values = values[None]
        if weight is None:
            weight = tile_weights(win.height, win.width)
        part = win.intersect(self.region)
        if part is None:
            return
        src = (
            slice(part.row - win.row, part.row - win.row + part.height),
            slice(part.col - win.col, part.col - win.col + part.width),
        )
        dst = (
            slice(part.row - self.region.row, part.row - self.region.row + part.height),
            slice(part.col - self.region.col, part.col - self.region.col + part.width),
        )
        self._sum[(slice(None), *dst)] += values[(slice(None), *src)] * weight[src]
        self._weight[dst] += weight[src]

    def covered(self, cols: slice = slice(None)) -> np.ndarray:
        """Boolean map of the pixels that received at least one tile (of columns ``cols``)."""
        return self._weight[:, cols] > 0

    def result(self, cols: slice = slice(None)) -> np.ndarray:
        """Weighted mean ``(C, h, w)`` (of columns ``cols``); pixels no tile covered are 0."""
        weight = self._weight[None, :, cols]
        out = np.zeros(self._sum[:, :, cols].shape, dtype=self._sum.dtype)
        np.divide(self._sum[:, :, cols], weight, out=out, where=weight > 0)
        return out
