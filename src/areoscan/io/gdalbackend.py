"""GDAL backend of :class:`areoscan.io.Raster`: GeoTIFF/COG, PNG, PDS3 IMG, ISIS3 cubes, VRT.

Use it (through :func:`areoscan.io.open_raster`) for every raster that is not a JPEG2000 read by
OpenJPEG. Level L is read as a decimated window of 1/2**L per axis with average resampling; GDAL
serves such reads from the file's overviews when it has them (COG, GeoTIFF with overviews) and
from the full-resolution pixels otherwise. ``precision`` is the file's NBITS tag (e.g. 12) or the
data type's width.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from areoscan.errors import RasterError
from areoscan.io.georef import Georef
from areoscan.io.jp2backend import first_line
from areoscan.io.window import Window
from areoscan.io.writers import default_numres


class GdalBackend:
    """One band of a GDAL-readable raster, read by level and window through rasterio.

    path: what GDAL opens (the image, or the detached PDS3 label that points at it). band: 1-based
    band to read (None: the file must have one band).
    """

    def __init__(self, path: Path, band: int | None = None, fmt: str = "tiff") -> None:
        import rasterio

        self.path = path
        self.format = fmt
        try:
            with warnings.catch_warnings():  # PNGs and plain TIFFs have no geotransform: expected
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                self.ds = rasterio.open(path)
        except Exception as exc:
            raise RasterError(f"{path}: not a readable image ({first_line(exc)})") from None
        self.bands = self.ds.count
        self.band = 1 if band is None else int(band)
        if band is not None and not 1 <= self.band <= self.bands:
            self.close()
            raise RasterError(
                f"{path}: --band {band} does not exist; the image has {self.bands} band(s)"
            )
        self.dtype = np.dtype(self.ds.dtypes[self.band - 1])
        self.signed = self.dtype.kind == "i"
        self.floating = self.dtype.kind == "f"
        if self.dtype.kind not in "uif" or self.dtype.itemsize > 2 and self.dtype.kind != "f":
            self.close()
            raise RasterError(
                f"{path}: pixels are {self.dtype.name}; areoscan reads unsigned 8/16-bit images"
            )
        nbits = self.ds.tags(self.band, ns="IMAGE_STRUCTURE").get("NBITS")
        self.container_bits = self.dtype.itemsize * 8
        self.precision = int(nbits) if nbits else self.container_bits
        self.shape = (self.ds.height, self.ds.width)
        self.levels = default_numres(self.shape)
        self.tiles = 1
        self.codestream_bytes = 0
        self.nodata = self.ds.nodatavals[self.band - 1]

    def read(self, level: int, window: Window) -> np.ndarray:
        """Pixels of ``window`` (in level pixels) at ``level``, averaged 2**level × 2**level."""
        from rasterio.enums import Resampling
        from rasterio.windows import Window as RioWindow

        r0, c0, h, w = window
        s = 2**level
        r1, c1 = min(self.shape[0], (r0 + h) * s), min(self.shape[1], (c0 + w) * s)
        win = RioWindow(c0 * s, r0 * s, c1 - c0 * s, r1 - r0 * s)  # type: ignore[call-arg]
        resampling = Resampling.average if level else Resampling.nearest
        try:
            return np.asarray(
                self.ds.read(self.band, window=win, out_shape=(h, w), resampling=resampling)
            )
        except Exception as exc:
            raise RasterError(
                f"{self.path}: reading failed ({first_line(exc)}); the file may be truncated"
            ) from None

    def georef(self) -> Georef | None:
        """CRS + transform from the file (GeoTIFF keys, PDS3/ISIS3 map projection groups)."""
        if self.ds.crs is None or self.ds.transform.is_identity:
            return None
        return Georef.from_crs_transform(self.ds.crs.to_wkt(), self.ds.transform)

    def close(self) -> None:
        """Close the dataset."""
        self.ds.close()
