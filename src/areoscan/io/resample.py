"""A raster backend seen at finer pixels than it has: bilinear resampling on the fly.

Use it through :meth:`areoscan.io.Raster.upsample` when a model needs a finer ground scale than the
image offers but tolerates the difference (a 0.5 m/px product for a 0.25 m/px segmenter): every
level, window and strip of the Raster is then at ``factor`` times finer pixels, read from the finest
real level that is not coarser than needed (so a power-of-two factor costs nothing below level
log2(factor): those levels are real levels). Values are bilinear between real pixel centres and
rounded back to the container type; a pixel whose nearest real pixel is nodata stays nodata, so
the footprint does not grow a blurred rim.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Window = tuple[int, int, int, int]


def _axis(start: int, count: int, k: float, real_len: int) -> tuple[int, int, Any, Any, Any]:
    """Real index range [lo, hi) and per-output (i0, t, nearest) along one axis (k: real px per px)."""
    pos = (np.arange(start, start + count, dtype=np.float64) + 0.5) * k - 0.5
    pos = np.clip(pos, 0.0, real_len - 1.0)
    lo = int(math.floor(pos[0]))
    hi = min(real_len, int(math.floor(pos[-1])) + 2)
    i0 = np.minimum(np.floor(pos).astype(np.int64), real_len - 1)
    t = (pos - i0).astype(np.float32)
    i1 = np.minimum(i0 + 1, real_len - 1)
    nearest = np.where(t < 0.5, i0, i1)
    return lo, hi, i0 - lo, t, nearest - lo


class ResampledBackend:
    """``inner`` presented at ``factor`` times finer pixels (factor > 1) through every level.

    inner: a Jp2Backend / GdalBackend. nodata: DN kept exactly at footprint edges (None: none).
    """

    def __init__(self, inner: Any, factor: float, nodata: float | None) -> None:
        self.inner = inner
        self.factor = float(factor)
        self.nodata = nodata
        h, w = inner.shape
        self.shape = (max(1, round(h * self.factor)), max(1, round(w * self.factor)))
        self.levels = int(inner.levels) + max(0, math.ceil(math.log2(self.factor) - 1e-9))
        for name in ("format", "bands", "band", "signed", "floating", "precision"):
            setattr(self, name, getattr(inner, name, None))
        self.container_bits = inner.container_bits
        self.tiles = inner.tiles
        self.codestream_bytes = inner.codestream_bytes

    def _real_level(self, level: int) -> int:
        """Finest real level whose pixels are not coarser than this level's."""
        r = math.floor(level - math.log2(self.factor) + 1e-9)
        return min(max(0, r), int(self.inner.levels) - 1)

    def __getattr__(self, name: str) -> Any:
        """Anything else (bytes_fetched, bytes_total of a remote JP2) is the real backend's."""
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def _real_window(self, level: int, window: Window) -> tuple[int, Window]:
        """The real level and the window of it that :meth:`read` decodes for ``window``."""
        r0, c0, h, w = window
        real = self._real_level(level)
        k = 2.0**level / (self.factor * 2.0**real)
        rh, rw = (-(-n // 2**real) for n in self.inner.shape)
        y_lo, y_hi = _axis(r0, h, k, rh)[:2]
        x_lo, x_hi = _axis(c0, w, k, rw)[:2]
        return real, (y_lo, x_lo, y_hi - y_lo, x_hi - x_lo)

    def prefetch(self, level: int, windows: Any) -> None:
        """Pass a prefetch (remote JP2 read by the packet) on as the real windows it needs."""
        inner = getattr(self.inner, "prefetch", None)
        if inner is None:
            return
        real = self._real_level(level)
        wins = [None if w is None else self._real_window(level, tuple(w))[1] for w in windows]
        inner(real, wins)

    def read(self, level: int, window: Window) -> np.ndarray:
        """Pixels of ``window`` (in this level's pixels) at ``level``, resampled from a real level."""
        r0, c0, h, w = window
        real = self._real_level(level)
        k = 2.0**level / (self.factor * 2.0**real)  # real pixels per output pixel
        rh, rw = (-(-n // 2**real) for n in self.inner.shape)
        if abs(k - 1.0) < 1e-12 and r0 + h <= rh and c0 + w <= rw:
            return self.inner.read(real, window)  # type: ignore[no-any-return]  # a real level
        y_lo, y_hi, yi, yt, yn = _axis(r0, h, k, rh)
        x_lo, x_hi, xi, xt, xn = _axis(c0, w, k, rw)
        src = self.inner.read(real, (y_lo, x_lo, y_hi - y_lo, x_hi - x_lo))
        y1 = np.minimum(yi + 1, src.shape[0] - 1)
        x1 = np.minimum(xi + 1, src.shape[1] - 1)

        def bilinear(a: np.ndarray) -> np.ndarray:
            rows = a[yi] * (1.0 - yt)[:, None] + a[y1] * yt[:, None]
            return rows[:, xi] * (1.0 - xt)[None, :] + rows[:, x1] * xt[None, :]  # type: ignore[no-any-return]

        if self.nodata is None:
            return np.rint(bilinear(src.astype(np.float32))).astype(src.dtype)
        # nodata neighbours get no weight (no dark rim inside the footprint) and a pixel whose
        # nearest real pixel is nodata stays nodata (the footprint keeps its edge)
        valid = (src != self.nodata).astype(np.float32)
        num, den = bilinear(src.astype(np.float32) * valid), bilinear(valid)
        out = np.rint(num / np.maximum(den, 1e-6)).astype(src.dtype)
        hole = (src[yn][:, xn] == self.nodata) | (den <= 0)
        out[hole] = src.dtype.type(self.nodata)
        return out

    def georef(self) -> Any:
        """Not used: :meth:`Raster.upsample` rescales the Raster's own georeference."""
        return None

    def close(self) -> None:
        """Close the real backend."""
        self.inner.close()
