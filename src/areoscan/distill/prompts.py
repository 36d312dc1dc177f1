"""Prompts for a teacher: a box (with the positive points inside it) or a lone point, per instance.

Use :func:`prompts_of` to turn an annotated image (boxes from YOLO / COCO, rects or any shape from
VIA, VIA points) into teacher prompts: every non-point instance gives its box; a point instance inside
one or more boxes of the same class becomes a positive point of the smallest of them; a point outside
every box is a prompt of its own (SAM segments from it; GrabCut gets a square box around it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from areoscan.annotations.model import AnnotatedImage, Box

# A lone point becomes a square box of this side (px) for teachers that need a box.
POINT_BOX = 32.0


@dataclass
class Prompt:
    """What a teacher segments: ``box`` (x0, y0, x1, y1; exclusive far edges) and/or ``points``.

    points: positive clicks ``(x, y)`` in pixel-edge coordinates. source: index of the instance the
    prompt came from (its box, or its point when there is no box).
    """

    label: str
    box: Box | None
    points: list[tuple[float, float]] = field(default_factory=list)
    source: int = 0

    @property
    def kind(self) -> str:
        """``box``, ``box+points`` or ``point``: recorded beside every mask."""
        if self.box is None:
            return "point"
        return "box+points" if self.points else "box"

    def box_or_square(self, side: float, width: int, height: int) -> Box:
        """The box, or a ``side``-pixel square around the first point (clipped to the image)."""
        if self.box is not None:
            return self.box
        x, y = self.points[0]
        h = side / 2
        return (
            max(0.0, x - h),
            max(0.0, y - h),
            min(float(width), x + h),
            min(float(height), y + h),
        )


def _is_point(attrs: dict) -> bool:
    return str(attrs.get("shape", "")).lower() == "point"


def _centre(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def prompts_of(image: AnnotatedImage) -> list[Prompt]:
    """The prompts of one image, boxes first (in instance order), then lone points."""
    prompts: list[Prompt] = []
    owner: dict[int, Prompt] = {}
    for k, inst in enumerate(image.instances):
        if not _is_point(inst.attributes):
            owner[k] = Prompt(inst.label, inst.box, [], k)
            prompts.append(owner[k])
    for k, inst in enumerate(image.instances):
        if not _is_point(inst.attributes):
            continue
        x, y = _centre(inst.box)
        inside = [
            p
            for p in owner.values()
            if p.label == inst.label
            and p.box is not None
            and p.box[0] <= x < p.box[2]
            and p.box[1] <= y < p.box[3]
        ]
        if inside:
            best = min(inside, key=lambda p: _area(p.box))
            best.points.append((x, y))
        else:
            prompts.append(Prompt(inst.label, None, [(x, y)], k))
    return prompts


def _area(box: Box | None) -> float:
    if box is None:
        return float(np.inf)
    return (box[2] - box[0]) * (box[3] - box[1])
