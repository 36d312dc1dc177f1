"""Pick the backend that reads an image, by the kind :func:`areoscan.io.sniff.check_image_file` found.

Use :func:`open_backend` from :class:`areoscan.io.Raster` only. HiRISE-style JPEG2000 keeps its fast
OpenJPEG path (:class:`Jp2Backend`); everything else goes through GDAL (:class:`GdalBackend`):
GeoTIFF/COG, PNG, VRT, PDS3 ``.IMG`` (attached or detached label) and ISIS3 cubes, the last two
checked first by :mod:`areoscan.io.pds3`. A multi-band JP2 read with ``--band`` also goes through
GDAL (OpenJPEG's area decoding here handles one component).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from areoscan.io.gdalbackend import GdalBackend
from areoscan.io.jp2backend import Jp2Backend
from areoscan.io.pds3 import inspect_isis3, inspect_pds3


@dataclasses.dataclass
class Opened:
    """An open backend and what the file itself said beyond pixels.

    path: the file holding the pixels (for a detached PDS3 label: its .IMG). label_path: a planetary
    label file other than ``path`` (detached PDS3), else None. label_bits: SAMPLE_BIT_MASK bits, or
    None. body: the target body the label names, or None (then the CRS decides).
    """

    backend: Any
    path: Path
    label_path: Path | None = None
    label_bits: int | None = None
    body: str | None = None


def open_backend(path: Path, kind: str, threads: int, band: int | None = None) -> Opened:
    """Open ``path`` (of ``kind``) with the right backend; ``band`` is 1-based (None: single band)."""
    if kind == "jp2":
        if band is None or band == 1:
            jp2 = Jp2Backend(path, threads)
            if jp2.bands == 1 or band is None:
                return Opened(jp2, path)
            jp2.close()
        return Opened(GdalBackend(path, band, fmt="jp2"), path)
    if kind in ("pds3", "isis3"):
        product = inspect_pds3(path) if kind == "pds3" else inspect_isis3(path)
        backend = GdalBackend(product.open_path, band, fmt=kind)
        label = product.label if product.label != product.image else None
        return Opened(backend, product.image, label, product.bit_depth, product.body)
    return Opened(GdalBackend(path, band, fmt=kind), path)
