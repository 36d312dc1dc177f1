"""Regions of a cleaned mask as polygons with measurements.

Use :func:`measure_regions` on each cleaned group's runs (:mod:`areoscan.scan.regions`): one
polygon per region (``rasterio.features.shapes``, exact pixel edges, holes kept) in the image's map
coordinates, with its area in m², centroid latitude/longitude, mean and maximum probability and
pixel bounding box. Areas, centroids and boxes come from the runs in a few ``bincount`` calls; each
region is then painted inside its own bounding box (in row chunks when it is very large) for its
polygon and probabilities, so the cost follows the regions' extent, not the image's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from areoscan.scan.quant import LEVELS
from areoscan.scan.runs import Runs
from areoscan.tiling import Window

if TYPE_CHECKING:
    from areoscan.io.raster import Raster

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


CLASS_FIELDS = ("class_id", "class_name")


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
    def fields(self) -> tuple[str, ...]:
        """Columns of the regions files: :data:`FIELDS`, plus ``class_id`` and ``class_name`` for
        the regions of a multi-class model."""
        if self.records and "class_id" in self.records[0]:
            return (*FIELDS, *CLASS_FIELDS)
        return FIELDS

    @property
    def total_area_m2(self) -> float:
        """Sum of the regions' areas (0 when the image has no scale)."""
        return float(sum(r["area_m2"] or 0.0 for r in self.records))


def group_transform(raster: Raster, level: int, bbox: Window) -> Any:
    """Affine of a group's array: map coordinates, or level-0 pixels without a georeference."""
    from affine import Affine

    shift = Affine.translation(bbox.col, bbox.row)
    t = raster.transform_at(level) if raster.georef is not None else None
    if t is None:
        return Affine.scale(2**level) @ shift
    return t @ shift


def measure_regions(
    runs: Runs,
    region: np.ndarray,
    n: int,
    read: Callable[[int, int, int, int], np.ndarray],
    level: int,
    raster: Raster,
    chunk_px: int = 1 << 24,
) -> Regions:
    """Polygons and measurements of regions ``1..n`` given as runs (level pixel coordinates).

    region: the region id (1..n) of each run. read: ``(row0, row1, col0, col1) -> codes`` of the
    one-byte probabilities there (e.g. ``functools.partial(store.read, g)``). A region's bounding
    box is painted in row chunks of at most ``chunk_px`` pixels (pieces of its polygon are unioned).
    """
    import shapely
    from rasterio.features import shapes
    from shapely.geometry import shape

    if n == 0 or len(runs) == 0:
        return Regions()
    idx = region - 1
    length = runs.lengths.astype(np.float64)
    area_px = np.bincount(idx, weights=length, minlength=n).astype(np.int64)
    row_sum = np.bincount(idx, weights=length * runs.row, minlength=n)
    col_sum = np.bincount(idx, weights=length * (runs.start + runs.end - 1) / 2.0, minlength=n)
    order = np.argsort(idx, kind="stable")  # by region, rows ascending inside each
    first = np.searchsorted(idx[order], np.arange(n + 1))
    qsum, qmax = np.zeros(n), np.zeros(n)
    box0 = np.zeros((n, 2), dtype=np.int64)
    box1 = np.zeros((n, 2), dtype=np.int64)
    polys: list[list[Any]] = [[] for _ in range(n)]
    for f in range(n):
        mine = runs.take(order[first[f] : first[f + 1]])
        c0, c1 = int(mine.start.min()), int(mine.end.max())
        r0, r1 = int(mine.row[0]), int(mine.row[-1]) + 1
        box0[f], box1[f] = (r0, c0), (r1, c1)
        step = max(1, chunk_px // max(1, c1 - c0))
        for a in range(r0, r1, step):
            b = min(r1, a + step)
            m = mine.take(mine.rows_between(a, b)).paint(np.zeros((b - a, c1 - c0), bool), a, c0)
            vals = read(a, b, c0, c1)[m]
            qsum[f] += float(vals.sum(dtype=np.int64))
            qmax[f] = max(qmax[f], float(vals.max()))
            transform = group_transform(raster, level, Window(a, c0, b - a, c1 - c0))
            polys[f] += [shape(g) for g, _ in shapes(m.view(np.uint8), mask=m, connectivity=4,
                                                     transform=transform)]  # fmt: skip
    transform = group_transform(raster, level, Window(0, 0, 1, 1))
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
