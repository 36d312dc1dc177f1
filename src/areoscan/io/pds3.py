"""PDS3 ``.IMG`` products (attached or detached label) and ISIS3 cubes, checked before GDAL reads them.

Use :func:`inspect_pds3` when a file is a PDS3 image or label (``sniff`` says "pds3") and
:func:`inspect_isis3` for a cube: they find the pixels (``^IMAGE`` pointer, any case), check that the
label and the file agree (the pointed file exists, the pixels fit in it, RECORD_BYTES is right), that
the product is map-projected, and read what GDAL does not report: the significant bits
(``SAMPLE_BIT_MASK``) and the target body. Every disagreement is one RasterError line naming the
file; GDAL on its own would read zeros past the end of a truncated file, or garbage at a wrong offset.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from areoscan.errors import RasterError
from areoscan.io.body import check_body_name

LABEL_SCAN_BYTES = 1 << 20  # attached labels end well within 1 MiB
_END = re.compile(rb"^\s*END\s*$", re.MULTILINE)
_ISIS_TYPES = {"UNSIGNEDBYTE": 1, "SIGNEDWORD": 2, "UNSIGNEDWORD": 2, "REAL": 4}


@dataclasses.dataclass(frozen=True)
class PlanetaryProduct:
    """A PDS3 or ISIS3 product ready for GDAL.

    image: the file holding the pixels. label: the file holding the label (== image when attached).
    open_path: what GDAL opens (the detached label, else the image). bit_depth: SAMPLE_BIT_MASK's
    bits, or None. body: the target's display name ("Mars", "Moon"), or None when unstated.
    """

    image: Path
    label: Path
    open_path: Path
    bit_depth: int | None
    body: str | None


def _parse(path: Path, text: bytes) -> Mapping[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import pvl

        try:
            return pvl.loads(text.decode("latin-1"))  # type: ignore[no-any-return]
        except Exception as exc:  # pvl raises several types on malformed text
            where = re.search(r"line (\d+)", str(exc))
            detail = f"syntax error at line {where.group(1)}" if where else type(exc).__name__
            raise RasterError(f"{path}: not a readable PDS3 label ({detail})") from None


def _find(module: Mapping[str, Any], name: str) -> Any:
    """Depth-first value of key ``name`` (objects nest: UNCOMPRESSED_FILE > IMAGE)."""
    if name in module:
        return module[name]
    for value in module.values():
        if isinstance(value, Mapping):
            found = _find(value, name)
            if found is not None:
                return found
    return None


def _int(path: Path, obj: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    value = getattr(value, "value", value)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RasterError(f"{path}: label has no usable {key} ({value!r})") from None


def _resolve(folder: Path, name: str) -> Path | None:
    exact = folder / name
    if exact.is_file():
        return exact
    try:
        for entry in folder.iterdir():
            if entry.name.lower() == name.lower() and entry.is_file():
                return entry
    except OSError:
        return None
    return None


def _pointer(label_path: Path, pointer: Any, record_bytes: int) -> tuple[str | None, int]:
    """(file name or None for attached, byte offset) of ``^IMAGE``."""
    name: str | None = None
    where: Any = 1
    if isinstance(pointer, str):
        name = pointer
    elif isinstance(pointer, (list, tuple)):
        name, where = str(pointer[0]), pointer[1]
    else:
        where = pointer
    units = str(getattr(where, "units", "")).upper()
    start = int(getattr(where, "value", where))
    offset = start - 1 if units == "BYTES" else (start - 1) * record_bytes
    return name, offset


def inspect_pds3(path: Path) -> PlanetaryProduct:
    """Check a PDS3 product given as its .IMG (label attached, or X.LBL beside) or its .LBL."""
    from areoscan.io.sniff import find_label

    with path.open("rb") as fh:
        head = fh.read(LABEL_SCAN_BYTES)
    if head.lstrip().startswith((b"PDS_VERSION_ID", b"ODL_VERSION_ID", b"CCSD")):
        label_path = path
        end = _END.search(head)
        text = head[: end.end()] if end else head
    else:
        found = find_label(path)
        if found is None:
            raise RasterError(
                f"{path}: raw PDS3 pixels without a label; put {path.stem}.LBL beside it"
            )
        label_path, text = found, found.read_bytes()
    module = _parse(label_path, text)
    image_obj = _find(module, "IMAGE")
    pointer = _find(module, "^IMAGE")
    if pointer is None or not isinstance(image_obj, Mapping):
        raise RasterError(f"{label_path}: PDS3 label has no ^IMAGE pointer and IMAGE object")
    record_bytes = _int(label_path, module, "RECORD_BYTES", 1)
    name, offset = _pointer(label_path, pointer, record_bytes)
    image = label_path if name is None else _resolve(label_path.parent, name)
    if image is None:
        raise RasterError(
            f"{label_path}: label points at {name}, which is not in {label_path.parent}; "
            "download it beside the label"
        )
    _check_layout(label_path, image, module, image_obj, offset, len(text) if name is None else 0)
    if _find(module, "IMAGE_MAP_PROJECTION") is None:
        raise RasterError(
            f"{label_path}: no IMAGE_MAP_PROJECTION: an unprojected (EDR-like) product; areoscan "
            "needs map-projected images (project it first, e.g. ISIS cam2map)"
        )
    mask = image_obj.get("SAMPLE_BIT_MASK")
    bits = int(mask).bit_length() if isinstance(mask, int) and mask > 0 else None
    target = _find(module, "TARGET_NAME")
    body = check_body_name(label_path, str(target)) if target else None
    open_path = label_path if name is not None and label_path != image else image
    return PlanetaryProduct(image, label_path, open_path, bits, body)


def _check_layout(
    label_path: Path,
    image: Path,
    module: Mapping[str, Any],
    obj: Mapping[str, Any],
    offset: int,
    label_end: int,
) -> None:
    """The pixels must start after an attached label and fit in the file."""
    size = image.stat().st_size
    lines, samples = _int(label_path, obj, "LINES"), _int(label_path, obj, "LINE_SAMPLES")
    bands, bits = _int(label_path, obj, "BANDS", 1), _int(label_path, obj, "SAMPLE_BITS")
    prefix = _int(label_path, obj, "LINE_PREFIX_BYTES", 0) + _int(
        label_path, obj, "LINE_SUFFIX_BYTES", 0
    )
    need = offset + lines * bands * (samples * bits // 8 + prefix)
    record_bytes = _int(label_path, module, "RECORD_BYTES", 1)
    if label_end and offset < label_end:
        raise RasterError(
            f"{label_path}: ^IMAGE starts at byte {offset}, inside the label (which ends at byte "
            f"{label_end}): RECORD_BYTES = {record_bytes} is wrong"
        )
    if need <= size:
        return
    records = module.get("FILE_RECORDS")
    if isinstance(records, int) and records > 0 and size % records == 0:
        k = size // records  # the record size the file implies, if it is whole
        if k != record_bytes and offset * k // record_bytes + need - offset <= size:
            raise RasterError(
                f"{label_path}: RECORD_BYTES = {record_bytes}, but {image.name} is {records} "
                f"records of {size // records} bytes: the label's RECORD_BYTES is wrong"
            )
    raise RasterError(
        f"{image}: is truncated ({size} bytes; the label's {lines} x {samples} image needs "
        f"{need}); download it again"
    )


def inspect_isis3(path: Path) -> PlanetaryProduct:
    """Check an ISIS3 cube with an attached label: the core fits in the file, the target is known."""
    text = path.open("rb").read(LABEL_SCAN_BYTES)
    end = _END.search(text)
    label = (text[: end.end()] if end else text).decode("latin-1")

    def value(key: str) -> str | None:
        m = re.search(rf"^\s*{key}\s*=\s*\"?([^\"\r\n]+?)\"?\s*(<[^>]*>)?\s*$", label, re.M)
        return m.group(1).strip() if m else None

    dims = [value(k) for k in ("StartByte", "Samples", "Lines", "Bands")]
    kind = (value("Type") or "").upper()
    if all(d and d.isdigit() for d in dims) and kind in _ISIS_TYPES:
        start, samples, lines, bands = (int(d) for d in dims)  # type: ignore[arg-type]
        need = start - 1 + samples * lines * bands * _ISIS_TYPES[kind]
        size = path.stat().st_size
        if need > size:
            raise RasterError(
                f"{path}: is truncated ({size} bytes; the cube's {lines} x {samples} core needs "
                f"{need}); copy it again"
            )
    if value("ProjectionName") is None:
        raise RasterError(
            f"{path}: cube has no Mapping group: an unprojected (level-1) cube; areoscan needs "
            "map-projected images (run cam2map first)"
        )
    target = value("TargetName")
    body = check_body_name(path, target) if target else None
    return PlanetaryProduct(path, path, path, None, body)
