"""Between pixel maps and instances: a decoder scored as a detector, a detector scored per pixel.

Use :func:`map_instances` to turn a light decoder's foreground probabilities into instances (each
8-connected part above the threshold is one object, scored by its mean probability) so that the
COCO metrics of :mod:`areoscan.data.detection` compare it with a detector on the same boxes (touching
objects, e.g. a chain of pits, are cut apart along the necks of their distance transform);
use :func:`instances_map` for the reverse, a detector's instances painted onto the decoder's grid
so that both are scored per pixel against the same teacher masks. The map covers the whole image,
stretched (what ``areoscan embed`` feeds the encoder), so a map pixel is ``W / side`` image
pixels wide and ``H / side`` tall.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from areoscan.annotations.model import Instance

EIGHT = np.ones((3, 3), bool)
SPLIT_DEPTH = 1.0  # map px; see split_touching (docs/distill.md: chosen on fold 0's training crops)


def split_touching(fg: np.ndarray, depth: float) -> tuple[np.ndarray, int]:
    """Label ``fg`` (bool map) into objects, cutting touching ones apart: ``(labels, count)``.

    Use when blobs of one class may touch (pit chains, overlapping craters), where connected parts
    alone merge them into one box. Each object is a basin of the watershed of the negated distance
    transform, seeded by its maxima at least ``depth`` map pixels higher than the neck joining
    them (h-maxima: a neck narrower than the two blobs by ``depth`` cuts, a rough outline does not).
    ``depth <= 0``: plain 8-connected parts.
    """
    if depth <= 0 or not fg.any():
        labels, n = ndimage.label(fg, structure=EIGHT)
        return labels, int(n)
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    dist = ndimage.distance_transform_edt(fg)
    seeds, _ = ndimage.label(h_maxima(dist, depth).astype(bool) & fg, structure=EIGHT)
    labels = watershed(-dist, seeds, mask=fg, connectivity=2)
    # a part without a seed (none here: every part has a maximum) would stay 0; keep it whole
    rest, n_rest = ndimage.label(fg & (labels == 0), structure=EIGHT)
    n = int(labels.max())
    labels[rest > 0] = rest[rest > 0] + n
    return labels, n + int(n_rest)


def map_instances(
    prob: np.ndarray,
    height: int,
    width: int,
    label: str,
    *,
    threshold: float = 0.5,
    min_pixels: int = 1,
    split_depth: float = SPLIT_DEPTH,
) -> list[Instance]:
    """Parts of ``prob >= threshold`` (a ``(side, side)`` map) as instances in image pixels.

    Parts are 8-connected, then cut by :func:`split_touching` (``split_depth`` map pixels; 0 keeps
    each connected part whole). Boxes are the parts' map-pixel extents scaled to the image;
    ``score`` is the part's mean probability (what orders detections for AP); parts under
    ``min_pixels`` map pixels are dropped. Masks are left out (metrics on boxes; a 900 px mask
    per part would cost memory for nothing).
    """
    side_y, side_x = prob.shape
    parts, n = split_touching(prob >= threshold, split_depth)
    if n == 0:
        return []
    sy, sx = height / side_y, width / side_x
    sizes = np.bincount(parts.ravel(), minlength=n + 1)
    means = ndimage.mean(prob, parts, index=np.arange(1, n + 1))
    out = []
    for k, sl in enumerate(ndimage.find_objects(parts), start=1):
        if sl is None or sizes[k] < min_pixels:
            continue
        rows, cols = sl
        box = (cols.start * sx, rows.start * sy, cols.stop * sx, rows.stop * sy)
        out.append(Instance(label, box, score=float(means[k - 1])))
    return out


def instances_map(
    instances: list[Instance], side: int, height: int, width: int, min_score: float = 0.5
) -> np.ndarray:
    """Bool ``(side, side)`` map of the instances scoring at least ``min_score`` (None counts).

    ``height`` x ``width``: the image's size. A mask is resampled (nearest) from the image to the
    map; a box-only instance (Faster R-CNN) fills its box. Use to score a detector per pixel
    beside a decoder.
    """
    out = np.zeros((side, side), bool)
    rows = (np.arange(side) * height // side)[:, None]
    cols = (np.arange(side) * width // side)[None, :]
    for inst in instances:
        if inst.score is not None and inst.score < min_score:
            continue
        if inst.mask is not None:
            out |= inst.mask[rows, cols]
            continue
        x0, y0, x1, y1 = inst.box
        r0, r1 = int(np.floor(y0 * side / height)), int(np.ceil(y1 * side / height))
        c0, c1 = int(np.floor(x0 * side / width)), int(np.ceil(x1 * side / width))
        out[max(r0, 0) : r1, max(c0, 0) : c1] = True
    return out
