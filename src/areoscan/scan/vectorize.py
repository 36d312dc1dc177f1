"""Regions of a cleaned mask as polygons with measurements.

Use :func:`measure_regions` on each segmented group's labels: one polygon per region
(``rasterio.features.shapes``, exact pixel edges, holes kept) in the image's map coordinates, with
its area in m², centroid latitude/longitude, mean and maximum probability and pixel bounding box.
Every measurement is vectorised over the labelled pixels (``bincount``, ``maximum.at``,
``ndimage.find_objects``), never a Python loop over pixels.
"""

from __future__ import annotations

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


def region_stats(labels: np.ndarray, n: int, q: np.ndarray) -> dict[str, np.ndarray]:
    """Per region 1..n: pixel count, sum and max of ``q``, sums of row and column indices.

    Works on the labelled pixels only, a row chunk at a time (``bincount`` and ``maximum.at``);
    ``ndimage.maximum`` / ``center_of_mass`` would sort or copy the whole array in float64.
    """
    from areoscan.scan.clean import row_chunks

    area = np.zeros(n + 1, dtype=np.int64)
    qsum = np.zeros(n + 1, dtype=np.float64)
    qmax = np.zeros(n + 1, dtype=np.uint8)
    row_sum = np.zeros(n + 1, dtype=np.float64)
    col_sum = np.zeros(n + 1, dtype=np.float64)
    for rows in row_chunks(labels.shape):
        lab = labels[rows]
        rr, cc = np.nonzero(lab)
        if rr.size == 0:
            continue
        idx = lab[rr, cc]
        vals = q[rows][rr, cc]
        area += np.bincount(idx, minlength=n + 1)
        qsum += np.bincount(idx, weights=vals, minlength=n + 1)
        np.maximum.at(qmax, idx, vals)
        row_sum += np.bincount(idx, weights=rr + rows.start, minlength=n + 1)
        col_sum += np.bincount(idx, weights=cc, minlength=n + 1)
    return {"area": area[1:], "qsum": qsum[1:], "qmax": qmax[1:].astype(np.float64),
            "row_sum": row_sum[1:], "col_sum": col_sum[1:]}  # fmt: skip


def group_transform(raster: Any, level: int, bbox: Window) -> Any:
    """Affine of a group's array: map coordinates, or level-0 pixels without a georeference."""
    from affine import Affine

    shift = Affine.translation(bbox.col, bbox.row)
    t = raster.transform_at(level) if raster.georef is not None else None
    if t is None:
        return Affine.scale(2**level) @ shift
    return t @ shift


def measure_regions(
    labels: np.ndarray,
    n: int,
    q: np.ndarray,
    bbox: Window,
    level: int,
    raster: Any,
) -> Regions:
    """Polygons and measurements of regions ``1..n`` of ``labels`` (a group's bounding box).

    q: the group's one-byte probabilities (same shape); bbox: where the array sits at ``level``.
    """
    import shapely
    from rasterio.features import shapes
    from shapely.geometry import shape

    if n == 0:
        return Regions()
    stats = region_stats(labels, n, q)
    area_px, qsum, qmax = stats["area"], stats["qsum"], stats["qmax"]
    rows = stats["row_sum"] / np.maximum(area_px, 1) + bbox.row
    cols = stats["col_sum"] / np.maximum(area_px, 1) + bbox.col
    transform = group_transform(raster, level, bbox)
    px_area = abs(transform.a * transform.e - transform.b * transform.d)
    georef = raster.georef
    if georef is not None:
        lon, lat = georef.pixel_to_lonlat(rows, cols, lon_range=360, level=level)
        lon, lat = np.atleast_1d(lon), np.atleast_1d(lat)
    polys: list[list[Any]] = [[] for _ in range(n)]
    for geom, value in shapes(labels, mask=labels > 0, connectivity=4, transform=transform):
        polys[int(value) - 1].append(shape(geom))
    f = 2**level
    h0, w0 = raster.shape
    out = Regions()
    for i, sl in enumerate(ndi.find_objects(labels, max_label=n)):
        if sl is None:  # cannot happen for labels 1..n from ndimage.label; kept for safety
            continue
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
                "row0": int((sl[0].start + bbox.row) * f),
                "col0": int((sl[1].start + bbox.col) * f),
                "row1": int(min(h0, (sl[0].stop + bbox.row) * f)),
                "col1": int(min(w0, (sl[1].stop + bbox.col) * f)),
            }
        )
    return out
