"""Longitudes and polygon outlines as the report's maps draw them (east longitude −180..180).

Use :func:`lon180` for any longitude shown on a map and :func:`outline_xy` for the outline of a
GeoJSON polygon from the catalogue (candidate regions, detected objects).
"""

from __future__ import annotations

import math
from typing import Any


def lon180(lon: float | None) -> float | None:
    """East longitude in −180..180 (from 0..360 or either)."""
    if lon is None:
        return None
    return ((float(lon) + 180.0) % 360.0) - 180.0


def outline_xy(geometry: dict[str, Any] | None) -> tuple[list[float], list[float]]:
    """Outline of a GeoJSON (Multi)Polygon as x / y lists (lon −180..180), parts split by NaN."""
    if not geometry or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return [], []
    polys = geometry["coordinates"]
    polys = [polys] if geometry["type"] == "Polygon" else polys
    xs: list[float] = []
    ys: list[float] = []
    for poly in polys:
        if not poly:
            continue
        if xs:
            xs.append(math.nan)
            ys.append(math.nan)
        xs += [((float(x) + 180.0) % 360.0) - 180.0 for x, _ in poly[0]]
        ys += [float(y) for _, y in poly[0]]
    return xs, ys
