"""A scan's outputs as catalogue rows: regions, detections and per-image figures, JSON-safe.

Use these on a survey worker (:func:`areoscan.survey.engine.process_image`) to turn what a scan
wrote (its summary dict, regions and detections) into the plain dicts the catalogue stores; every
function tolerates missing keys, as scans of other versions may lack some.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def detections_as_dicts(out_dir: Path) -> list[dict[str, Any]]:
    """Detections written by a scan run with a detector, as plain dicts for the catalogue."""
    from areoscan.scan.outputs import read_detections

    out = []
    for rec in read_detections(out_dir):
        geometry = rec.pop("geometry", None)
        out.append(
            {
                "detection_id": int(rec["detection_id"]),
                "class_name": rec.get("class_name"),
                "score": as_float(rec.get("score")),
                "area_m2": as_float(rec.get("area_m2")),
                "centroid_lat": as_float(rec.get("centroid_lat")),
                "centroid_lon": as_float(rec.get("centroid_lon")),
                "geometry": plain(geometry),
                "properties": plain(rec),
            }
        )
    return out


def regions_as_dicts(
    out_dir: Path, regions_fn: Callable[[Path], Any] | None = None
) -> list[dict[str, Any]]:
    """Regions written by the scan, as plain dicts for the catalogue (see areoscan.scan.read_regions)."""
    if regions_fn is None:
        import areoscan.scan

        regions_fn = areoscan.scan.read_regions  # type: ignore[attr-defined]
    regions = regions_fn(out_dir)
    records = regions.to_dict("records") if hasattr(regions, "to_dict") else list(regions)
    out = []
    for number, rec in enumerate(records, start=1):
        rec = dict(rec)
        geometry = rec.pop("geometry", None)
        if geometry is not None and hasattr(geometry, "__geo_interface__"):
            geometry = geometry.__geo_interface__
        props = rec.pop("properties", None) or {}
        props.update(rec)
        out.append(
            {
                "region_id": int(props.get("region_id", props.get("id", number))),
                "area_m2": as_float(props.get("area_m2")),
                "centroid_lat": as_float(props.get("centroid_lat")),
                "centroid_lon": as_float(props.get("centroid_lon")),
                "mean_prob": as_float(props.get("mean_prob", props.get("mean_probability"))),
                "max_prob": as_float(props.get("max_prob", props.get("max_probability"))),
                "geometry": plain(geometry),
                "properties": plain(props),
            }
        )
    return out


def as_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def plain(value: Any) -> Any:
    """JSON-safe copy (tuples → lists, numpy scalars → Python)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def figures(info: dict[str, Any]) -> dict[str, Any]:
    """The catalogue's per-image figures from a scan summary dict (tolerant of missing keys)."""
    centre = info.get("centre") or info.get("center") or {}
    lat = info.get(
        "centre_lat",
        info.get("center_lat", centre.get("lat") if isinstance(centre, dict) else None),
    )
    lon = info.get(
        "centre_lon",
        info.get("center_lon", centre.get("lon") if isinstance(centre, dict) else None),
    )
    regions = info.get("regions")
    lon_east = as_float(lon)
    return {
        "lat": as_float(lat),
        "lon": None if lon_east is None else lon_east % 360.0,
        "scale": as_float(info.get("scale")),
        "flagged_tiles": int(info["flagged_tiles"])
        if info.get("flagged_tiles") is not None
        else None,
        "region_count": len(regions)
        if isinstance(regions, list)
        else (int(regions) if regions is not None else None),
        "detection_count": int(info["detections"]) if info.get("detect") else None,
        "total_area_m2": as_float(info.get("total_area_m2")),
        "percent": as_float(info.get("percent", info.get("percent_of_footprint"))),
        "output_dir": info.get("output_dir"),
    }
