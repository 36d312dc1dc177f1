"""Tile image files (PNG, JPEG, TIFF) as float32 in [0, 1], with one scaling rule.

Use :func:`read_tile` wherever a tile file becomes model input: ``areoscan classify``, classifier and
segmenter training samples (:mod:`areoscan.data`), evaluation, detectors and labelling. White is
``2**bits - 1`` where ``bits`` is what the file declares, never what its pixels happen to hold:

1. a PNG's ``sBIT`` chunk (significant bits: 10 for HiRISE DN in a 16-bit PNG);
2. a TIFF's GDAL ``NBITS`` (packed 9-15-bit TIFFs, read through rasterio);
3. else the sample width: 8-bit / 255, 16-bit / 65535.

The rule used to depend on content in one reader (a 16-bit tile was divided by 1023 when every value
fitted in 10 bits, else by 65535) and not in another (always 65535), so one tile could reach two
models 64x apart. Write 10-bit data with :func:`write_tile_png` (``bits=10`` records sBIT) to keep
it scaled by 1023. Colour images become luminance (PIL ``L``); float images are clipped to [0, 1].
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from areoscan.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_COLOUR_MODES = ("RGB", "RGBA", "P", "LA", "CMYK", "YCbCr", "1")


def png_significant_bits(path: str | Path) -> int | None:
    """The ``sBIT`` of a PNG (largest over its channels), or None (no chunk, or not a PNG)."""
    with open(path, "rb") as fh:
        if fh.read(8) != _PNG_MAGIC:
            return None
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"sBIT":
                data = fh.read(length)
                return max(data) if data else None
            if kind in (b"IDAT", b"IEND"):
                return None
            fh.seek(length + 4, 1)  # data + CRC


def _scaled(arr: np.ndarray, bits: int) -> np.ndarray:
    return np.clip(arr.astype(np.float32) / np.float32(2**bits - 1), 0.0, 1.0)


def _read_tiff_nbits(path: Path) -> np.ndarray:
    """Band 1 of a TIFF PIL cannot read (GDAL NBITS packing), scaled by its NBITS."""
    import rasterio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                arr = ds.read(1)
                nbits = ds.tags(1, ns="IMAGE_STRUCTURE").get("NBITS")
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{path}: cannot read as an image tile ({exc})") from None
    return _scaled(arr, int(nbits) if nbits else 8 * arr.dtype.itemsize)


def read_tile(path: str | Path) -> np.ndarray:
    """A single-band image file as float32 ``(H, W)`` in [0, 1]; DataError if unreadable.

    Scaled by the declared bit depth (see the module doc). A 16-bit tile without sBIT whose values
    all fit in 10 bits is still divided by 65535, with a warning (probably HiRISE DN: write sBIT).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            # colour is converted to 8-bit luminance: its sBIT no longer applies
            colour = im.mode in _COLOUR_MODES
            gray = im.convert("L") if colour else im
            arr = np.asarray(gray)
    except UnidentifiedImageError:
        if path.suffix.lower() in (".tif", ".tiff"):
            return _read_tiff_nbits(path)
        raise DataError(f"{path}: cannot read as an image tile (unknown format)") from None
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise DataError(
            f"{path}: cannot read as an image tile ({type(exc).__name__}: {exc})"
        ) from None
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise DataError(f"{path}: expected a single-band image, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.integer):
        return np.clip(np.nan_to_num(arr.astype(np.float32)), 0.0, 1.0)
    bits = None if colour else png_significant_bits(path)
    if bits is None and arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0  # the common case, exactly as before
    if bits is None:
        bits = 16  # 16-bit PNG / TIFF (PIL reads some as int32 mode "I")
        if 0 < int(arr.max(initial=0)) <= 1023:
            warnings.warn(
                "a 16-bit tile holds only 10-bit values and declares no sBIT: scaled by 65535; "
                "write it with areoscan.io.tilefile.write_tile_png(..., bits=10) if it is HiRISE DN",
                stacklevel=2,
            )
    return _scaled(arr, bits)


def write_tile_png(path: str | Path, dn: np.ndarray, bits: int) -> None:
    """Write integer DN ``(H, W)`` as an 8- or 16-bit grayscale PNG that declares ``bits`` (sBIT).

    Use it for tiles cut from a 10- or 12-bit image, so :func:`read_tile` scales them by
    ``2**bits - 1`` like the raster they came from.
    """
    from PIL import Image, PngImagePlugin

    if not 1 <= bits <= 16:
        raise ValueError(f"bits must be 1..16, got {bits}")
    dtype = np.uint8 if bits <= 8 else np.uint16
    arr = np.asarray(dn)
    if arr.ndim != 2 or (arr.size and (arr.min() < 0 or int(arr.max()) > 2**bits - 1)):
        raise ValueError(f"expected (H, W) values in 0..{2**bits - 1}")
    info = PngImagePlugin.PngInfo()
    info.add(b"sBIT", bytes([bits]))
    Image.fromarray(arr.astype(dtype)).save(path, format="PNG", pnginfo=info)
