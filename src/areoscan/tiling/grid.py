"""Regular tile grids over an image at one resolution level, and mapping windows between levels.

Use :class:`TileGrid` wherever a stage walks an image (or a region of it) in square tiles: the
screen walks the screen level with no overlap; the segmenter walks flagged windows at level 0 with
an overlap of about the network's receptive field and blends the tiles with
:func:`areoscan.tiling.blend.blend_weights`. Windows are ``(row, col, height, width)`` in the
pixel coordinates of the level the grid was made for.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from areoscan.io.window import Window

__all__ = ["TileGrid", "Window", "level_for_scale", "window_between_levels"]


def _starts(origin: int, length: int, tile: int, stride: int) -> list[int]:
    """Tile start offsets covering ``[origin, origin+length)``; the last tile is snapped inward."""
    if length <= tile:
        return [origin]
    n = math.ceil((length - tile) / stride) + 1
    starts = [origin + i * stride for i in range(n)]
    starts[-1] = origin + length - tile
    return sorted(set(starts))


class TileGrid:
    """Square tiles of ``tile`` px with ``overlap`` px shared between neighbours.

    Every tile lies inside the level (the last row/column of tiles is shifted inward rather than
    padded), so all tiles have full size whenever the region is at least one tile big; a region
    smaller than a tile yields one tile clipped to the region. When to use which overlap: 0 for
    classification (each pixel judged once); about a quarter of the tile for segmentation, so that
    every pixel is predicted away from a tile edge at least once.

    Args:
        shape: ``(height, width)`` of the level.
        tile: tile side in pixels.
        overlap: pixels shared by neighbouring tiles (``0 <= overlap < tile``).
        region: optional window restricting the grid (clipped to ``shape``).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        tile: int,
        overlap: int = 0,
        region: Window | None = None,
    ) -> None:
        if tile <= 0:
            raise ValueError(f"tile must be positive, got {tile}")
        if not 0 <= overlap < tile:
            raise ValueError(f"overlap must be in [0, tile), got {overlap} for tile {tile}")
        self.shape = (int(shape[0]), int(shape[1]))
        self.tile = int(tile)
        self.overlap = int(overlap)
        full = Window(0, 0, self.shape[0], self.shape[1])
        self.region = full if region is None else region.intersect(full)

    @property
    def stride(self) -> int:
        """Distance between consecutive tile origins."""
        return self.tile - self.overlap

    def windows(self) -> list[Window]:
        """All tiles, row-major."""
        if self.region is None:
            return []
        reg = self.region
        rows = _starts(reg.row, reg.height, self.tile, self.stride)
        cols = _starts(reg.col, reg.width, self.tile, self.stride)
        h, w = min(self.tile, reg.height), min(self.tile, reg.width)
        return [Window(r, c, h, w) for r in rows for c in cols]

    def __iter__(self) -> Iterator[Window]:
        return iter(self.windows())

    def __len__(self) -> int:
        return len(self.windows())

    def inside(self, footprint: np.ndarray, min_fraction: float = 0.5) -> list[Window]:
        """Tiles whose fraction of valid (True) footprint pixels is at least ``min_fraction``.

        Use to skip tiles over no data; ``footprint`` is a boolean array of this level's shape.
        Vectorised with an integral image, so it costs O(pixels) however many tiles there are.
        """
        if footprint.shape != self.shape:
            raise ValueError(f"footprint shape {footprint.shape} != grid shape {self.shape}")
        integral = np.zeros((self.shape[0] + 1, self.shape[1] + 1), dtype=np.int64)
        integral[1:, 1:] = np.cumsum(np.cumsum(footprint, axis=0, dtype=np.int64), axis=1)
        kept = []
        for win in self.windows():
            r0, c0 = win.row, win.col
            r1, c1 = r0 + win.height, c0 + win.width
            valid = integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]
            if valid >= min_fraction * win.height * win.width:
                kept.append(win)
        return kept


def window_between_levels(win: Window, from_level: int, to_level: int) -> Window:
    """Map a window from one resolution level to another, rounding outward.

    Level ``k`` has ``ceil(n / 2**k)`` pixels along an axis of ``n``; pixel ``i`` at level ``k``
    covers level-0 pixels ``[i * 2**k, (i+1) * 2**k)``. The result is not clipped: clip it with
    :meth:`Window.intersect` against the target level's extent.
    """
    if from_level == to_level:
        return win
    if to_level < from_level:
        f = 2 ** (from_level - to_level)
        return Window(win.row * f, win.col * f, win.height * f, win.width * f)
    f = 2 ** (to_level - from_level)
    r0, c0 = win.row // f, win.col // f
    r1 = -(-(win.row + win.height) // f)
    c1 = -(-(win.col + win.width) // f)
    return Window(r0, c0, r1 - r0, c1 - c0)


def level_for_scale(image_scale: float, target_scale: float, levels: int) -> tuple[int, float]:
    """The resolution level whose pixel size is nearest (in log scale) to ``target_scale``.

    Use to pick the screen / segment level from a model card's training scale (m/px) and an
    image's map scale: a 0.5 m/px image is read one level finer than a 0.25 m/px one. Returns the
    level (clamped to ``0..levels-1``) and the scale actually obtained, so callers can report when
    it differs from the target.
    """
    if image_scale <= 0 or target_scale <= 0:
        raise ValueError("scales must be positive")
    level = round(math.log2(target_scale / image_scale))
    level = min(max(level, 0), max(levels - 1, 0))
    return level, image_scale * 2**level
