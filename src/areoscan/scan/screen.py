"""The screen: classify every tile of a low resolution level into a brain-coral probability map.

Use :func:`screen_image` first on every image: it decodes the screen level once (in memory-bounded
bands), classifies each tile inside the footprint with the screening classifier
(:class:`TileScreen`) and returns a :class:`Screen` — per-tile probabilities, the flagged tiles
(probability at or above the threshold) and the footprint — from which
:mod:`areoscan.scan.windows` decides where the expensive segmenter runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from areoscan.errors import ModelError
from areoscan.models.card import ModelCard
from areoscan.models.predictor import Predictor, positive_index
from areoscan.progress import progress_bar
from areoscan.tiling import TileGrid, Window

if TYPE_CHECKING:
    from areoscan.io.raster import Raster

SALIENCE_NODATA = 255


class TileScreen:
    """Positive-class probability for batches of tiles, from a classification model.

    The screen's view of a :class:`~areoscan.models.predictor.Predictor` (no padding: a classifier
    pools over the whole tile).

    Args:
        model: shipped model name, model directory, ``.json`` or ``.onnx`` path.
        backend: ``"torch"`` or ``"onnx"`` (onnxruntime; about 2× faster on a CPU).
    """

    def __init__(self, model: str | Path, backend: str = "torch") -> None:
        from areoscan.models.export import make_runner

        runner, card = make_runner(model, backend)
        if card.task != "classification":
            raise ModelError(
                f"{model}: model {card.name!r} is a {card.task} model; the screen needs a classifier"
            )
        self.card: ModelCard = card
        self.predictor = Predictor(runner, card, backend, pad_multiple=1)
        self.positive = positive_index(card)

    @property
    def tile_size(self) -> int:
        """Tile side the classifier was trained on."""
        return self.predictor.tile_size

    @property
    def threshold(self) -> float:
        """The card's decision threshold on the positive class (0.5 when the card has none)."""
        return self.predictor.threshold

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        """``(N,)`` float32 probabilities of the positive class for ``(N, S, S)`` tiles in [0, 1]."""
        p = self.predictor(np.asarray(tiles, dtype=np.float32)[:, None])
        return p[:, 0] if p.shape[1] == 1 else p[:, self.positive]


@dataclass
class Screen:
    """Result of the screen at one level.

    level: resolution level screened; shape: that level's (h, w); tile: tile side (px at level).
    windows: the classified tiles (inside the footprint); probs: their positive probabilities.
    threshold: decision threshold used; footprint: bool map of valid pixels at ``level``.
    """

    level: int
    shape: tuple[int, int]
    tile: int
    windows: list[Window]
    probs: np.ndarray
    threshold: float
    footprint: np.ndarray
    overlap: float = 0.0

    @property
    def flags(self) -> np.ndarray:
        """Boolean per classified tile: probability at or above the threshold."""
        return self.probs >= self.threshold

    @property
    def flagged(self) -> list[Window]:
        """The flagged tiles (screen-level windows)."""
        return [w for w, f in zip(self.windows, self.flags, strict=True) if f]

    def salience(self) -> np.ndarray:
        """uint8 map at the screen level: tile probability in percent (0–100), 255 off-footprint.

        Pixels of the footprint in tiles that were not classified (mostly no data) read 0.
        """
        out = np.zeros(self.shape, dtype=np.uint8)
        order = np.argsort(self.probs, kind="stable")  # higher probabilities painted last
        for i in order:
            out[self.windows[i].slices] = np.uint8(round(float(self.probs[i]) * 100))
        out[~self.footprint] = SALIENCE_NODATA
        return out

    def to_dict(self) -> dict[str, Any]:
        """Counts for the summary."""
        return {
            "level": self.level,
            "tile": self.tile,
            "tiles": len(self.windows),
            "overlap": self.overlap,
            "flagged_tiles": int(self.flags.sum()),
            "threshold": self.threshold,
            "max_probability": float(self.probs.max()) if len(self.probs) else 0.0,
        }


def nodata_value(raster: Raster) -> float | None:
    """The float value :meth:`Raster.read` gives no-data pixels (computed the same way), or None."""
    if raster.nodata is None:
        return None
    scale = np.float32(1.0 / (2**raster.bit_depth - 1))
    return float(np.float32(raster.nodata) * scale)


def read_level_raw(raster: Raster, level: int, memory_mb: float) -> np.ndarray:
    """The whole level as raw integers, decoded in full-width bands that fit ``memory_mb``."""
    from areoscan.io.strips import plan_strips

    h, w = raster.shape_at(level)
    reserved = raster.path.stat().st_size / 2**20 if raster.format == "jp2" else 0.0
    try:
        plan = plan_strips(h, w, memory_mb, bytes_per_px=24.0, reserved_mb=reserved)
    except ValueError:  # budget smaller than the compressed tile: go row band by row band anyway
        plan = plan_strips(h, w, rows=max(64, min(h, 1024)))
    out: np.ndarray | None = None
    for r0, r1, _c0, _c1 in plan:
        band = raster.read_raw(level, (r0, 0, r1 - r0, w))
        if out is None:
            out = np.empty((h, w), dtype=band.dtype)
        out[r0:r1] = band
    assert out is not None
    return out


def valid_fraction(footprint: np.ndarray, windows: list[Window]) -> np.ndarray:
    """Fraction of footprint pixels in each window, one tile row at a time.

    Same result as :meth:`TileGrid.inside`'s test, with O(width) extra memory instead of an int64
    integral image of the whole level (16 bytes per pixel: 1 GB at level 2 of a 1 Gpx image).
    """
    out = np.zeros(len(windows), dtype=np.float64)
    by_row: dict[tuple[int, int], list[int]] = {}
    for i, w in enumerate(windows):
        by_row.setdefault((w.row, w.height), []).append(i)
    for (row, height), idx in by_row.items():
        cols = np.zeros(footprint.shape[1] + 1, dtype=np.int64)
        np.cumsum(footprint[row : row + height].sum(axis=0), out=cols[1:])
        for i in idx:
            w = windows[i]
            out[i] = (cols[w.col + w.width] - cols[w.col]) / (w.height * w.width)
    return out


def screen_image(
    raster: Raster,
    screen: TileScreen,
    level: int,
    *,
    threshold: float | None = None,
    memory_mb: float = 1024,
    min_valid: float = 0.25,
    overlap: float = 0.0,
    batch: int = 64,
    progress: bool = False,
) -> Screen:
    """Classify every tile of ``level`` with at least ``min_valid`` of its pixels in the footprint.

    overlap: fraction of a tile shared with its neighbours (0 = the reference's disjoint tiles;
    0.5 = four times as many tiles, so that a patch smaller than a tile is seen nearly whole by one
    of them — screens trained on mostly-coral tiles miss patches cut by tile edges). The last
    row/column of tiles is shifted inward so none is padded; pixels outside the footprint are 0,
    which the classifier's first layer ignores. ``threshold`` overrides the model card's.
    """
    raw = read_level_raw(raster, level, memory_mb)
    footprint = (
        raw != raster.nodata if raster.nodata is not None else np.ones(raw.shape, dtype=bool)
    )
    tile = screen.tile_size
    grid = TileGrid(raw.shape, tile, int(tile * overlap))
    every = grid.windows()
    windows = [
        w for w, f in zip(every, valid_fraction(footprint, every), strict=True) if f >= min_valid
    ]
    scale = np.float32(1.0 / (2**raster.bit_depth - 1))
    probs = np.zeros(len(windows), dtype=np.float32)
    starts = range(0, len(windows), batch)
    for i in progress_bar(starts, desc=f"screen L{level}", unit="batch", enabled=progress):
        chunk = windows[i : i + batch]
        tiles = np.zeros((len(chunk), tile, tile), dtype=np.float32)
        for k, win in enumerate(chunk):
            part = raw[win.slices]
            tiles[k, : part.shape[0], : part.shape[1]] = part.astype(np.float32) * scale
            tiles[k, : part.shape[0], : part.shape[1]][~footprint[win.slices]] = 0.0
        probs[i : i + len(chunk)] = screen(tiles)
    return Screen(
        level=level,
        shape=(int(raw.shape[0]), int(raw.shape[1])),
        tile=tile,
        windows=windows,
        probs=probs,
        threshold=screen.threshold if threshold is None else float(threshold),
        footprint=footprint,
        overlap=overlap,
    )
