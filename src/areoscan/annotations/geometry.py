"""Shapes to masks: every annotation shape becomes a shapely geometry, then a bool mask.

Use :func:`rasterize` to turn a polygon (with holes), a buffered polyline or a disc into a mask of the
whole image. Coordinates are pixel edges (COCO's convention): a pixel is inside a shape when its
centre ``(j + 0.5, i + 0.5)`` is, and a shape too thin to cover any pixel centre falls back to every
pixel it touches, so a drawn object never vanishes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize as _rio_rasterize
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from areoscan.annotations.model import Instance, box_of_mask
from areoscan.errors import AnnotationError

# How close (pixels) a polyline's last vertex must come to its first for the line to count as closed.
CLOSE_TOLERANCE = 1.0


def rasterize(geom: BaseGeometry, height: int, width: int) -> np.ndarray:
    """Bool ``(height, width)`` mask of ``geom`` (pixel-centre rule, all-touched if that is empty)."""
    mask = np.zeros((height, width), dtype=bool)
    if geom.is_empty:
        return mask
    frame = shapely.box(0, 0, width, height)
    if not geom.intersects(frame):
        return mask
    for all_touched in (False, True):
        burned = _rio_rasterize(
            [(geom, 1)],
            out_shape=(height, width),
            transform=Affine.identity(),
            fill=0,
            all_touched=all_touched,
            dtype="uint8",
        )
        if burned.any():
            return burned.astype(bool)
    return mask


def polygon(xs: Sequence[float], ys: Sequence[float]) -> BaseGeometry:
    """A polygon from vertex lists, repaired if it self-intersects (``make_valid``)."""
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x coordinates but {len(ys)} y coordinates")
    if len(xs) < 3:
        raise ValueError(f"a polygon needs at least 3 vertices, got {len(xs)}")
    geom = Polygon(list(zip(xs, ys, strict=True)))
    return geom if geom.is_valid else shapely.make_valid(geom)


def polyline(
    xs: Sequence[float], ys: Sequence[float], width: float, closed: str = "auto"
) -> BaseGeometry:
    """A polyline as an area: a polygon when it is closed, else the line buffered by ``width / 2``.

    closed: ``"auto"`` (closed when the last vertex is within 1 px of the first: annotators often
    outline objects with VIA's polyline tool), ``"yes"`` or ``"no"``. width: stroke width in pixels.
    """
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x coordinates but {len(ys)} y coordinates")
    if len(xs) < 2:
        raise ValueError(f"a polyline needs at least 2 vertices, got {len(xs)}")
    is_closed = closed == "yes" or (
        closed == "auto"
        and len(xs) >= 4
        and math.hypot(xs[0] - xs[-1], ys[0] - ys[-1]) <= CLOSE_TOLERANCE
    )
    if is_closed:
        return polygon(xs, ys)
    return LineString(list(zip(xs, ys, strict=True))).buffer(max(width, 1e-3) / 2.0)


def ellipse(cx: float, cy: float, rx: float, ry: float, theta: float = 0.0) -> BaseGeometry:
    """An ellipse centred at ``(cx, cy)`` with radii ``rx``, ``ry``, rotated by ``theta`` radians."""
    if rx < 0 or ry < 0:
        raise ValueError(f"negative radius ({rx}, {ry})")
    circle = Point(0.0, 0.0).buffer(1.0, quad_segs=32)
    shape = affinity.scale(circle, max(rx, 1e-3), max(ry, 1e-3), origin=(0, 0))
    shape = affinity.rotate(shape, theta, origin=(0, 0), use_radians=True)
    return affinity.translate(shape, cx, cy)


def rect(x: float, y: float, w: float, h: float) -> BaseGeometry:
    """An axis-aligned rectangle from its top-left corner and size."""
    if w <= 0 or h <= 0:
        raise ValueError(f"rectangle of non-positive size {w} x {h}")
    return shapely.box(x, y, x + w, y + h)


def disc(cx: float, cy: float, radius: float) -> BaseGeometry:
    """A small disc, used for point annotations when they should carry a mask."""
    return Point(cx, cy).buffer(max(radius, 0.5), quad_segs=16)


def frame_fraction(geom: BaseGeometry, height: int, width: int) -> float:
    """Fraction of a shape's area inside the image frame (1 for shapes wholly inside)."""
    area = geom.area
    if area <= 0:
        return 1.0 if shapely.box(0, 0, width, height).covers(geom) else 0.0
    return float(geom.intersection(shapely.box(0, 0, width, height)).area / area)


class ShapeLog:
    """Collects the shapes a reader clipped to the frame, so it can warn once per file.

    Use one per annotation file: :func:`instance_from_shape` records every clipped shape here and the
    reader calls :meth:`warn` at the end (one warning naming the count and the first entry).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.clipped: list[str] = []
        self.dropped: list[str] = []

    def _short(self, where: str) -> str:
        return where.removeprefix(f"{self.source}: ")

    def warn(self) -> None:
        """Emit one :class:`AnnotationWarning` per kind of repair (clipped, dropped), if any."""
        if self.dropped:
            warnings.warn(
                f"{self.source}: {len(self.dropped)} degenerate shape(s) under 1 px dropped "
                f"(first: {self._short(self.dropped[0])})",
                AnnotationWarning,
                stacklevel=3,
            )
        if self.clipped:
            warnings.warn(
                f"{self.source}: {len(self.clipped)} shape(s) extend past the image and were "
                f"clipped to it (first: {self._short(self.clipped[0])})",
                AnnotationWarning,
                stacklevel=3,
            )


class AnnotationWarning(UserWarning):
    """An annotation was repaired (clipped to the image frame) rather than refused."""


def instance_from_shape(
    geom: BaseGeometry,
    label: str,
    height: int,
    width: int,
    where: str,
    log: ShapeLog,
    attributes: dict[str, Any] | None = None,
) -> Instance:
    """Rasterise a shape into an :class:`Instance`, clipping it to the frame (logged) when needed.

    Raises :class:`AnnotationError` naming ``where`` when the shape lies wholly outside the image or
    covers no pixel: a silent drop would change the ground truth.
    """
    inside = frame_fraction(geom, height, width)
    if inside <= 0.0:
        bounds = ", ".join(f"{v:g}" for v in geom.bounds)
        raise AnnotationError(
            f"{where}: shape (bounds {bounds}) lies outside the {width} x {height} image; "
            "fix or delete it"
        )
    if inside < 0.999:
        log.clipped.append(where)
    mask = rasterize(geom, height, width)
    box = box_of_mask(mask)
    if box is None:
        raise AnnotationError(f"{where}: shape covers no pixel of the {width} x {height} image")
    return Instance(label=label, box=box, mask=mask, attributes=dict(attributes or {}))
