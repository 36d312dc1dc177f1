"""Regions of a cleaned mask as polygons with measurements.

Use :func:`measure_regions` on each segmented group's labels: one polygon per region
(``rasterio.features.shapes``, exact pixel edges, holes kept) in the image's map coordinates, with
its area in m², centroid latitude/longitude, mean and maximum probability and pixel bounding box.
Every measurement is vectorised over the labelled pixels (``bincount``, ``maximum.at``,
``ndimage.find_objects``), never a Python loop over pixels.
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
    stripes: Iterable[tuple[int, int, np.ndarray, np.ndarray]],
    n: int,
    bbox: Window,
    level: int,
    raster: Any,
) -> Regions:
    """Polygons and measurements of regions ``1..n`` of a group, given stripe by stripe.

    stripes: ``(row0, col0, labels, q)`` — final labels (1..n, 0 background) and one-byte
    probabilities of the level pixels from ``(row0, col0)`` on, top to bottom; a region may span
    several stripes (its polygon pieces are unioned). bbox: the group's box at ``level``.
    """
    import shapely
    from rasterio.features import shapes
    from shapely.geometry import shape

    if n == 0:
        for _ in stripes:
            pass
        return Regions()
    area_px = np.zeros(n, dtype=np.int64)
    qsum, qmax = np.zeros(n), np.zeros(n)
    row_sum, col_sum = np.zeros(n), np.zeros(n)
    box0 = np.full((n, 2), np.iinfo(np.int64).max, dtype=np.int64)
    box1 = np.full((n, 2), -1, dtype=np.int64)
    polys: list[list[Any]] = [[] for _ in range(n)]
    for row0, col0, labels, q in stripes:
        st = region_stats(labels, n, q)
        area_px += st["area"]
        qsum += st["qsum"]
        qmax = np.maximum(qmax, st["qmax"])
        row_sum += st["row_sum"] + st["area"] * row0
        col_sum += st["col_sum"] + st["area"] * col0
        for i, sl in enumerate(ndi.find_objects(labels, max_label=n)):
            if sl is not None:
                box0[i] = np.minimum(box0[i], (sl[0].start + row0, sl[1].start + col0))
                box1[i] = np.maximum(box1[i], (sl[0].stop + row0, sl[1].stop + col0))
        if labels.size == 0:
            continue
        part = Window(row0, col0, labels.shape[0], labels.shape[1])
        transform = group_transform(raster, level, part)
        for geom, value in shapes(labels, mask=labels > 0, connectivity=4, transform=transform):
            polys[int(value) - 1].append(shape(geom))
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
