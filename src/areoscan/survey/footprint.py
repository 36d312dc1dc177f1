"""Where a survey product lies (centre, bounds, map scale), for ``--bbox`` / ``--max-scale``.

Use :func:`label_footprint` for a HiRISE RED JP2 (from its detached PDS3 label, read locally or
fetched: the image itself is never opened) and :func:`raster_footprint` for any other product
areoscan opens (PDS3 IMG, ISIS3 cube, GeoTIFF, VRT: from its georeference). Both return the keyword
arguments of :class:`~areoscan.survey.jobs.Job` they know (``lat``, ``lon``, ``scale``,
``bounds``), longitudes east 0..360, to be applied with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from areoscan.survey.jobs import lon_centre


def label_footprint(label_path: Path) -> dict[str, Any]:
    """Centre, bounds and scale from a product's PDS label (scale only if it has no bounds)."""
    from areoscan.io import read_label

    lab = read_label(label_path)
    scale = float(lab.map_scale)
    lats = [lab.minimum_latitude, lab.maximum_latitude]
    lons = [lab.westernmost_longitude, lab.easternmost_longitude]
    if any(v is None for v in lats + lons):
        return {"scale": scale}
    lat0, lat1 = (
        float(min(v for v in lats if v is not None)),
        float(max(v for v in lats if v is not None)),
    )
    lon0, lon1 = sorted(float(v) % 360.0 for v in lons if v is not None)
    if lon1 - lon0 > 180:  # the image straddles the 0/360 seam
        lon0, lon1 = lon1, lon0
    return {
        "lat": (lat0 + lat1) / 2,
        "lon": lon_centre(lon0, lon1),
        "scale": scale,
        "bounds": (lat0, lat1, lon0 % 360.0, lon1 % 360.0),
    }


def raster_footprint(path: Path) -> dict[str, Any]:
    """Centre, bounds and scale of any product areoscan opens (PDS3, ISIS3, GeoTIFF, VRT)."""
    from areoscan.io import open_raster

    with open_raster(path) as raster:
        if raster.georef is None or raster.scale is None:
            return {}
        corners = raster.georef.corners_lonlat(raster.shape)
    centre = corners.pop("centre")
    lats = [v[1] for v in corners.values()]
    lons = sorted(v[0] % 360.0 for v in corners.values())
    lon0, lon1 = (lons[-1], lons[0]) if lons[-1] - lons[0] > 180 else (lons[0], lons[-1])
    return {
        "lat": centre[1],
        "lon": centre[0] % 360.0,
        "scale": float(raster.scale),
        "bounds": (min(lats), max(lats), lon0, lon1),
    }


def label_beside(jp2: Path) -> Path | None:
    """The ``.LBL`` (or ``.lbl``) beside an image, if there is one."""
    for suffix in (".LBL", ".lbl"):
        if jp2.with_suffix(suffix).exists():
            return jp2.with_suffix(suffix)
    return None
