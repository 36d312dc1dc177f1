"""Detections gathered over overlapping tiles, and their merge into one set per image.

Use :class:`Found` while a detector runs tile by tile (:mod:`areoscan.scan.detect`): each instance
is kept in level pixels with its mask cropped to its own extent, the tile it came from, and whether
it touches an inner edge of that tile (*truncated*: the tile saw only part of the object). Then
:func:`merge_instances` makes one set:

1. duplicates — the same object seen whole by two overlapping tiles — go by non-maximum suppression
   per class (``torchvision.ops.batched_nms`` at ``iou``); the best-scoring view is kept as it is;
2. a truncated piece is merged into a detection of its class from another tile whose box overlaps or
   touches its own and spans at least ``ios`` of the piece's extent along the cut edge (a piece
   inside the whole object's view spans all of it; the two halves of an object cut by a tile edge
   span the same rows): box and mask become the union, the score the higher one. Of several such
   partners the one sharing the largest area wins. An object larger than the tile overlap, which no
   tile saw whole, is so assembled from its pieces (mask merging for Mask R-CNN; the union box for
   box-only detectors). A piece with no partner is kept and stays marked truncated (for example at
   the edge of a screen-gated area).

The tile overlap should exceed the largest object (a quarter of a 1024-px tile: 256 px) so step 1
does almost all the work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from areoscan.models.predictor import Instances
from areoscan.tiling import Window

#: a box within this many level px of an inner tile side is a truncated view of its object
EDGE_PX = 2.0


@dataclass
class Found:
    """Instances of many tiles in level pixels (growing lists; see :func:`merge_instances`).

    boxes: ``(x0, y0, x1, y1)`` level px (end exclusive); masks: bool crop per instance (None for
    box-only detectors) whose top-left level pixel is ``origins`` (row, col).
    """

    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    tiles: list[int] = field(default_factory=list)
    truncated: list[int] = field(default_factory=list)  # bits: cut at the left, top, right, bottom
    masks: list[np.ndarray | None] = field(default_factory=list)
    origins: list[tuple[int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.scores)

    def add(self, inst: Instances, tile: Window, index: int, shape: tuple[int, int],
            min_score: float) -> None:  # fmt: skip
        """Add one tile's instances scoring >= ``min_score`` (tile px → level px).

        tile: where the tile sits in the level (``shape``: the level's (h, w)); inst: in tile px
        (masks the tile's size, or cropped already).
        """
        inner = (tile.col > 0, tile.row > 0, tile.col + tile.width < shape[1],
                 tile.row + tile.height < shape[0])  # fmt: skip
        for j in np.flatnonzero(np.asarray(inst.scores) >= min_score):
            x0, y0, x1, y1 = (float(v) for v in inst.boxes[j])
            x0, x1 = max(0.0, x0), min(float(tile.width), x1)
            y0, y1 = max(0.0, y0), min(float(tile.height), y1)
            if x1 <= x0 or y1 <= y0:
                continue
            near = (x0 <= EDGE_PX, y0 <= EDGE_PX, x1 >= tile.width - EDGE_PX,
                    y1 >= tile.height - EDGE_PX)  # fmt: skip
            mask, origin = None, (tile.row + int(y0), tile.col + int(x0))
            if inst.masks is not None:
                m = np.asarray(inst.masks[j], dtype=bool)[: tile.height, : tile.width]
                rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
                if rows.size:
                    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                    mask, origin = m[r0:r1, c0:c1].copy(), (tile.row + int(r0), tile.col + int(c0))
                else:  # too small to cut at 0.5: the box is its mask
                    mask = _box_mask(x0, y0, x1, y1)
            self.boxes.append(np.array([x0 + tile.col, y0 + tile.row, x1 + tile.col,
                                        y1 + tile.row], dtype=np.float64))  # fmt: skip
            self.scores.append(float(inst.scores[j]))
            self.labels.append(int(inst.labels[j]))
            self.tiles.append(index)
            cut = [a and b for a, b in zip(inner, near, strict=True)]
            self.truncated.append(sum(1 << k for k, c in enumerate(cut) if c))
            self.masks.append(mask)
            self.origins.append(origin)


def _box_mask(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.ones((max(1, round(y1) - int(y0)), max(1, round(x1) - int(x0))), dtype=bool)


@dataclass
class Merged:
    """The merged detections (level px), best score first; counts of what the merge removed."""

    found: Found
    suppressed: int = 0
    pieces_merged: int = 0


def _union(found: Found, keep: int, piece: int) -> None:
    """Merge instance ``piece`` into ``keep``: union box, union mask, the higher score."""
    a, b = found.boxes[keep], found.boxes[piece]
    found.boxes[keep] = np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]),
                                  max(a[3], b[3])])  # fmt: skip
    found.scores[keep] = max(found.scores[keep], found.scores[piece])
    found.truncated[keep] = found.truncated[keep] & found.truncated[piece]
    ma, mb = found.masks[keep], found.masks[piece]
    if ma is None or mb is None:
        return
    (ra, ca), (rb, cb) = found.origins[keep], found.origins[piece]
    r0, c0 = min(ra, rb), min(ca, cb)
    r1, c1 = max(ra + ma.shape[0], rb + mb.shape[0]), max(ca + ma.shape[1], cb + mb.shape[1])
    out = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    out[ra - r0 : ra - r0 + ma.shape[0], ca - c0 : ca - c0 + ma.shape[1]] |= ma
    out[rb - r0 : rb - r0 + mb.shape[0], cb - c0 : cb - c0 + mb.shape[1]] |= mb
    found.masks[keep], found.origins[keep] = out, (r0, c0)


def _partner(found: Found, boxes: np.ndarray, alive: np.ndarray, i: int, ios: float) -> int | None:
    """The detection truncated piece ``i`` belongs to (see the module docstring), or None.

    boxes: ``found.boxes`` stacked (kept up to date by the caller as pieces merge).
    """
    b = boxes[i]
    iw = np.minimum(boxes[:, 2], b[2]) - np.maximum(boxes[:, 0], b[0])  # < 0: a gap
    ih = np.minimum(boxes[:, 3], b[3]) - np.maximum(boxes[:, 1], b[1])
    cut = found.truncated[i]
    span = np.zeros(len(boxes))
    if cut & 0b0101:  # cut at the left or right: compare the rows spanned
        span = np.maximum(span, ih / max(b[3] - b[1], 1e-9))
    if cut & 0b1010:  # cut at the top or bottom: compare the columns
        span = np.maximum(span, iw / max(b[2] - b[0], 1e-9))
    ok = alive & (np.asarray(found.labels) == found.labels[i])
    ok &= (np.asarray(found.tiles) != found.tiles[i]) & (iw >= -EDGE_PX) & (ih >= -EDGE_PX)
    ok &= span >= ios
    ok[i] = False
    if not ok.any():
        return None
    shared = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    cand = np.flatnonzero(ok)
    return int(cand[np.lexsort((-span[cand], -shared[cand]))[0]])


def merge_instances(found: Found, iou: float = 0.5, ios: float = 0.5) -> Merged:
    """One detection per object (see the module docstring); best score first."""
    import torch
    from torchvision.ops import batched_nms

    if not len(found):
        return Merged(Found())
    boxes = np.stack(found.boxes)
    keep = batched_nms(torch.from_numpy(boxes), torch.tensor(found.scores, dtype=torch.float64),
                       torch.tensor(found.labels), iou).numpy()  # fmt: skip
    alive = np.zeros(len(found), dtype=bool)
    alive[keep] = True
    suppressed = len(found) - len(keep)
    merged = 0
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    cut = np.asarray(found.truncated) > 0
    for i in sorted(map(int, np.flatnonzero(alive & cut)), key=lambda k: areas[k]):
        j = _partner(found, boxes, alive, i, ios) if found.truncated[i] else None
        if j is not None:
            _union(found, j, i)
            boxes[j] = found.boxes[j]
            alive[i] = False
            merged += 1
    # best score first; ties top to bottom, left to right (not in the order the tiles were read)
    order = sorted(np.flatnonzero(alive),
                   key=lambda k: (-found.scores[k], found.boxes[k][1], found.boxes[k][0]))  # fmt: skip
    out = Found()
    for name in ("boxes", "scores", "labels", "tiles", "truncated", "masks", "origins"):
        setattr(out, name, [getattr(found, name)[k] for k in order])
    return Merged(out, suppressed, merged)
