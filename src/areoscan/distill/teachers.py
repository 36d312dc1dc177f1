"""Promptable teachers: turn box / point prompts into one instance mask each.

Use :func:`make_teacher` with the CLI's ``--teacher`` text: ``grabcut`` (OpenCV, box-initialised,
fully offline, no weights) or ``sam:CHECKPOINT[:vit_b|vit_l|vit_h]`` (Segment Anything from a
checkpoint the user supplies; see :mod:`areoscan.distill.sam`). ``ellipse`` (the ellipse inscribed in
the box) is the no-effort baseline a teacher must beat (``benchmarks/bench_distill.py``).
Every teacher takes an 8-bit grayscale image and returns bool masks over the whole image.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy import ndimage

from areoscan.annotations.model import box_ellipse
from areoscan.distill.prompts import POINT_BOX, Prompt
from areoscan.errors import ModelError

# GrabCut sees the box plus this fraction of its larger side around it (at least MIN_MARGIN px) as
# context: enough background for its colour model, small enough to stay fast on 900 px crops.
MARGIN_FRACTION = 0.5
MIN_MARGIN = 8
# A GrabCut mask under this fraction of its box is replaced by the box's inscribed ellipse (78.5 %
# of the box): on the real pits crops 85 of 512 cuts came out empty and many kept one lit or
# shadowed half of the pit (areoscan label writes which masks fell back).
MIN_FILL = 0.3


class Teacher(Protocol):
    """Anything that segments prompts on an image (what ``areoscan label`` runs)."""

    name: str

    def segment(self, image: np.ndarray, prompts: list[Prompt]) -> list[np.ndarray]:
        """One bool ``(H, W)`` mask per prompt, in order, for an 8-bit ``(H, W)`` image."""
        ...


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A float or integer image as uint8, stretched between its 0.5 and 99.5 percentiles.

    Use before any teacher: HiRISE crops often use a narrow DN range, and both GrabCut's colour
    model and SAM's normalisation expect the full 0..255 range.
    """
    if image.dtype == np.uint8:
        return image
    arr = image.astype(np.float32)
    lo, hi = np.percentile(arr, [0.5, 99.5])
    if hi <= lo:
        return np.zeros(arr.shape, np.uint8)
    return np.clip((arr - lo) / (hi - lo) * 255 + 0.5, 0, 255).astype(np.uint8)


def _box_slices(
    box: tuple[float, float, float, float], shape: tuple[int, int]
) -> tuple[slice, slice]:
    """Integer rows/cols covering a box (at least one pixel), clipped to the image."""
    h, w = shape
    x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
    x1, y1 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
    return slice(y0, max(y0 + 1, min(y1, h))), slice(x0, max(x0 + 1, min(x1, w)))


def keep_main_part(mask: np.ndarray) -> np.ndarray:
    """The largest connected part of a mask with its holes filled (one instance, one region)."""
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return np.asarray(ndimage.binary_fill_holes(labels == int(sizes.argmax())))


class EllipseTeacher:
    """The ellipse inscribed in each box: the baseline (what a box alone says about the shape)."""

    name = "ellipse"

    def segment(self, image: np.ndarray, prompts: list[Prompt]) -> list[np.ndarray]:
        h, w = image.shape
        return [box_ellipse(p.box_or_square(POINT_BOX, w, h), h, w) for p in prompts]


class GrabCutTeacher:
    """OpenCV GrabCut initialised from the box: outside = background, inside = probably object.

    Positive points are marked as certain object. The cut runs on the box plus a margin, and the
    result is cut to the box, reduced to its largest part and hole-filled; a cut covering less
    than ``min_fill`` of its box falls back to the box's ellipse (``last_fallbacks`` says which). ``iterations``: GrabCut
    rounds (5 is OpenCV's usual; more rarely changes a pit's mask).
    """

    name = "grabcut"

    def __init__(self, iterations: int = 5, min_fill: float = MIN_FILL) -> None:
        self.iterations = iterations
        self.min_fill = min_fill
        self.last_fallbacks: list[bool] = []

    def segment(self, image: np.ndarray, prompts: list[Prompt]) -> list[np.ndarray]:
        h, w = image.shape
        boxes = [_box_slices(p.box_or_square(POINT_BOX, w, h), (h, w)) for p in prompts]
        cuts = [
            self._one(image, p, boxes[k], boxes[:k] + boxes[k + 1 :]) for k, p in enumerate(prompts)
        ]
        # A cut filling little of its box took one side of a shaded object (the lit or the shadowed
        # wall of a pit) or nothing: the box's ellipse is then the better guess.
        areas = [(r.stop - r.start) * (c.stop - c.start) for r, c in boxes]
        self.last_fallbacks = [
            int(m.sum()) < self.min_fill * a for m, a in zip(cuts, areas, strict=True)
        ]
        ellipses = EllipseTeacher().segment(image, prompts) if any(self.last_fallbacks) else []
        return [ellipses[k] if fell else cuts[k] for k, fell in enumerate(self.last_fallbacks)]

    def _one(
        self,
        image: np.ndarray,
        prompt: Prompt,
        own: tuple[slice, slice],
        others: list[tuple[slice, slice]],
    ) -> np.ndarray:
        import cv2

        h, w = image.shape
        rows, cols = own
        side = max(rows.stop - rows.start, cols.stop - cols.start)
        m = max(MIN_MARGIN, int(round(MARGIN_FRACTION * side)))
        cr = slice(max(0, rows.start - m), min(h, rows.stop + m))
        cc = slice(max(0, cols.start - m), min(w, cols.stop + m))
        br = slice(rows.start - cr.start, rows.stop - cr.start)
        bc = slice(cols.start - cc.start, cols.stop - cc.start)
        gray = _hide_neighbours(image[cr, cc], (cr, cc), (br, bc), others)
        crop = np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
        ch, cw = int(crop.shape[0]), int(crop.shape[1])
        init = np.full((ch, cw), cv2.GC_BGD, np.uint8)
        init[br, bc] = cv2.GC_PR_FGD
        if not (init == cv2.GC_BGD).any():  # the box fills the image: its rim is probably ground
            ring = np.zeros_like(init, bool)
            ring[[0, -1], :] = True
            ring[:, [0, -1]] = True
            init[ring] = cv2.GC_BGD
        for x, y in prompt.points:
            i, j = int(y) - cr.start, int(x) - cc.start
            if 0 <= i < ch and 0 <= j < cw:
                init[max(0, i - 1) : i + 2, max(0, j - 1) : j + 2] = cv2.GC_FGD
        bgd = np.zeros((1, 65), np.float64)
        fgd = np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(crop, init, (0, 0, 0, 0), bgd, fgd, self.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:  # degenerate colour model (a flat crop): fall back to the box's ellipse
            return EllipseTeacher().segment(image, [prompt])[0]
        fg = (init == cv2.GC_FGD) | (init == cv2.GC_PR_FGD)
        inside = np.zeros_like(fg)
        inside[br, bc] = fg[br, bc]
        out = np.zeros((h, w), bool)
        out[cr, cc] = keep_main_part(inside)
        return out


def _hide_neighbours(
    crop: np.ndarray,
    at: tuple[slice, slice],
    own: tuple[slice, slice],
    others: list[tuple[slice, slice]],
) -> np.ndarray:
    """The crop with other prompts' boxes (outside this box) painted with the background median.

    Without this, a neighbouring object of the same kind in the margin teaches GrabCut's background
    model what the object looks like, and the cut can come out empty.
    """
    hidden = np.zeros(crop.shape, bool)
    for rows, cols in others:
        r = slice(max(rows.start - at[0].start, 0), max(rows.stop - at[0].start, 0))
        c = slice(max(cols.start - at[1].start, 0), max(cols.stop - at[1].start, 0))
        hidden[r, c] = True
    hidden[own] = False
    if not hidden.any():
        return crop
    ground = ~hidden
    ground[own] = False
    if not ground.any():
        return crop
    out = crop.copy()
    out[hidden] = np.uint8(np.median(crop[ground]))
    return out


TEACHER_HELP = "grabcut | rim | ellipse | sam:CHECKPOINT[:vit_b|vit_l|vit_h]"


def make_teacher(spec: str) -> Teacher:
    """The teacher a ``--teacher`` text names; ModelError (one line) for anything else."""
    text = spec.strip()
    if text == "grabcut":
        return GrabCutTeacher()
    if text == "ellipse":
        return EllipseTeacher()
    if text == "rim":
        from areoscan.distill.rim import RimTeacher

        return RimTeacher()
    if text.startswith("sam:"):
        from areoscan.distill.sam import SamTeacher, parse_sam_spec

        checkpoint, kind = parse_sam_spec(text[4:])
        return SamTeacher.from_checkpoint(checkpoint, kind)
    raise ModelError(f"--teacher {spec!r}: expected {TEACHER_HELP}")
