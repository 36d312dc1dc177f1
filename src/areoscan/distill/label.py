"""Run a teacher over annotated images and publish its masks: COCO JSON, mask PNGs, review overlays.

Use :func:`label_images` (what ``areoscan label`` runs). ``OUT/annotations.json`` holds one instance
per prompt with its teacher mask as exact RLE (the prompt box and kind in its ``attributes``);
``OUT/masks/<stem>.png`` is the class map (0 background, k = COCO category id) the decoder trains on;
``OUT/instances/<stem>.png`` the instance map (16-bit, k = k-th instance of the image);
``OUT/overlays/<stem>.png`` the image with each mask tinted and its prompt box drawn, for review.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from areoscan.annotations.coco_out import coco_dict
from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance, box_of_mask
from areoscan.distill.prompts import prompts_of
from areoscan.distill.teachers import Teacher, to_uint8
from areoscan.errors import DataError
from areoscan.io.atomic import atomic_output
from areoscan.io.tilefile import read_tile

# Overlay tints, cycled per instance (colour-blind-safe Okabe-Ito hues).
PALETTE = np.array(
    [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0)],
    np.float32,
)


@dataclass
class LabelSummary:
    """What a labelling run produced: images, masks, and prompts whose mask came out empty."""

    images: int
    masks: int
    empty: int
    out: Path


def read_image_u8(path: Path) -> np.ndarray:
    """An image file as 8-bit grayscale (16-bit files are stretched); DataError if unreadable."""
    if not path.is_file():
        raise DataError(f"{path}: image not found (give the folder holding the images)")
    return to_uint8(read_tile(path)) if _needs_stretch(path) else _read_8bit(path)


def _needs_stretch(path: Path) -> bool:
    with Image.open(path) as im:
        return im.mode not in ("L", "RGB", "RGBA", "P", "LA")


def _read_8bit(path: Path) -> np.ndarray:
    return np.clip(read_tile(path) * 255 + 0.5, 0, 255).astype(np.uint8)


def label_one(image: np.ndarray, annotated: AnnotatedImage, teacher: Teacher) -> list[Instance]:
    """The teacher's instances for one image: one per prompt, in prompt order."""
    prompts = prompts_of(annotated)
    masks = teacher.segment(image, prompts) if prompts else []
    scores = list(getattr(teacher, "last_scores", []) or [])
    fallbacks = list(getattr(teacher, "last_fallbacks", []) or [])
    out = []
    for k, (p, m) in enumerate(zip(prompts, masks, strict=True)):
        src = annotated.instances[p.source]
        attrs = {**src.attributes, "teacher": teacher.name, "prompt": p.kind}
        if p.box is not None:
            attrs["prompt_box"] = [float(v) for v in p.box]
        if p.points:
            attrs["prompt_points"] = [[float(x), float(y)] for x, y in p.points]
        if k < len(fallbacks) and fallbacks[k]:
            attrs["teacher_fallback"] = "ellipse"
        if k < len(scores):
            attrs["teacher_score"] = round(scores[k], 4)
        box = box_of_mask(m) or p.box_or_square(1.0, annotated.width, annotated.height)
        out.append(Instance(p.label, box, mask=np.asarray(m, bool), attributes=attrs))
    return out


def overlay(image: np.ndarray, instances: list[Instance]) -> np.ndarray:
    """RGB review image: each mask tinted (40 %) with its outline solid, its prompt box in white."""
    rgb = np.repeat(image[..., None].astype(np.float32), 3, axis=2)
    for k, inst in enumerate(instances):
        if inst.mask is None:
            continue
        colour = PALETTE[k % len(PALETTE)]
        rgb[inst.mask] = 0.6 * rgb[inst.mask] + 0.4 * colour
        rim = inst.mask & ~ndimage.binary_erosion(inst.mask)
        rgb[rim] = colour
        box = inst.attributes.get("prompt_box")
        if box:
            h, w = image.shape
            x0, y0 = int(max(0, box[0])), int(max(0, box[1]))
            x1, y1 = int(min(w, np.ceil(box[2]))) - 1, int(min(h, np.ceil(box[3]))) - 1
            rgb[y0, x0 : x1 + 1] = rgb[y1, x0 : x1 + 1] = 255
            rgb[y0 : y1 + 1, x0] = rgb[y0 : y1 + 1, x1] = 255
    return rgb.astype(np.uint8)


def _save_png(array: np.ndarray, path: Path) -> None:
    with atomic_output(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def label_images(
    ann: AnnotationSet,
    teacher: Teacher,
    out: Path,
    *,
    read: Callable[[Path], np.ndarray] = read_image_u8,
    progress: Callable[[str], None] | None = None,
) -> LabelSummary:
    """Segment every prompt of ``ann`` with ``teacher`` and write OUT (see the module doc).

    read: how an image path becomes 8-bit grayscale (tests pass generated arrays). Images are
    named by file stem, so two images with one stem are refused (DataError) before anything runs.
    """
    stems = [img.path.stem for img in ann.images]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise DataError(f"two images share the file stem {dup[0]!r}; outputs are named by stem")
    cat = {name: k + 1 for k, name in enumerate(ann.classes)}
    if len(cat) > 255:
        raise DataError(f"{len(cat)} classes: class maps are 8-bit (255 classes at most)")
    images: list[AnnotatedImage] = []
    n_masks = n_empty = 0
    for i, img in enumerate(ann.images):
        if progress:
            progress(f"{i + 1}/{len(ann.images)} {img.path.name}")
        pixels = read(img.path)
        if pixels.shape != (img.height, img.width):
            raise DataError(
                f"{img.path}: image is {pixels.shape[1]}x{pixels.shape[0]}, annotations say "
                f"{img.width}x{img.height}"
            )
        insts = label_one(pixels, img, teacher)
        classes = np.zeros(pixels.shape, np.uint8)
        ids = np.zeros(pixels.shape, np.uint16)
        for k, inst in enumerate(insts, start=1):
            assert inst.mask is not None
            classes[inst.mask] = cat[inst.label]
            ids[inst.mask] = k
            n_empty += int(not inst.mask.any())
        n_masks += len(insts)
        _save_png(classes, out / "masks" / f"{img.path.stem}.png")
        _save_png(ids, out / "instances" / f"{img.path.stem}.png")
        _save_png(overlay(pixels, insts), out / "overlays" / f"{img.path.stem}.png")
        images.append(AnnotatedImage(img.path, img.height, img.width, insts, img.group))
    doc = coco_dict(AnnotationSet(list(ann.classes), images), relative_to=out)
    doc["info"]["description"] = f"teacher masks ({teacher.name}) written by areoscan label"
    with atomic_output(out / "annotations.json") as tmp:
        tmp.write_text(json.dumps(doc, separators=(",", ":")))
    return LabelSummary(len(images), n_masks, n_empty, out)
