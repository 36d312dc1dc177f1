"""JPEG2000 backend of :class:`areoscan.io.Raster`: glymur/OpenJPEG with true resolution levels.

Use it (through :func:`areoscan.io.open_raster`) for HiRISE JP2 products: levels are the codec's
wavelet levels and windows decode only their own code-blocks, with one persistent decoder per level
(:class:`areoscan.io.jp2decoder.Jp2Decoder`). ``precision`` is the codestream's declared bit depth
(e.g. 10, or 16 for a 10-bit product re-encoded in a 16-bit container).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.errors import RasterError
from areoscan.io.georef import Georef
from areoscan.io.window import Window


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (library messages can be long), at most 160 chars."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


class Jp2Backend:
    """JPEG2000 through glymur/OpenJPEG: true resolution levels and area decoding."""

    format = "jp2"

    def __init__(self, path: Path, threads: int) -> None:
        import glymur

        self.path = path
        self.threads = threads
        try:
            self.jp2 = glymur.Jp2kr(str(path))
            siz = self.jp2.codestream.segment[1]
            cod = self.jp2.codestream.segment[2]
        except Exception as exc:  # glymur raises struct/Index/Runtime errors on broken headers
            raise RasterError(f"{path}: not a readable JPEG2000 file ({first_line(exc)})") from None
        self.bands = len(siz.bitdepth)
        self.signed = any(siz.signed)
        self.precision = int(siz.bitdepth[0])
        self.container_bits = 8 if self.precision <= 8 else 16
        self.floating = False
        self.shape = (int(siz.ysiz - siz.yosiz), int(siz.xsiz - siz.xosiz))
        self.levels = int(cod.num_res) + 1
        self.tiles = math.ceil((siz.ysiz - siz.ytosiz) / siz.ytsiz) * math.ceil(
            (siz.xsiz - siz.xtosiz) / siz.xtsiz
        )
        self.codestream_bytes = _codestream_length(self.jp2)
        self.raw_codestream = not any(
            getattr(b, "box_id", "") == "jp2c" for b in self.jp2.box or []
        )
        self.nodata: float | None = None
        self.band = 1
        self._decoder: Any = None

    def read(self, level: int, window: Window) -> np.ndarray:
        """Decode a window with the persistent decoder of ``level`` (opened on first use).

        Multi-tile files get a fresh decoder per window: OpenJPEG repeats decode areas on one
        decoder for single-tile images only (a second area of a tiled file fails).
        """
        from areoscan.io.jp2decoder import Jp2Decoder

        r0, c0, h, w = window
        s = 2**level
        y0, y1 = r0 * s, min(self.shape[0], (r0 + h) * s)
        x0, x1 = c0 * s, min(self.shape[1], (c0 + w) * s)
        try:
            if self._decoder is None or self._decoder.level != level:
                self.close()
                self._decoder = Jp2Decoder(self.path, level, self.threads, self.raw_codestream)
            data = self._decoder.decode(x0, y0, x1, y1)
            if self.tiles > 1:
                self.close()
        except Exception as exc:
            self.close()
            raise RasterError(
                f"{self.path}: JPEG2000 decoding failed at level {level} ({first_line(exc)}); "
                "the file is probably corrupt or truncated: download it again"
            ) from None
        if data.shape != (h, w):
            raise RasterError(
                f"{self.path}: decoder returned {data.shape} for a {h} x {w} window at level {level}"
            )
        return data

    def georef(self) -> Georef | None:
        """CRS + transform from a GeoJP2 / GMLJP2 box, if the file carries one (read with rasterio)."""
        return _rasterio_georef(self.path)

    def close(self) -> None:
        """Free the decoder (and the compressed tile it holds); the file can be reopened by read."""
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None


def _codestream_length(jp2: Any) -> int:
    for box in getattr(jp2, "box", []) or []:
        if getattr(box, "box_id", "") == "jp2c":
            return int(box.length)
    return int(Path(jp2.filename).stat().st_size)


def _rasterio_georef(path: Path) -> Georef | None:
    import rasterio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(path) as ds:
                if ds.crs is None or ds.transform.is_identity:
                    return None
                return Georef.from_crs_transform(ds.crs.to_wkt(), ds.transform)
    except Exception:  # no GDAL JP2 driver or unreadable box: treat as "no georeference"
        return None
