"""Georeference of a HiRISE image: projected CRS + affine transform, and pixel ↔ map ↔ lat/lon.

Use :class:`Georef` whenever pixels must be placed on Mars (output GeoTIFFs, region polygons, the
survey catalogue). Build it from a PDS3 label with :meth:`Georef.from_label` (matching GDAL's PDS
driver) or from a CRS + transform found in a GeoJP2/GeoTIFF with :meth:`Georef.from_crs_transform`.

Conventions
-----------
* Pixel (row, col) integers name pixel *centres*: the centre of pixel (r, c) is at fractional
  image coordinates (c + 0.5, r + 0.5) from the upper-left corner of pixel (0, 0). ``xy_to_pixel``
  returns fractional (row, col) on the same convention, so ``np.round`` gives the nearest pixel and
  ``np.floor(v + 0.5)`` the pixel containing the point.
* The grid follows GDAL's PDS driver with HiRISE's offsets: the upper-left corner of pixel (0, 0) is
  x = −(SAMPLE_PROJECTION_OFFSET − 0.5)·MAP_SCALE, y = (LINE_PROJECTION_OFFSET − 0.5)·MAP_SCALE and
  pixels are (MAP_SCALE, −MAP_SCALE) metres. At resolution level L a pixel is 2**L level-0 pixels wide
  and the upper-left corner is the same.
* CRS: a sphere, as GDAL's PDS driver builds it. EQUIRECTANGULAR: radius A_AXIS_RADIUS (HiRISE puts the
  local radius at CENTER_LATITUDE there), latitude of true scale CENTER_LATITUDE, central meridian
  CENTER_LONGITUDE. POLAR STEREOGRAPHIC (planetocentric labels): sphere of the polar radius
  C_AXIS_RADIUS, natural origin at the pole, scale 1 there. Latitudes are planetocentric (on a sphere
  they equal those of the IAU Mars 2000 sphere, IAU_2015:49900), longitudes positive east.
* Coordinate pairs are returned x-first: (x, y), (lon, lat); pixel pairs row-first: (rows, cols).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.crs import GeographicCRS, ProjectedCRS
from pyproj.crs.coordinate_operation import (
    EquidistantCylindricalConversion,
    PolarStereographicAConversion,
)
from pyproj.crs.datum import CustomDatum, CustomEllipsoid

from areoscan.errors import LabelError
from areoscan.io.label import MARS_EQUATORIAL_KM, MARS_POLAR_KM, MapLabel

ArrayLike = Any  # float, sequence or numpy array; results are numpy arrays (or floats for scalars)


def mars_sphere_crs(radius_m: float, ellipsoid_name: str = "Mars_sphere") -> CRS:
    """Geographic lon/lat CRS on a Mars sphere of ``radius_m`` metres (planetocentric, east-positive)."""
    ellipsoid = CustomEllipsoid(name=ellipsoid_name, radius=radius_m)
    return GeographicCRS(name="GCS_Mars", datum=CustomDatum(name="D_Mars", ellipsoid=ellipsoid))


def _crs_from_label(label: MapLabel) -> CRS:
    """Projected sphere CRS for a label, as GDAL's PDS driver would build it (cached: ~0.2 s each)."""
    return _cached_crs(
        label.projection,
        label.center_latitude,
        label.center_longitude,
        label.a_axis_radius,
        label.c_axis_radius,
        label.coordinate_system.upper(),
        label.target_name,
    )


@functools.lru_cache(maxsize=64)
def _cached_crs(
    projection: str,
    center_latitude: float,
    center_longitude: float,
    a_axis_radius: float,
    c_axis_radius: float,
    coordinate_system: str,
    target_name: str,
) -> CRS:
    label = MapLabel(
        projection=projection,
        map_scale=1.0,
        center_latitude=center_latitude,
        center_longitude=center_longitude,
        line_projection_offset=0.0,
        sample_projection_offset=0.0,
        lines=1,
        line_samples=1,
        a_axis_radius=a_axis_radius,
        c_axis_radius=c_axis_radius,
        coordinate_system=coordinate_system,
        target_name=target_name,
    )
    if label.projection == "EQUIRECTANGULAR":
        conversion: Any = EquidistantCylindricalConversion(
            latitude_first_parallel=label.center_latitude,
            longitude_natural_origin=label.center_longitude,
        )
        geographic = mars_sphere_crs(label.a_axis_radius * 1000.0, "Mars_localRadius")
    elif label.projection == "POLAR STEREOGRAPHIC":
        conversion = PolarStereographicAConversion(
            latitude_natural_origin=label.center_latitude,
            longitude_natural_origin=label.center_longitude,
            scale_factor_natural_origin=1.0,
        )
        if label.coordinate_system.upper() == "PLANETOCENTRIC":
            geographic = mars_sphere_crs(label.c_axis_radius * 1000.0, "Mars_polarRadius")
        else:
            geographic = mars_sphere_crs(label.a_axis_radius * 1000.0, "Mars")
    else:  # read_label only lets the two HiRISE projections through
        raise LabelError(f"projection {label.projection!r} is not supported")
    return ProjectedCRS(
        name=f"{label.projection} {label.target_name}",
        conversion=conversion,
        geodetic_crs=geographic,
    )


def _label_transform(label: MapLabel) -> Affine:
    """Level-0 affine transform: GDAL's PDS grid with HiRISE's −0.5 offset shift."""
    scale = label.map_scale
    x0 = -(label.sample_projection_offset - 0.5) * scale
    y0 = (label.line_projection_offset - 0.5) * scale
    transform = Affine(scale, 0.0, x0, 0.0, -scale, y0)
    if label.map_projection_rotation:
        transform = Affine.rotation(label.map_projection_rotation) @ transform
    return transform


def _out(values: np.ndarray, like: Any) -> Any:
    """Return a float for scalar input, an array otherwise."""
    return float(values) if np.ndim(like) == 0 else values


@dataclasses.dataclass(frozen=True)
class Georef:
    """A projected CRS and the level-0 affine transform of one image.

    crs: projected pyproj CRS on a Mars sphere (metres). transform: affine.Affine mapping level-0
    (col, row) corner coordinates to (x, y). label: the MapLabel it came from, if any.
    """

    crs: CRS
    transform: Affine
    label: MapLabel | None = None

    # construction -----------------------------------------------------------------------------
    @classmethod
    def from_label(cls, label: MapLabel) -> Georef:
        """Georeference from a HiRISE PDS3 label (see module docstring for the grid and sphere)."""
        return cls(crs=_crs_from_label(label), transform=_label_transform(label), label=label)

    @classmethod
    def from_crs_transform(cls, crs: Any, transform: Affine) -> Georef:
        """Georeference from a CRS (anything pyproj accepts) and a level-0 transform (GeoJP2, GeoTIFF)."""
        return cls(crs=CRS.from_user_input(crs), transform=transform, label=None)

    # levels ------------------------------------------------------------------------------------
    def transform_at(self, level: int = 0) -> Affine:
        """Transform of resolution level ``level`` (pixels 2**level times larger, same corner)."""
        return self.transform @ Affine.scale(2**level)

    def scale_at(self, level: int = 0) -> float:
        """Pixel size in metres at ``level`` (level 0: MAP_SCALE)."""
        t = self.transform_at(level)
        return float(math.hypot(t.a, t.d))

    @property
    def geographic_crs(self) -> CRS:
        """The lon/lat CRS on the same sphere (planetocentric, east-positive)."""
        geodetic = self.crs.geodetic_crs
        assert geodetic is not None
        return geodetic

    # pixel <-> projected ------------------------------------------------------------------------
    def pixel_to_xy(self, rows: ArrayLike, cols: ArrayLike, level: int = 0) -> tuple[Any, Any]:
        """Map coordinates (x, y) in metres of pixel centres (rows, cols) at ``level``."""
        r = np.asarray(rows, dtype=np.float64) + 0.5
        c = np.asarray(cols, dtype=np.float64) + 0.5
        t = self.transform_at(level)
        x = t.a * c + t.b * r + t.c
        y = t.d * c + t.e * r + t.f
        return _out(x, rows), _out(y, rows)

    def xy_to_pixel(self, x: ArrayLike, y: ArrayLike, level: int = 0) -> tuple[Any, Any]:
        """Fractional (rows, cols) at ``level`` of map points; integers are pixel centres."""
        inv = ~self.transform_at(level)
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
        c = inv.a * xa + inv.b * ya + inv.c - 0.5
        r = inv.d * xa + inv.e * ya + inv.f - 0.5
        return _out(r, x), _out(c, x)

    # projected <-> lon/lat -----------------------------------------------------------------------
    @functools.cached_property
    def _to_lonlat(self) -> Transformer:
        return Transformer.from_crs(self.crs, self.geographic_crs, always_xy=True)

    @functools.cached_property
    def _from_lonlat(self) -> Transformer:
        return Transformer.from_crs(self.geographic_crs, self.crs, always_xy=True)

    def _transformer(self, inverse: bool) -> Transformer:
        return self._to_lonlat if inverse else self._from_lonlat

    def xy_to_lonlat(self, x: ArrayLike, y: ArrayLike, lon_range: int = 360) -> tuple[Any, Any]:
        """Planetocentric (lon, lat) in degrees; east longitude in 0..360 or −180..180 (lon_range)."""
        lon, lat = self._transformer(True).transform(
            np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        )
        lon = wrap_longitude(np.asarray(lon), lon_range)
        return _out(lon, x), _out(np.asarray(lat), x)

    def lonlat_to_xy(self, lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
        """Map (x, y) metres of east longitude / planetocentric latitude (either longitude range)."""
        x, y = self._transformer(False).transform(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
        return _out(np.asarray(x), lon), _out(np.asarray(y), lon)

    def pixel_to_lonlat(
        self, rows: ArrayLike, cols: ArrayLike, lon_range: int = 360, level: int = 0
    ) -> tuple[Any, Any]:
        """(lon, lat) of pixel centres (rows, cols) at ``level``."""
        x, y = self.pixel_to_xy(rows, cols, level)
        return self.xy_to_lonlat(x, y, lon_range)

    def lonlat_to_pixel(self, lon: ArrayLike, lat: ArrayLike, level: int = 0) -> tuple[Any, Any]:
        """Fractional (rows, cols) at ``level`` of (lon, lat) points."""
        x, y = self.lonlat_to_xy(lon, lat)
        return self.xy_to_pixel(x, y, level)

    # summaries -----------------------------------------------------------------------------------
    def corners_lonlat(
        self, shape: tuple[int, int], lon_range: int = 360
    ) -> dict[str, tuple[float, float]]:
        """(lon, lat) of the outer corners (upper/lower left/right) and centre of an image of ``shape``."""
        h, w = shape
        rows = np.array([-0.5, -0.5, h - 0.5, h - 0.5, (h - 1) / 2])
        cols = np.array([-0.5, w - 0.5, -0.5, w - 0.5, (w - 1) / 2])
        lon, lat = self.pixel_to_lonlat(rows, cols, lon_range)
        names = ("upper_left", "upper_right", "lower_left", "lower_right", "centre")
        return {n: (float(lo), float(la)) for n, lo, la in zip(names, lon, lat, strict=True)}

    def proj_string(self) -> str:
        """The CRS as a PROJ string (compact; for display and logs), without pyproj's lossy warning."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            text = self.crs.to_proj4()
        return str(text) if text else str(self.crs.to_wkt())

    def projection_name(self) -> str:
        """Short name: the label's MAP_PROJECTION_TYPE, else the CRS's projection method."""
        if self.label is not None:
            return self.label.projection
        method = self.crs.coordinate_operation
        return method.method_name if method is not None else self.crs.name


def wrap_longitude(lon: np.ndarray, lon_range: int = 360) -> np.ndarray:
    """East longitudes into [0, 360) (lon_range=360) or [−180, 180) (lon_range=180)."""
    if lon_range == 360:
        return np.mod(lon, 360.0)
    if lon_range == 180:
        return np.mod(lon + 180.0, 360.0) - 180.0
    raise ValueError(f"lon_range must be 360 or 180, not {lon_range}")


def local_radius_km(latitude: float) -> float:
    """Radius of the Mars ellipsoid (3396.19 / 3376.2 km) at a planetocentric latitude, in km."""
    a, b = MARS_EQUATORIAL_KM, MARS_POLAR_KM
    phi = math.radians(latitude)
    return a * b / math.hypot(b * math.cos(phi), a * math.sin(phi))


def label_centred_on(
    latitude: float,
    longitude: float,
    lines: int,
    line_samples: int,
    map_scale: float = 0.25,
    product_id: str | None = None,
    **fields: Any,
) -> MapLabel:
    """A HiRISE-like MapLabel for an image of ``lines`` × ``line_samples`` centred on (lat, lon).

    Use it to georeference synthetic scenes. Like the HiRISE pipeline: equirectangular for
    |lat| ≤ 65° with CENTER_LATITUDE = lat truncated to a multiple of 5°, CENTER_LONGITUDE 180 and the
    local radius in all three axes; polar stereographic about the nearer pole otherwise. The
    latitude/longitude bounds are filled from the corners. ``fields`` override any other MapLabel field.
    """
    longitude %= 360.0
    if abs(latitude) <= 65.0:
        clat = float(math.trunc(latitude / 5.0) * 5)
        radius = local_radius_km(clat)
        base = MapLabel(
            projection="EQUIRECTANGULAR",
            map_scale=map_scale,
            center_latitude=clat,
            center_longitude=180.0,
            line_projection_offset=0.0,
            sample_projection_offset=0.0,
            lines=lines,
            line_samples=line_samples,
            a_axis_radius=radius,
            b_axis_radius=radius,
            c_axis_radius=radius,
            product_id=product_id,
        )
    else:
        base = MapLabel(
            projection="POLAR STEREOGRAPHIC",
            map_scale=map_scale,
            center_latitude=math.copysign(90.0, latitude),
            center_longitude=0.0,
            line_projection_offset=0.0,
            sample_projection_offset=0.0,
            lines=lines,
            line_samples=line_samples,
            a_axis_radius=MARS_EQUATORIAL_KM,
            b_axis_radius=MARS_EQUATORIAL_KM,
            c_axis_radius=MARS_POLAR_KM,
            product_id=product_id,
        )
    x, y = Georef.from_label(base).lonlat_to_xy(longitude, latitude)
    # Upper-left corner = centre − half the image; offsets from the corner formula in the docstring.
    x_ul = x - line_samples / 2 * map_scale
    y_ul = y + lines / 2 * map_scale
    sample_offset = -x_ul / map_scale + 0.5
    line_offset = y_ul / map_scale + 0.5
    placed = dataclasses.replace(
        base, sample_projection_offset=sample_offset, line_projection_offset=line_offset
    )
    corners = Georef.from_label(placed).corners_lonlat((lines, line_samples))
    lons = np.array([v[0] for k, v in corners.items() if k != "centre"])
    lats = [v[1] for k, v in corners.items() if k != "centre"]
    # east/west extremes measured relative to the centre longitude so a 0/360 crossing stays sane
    rel = np.mod(lons - longitude + 180.0, 360.0) - 180.0
    bounds: dict[str, Any] = {
        "minimum_latitude": float(min(lats)),
        "maximum_latitude": float(max(lats)),
        "easternmost_longitude": float((longitude + rel.max()) % 360.0),
        "westernmost_longitude": float((longitude + rel.min()) % 360.0),
    }
    bounds.update(fields)
    return dataclasses.replace(placed, **bounds)
