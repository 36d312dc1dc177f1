"""Detached PDS3 labels of HiRISE RDR products (``X_RED.LBL`` beside ``X_RED.JP2``).

Use :func:`read_label` to get the map projection and image facts an image needs for georeferencing
(writing a label for a synthetic scene is :mod:`areoscan.io.label_writer`).
The parser copes with what real labels do: ``IMAGE`` nested in ``UNCOMPRESSED_FILE``, namespaced keys
(``MRO:BINNING``), units (``0.25 <METERS/PIXEL>``), bit masks (``2#0000001111111111#`` = 10 bits) and
west-positive longitudes (converted to east). Angles are degrees, radii kilometres (as in the label),
map scale metres per pixel.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from areoscan.errors import LabelError
from areoscan.io.bitdepth import bits_from_mask

PROJECTIONS = ("EQUIRECTANGULAR", "POLAR STEREOGRAPHIC")
MARS_EQUATORIAL_KM = 3396.19
MARS_POLAR_KM = 3376.2


@dataclasses.dataclass(frozen=True)
class MapLabel:
    """What areoscan needs from a HiRISE RDR label.

    projection: "EQUIRECTANGULAR" or "POLAR STEREOGRAPHIC".
    map_scale: metres per pixel at full resolution (0.25, 0.5 or 1 for HiRISE).
    center_latitude / center_longitude: projection centre (degrees, planetocentric, east 0..360);
      for equirectangular labels the latitude of true scale, not the image centre.
    line_projection_offset / sample_projection_offset: PDS offsets in pixels (see georef.py for the grid).
    a/b/c_axis_radius: km. Equirectangular HiRISE labels put the local radius at the centre latitude
      in all three; polar labels give the Mars ellipsoid (3396.19, 3396.19, 3376.2).
    lines / line_samples: image height / width in pixels. sample_bits: container bits (16);
      sample_bit_mask: e.g. 1023 -> bit_depth 10. core_null: nodata DN (0).
    """

    projection: str
    map_scale: float
    center_latitude: float
    center_longitude: float
    line_projection_offset: float
    sample_projection_offset: float
    lines: int
    line_samples: int
    a_axis_radius: float = MARS_EQUATORIAL_KM
    b_axis_radius: float = MARS_EQUATORIAL_KM
    c_axis_radius: float = MARS_EQUATORIAL_KM
    sample_bits: int = 16
    sample_bit_mask: int = 1023
    bands: int = 1
    core_null: int | None = 0
    minimum_latitude: float | None = None
    maximum_latitude: float | None = None
    easternmost_longitude: float | None = None
    westernmost_longitude: float | None = None
    map_projection_rotation: float = 0.0
    coordinate_system: str = "PLANETOCENTRIC"
    product_id: str | None = None
    observation_id: str | None = None
    compressed_file: str | None = None
    target_name: str = "MARS"
    scaling_factor: float | None = None
    offset: float | None = None

    @property
    def bit_depth(self) -> int:
        """Significant bits per sample (10 for HiRISE RED: mask 2#0000001111111111#)."""
        return bits_from_mask(self.sample_bits, self.sample_bit_mask)

    @property
    def is_polar(self) -> bool:
        """True for POLAR STEREOGRAPHIC labels."""
        return self.projection == "POLAR STEREOGRAPHIC"


def _find_object(module: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """Depth-first search for an OBJECT/GROUP called ``name`` (handles IMAGE inside UNCOMPRESSED_FILE)."""
    if name in module and isinstance(module[name], Mapping):
        return module[name]  # type: ignore[no-any-return]
    for _key, value in module.items():
        if isinstance(value, Mapping):
            found = _find_object(value, name)
            if found is not None:
                return found
    return None


def _lookup(obj: Mapping[str, Any] | None, key: str) -> Any:
    """Value of ``key`` in ``obj``, also accepting a namespaced spelling (``MRO:KEY``)."""
    if obj is None:
        return None
    if key in obj:
        return obj[key]
    for k, v in obj.items():
        if isinstance(k, str) and ":" in k and k.split(":", 1)[1] == key:
            return v
    return None


def _unit_value(value: Any) -> tuple[Any, str]:
    """Split a pvl Quantity into (value, upper-case unit); plain values get unit ''."""
    if hasattr(value, "value") and hasattr(value, "units"):
        return value.value, str(value.units).upper().strip()
    return value, ""


class _Reader:
    """Typed key access with one-line LabelErrors naming the file and the key."""

    def __init__(self, path: Path, module: Mapping[str, Any]) -> None:
        self.path = path
        self.module = module
        self.proj = _find_object(module, "IMAGE_MAP_PROJECTION")
        self.image = _find_object(module, "IMAGE")
        self.compressed = _find_object(module, "COMPRESSED_FILE")

    def fail(self, what: str) -> LabelError:
        return LabelError(
            f"{self.path}: {what}; a HiRISE RDR label (.LBL) with an IMAGE_MAP_PROJECTION "
            "object is needed (fix or remove the label, or pass --label)"
        )

    def raw(self, where: str, key: str, required: bool) -> Any:
        obj = {"proj": self.proj, "image": self.image, "top": self.module}[where]
        value = _lookup(obj, key)
        if isinstance(value, str) and value.strip().upper() in ("", "N/A", "UNK", "NULL"):
            value = None
        if value is None and required:
            obj_name = {"proj": "IMAGE_MAP_PROJECTION", "image": "IMAGE", "top": "the label"}[where]
            raise self.fail(f"missing {key} in {obj_name}")
        return value

    def number(self, where: str, key: str, required: bool = True) -> float | None:
        value, unit = _unit_value(self.raw(where, key, required))
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.fail(f"{key} = {value!r} is not a number") from None
        if not math.isfinite(number):
            raise self.fail(f"{key} = {value!r} is not finite")
        return _to_base_unit(number, unit, key, self)

    def integer(self, where: str, key: str, required: bool = True) -> int | None:
        number = self.number(where, key, required)
        if number is None:
            return None
        if number != int(number):
            raise self.fail(f"{key} = {number} is not a whole number")
        return int(number)

    def text(self, where: str, key: str) -> str | None:
        value = self.raw(where, key, False)
        if value is None or isinstance(value, Mapping):
            return None
        return " ".join(str(value).split())


def _to_base_unit(number: float, unit: str, key: str, reader: _Reader) -> float:
    """Metres for MAP_SCALE, km for radii, degrees/pixels unchanged; reject unknown units."""
    if not unit:
        return number
    unit = unit.replace("METRES", "METERS")
    if key == "MAP_SCALE":
        factors = {"METERS/PIXEL": 1.0, "M/PIXEL": 1.0, "M/PIX": 1.0, "KM/PIXEL": 1000.0}
        factors["CM/PIXEL"] = 0.01
    elif key.endswith("_RADIUS"):
        factors = {"KM": 1.0, "KILOMETERS": 1.0, "M": 0.001, "METERS": 0.001}
    else:
        return number
    if unit not in factors:
        raise reader.fail(f"{key} has unit <{unit}>, which areoscan does not understand")
    return number * factors[unit]


def _east_longitude(lon: float | None, positive_east: bool) -> float | None:
    """Longitude in east 0..360 (west-positive labels are converted)."""
    if lon is None:
        return None
    lon = lon if positive_east else -lon
    return lon % 360.0


def _parse(path: Path) -> Any:
    """The PVL module of a label file; LabelError (one line) if it is missing, empty or malformed."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise LabelError(
            f"{path}: label not found; pass --label or put the .LBL beside the image"
        ) from None
    except OSError as exc:
        raise LabelError(f"{path}: cannot read label ({exc.strerror})") from None
    if not text.strip():
        raise LabelError(f"{path}: label is empty; download it again or pass a valid .LBL")
    try:
        with warnings.catch_warnings():  # pvl warns about its own deprecated Units class
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            import pvl

            return pvl.loads(text.decode("latin-1"))
    except Exception as exc:  # pvl raises several exception types on malformed text
        where = re.search(r"line (\d+)", str(exc))
        detail = f"syntax error at line {where.group(1)}" if where else type(exc).__name__
        raise LabelError(f"{path}: not a readable PDS3 label ({detail})") from None


def _projection_type(reader: _Reader) -> tuple[str, bool]:
    """(MAP_PROJECTION_TYPE, True when longitudes are positive east), checked."""
    projection = reader.text("proj", "MAP_PROJECTION_TYPE")
    if projection is None:
        raise reader.fail("missing MAP_PROJECTION_TYPE in IMAGE_MAP_PROJECTION")
    projection = projection.upper().replace("_", " ")
    if projection not in PROJECTIONS:
        raise reader.fail(
            f"MAP_PROJECTION_TYPE {projection!r} is not one of {', '.join(PROJECTIONS)}"
        )
    direction = (reader.text("proj", "POSITIVE_LONGITUDE_DIRECTION") or "EAST").upper()
    if direction not in ("EAST", "WEST"):
        raise reader.fail(f"POSITIVE_LONGITUDE_DIRECTION {direction!r} is neither EAST nor WEST")
    return projection, direction == "EAST"


def _num(reader: _Reader, key: str) -> float:
    value = reader.number("proj", key)
    assert value is not None
    return value


def _map_geometry(
    reader: _Reader, projection: str, east: bool
) -> tuple[float, list[float], float, float]:
    """(MAP_SCALE, axis radii km, centre latitude, centre east longitude), checked."""
    map_scale = _num(reader, "MAP_SCALE")
    if map_scale <= 0:
        raise reader.fail(f"MAP_SCALE = {map_scale} must be positive")
    radii = [_num(reader, k) for k in ("A_AXIS_RADIUS", "B_AXIS_RADIUS", "C_AXIS_RADIUS")]
    if any(not 1000.0 < r < 10000.0 for r in radii):
        raise reader.fail(f"axis radii {radii} km are not plausible for Mars")
    center_lat = _num(reader, "CENTER_LATITUDE")
    if not -90.0 <= center_lat <= 90.0:
        raise reader.fail(f"CENTER_LATITUDE = {center_lat} is outside -90..90")
    if projection == "POLAR STEREOGRAPHIC" and abs(center_lat) != 90.0:
        raise reader.fail(f"POLAR STEREOGRAPHIC with CENTER_LATITUDE = {center_lat} (must be ±90)")
    if projection == "EQUIRECTANGULAR" and abs(center_lat) >= 90.0:
        raise reader.fail("EQUIRECTANGULAR with CENTER_LATITUDE at a pole")
    center_lon = _east_longitude(_num(reader, "CENTER_LONGITUDE"), east)
    assert center_lon is not None
    return map_scale, radii, center_lat, center_lon


def _image_layout(reader: _Reader) -> tuple[int, int, int, int]:
    """(LINES, LINE_SAMPLES, SAMPLE_BITS, SAMPLE_BIT_MASK), checked."""
    lines = reader.integer("image", "LINES")
    samples = reader.integer("image", "LINE_SAMPLES")
    assert lines is not None and samples is not None
    if lines <= 0 or samples <= 0:
        raise reader.fail(f"image size {lines} x {samples} is not positive")
    sample_bits = reader.integer("image", "SAMPLE_BITS", required=False) or 16
    mask = reader.integer("image", "SAMPLE_BIT_MASK", required=False)
    if mask is None:
        mask = (1 << sample_bits) - 1
    if mask <= 0 or mask & (mask + 1) or mask.bit_length() > sample_bits:
        raise reader.fail(
            f"SAMPLE_BIT_MASK {mask:#b} is not a run of low bits within {sample_bits} bits"
        )
    return lines, samples, sample_bits, mask


def read_label(path: str | Path) -> MapLabel:
    """Parse a detached PDS3 label; raise LabelError (one line) if it is unreadable or incomplete."""
    path = Path(path)
    reader = _Reader(path, _parse(path))
    if reader.proj is None:
        raise reader.fail("no IMAGE_MAP_PROJECTION object")
    if reader.image is None:
        raise reader.fail("no IMAGE object")
    projection, east = _projection_type(reader)
    map_scale, radii, center_lat, center_lon = _map_geometry(reader, projection, east)
    lines, samples, sample_bits, mask = _image_layout(reader)

    def num(key: str) -> float:
        return _num(reader, key)

    def opt(where: str, key: str) -> float | None:
        return reader.number(where, key, required=False)

    lats = [opt("proj", "MINIMUM_LATITUDE"), opt("proj", "MAXIMUM_LATITUDE")]
    for lat in lats:
        if lat is not None and not -90.0 <= lat <= 90.0:
            raise reader.fail(f"latitude {lat} is outside -90..90")
    lon_keys = ("EASTERNMOST_LONGITUDE", "WESTERNMOST_LONGITUDE")
    lons = [_east_longitude(opt("proj", k), east) for k in lon_keys]
    if not east:  # in a west-positive label the easternmost has the smallest west longitude
        lons = lons[::-1]
    null = reader.integer("image", "CORE_NULL", required=False)
    compressed = _lookup(reader.compressed, "FILE_NAME") if reader.compressed else None
    return MapLabel(
        projection=projection,
        map_scale=map_scale,
        center_latitude=center_lat,
        center_longitude=center_lon,
        line_projection_offset=num("LINE_PROJECTION_OFFSET"),
        sample_projection_offset=num("SAMPLE_PROJECTION_OFFSET"),
        lines=lines,
        line_samples=samples,
        a_axis_radius=radii[0],
        b_axis_radius=radii[1],
        c_axis_radius=radii[2],
        sample_bits=sample_bits,
        sample_bit_mask=mask,
        bands=reader.integer("image", "BANDS", required=False) or 1,
        core_null=null,
        minimum_latitude=lats[0],
        maximum_latitude=lats[1],
        easternmost_longitude=lons[0],
        westernmost_longitude=lons[1],
        map_projection_rotation=opt("proj", "MAP_PROJECTION_ROTATION") or 0.0,
        coordinate_system=(
            reader.text("proj", "COORDINATE_SYSTEM_NAME") or "PLANETOCENTRIC"
        ).upper(),
        product_id=reader.text("top", "PRODUCT_ID"),
        observation_id=reader.text("top", "OBSERVATION_ID"),
        compressed_file=str(compressed) if compressed else None,
        target_name=(reader.text("top", "TARGET_NAME") or "MARS").upper(),
        scaling_factor=opt("image", "SCALING_FACTOR"),
        offset=opt("image", "OFFSET"),
    )
