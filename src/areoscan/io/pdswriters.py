"""Write small map-projected PDS3 ``.IMG`` and ISIS3 ``.cub`` products (tests, benchmarks, demos).

Use :func:`write_pds3` to make a PDS3 image with an attached label (label and pixels in one ``.IMG``)
or a detached one (``X.LBL`` whose ``^IMAGE`` points at ``X.IMG``), laid out like CTX / HRSC / LROC
archive products, and :func:`write_isis3` for an ISIS3 cube (GDAL's ISIS3 driver). GDAL reads PDS3
but cannot write it, hence the hand-written label. Both take the map as :class:`MapSpec`: projection,
body radius, centre, scale and the upper-left corner in projected metres.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from areoscan.errors import OutputError
from areoscan.io.atomic import atomic_output

#: PDS3 MAP_PROJECTION_TYPE -> PROJ string template (sphere of radius R metres).
PDS_PROJECTIONS = {
    "EQUIRECTANGULAR": "+proj=eqc +lat_ts={clat} +lat_0=0 +lon_0={clon}",
    "POLAR STEREOGRAPHIC": "+proj=stere +lat_0={clat} +lon_0={clon} +k=1",
    "SINUSOIDAL": "+proj=sinu +lon_0={clon}",
    "ORTHOGRAPHIC": "+proj=ortho +lat_0={clat} +lon_0={clon}",
}


@dataclasses.dataclass(frozen=True)
class MapSpec:
    """The map of a generated product.

    projection: a key of :data:`PDS_PROJECTIONS`. body: TARGET_NAME ("MARS", "MOON", ...).
    radius_km: sphere radius. center_latitude / center_longitude: degrees (east). scale: m/px.
    x0 / y0: projected metres of the upper-left corner of pixel (0, 0).
    """

    projection: str = "EQUIRECTANGULAR"
    body: str = "MARS"
    radius_km: float = 3396.19
    center_latitude: float = 0.0
    center_longitude: float = 0.0
    scale: float = 6.0
    x0: float = 0.0
    y0: float = 0.0

    def proj_string(self) -> str:
        """The map as a PROJ string on a sphere (what GDAL builds from the label)."""
        base = PDS_PROJECTIONS[self.projection].format(
            clat=self.center_latitude, clon=self.center_longitude
        )
        return f"{base} +R={self.radius_km * 1000.0} +units=m +no_defs"


def _sample_type(dtype: np.dtype) -> str:
    return "UNSIGNED_INTEGER" if dtype.itemsize == 1 else "LSB_UNSIGNED_INTEGER"


def _pds3_label(
    data: np.ndarray, spec: MapSpec, pointer: str, records: tuple[int, int, int], bits: int | None
) -> str:
    record_bytes, file_records, label_records = records
    h, w = data.shape
    sample_bits = data.dtype.itemsize * 8
    mask = "".join("1" if i < (bits or sample_bits) else "0" for i in range(sample_bits))[::-1]
    lines = [
        "PDS_VERSION_ID = PDS3",
        "RECORD_TYPE = FIXED_LENGTH",
        f"RECORD_BYTES = {record_bytes}",
        f"FILE_RECORDS = {file_records}",
    ]
    if label_records:
        lines.append(f"LABEL_RECORDS = {label_records}")
    lines += [
        f"^IMAGE = {pointer}",
        f'TARGET_NAME = "{spec.body}"',
        'PRODUCT_ID = "GENERATED"',
        "OBJECT = IMAGE_MAP_PROJECTION",
        f'  MAP_PROJECTION_TYPE = "{spec.projection}"',
        f"  A_AXIS_RADIUS = {spec.radius_km} <KM>",
        f"  B_AXIS_RADIUS = {spec.radius_km} <KM>",
        f"  C_AXIS_RADIUS = {spec.radius_km} <KM>",
        "  COORDINATE_SYSTEM_NAME = PLANETOCENTRIC",
        "  POSITIVE_LONGITUDE_DIRECTION = EAST",
        f"  CENTER_LATITUDE = {spec.center_latitude} <DEG>",
        f"  CENTER_LONGITUDE = {spec.center_longitude} <DEG>",
        f"  LINE_PROJECTION_OFFSET = {spec.y0 / spec.scale - 0.5} <PIXEL>",
        f"  SAMPLE_PROJECTION_OFFSET = {-spec.x0 / spec.scale - 0.5} <PIXEL>",
        f"  MAP_SCALE = {spec.scale} <METERS/PIXEL>",
        "  MAP_PROJECTION_ROTATION = 0.0",
        "END_OBJECT = IMAGE_MAP_PROJECTION",
        "OBJECT = IMAGE",
        f"  LINES = {h}",
        f"  LINE_SAMPLES = {w}",
        "  BANDS = 1",
        f"  SAMPLE_TYPE = {_sample_type(data.dtype)}",
        f"  SAMPLE_BITS = {sample_bits}",
        f"  SAMPLE_BIT_MASK = 2#{mask}#",
        "END_OBJECT = IMAGE",
        "END",
    ]
    return "\r\n".join(lines) + "\r\n"


def write_pds3(
    path: str | Path,
    data: np.ndarray,
    spec: MapSpec,
    detached: bool = False,
    bits: int | None = None,
) -> Path:
    """Write ``data`` (uint8/uint16, H × W) as a PDS3 image; return what to open.

    detached=False: one ``path`` (.IMG) with the label in its first records (``^IMAGE = n``).
    detached=True: ``path`` holds only pixels and ``path.with_suffix(".LBL")`` the label
    (``^IMAGE = "NAME.IMG"``). bits: SAMPLE_BIT_MASK's significant bits (None: all).
    Returns the .IMG path (GDAL and areoscan accept the .IMG or, when detached, the .LBL).
    """
    path = Path(path)
    arr = np.ascontiguousarray(data)
    if arr.ndim != 2 or arr.dtype not in (np.uint8, np.uint16):
        raise OutputError(f"{path}: write_pds3 needs 2-D uint8/uint16 pixels, got {arr.dtype}")
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    record = arr.shape[1] * arr.dtype.itemsize
    h = arr.shape[0]
    if detached:
        text = _pds3_label(arr, spec, f'"{path.name}"', (record, h, 0), bits)
        with atomic_output(path.with_suffix(".LBL")) as tmp:
            tmp.write_bytes(text.encode("ascii"))
        with atomic_output(path) as tmp:
            tmp.write_bytes(arr.tobytes())
        return path
    label_records = 1
    while True:  # the label's size depends on its own record counts
        text = _pds3_label(
            arr, spec, str(label_records + 1), (record, label_records + h, label_records), bits
        )
        needed = -(-len(text) // record)
        if needed <= label_records:
            break
        label_records = needed
    head = text.encode("ascii").ljust(label_records * record, b" ")
    with atomic_output(path) as tmp:
        tmp.write_bytes(head + arr.tobytes())
    return path


def write_isis3(path: str | Path, data: np.ndarray, spec: MapSpec) -> Path:
    """Write ``data`` as a map-projected ISIS3 cube (GDAL's ISIS3 driver); return the path.

    The cube's Mapping group (TargetName, ProjectionName, PixelResolution, ...) comes from
    ``spec`` the way ISIS writes it; the datum is named after the body so GDAL reads it back.
    """
    import rasterio
    from affine import Affine
    from pyproj import CRS
    from pyproj.crs import ProjectedCRS
    from pyproj.crs.datum import CustomDatum, CustomEllipsoid

    path = Path(path)
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.dtype not in (np.uint8, np.uint16):
        raise OutputError(f"{path}: write_isis3 needs 2-D uint8/uint16 pixels, got {arr.dtype}")
    name = spec.body.capitalize()
    ellipsoid = CustomEllipsoid(name=name, radius=spec.radius_km * 1000.0)
    datum = CustomDatum(name=name, ellipsoid=ellipsoid)
    proj = CRS.from_proj4(spec.proj_string())
    from pyproj.crs import GeographicCRS

    crs = ProjectedCRS(
        conversion=proj.coordinate_operation,
        geodetic_crs=GeographicCRS(name=name, datum=datum),
        name=f"{spec.projection.title()} {name}",
    )
    transform = Affine(spec.scale, 0.0, spec.x0, 0.0, -spec.scale, spec.y0)
    profile = {
        "driver": "ISIS3",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype.name,
        "crs": crs.to_wkt(),
        "transform": transform,
    }
    try:
        with atomic_output(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr, 1)
    except (rasterio.errors.RasterioError, OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot write ISIS3 cube ({exc})") from exc
    return path
