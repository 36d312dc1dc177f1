"""Which planetary body an image is on: from its CRS's ellipsoid / datum names, else its radius.

Use :func:`body_of_crs` when opening a georeferenced raster (GeoTIFF, PDS3, ISIS3, VRT) and
:func:`check_body_name` for a label's TARGET_NAME. The bodies are those PROJ knows under the IAU_2015
authority (Mars, Moon, Mercury, Ceres, Europa, ... 97 in PROJ 9), so nothing is hard-coded here. GDAL
names a PDS3/ISIS3 datum after the target ("D_MOON", "GCS_Mars", "Moon (2015) - Sphere"), which is
what the names are matched against; a CRS built from a bare radius ("+R=1737400") is matched by its
equatorial radius (within 0.5 %). A CRS that *names* a body PROJ does not know is an error (a typo in
a label, or a product areoscan cannot place), whatever its radius; one without any name or known
radius has body None. EPSG geodetic CRSs (WGS 84, ...) are Earth.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from areoscan.errors import RasterError

RADIUS_TOLERANCE = 0.005
_GENERIC = {"", "unknown", "unnamed", "undefined", "custom", "sphere", "ellipse", "none"}
_TRIM = re.compile(r"^(d|gcs|datum|ellipsoid)[_ ]+|[_ ]+(localradius|polarradius|sphere)$")


@functools.lru_cache(maxsize=1)
def known_bodies() -> dict[str, tuple[str, float]]:
    """lower-case name -> (display name, equatorial radius in metres), from PROJ's IAU_2015 CRSs."""
    from pyproj import CRS
    from pyproj.database import query_crs_info
    from pyproj.enums import PJType

    out: dict[str, tuple[str, float]] = {}
    for info in query_crs_info(auth_name="IAU_2015", pj_types=[PJType.GEOGRAPHIC_2D_CRS]):
        if not info.code.endswith("00"):  # one per body: the sphere, planetocentric
            continue
        name = info.name.split(" (")[0]
        ellipsoid = CRS.from_authority("IAU_2015", info.code).ellipsoid
        if ellipsoid is not None:
            out[name.lower()] = (name, ellipsoid.semi_major_metre)
    return out


def _normalise(name: str | None) -> str:
    text = (name or "").split(" (")[0].strip().lower()
    previous = None
    while previous != text:
        previous, text = text, _TRIM.sub("", text).strip()
    return text


def match_body(name: str | None) -> str | None:
    """Display name of the body a target / datum / ellipsoid name means ("D_MOON" -> "Moon"), else None."""
    text = _normalise(name)
    bodies = known_bodies()
    if text in bodies:
        return bodies[text][0]
    for token in re.split(r"[_ ,/]+", text) if text else []:  # "Mars_2000_Sphere", "based on Moon"
        if token in bodies:
            return bodies[token][0]
    return None


def is_generic(name: str | None) -> bool:
    """True for names that say nothing about the body ("unknown", "unnamed", "")."""
    text = _normalise(name)
    return text in _GENERIC or text.startswith("unknown")


def body_by_radius(radius_m: float) -> str | None:
    """The known body whose equatorial radius is within 0.5 % of ``radius_m`` (None if none/ambiguous)."""
    hits = {
        display
        for display, r in known_bodies().values()
        if abs(r - radius_m) <= RADIUS_TOLERANCE * r
    }
    return hits.pop() if len(hits) == 1 else None


def check_body_name(where: Any, name: str) -> str:
    """The body ``name`` (a label's TARGET_NAME) means; RasterError (one line) when PROJ knows none."""
    body = match_body(name)
    if body is None:
        raise RasterError(
            f"{where}: target body {name!r} is unknown (PROJ's IAU_2015 bodies include Mars, Moon, "
            "Mercury, Ceres, ...); fix TARGET_NAME"
        )
    return body


def body_of_crs(where: Any, crs: Any) -> str | None:
    """The body a pyproj CRS is on: its datum / ellipsoid / CRS names, EPSG -> Earth, else its radius.

    Raises RasterError when the CRS names a body that PROJ does not know.
    """
    geodetic = crs.geodetic_crs
    if geodetic is None:
        return None
    if geodetic.to_epsg(min_confidence=90) is not None:
        return "Earth"
    names = [crs.datum.name if crs.datum else None, crs.ellipsoid.name if crs.ellipsoid else None]
    names.append(geodetic.name)
    for name in names:
        body = match_body(name)
        if body is not None:
            return body
    radius = crs.ellipsoid.semi_major_metre if crs.ellipsoid else None
    explicit = [n for n in names if not is_generic(n)]
    if explicit:
        raise RasterError(
            f"{where}: its map is on {explicit[0]!r} (radius {radius or 0:.0f} m), a body PROJ does "
            "not know (IAU_2015 bodies include Mars, Moon, Mercury, Ceres, ...); fix TARGET_NAME"
        )
    return body_by_radius(radius) if radius else None
