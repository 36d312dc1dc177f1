"""Regions of a cleaned mask as polygons with measurements.

Use :func:`measure_regions` on each segmented group's labels: one polygon per region
(``rasterio.features.shapes``, exact pixel edges, holes kept) in the image's map coordinates, with
its area in m², centroid latitude/longitude, mean and maximum probability and pixel bounding box.
Each component is measured with whole-array numpy calls inside its own bounding box
(``ndimage.find_objects``), never with a Python loop over pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from areoscan.scan.quant import LEVELS
from areoscan.tiling import Window

FIELDS = (
    "region_id",
    "area_m2",
    "area_px",
    "centroid_lat",
    "centroid_lon",
    "mean_prob",
    "max_prob",
    "row0",
    "col0",
    "row1",
    "col1",
)


@dataclass
class Regions:
    """Measured regions: ``records`` (dicts keyed by :data:`FIELDS`) and their ``geometries``.

    Geometries are shapely polygons in the image CRS (metres), or in level-0 pixel coordinates
    (x = column, y = row) when the image has no georeference. ``row0 … col1`` are the level-0 pixel
    bounding box (end exclusive); ``centroid_lon`` is east longitude in 0–360°.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    geometries: list[Any] = field(default_factory=list)

    def extend(self, other: Regions) -> None:
        """Append another group's regions."""
        self.records += other.records
        self.geometries += other.geometries

    def renumber(self) -> None:
        """Number regions 1..n, largest first (the order they are written in)."""
        order = sorted(range(len(self.records)), key=lambda i: -self.records[i]["area_px"])
        self.records = [self.records[i] for i in order]
        self.geometries = [self.geometries[i] for i in order]
        for k, rec in enumerate(self.records, start=1):
            rec["region_id"] = k

    def __len__(self) -> int:
        return len(self.records)

    @property
    def total_area_m2(self) -> float:
        """Sum of the regions' areas (0 when the image has no scale)."""
        return float(sum(r["area_m2"] or 0.0 for r in self.records))


def group_transform(raster: Any, level: int, bbox: Window) -> Any:
    """Affine of a group's array: map coordinates, or level-0 pixels without a georeference."""
    from affine import Affine

    shift = Affine.translation(bbox.col, bbox.row)
    t = raster.transform_at(level) if raster.georef is not None else None
    if t is None:
        return Affine.scale(2**level) @ shift
    return t @ shift


def measure_regions(
    stripes: Iterable[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]],
    n: int,
    bbox: Window,
    level: int,
    raster: Any,
) -> Regions:
    """Polygons and measurements of regions ``1..n`` of a group, given stripe by stripe.

    stripes: ``(row0, col0, labels, table, q)`` — a stripe's local component labels, the table
    mapping them to final regions (0 = dropped) and its one-byte probabilities, for the level
    pixels from ``(row0, col0)`` on, top to bottom. A region may span several stripes (its polygon
    pieces are unioned). bbox: the group's box at ``level``.

    Each component is measured inside its own bounding box (``ndimage.find_objects``), so the cost
    follows the regions' extent, not the group's.
    """
    import shapely
    from rasterio.features import shapes
    from shapely.geometry import shape

    area_px = np.zeros(n, dtype=np.int64)
    qsum, qmax = np.zeros(n), np.zeros(n)
    row_sum, col_sum = np.zeros(n), np.zeros(n)
    box0 = np.full((n, 2), np.iinfo(np.int64).max, dtype=np.int64)
    box1 = np.full((n, 2), -1, dtype=np.int64)
    polys: list[list[Any]] = [[] for _ in range(n)]
    for row0, col0, labels, table, q in stripes:
        if n == 0 or labels.size == 0:
            continue
        for lid, sl in enumerate(ndi.find_objects(labels, max_label=len(table) - 1), start=1):
            f = int(table[lid]) - 1
            if sl is None or f < 0:
                continue
            m = labels[sl] == lid
            vals = q[sl][m]
            rr, cc = np.nonzero(m)
            r_off, c_off = sl[0].start + row0, sl[1].start + col0
            area_px[f] += rr.size
            qsum[f] += float(vals.sum(dtype=np.int64))
            qmax[f] = max(qmax[f], float(vals.max()))
            row_sum[f] += float(rr.sum(dtype=np.int64)) + rr.size * r_off
            col_sum[f] += float(cc.sum(dtype=np.int64)) + cc.size * c_off
            box0[f] = np.minimum(box0[f], (r_off, c_off))
            box1[f] = np.maximum(box1[f], (sl[0].stop + row0, sl[1].stop + col0))
            part = Window(r_off, c_off, m.shape[0], m.shape[1])
            transform = group_transform(raster, level, part)
            polys[f] += [shape(g) for g, _ in shapes(m.view(np.uint8), mask=m, connectivity=4,
                                                     transform=transform)]  # fmt: skip
    if n == 0:
        return Regions()
    transform = group_transform(raster, level, bbox)
    px_area = abs(transform.a * transform.e - transform.b * transform.d)
    rows = row_sum / np.maximum(area_px, 1)
    cols = col_sum / np.maximum(area_px, 1)
    georef = raster.georef
    if georef is not None:
        lon, lat = georef.pixel_to_lonlat(rows, cols, lon_range=360, level=level)
        lon, lat = np.atleast_1d(lon), np.atleast_1d(lat)
    f = 2**level
    h0, w0 = raster.shape
    out = Regions()
    for i in range(n):
        parts = polys[i]
        geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
        out.geometries.append(shapely.simplify(geom, 0.0))
        out.records.append(
            {
                "region_id": 0,
                "area_m2": float(area_px[i] * px_area) if georef is not None else None,
                "area_px": int(area_px[i]),
                "centroid_lat": float(lat[i]) if georef is not None else None,
                "centroid_lon": float(lon[i]) if georef is not None else None,
                "mean_prob": float(qsum[i] / max(1, area_px[i]) / LEVELS),
                "max_prob": float(qmax[i] / LEVELS),
                "row0": int(box0[i, 0] * f),
                "col0": int(box0[i, 1] * f),
                "row1": int(min(h0, box1[i, 0] * f)),
                "col1": int(min(w0, box1[i, 1] * f)),
            }
        )
    return out
