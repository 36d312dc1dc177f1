"""The facts ``areoscan info`` reports about an image, as a dict (for ``--json``) and as text.

Use :func:`describe` from Python to get the same summary the CLI prints (e.g. for a catalogue row).
"""

from __future__ import annotations

from typing import Any

from areoscan.io.raster import Raster

FOOTPRINT_MIN_SIDE = 256


def footprint_level(raster: Raster) -> int:
    """Coarsest level whose short side is still ≥ 256 px (0 for small images): cheap, yet accurate."""
    level = 0
    for candidate in range(raster.levels):
        if min(raster.shape_at(candidate)) >= FOOTPRINT_MIN_SIDE:
            level = candidate
    return level


def describe(
    raster: Raster, footprint_level: int | None = None, lon_range: int = 360
) -> dict[str, Any]:
    """Size, levels, bit depth, scale, projection, corners/centre lon-lat and footprint fraction."""
    level = _footprint_level_default(raster) if footprint_level is None else footprint_level
    footprint = raster.footprint(level)
    h, w = raster.shape
    facts: dict[str, Any] = {
        "path": str(raster.path),
        "observation_id": raster.observation_id,
        "format": raster.format,
        "height": h,
        "width": w,
        "megapixels": round(h * w / 1e6, 3),
        "file_bytes": raster.path.stat().st_size,
        "levels": raster.levels,
        "smallest_level_shape": list(raster.shape_at(raster.levels - 1)),
        "bit_depth": raster.bit_depth,
        "container_bits": raster.container_bits,
        "nodata": raster.nodata,
        "label": str(raster.label_path) if raster.label_path else None,
        "band": raster.band,
        "body": raster.body,
        "scale_m_per_px": raster.scale,
        "projection": None,
        "crs": None,
        "transform": None,
        "corners_lonlat": None,
        "centre_lonlat": None,
        "lon_range": lon_range,
        "footprint_fraction": round(float(footprint.mean()), 6),
        "footprint_level": level,
    }
    g = raster.georef
    if g is not None:
        corners = g.corners_lonlat(raster.shape, lon_range)
        centre = corners.pop("centre")
        facts.update(
            projection=g.projection_name(),
            crs=g.proj_string(),
            transform=list(g.transform.to_gdal()),
            corners_lonlat={k: [round(v[0], 9), round(v[1], 9)] for k, v in corners.items()},
            centre_lonlat=[round(centre[0], 9), round(centre[1], 9)],
        )
    return facts


_footprint_level_default = footprint_level


def _container(facts: dict[str, Any]) -> str:
    bits = facts.get("container_bits")
    return f" (in {bits}-bit samples)" if bits and bits != facts["bit_depth"] else ""


def format_info(facts: dict[str, Any]) -> str:
    """Human-readable multi-line summary of :func:`describe`'s dict."""
    lines = [
        f"image        {facts['path']}",
        f"observation  {facts['observation_id'] or '-'}",
        f"size         {facts['height']} x {facts['width']} px ({facts['megapixels']} Mpx, "
        f"{facts['file_bytes'] / 2**20:.1f} MiB {facts['format'].upper()})",
        f"levels       {facts['levels']} (smallest {facts['smallest_level_shape'][0]} x "
        f"{facts['smallest_level_shape'][1]} px)",
        f"bit depth    {facts['bit_depth']}{_container(facts)}   nodata {facts['nodata']}",
        f"label        {facts['label'] or 'none'}",
    ]
    if facts["projection"] is None:
        lines.append("georef       none (no label, GeoJP2 box or GeoTIFF tags)")
    else:
        lines += [
            f"body         {facts['body'] or 'unknown'}",
            f"scale        {facts['scale_m_per_px']:g} m/px",
            f"projection   {facts['projection']}",
            f"crs          {facts['crs']}",
        ]
        rng = "0..360" if facts["lon_range"] == 360 else "-180..180"
        lines.append(f"corners      lon (east, {rng}), lat (planetocentric)")
        for name, (lon, lat) in facts["corners_lonlat"].items():
            lines.append(f"  {name.replace('_', ' '):<11} {lon:12.6f} {lat:11.6f}")
        lon, lat = facts["centre_lonlat"]
        lines.append(f"  {'centre':<11} {lon:12.6f} {lat:11.6f}")
    lines.append(
        f"footprint    {100 * facts['footprint_fraction']:.2f}% of pixels are data "
        f"(measured at level {facts['footprint_level']})"
    )
    return "\n".join(lines)
