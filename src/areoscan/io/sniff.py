"""Cheap checks of an image file before any decoder sees it, and the label beside it.

Use :func:`check_image_file` to turn the usual ways a download goes wrong (empty file, truncated
JPEG2000, a PNG renamed .JP2, an HTML error page saved as an image) into one clear RasterError,
reading only a few bytes; :func:`find_label` to locate ``X.LBL`` beside ``X.JP2``.
"""

from __future__ import annotations

import struct
from pathlib import Path

from areoscan.errors import RasterError

JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_SOC_SIZ = b"\xff\x4f\xff\x51"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
PDS3_SIGNATURES = (b"PDS_VERSION_ID", b"ODL_VERSION_ID", b"CCSD")
EOC = b"\xff\xd9"
_EXT_KIND = {".jp2": "jp2", ".j2k": "jp2", ".j2c": "jp2", ".jpx": "jp2", ".png": "png"}
_EXT_KIND.update({".tif": "tiff", ".tiff": "tiff", ".cub": "isis3", ".vrt": "vrt"})
_NAMES = {"jp2": "JPEG2000", "png": "PNG", "tiff": "TIFF", "pds3": "PDS3", "isis3": "ISIS3 cube"}
_NAMES["vrt"] = "GDAL VRT"
#: file suffixes of the images areoscan opens (lower case): where a folder is searched for images
RASTER_SUFFIXES = (".jp2", ".j2k", ".tif", ".tiff", ".vrt", ".img", ".cub")
#: kinds read through GDAL's planetary drivers, whose georeference must come from the file
PLANETARY = ("pds3", "isis3")


def _kind(head: bytes) -> str | None:
    if head.startswith(JP2_SIGNATURE) or head.startswith(J2K_SOC_SIZ):
        return "jp2"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head[:4] in TIFF_SIGNATURES:
        return "tiff"
    text = head.lstrip()
    if text.startswith(PDS3_SIGNATURES):  # an .IMG with attached label, or a detached .LBL
        return "pds3"
    if text.startswith(b"Object = IsisCube") or text.startswith(b"Object=IsisCube"):
        return "isis3"
    if text.startswith(b"<VRTDataset"):
        return "vrt"
    return None


def _describe(head: bytes) -> str:
    lowered = head.lower()
    if lowered.lstrip().startswith((b"<!doctype html", b"<html", b"<?xml")):
        return "an HTML/XML page (an error page saved as the image?)"
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG file"
    return "not a JPEG2000, GeoTIFF, PNG, PDS3, ISIS3 or VRT file (unrecognised signature)"


def check_image_file(path: Path) -> str:
    """Return the kind of a plausible image: "jp2", "tiff", "png", "pds3" (an .IMG with its label
    attached or beside it, or the .LBL), "isis3" or "vrt"; raise RasterError (one line) otherwise."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise RasterError(f"{path}: is a folder, not an image file")
        with path.open("rb") as fh:
            head = fh.read(64)
            kind = _kind(head)
            if kind is None and size and path.suffix.lower() == ".img":
                kind = "pds3"  # raw pixels: the detached label beside it says the layout
            if kind is None:
                raise RasterError(
                    f"{path}: {'file is empty (0 bytes)' if size == 0 else _describe(head)}"
                )
            expected = _EXT_KIND.get(path.suffix.lower())
            if expected is not None and expected != kind:
                raise RasterError(
                    f"{path}: is a {_NAMES[kind]} file but named {path.suffix}; "
                    "rename it or fetch the right product"
                )
            if kind == "jp2":
                _check_jp2(path, fh, head, size)
            elif kind == "png":
                fh.seek(max(0, size - 12))
                if b"IEND" not in fh.read():
                    raise RasterError(
                        f"{path}: PNG is truncated (no IEND chunk); download it again"
                    )
    except FileNotFoundError:
        raise RasterError(f"{path}: image not found") from None
    except PermissionError:
        raise RasterError(f"{path}: permission denied") from None
    return kind


def _check_jp2(path: Path, fh: object, head: bytes, size: int) -> None:
    """Walk the top-level JP2 boxes: each must fit in the file and the codestream must end with EOC."""
    import io

    assert isinstance(fh, io.BufferedReader)
    if head.startswith(J2K_SOC_SIZ):  # raw codestream
        start, end = 0, size
    else:
        start = end = -1
        pos = 0
        while pos < size:
            fh.seek(pos)
            header = fh.read(16)
            if len(header) < 8:
                raise RasterError(
                    f"{path}: JPEG2000 is truncated inside a box header at byte {pos}"
                )
            length, box_type = struct.unpack(">I4s", header[:8])
            offset = 8
            if length == 1:
                if len(header) < 16:
                    raise RasterError(f"{path}: JPEG2000 is truncated at byte {pos}")
                length = struct.unpack(">Q", header[8:16])[0]
                offset = 16
            elif length == 0:
                length = size - pos
            if length < offset:
                raise RasterError(f"{path}: corrupt JPEG2000 box at byte {pos} (length {length})")
            if pos + length > size:
                raise RasterError(
                    f"{path}: JPEG2000 is truncated ({size} bytes; box '{box_type.decode('latin-1')}' "
                    f"needs {pos + length}); download it again"
                )
            if box_type == b"jp2c":
                start, end = pos + offset, pos + length
                break
            pos += length
        if start < 0:
            raise RasterError(
                f"{path}: JPEG2000 file has no codestream (jp2c box); download it again"
            )
    fh.seek(start)
    if fh.read(4) != J2K_SOC_SIZ:
        raise RasterError(
            f"{path}: JPEG2000 codestream does not start with SOC/SIZ markers (corrupt)"
        )
    fh.seek(end - 2)
    if fh.read(2) != EOC:
        raise RasterError(
            f"{path}: JPEG2000 codestream has no end marker (truncated or corrupt); download it again"
        )


def find_label(image: Path) -> Path | None:
    """The detached label beside ``image`` (X_RED.JP2 → X_RED.LBL, any case), or None."""
    folder = image.parent
    for suffix in (".LBL", ".lbl"):
        candidate = image.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    try:
        stem = image.stem.lower()
        for entry in folder.iterdir():
            if entry.suffix.lower() == ".lbl" and entry.stem.lower() == stem and entry.is_file():
                return entry
    except OSError:
        return None
    return None
