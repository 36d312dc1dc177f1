"""A quick-look PNG of a scanned image: a low resolution level with the regions outlined.

Use :func:`write_quicklook` at the end of a scan. It decodes the finest level whose long side is at
most ``max_side`` px (1563 × 2500 px for a 25,000 × 40,000 image), stretches the contrast over the
footprint, draws the flagged screen tiles in thin cyan, the regions' outlines in red and the
detections' outlines in yellow, and saves an RGB PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from areoscan.tiling import Window

if TYPE_CHECKING:
    from areoscan.io.raster import Raster


def quicklook_level(raster: Raster, max_side: int = 2560) -> int:
    """Finest level whose long side is at most ``max_side`` px (or the coarsest level)."""
    level = 0
    while level + 1 < raster.levels and max(raster.shape_at(level)) > max_side:
        level += 1
    return level


def stretch(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """uint8 grey image: the 1st–99th percentile of valid pixels mapped to 0–255, no data black."""
    vals = img[valid]
    lo, hi = np.percentile(vals, [1, 99]) if vals.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1e-6
    out = np.clip((img - lo) / (hi - lo), 0, 1) * 255
    out[~valid] = 0
    return out.astype(np.uint8)


def _rings(geom: Any) -> list[np.ndarray]:
    polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    rings = []
    for p in polys:
        rings.append(np.asarray(p.exterior.coords))
        rings += [np.asarray(r.coords) for r in p.interiors]
    return rings


def _ring_pixels(raster: Raster, ring: np.ndarray, level: int) -> np.ndarray:
    """(x, y) image coordinates at ``level`` of a ring in map coordinates (or level-0 pixels)."""
    georef = raster.georef
    if georef is None:
        return ring / 2**level
    rows, cols = georef.xy_to_pixel(ring[:, 0], ring[:, 1], level=level)
    return np.column_stack([np.atleast_1d(cols) + 0.5, np.atleast_1d(rows) + 0.5])


def write_quicklook(
    path: Path,
    raster: Raster,
    geometries: list[Any],
    flagged: list[Window],
    screen_level: int,
    max_side: int = 2560,
    detections: Sequence[Any] = (),
) -> tuple[Path, int]:
    """Write the quick-look PNG; return (path, level used).

    geometries: region polygons as written by :mod:`areoscan.scan.vectorize` (map coordinates, or
    level-0 pixels without georeference). flagged: flagged tiles at ``screen_level``. The level is
    never finer than the screen's, which the scan has decoded already (and which is all a remote
    image read by the packet holds of an image with nothing flagged). detections: outlines of
    detected objects (same coordinates as ``geometries``), drawn in yellow.
    """
    from PIL import Image, ImageDraw

    from areoscan.io import atomic_output

    level = max(quicklook_level(raster, max_side), screen_level)
    raw = raster.read_raw(level)
    valid = raw != raster.nodata if raster.nodata is not None else np.ones(raw.shape, dtype=bool)
    grey = stretch(raw.astype(np.float32), valid)
    im = Image.fromarray(np.dstack([grey, grey, grey]), "RGB")
    draw = ImageDraw.Draw(im)
    f = 2.0 ** (screen_level - level)
    for w in flagged:
        box = (w.col * f, w.row * f, (w.col + w.width) * f - 1, (w.row + w.height) * f - 1)
        draw.rectangle(box, outline=(0, 200, 255), width=1)
    width = max(2, round(max(im.size) / 800))
    for geoms, colour in ((geometries, (255, 40, 40)), (detections, (255, 220, 0))):
        for geom in geoms:
            for ring in _rings(geom):
                pts = _ring_pixels(raster, ring, level)
                draw.line([tuple(p) for p in pts.tolist()], fill=colour, width=width)
    with atomic_output(path) as tmp:
        im.save(tmp, format="PNG", compress_level=3)
    return path, level
