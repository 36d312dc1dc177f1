"""Write an :class:`AnnotationSet` as COCO JSON (the one output format every detector tool reads).

Use :func:`write_coco` to hand annotations or detections to pycocotools, CVAT, Label Studio or our
own ``evaluate detector``. Masks are written as compressed RLE (exact, pixel for pixel) or, with
``segmentation="polygon"``, as traced outlines (editable in annotation tools, not exact). Box-only
instances have an empty ``segmentation``. Detections keep their ``score``. Category ids are
``1 + index`` in ``classes``; image ids are ``1 + index`` in ``images``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from skimage import measure

from areoscan.annotations.model import AnnotationSet, Instance
from areoscan.io.atomic import atomic_output


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO compressed RLE of a bool mask (``counts`` as a str, JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def mask_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outlines of a bool mask as COCO polygons (pixel-edge coordinates, one ring per outline).

    Holes come out as rings of their own, which COCO readers fill: use RLE when holes matter.
    """
    padded = np.pad(mask.astype(np.uint8), 1)
    polys = []
    for contour in measure.find_contours(padded, 0.5):
        if len(contour) < 3:
            continue
        # find_contours works in the padded array's pixel-centre indices: padded index p is
        # original pixel p - 1, whose centre is at edge coordinate (p - 1) + 0.5 = p - 0.5.
        xs, ys = contour[:, 1] - 0.5, contour[:, 0] - 0.5
        polys.append([round(float(v), 2) for pair in zip(xs, ys, strict=True) for v in pair])
    return polys


def coco_dict(
    ann: AnnotationSet, relative_to: Path | None = None, segmentation: str = "rle"
) -> dict[str, Any]:
    """The COCO document as a dict (file names relative to ``relative_to`` when given)."""
    if segmentation not in ("rle", "polygon"):
        raise ValueError(f"segmentation must be 'rle' or 'polygon', not {segmentation!r}")
    cat_id = {name: k + 1 for k, name in enumerate(ann.classes)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, img in enumerate(ann.images, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": _file_name(img.path, relative_to),
                "height": img.height,
                "width": img.width,
                "group": img.group,
            }
        )
        for inst in img.instances:
            if inst.label not in cat_id:
                raise ValueError(f"{img.path}: instance class {inst.label!r} is not in classes")
            annotations.append(
                _annotation(inst, len(annotations) + 1, image_id, cat_id, segmentation)
            )
    return {
        "info": {"description": "written by areoscan", "version": "1.0"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": cat_id[n], "name": n, "supercategory": ""} for n in ann.classes],
    }


def _annotation(
    inst: Instance, ann_id: int, image_id: int, cat_id: dict[str, int], segmentation: str
) -> dict[str, Any]:
    x0, y0, x1, y1 = inst.box
    out: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": cat_id[inst.label],
        "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
        "area": inst.area,
        "iscrowd": int(inst.attributes.get("iscrowd", 0)),
        "segmentation": [],
    }
    if inst.mask is not None:
        out["segmentation"] = (
            encode_rle(inst.mask) if segmentation == "rle" else mask_polygons(inst.mask)
        )
    if inst.score is not None:
        out["score"] = float(inst.score)
    extra = {k: v for k, v in inst.attributes.items() if k != "iscrowd"}
    if extra:
        out["attributes"] = _jsonable(extra)
    return out


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return json.loads(json.dumps(value, default=str))


def _file_name(path: Path, relative_to: Path | None) -> str:
    """Relative to the COCO file's folder when the image is under it or its parent, else absolute."""
    if relative_to is None:
        return str(path)
    try:
        rel = Path(os.path.relpath(Path(path).resolve(), relative_to.resolve()))
    except ValueError:  # another drive (Windows)
        return str(Path(path).resolve())
    if rel.parts[:2] == ("..", ".."):
        return str(Path(path).resolve())
    return rel.as_posix()


def write_coco(ann: AnnotationSet, path: str | Path, *, segmentation: str = "rle") -> None:
    """Write ``ann`` to ``path`` as COCO JSON, atomically; file names relative to its folder."""
    dest = Path(path)
    doc = coco_dict(ann, relative_to=dest.parent, segmentation=segmentation)
    with atomic_output(dest) as tmp:
        tmp.write_text(json.dumps(doc, separators=(",", ":")))
