"""The in-memory form every annotation format is read into and written from.

Use :class:`AnnotationSet` whenever code needs labelled objects (ground truth or detections): readers
(:mod:`areoscan.annotations.read`) build one from VIA, COCO or YOLO files, :func:`write_coco` writes it
out, detectors and metrics consume it. Coordinates are pixels of the full image with COCO's
convention: ``box = (x0, y0, x1, y1)``, pixel ``(row i, col j)`` covers ``[j, j + 1) x [i, i + 1)``,
so ``x1``/``y1`` are exclusive edges and a box's width is ``x1 - x0``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.io.obsid import find_observation_id

Box = tuple[float, float, float, float]


@dataclass
class Instance:
    """One annotated or detected object.

    label: class name. box: ``(x0, y0, x1, y1)`` in image pixels (exclusive far edges).
    mask: bool ``(H, W)`` array over the whole image, or None for a box-only instance (YOLO boxes,
    Faster R-CNN output). score: detector confidence, None for ground truth. attributes: anything
    else the source carried (VIA region attributes, COCO ``iscrowd``, the source shape name).
    """

    label: str
    box: Box
    mask: np.ndarray | None = None
    score: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def area(self) -> float:
        """Mask pixel count, or the box area when there is no mask."""
        if self.mask is not None:
            return float(np.count_nonzero(self.mask))
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


@dataclass
class AnnotatedImage:
    """One image and its instances.

    path: the image file (it need not exist: annotation files often travel without their images).
    height, width: image size in pixels. group: observation / source id used for splits, so that
    copies of one source (flips, tiles of one HiRISE strip) never land on both sides of a split.
    """

    path: Path
    height: int
    width: int
    instances: list[Instance]
    group: str


@dataclass
class AnnotationSet:
    """Images with their instances and the ordered class list (COCO category ids are 1 + index)."""

    classes: list[str]
    images: list[AnnotatedImage]

    def counts(self) -> dict[str, int]:
        """Instances per class, in class order (classes with no instance count 0)."""
        seen = Counter(inst.label for img in self.images for inst in img.instances)
        return {c: seen.get(c, 0) for c in self.classes}


def box_of_mask(mask: np.ndarray) -> Box | None:
    """Tight ``(x0, y0, x1, y1)`` box of a bool mask (exclusive far edges), None if it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))


def box_ellipse(box: Box, height: int, width: int) -> np.ndarray:
    """The ellipse inscribed in a box, as a bool ``(height, width)`` mask (pixel centres inside it).

    Use it when a box-only instance needs a mask: the shape a box alone implies (the distillation
    teachers' baseline, and the training masks of a Mask R-CNN on box annotations such as the pits).
    """
    x0, y0, x1, y1 = box
    rx, ry = max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    # only the box's rows / columns can be inside: fill that window, not the whole frame
    r0, r1 = max(int(np.floor(cy - ry)), 0), min(int(np.ceil(cy + ry)) + 1, height)
    c0, c1 = max(int(np.floor(cx - rx)), 0), min(int(np.ceil(cx + rx)) + 1, width)
    mask = np.zeros((height, width), bool)
    if r1 > r0 and c1 > c0:
        yy = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
        xx = np.arange(c0, c1, dtype=np.float32)[None, :] + 0.5
        mask[r0:r1, c0:c1] = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
    return mask


def clip_box(box: Box, width: int, height: int) -> Box:
    """Clip a box to the image frame ``[0, width] x [0, height]`` (may return an empty box)."""
    x0, y0, x1, y1 = box
    return (
        min(max(x0, 0.0), float(width)),
        min(max(y0, 0.0), float(height)),
        min(max(x1, 0.0), float(width)),
        min(max(y1, 0.0), float(height)),
    )


# Copy markers that tools (Roboflow exports, augmentation scripts) append to a source's name.
_COPY_SUFFIX = re.compile(r"(\.rf\.[0-9a-f]{16,}|_(?:mirrored|flipped|rot\d+|aug\d*)(?=_|$))", re.I)


def source_name(name: str) -> str:
    """The source a file was copied from: the stem without Roboflow hashes or ``_mirrored``-like tags.

    Use it to collapse flipped / augmented copies onto one source tile before splitting.
    """
    stem = Path(name).name
    for suffix in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".txt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return _COPY_SUFFIX.sub("", stem)


def default_group(name: str) -> str:
    """Split group of an image file: its HiRISE observation id if the name holds one, else its source.

    Tiles H0..H3 of one HiRISE strip share a group, so a split by group is a split by observation.
    """
    return find_observation_id(Path(name).name) or source_name(name)
