"""The image footprint of a map-projected HiRISE-like strip, and its detector geometry.

A HiRISE RDR is the bounding box of a rotated strip: pixels outside the strip are 0 (no data).
Use :class:`Footprint` to test which pixels are data and where each pixel sits across-track
(the detector column, for along-track striping and CCD seams).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from areoscan.synth.noise import hash_uniform

CCD_COLUMNS = 2048  # HiRISE RED CCD width (detector pixels); 14 CCDs across


@dataclass(frozen=True)
class Footprint:
    """A rectangle rotated by ``rotation`` degrees whose bounding box is the whole image.

    ``enabled=False`` makes every pixel data (used for tiles and patches).
    """

    height: int
    width: int
    rotation: float
    enabled: bool = True

    def __post_init__(self) -> None:
        t = math.radians(abs(self.rotation))
        c, s = math.cos(t), math.sin(t)
        # bounding box W = a c + b s, H = a s + b c  (a across-track, b along-track)
        det = c * c - s * s
        a = (self.width * c - self.height * s) / det
        b = (self.height * c - self.width * s) / det
        if self.enabled and (a <= 1 or b <= 1):
            raise ValueError("rotation too large for this image shape")
        object.__setattr__(self, "_ab", (a, b))

    @property
    def across(self) -> float:
        """Width of the strip across-track, in pixels."""
        return float(self._ab[0])  # type: ignore[attr-defined]

    def _frame(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u across-track, v along-track) of pixel centres, in pixels from the strip corner."""
        t = math.radians(self.rotation)
        c, s = math.cos(t), math.sin(t)
        y = rows + 0.5 - self.height / 2.0
        x = cols + 0.5 - self.width / 2.0
        a, b = self._ab  # type: ignore[attr-defined]
        u = x * c + y * s + a / 2.0
        v = -x * s + y * c + b / 2.0
        return u, v

    def mask(self, r0: int, c0: int, h: int, w: int) -> np.ndarray:
        """True where the window's pixels are inside the strip (data)."""
        if not self.enabled:
            return np.ones((h, w), bool)
        rows = np.arange(r0, r0 + h, dtype=np.float64)[:, None]
        cols = np.arange(c0, c0 + w, dtype=np.float64)[None, :]
        u, v = self._frame(rows, cols)
        a, b = self._ab  # type: ignore[attr-defined]
        return (u >= 0) & (u < a) & (v >= 0) & (v < b)

    def mask_and_across(self, r0: int, c0: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`mask` and :meth:`across_track` of one window, computed together."""
        if not self.enabled:
            return self.mask(r0, c0, h, w), self.across_track(r0, c0, h, w)
        rows = np.arange(r0, r0 + h, dtype=np.float64)[:, None]
        cols = np.arange(c0, c0 + w, dtype=np.float64)[None, :]
        u, v = self._frame(rows, cols)
        a, b = self._ab  # type: ignore[attr-defined]
        return (u >= 0) & (u < a) & (v >= 0) & (v < b), u.astype(np.float32)

    def across_track(self, r0: int, c0: int, h: int, w: int) -> np.ndarray:
        """Across-track pixel position (float32) of each pixel of the window."""
        rows = np.arange(r0, r0 + h, dtype=np.float64)[:, None]
        cols = np.arange(c0, c0 + w, dtype=np.float64)[None, :]
        if not self.enabled:
            return np.broadcast_to(cols - c0 + 0 * rows, (h, w)).astype(np.float32)
        u, _ = self._frame(rows, cols)
        return u.astype(np.float32)


@lru_cache(maxsize=8)
def column_gains(seed: int, n: int, stripe: float) -> np.ndarray:
    """Relative gain of each detector column: per-column noise plus a step per CCD (float32)."""
    idx = np.arange(n + 2)
    col = (hash_uniform(seed, 901, idx) - 0.5) * math.sqrt(12.0) * stripe
    ccd = (hash_uniform(seed, 902, idx // CCD_COLUMNS) - 0.5) * math.sqrt(12.0) * 2.0 * stripe
    return (1.0 + col + ccd).astype(np.float32)
