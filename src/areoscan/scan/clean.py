"""Turn a blended probability map into clean regions: threshold, opening, holes, minimum area.

Use :func:`clean_mask` on each segmented window's probabilities (quantised ``uint8``, see
:mod:`areoscan.scan.quant`) and :func:`label_regions` on the result. Everything is whole-array
numpy/scipy work — morphology with ``scipy.ndimage``, components with ``ndimage.label`` and their
areas with one ``bincount`` — so the cost is a few passes over the pixels whatever the number of
regions (the reference looped over components in Python and needed 1–2 hours per image).

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


def fill_small_holes(mask: np.ndarray, max_hole_px: int) -> np.ndarray:
    """``mask`` with enclosed background components smaller than ``max_hole_px`` set True.

    Background touching the array border is never a hole (it may continue outside the window).
    """
    if max_hole_px <= 0 or not mask.any():
        return mask
    holes, n = ndi.label(~mask, structure=_CROSS)
    if n == 0:
        return mask
    sizes = np.bincount(holes.ravel(), minlength=n + 1)
    fill = sizes < max_hole_px
    fill[0] = False
    edge = np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]])
    fill[edge] = False
    return mask | fill[holes]


def drop_small(mask: np.ndarray, min_area_px: int) -> np.ndarray:
    """``mask`` without 4-connected components smaller than ``min_area_px`` (label + bincount)."""
    if min_area_px <= 1 or not mask.any():
        return mask
    labels, n = ndi.label(mask, structure=_CROSS)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_area_px
    keep[0] = False
    return keep[labels]


def clean_mask(q: np.ndarray, params: CleanParams) -> np.ndarray:
    """Boolean brain-coral mask from quantised probabilities ``q`` (uint8 codes, see quant).

    Steps: threshold → binary opening (``opening_px``) → fill holes smaller than ``max_hole_px`` →
    drop regions smaller than ``min_area_px``. Pixels without a value are never coral.
    """
    q = np.asarray(q)
    mask = (q >= threshold_code(params.threshold)) & (q <= LEVELS)
    if not mask.any():
        return mask
    r = params.opening_px
    if r > 0:
        mask = ndi.binary_erosion(mask, structure=_CROSS, iterations=r)
        mask = ndi.binary_dilation(mask, structure=_CROSS, iterations=r)
    mask = fill_small_holes(mask, params.max_hole_px)
    return drop_small(mask, params.min_area_px)


def label_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(int32 labels 1..n, n) of the 4-connected regions of a cleaned mask."""
    labels, n = ndi.label(mask, structure=_CROSS)
    return labels.astype(np.int32, copy=False), int(n)
