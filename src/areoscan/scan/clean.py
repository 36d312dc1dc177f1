"""Turn a blended probability map into clean regions: threshold, opening, holes, minimum area.

Use :func:`clean_regions` on each segmented group's probabilities (quantised ``uint8``, see
:mod:`areoscan.scan.quant`): it returns the labels of the final regions. Everything is whole-array
numpy/scipy work — morphology with ``scipy.ndimage``, components with ``ndimage.label``, their areas
with ``bincount`` and the relabelling with one table lookup, chunked so no int64 copy of the image
is made — so the cost is a few passes over the pixels whatever the number of regions (the reference
looped over components in Python and needed 1–2 hours per image).

Sizes are given in metres and square metres and converted with the map scale, so a 0.5 m/px image
is cleaned like a 0.25 m/px one (:func:`clean_params`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from areoscan.scan.quant import LEVELS, threshold_code

# 4-connectivity everywhere: regions, holes and polygons (rasterio.features.shapes) agree.
_CROSS = ndi.generate_binary_structure(2, 1)
# Pixels per chunk for whole-array counting and relabelling: bounds numpy's int64 temporaries.
CHUNK_PX = 1 << 22


def row_chunks(shape: tuple[int, ...], px: int = CHUNK_PX) -> list[slice]:
    """Row slices of about ``px`` pixels each covering an array of ``shape``."""
    step = max(1, px // max(1, int(shape[1]) if len(shape) > 1 else 1))
    return [slice(r, min(shape[0], r + step)) for r in range(0, shape[0], step)]


def label_sizes(labels: np.ndarray, n: int) -> np.ndarray:
    """Pixel count of every label 0..n (one ``bincount`` per row chunk)."""
    sizes = np.zeros(n + 1, dtype=np.int64)
    for rows in row_chunks(labels.shape):
        sizes += np.bincount(labels[rows].ravel(), minlength=n + 1)
    return sizes


def lookup(table: np.ndarray, labels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``table[labels]`` computed chunk by chunk (``out`` may be ``labels`` itself)."""
    if out is None:
        out = np.empty(labels.shape, dtype=table.dtype)
    for rows in row_chunks(labels.shape):
        out[rows] = table[labels[rows]]
    return out


@dataclass(frozen=True)
class CleanParams:
    """How a probability map becomes regions (pixel units at the segment level).

    threshold: probability at or above which a pixel is brain coral.
    opening_px: radius (iterations of a 3×3 cross) of the binary opening that removes ridge-scale
        speckle and thin bridges; 0 skips it.
    max_hole_px: holes (background enclosed by one region) smaller than this are filled; 0 skips.
    min_area_px: regions smaller than this are dropped.
    """

    threshold: float = 0.5
    opening_px: int = 4
    max_hole_px: int = 3200
    min_area_px: int = 8000

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready copy (for the scan summary)."""
        return {
            "threshold": self.threshold,
            "opening_px": self.opening_px,
            "max_hole_px": self.max_hole_px,
            "min_area_px": self.min_area_px,
        }


def clean_params(
    scale_m: float | None,
    threshold: float,
    *,
    min_area_m2: float = 500.0,
    max_hole_m2: float = 200.0,
    opening_m: float = 1.0,
    fast: bool = False,
) -> CleanParams:
    """Pixel-unit :class:`CleanParams` for a map scale in m/px (None: assume 0.25 m/px).

    ``fast`` skips the refinements (opening and hole filling); thresholding and the minimum area
    are always applied.
    """
    scale = 0.25 if scale_m is None or scale_m <= 0 else float(scale_m)
    px_area = scale * scale
    return CleanParams(
        threshold=float(threshold),
        opening_px=0 if fast else max(0, round(opening_m / scale)),
        max_hole_px=0 if fast else max(0, math.ceil(max_hole_m2 / px_area)),
        min_area_px=max(1, math.ceil(min_area_m2 / px_area)),
    )


def _pack(mask: np.ndarray) -> np.ndarray:
    """Rows of a bool mask as uint64 words, column c = bit c % 64 of word c // 64 (zero padded)."""
    packed = np.packbits(mask, axis=1, bitorder="little")
    packed = np.pad(packed, ((0, 0), (0, (-packed.shape[1]) % 8)))
    return np.ascontiguousarray(packed).view("<u8")


def _unpack(words: np.ndarray, width: int) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), axis=1, count=width, bitorder="little").view(bool)


def _cross_step(x: np.ndarray, erode: bool) -> np.ndarray:
    """One erosion (AND) or dilation (OR) of packed rows with the 3×3 cross; outside counts as 0."""
    one, top = np.uint64(1), np.uint64(63)
    left = x << one  # bit of column c - 1, aligned on column c
    left[:, 1:] |= x[:, :-1] >> top
    right = x >> one  # column c + 1
    right[:, :-1] |= x[:, 1:] << top
    up = np.zeros_like(x)
    up[1:] = x[:-1]
    down = np.zeros_like(x)
    down[:-1] = x[1:]
    if erode:
        return x & left & right & up & down
    return x | left | right | up | down


def binary_open_cross(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary opening by the 3×3 cross iterated ``radius`` times (a diamond of that radius).

    Same result as ``ndimage.binary_erosion`` then ``binary_dilation`` (``structure`` = cross,
    ``iterations`` = radius, border 0), computed on bit-packed rows: 64 pixels per machine word,
    about 4× faster and 8× lighter than on one byte per pixel.
    """
    if radius <= 0 or mask.size == 0:
        return mask
    x = _pack(mask)
    for _ in range(radius):
        x = _cross_step(x, erode=True)
    for _ in range(radius):
        x = _cross_step(x, erode=False)
    return _unpack(x, mask.shape[1])


def fill_small_holes(mask: np.ndarray, max_hole_px: int) -> np.ndarray:
    """``mask`` with enclosed background components smaller than ``max_hole_px`` set True.

    Background touching the array border is never a hole (it may continue outside the window).
    """
    if max_hole_px <= 0 or not mask.any():
        return mask
    holes, n = ndi.label(~mask, structure=_CROSS)
    if n == 0:
        return mask
    fill = label_sizes(holes, n) < max_hole_px
    fill[0] = False
    edge = np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]])
    fill[edge] = False
    if not fill.any():
        return mask
    return mask | lookup(fill, holes)


def drop_small(mask: np.ndarray, min_area_px: int) -> tuple[np.ndarray, int]:
    """Labels 1..n of the 4-connected components of ``mask`` with at least ``min_area_px`` pixels.

    One ``ndimage.label``, one counting pass and one relabelling pass (in place, int32).
    """
    labels, n = ndi.label(mask, structure=_CROSS)
    if n == 0:
        return labels.astype(np.int32, copy=False), 0
    keep = label_sizes(labels, n) >= max(1, min_area_px)
    keep[0] = False
    if keep[1:].all():
        return labels.astype(np.int32, copy=False), n
    table = np.where(keep, np.cumsum(keep), 0).astype(labels.dtype)
    return lookup(table, labels, out=labels).astype(np.int32, copy=False), int(keep.sum())


def clean_regions(q: np.ndarray, params: CleanParams) -> tuple[np.ndarray, int]:
    """Labels (int32, 1..n) of the cleaned brain-coral regions of quantised probabilities ``q``.

    Steps: threshold → binary opening (``opening_px``) → fill holes smaller than ``max_hole_px`` →
    drop regions smaller than ``min_area_px``. Pixels without a value are never coral.
    """
    q = np.asarray(q)
    mask = (q >= threshold_code(params.threshold)) & (q <= LEVELS)
    if not mask.any():
        return np.zeros(q.shape, dtype=np.int32), 0
    mask = binary_open_cross(mask, params.opening_px)
    mask = fill_small_holes(mask, params.max_hole_px)
    return drop_small(mask, params.min_area_px)


def clean_mask(q: np.ndarray, params: CleanParams) -> np.ndarray:
    """Boolean mask of :func:`clean_regions`."""
    labels, _ = clean_regions(q, params)
    return labels > 0


def label_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(int32 labels 1..n, n) of the 4-connected regions of a cleaned mask."""
    labels, n = ndi.label(mask, structure=_CROSS)
    return labels.astype(np.int32, copy=False), int(n)
