"""COCO JSON in: boxes, polygons and RLE (compressed or not) into an :class:`AnnotationSet`.

Use it for COCO datasets and for what :func:`write_coco` wrote (the round trip is exact for RLE
masks). Image sizes come from the document, so the images need not be at hand. Polygons are
rasterised by the same pixel-centre rule as every other reader; RLE is decoded by pycocotools.
A detection results file (a bare list of annotations with ``score``) needs the ground truth's
images and categories: use :func:`read_coco_results`.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

from pycocotools import mask as mask_utils

from areoscan.annotations import geometry as geo
from areoscan.annotations.model import (
    AnnotatedImage,
    AnnotationSet,
    Instance,
    box_of_mask,
    clip_box,
    default_group,
)
from areoscan.errors import AnnotationError


def read_coco(
    path: str | Path, *, images: Path | None = None, classes: list[str] | None = None
) -> AnnotationSet:
    """Read a COCO JSON file (or the single ``*.json`` in a folder).

    images: folder the ``file_name`` entries are relative to (default: the JSON's folder).
    classes: allowed class names in order (default: categories by id); a category outside them is an
    :class:`AnnotationError` naming the file and the annotation id.
    """
    file = _json_file(Path(path))
    doc = _load(file)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise AnnotationError(f"{file}: not a COCO document (no 'images' list)")
    cats = _categories(doc.get("categories"), file)
    names = list(classes) if classes is not None else [cats[k] for k in sorted(cats)]
    base = images if images is not None else file.parent
    by_id: dict[Any, AnnotatedImage] = {}
    for k, entry in enumerate(doc["images"]):
        image_id, img = _image(entry, f"{file}: image {k}", base)
        if image_id in by_id:
            raise AnnotationError(f"{file}: image {k}: duplicate image id {image_id}")
        by_id[image_id] = img
    logs: dict[Any, geo.ShapeLog] = {}
    for k, ann in enumerate(doc.get("annotations") or []):
        where = f"{file}: annotation {ann.get('id', k) if isinstance(ann, dict) else k}"
        image_id, inst = _annotation(ann, where, by_id, cats, names, logs, file)
        by_id[image_id].instances.append(inst)
    for log in logs.values():
        log.warn()
    return AnnotationSet(classes=names, images=list(by_id.values()))


def _json_file(src: Path) -> Path:
    if src.is_file():
        return src
    if src.is_dir():
        found = sorted(src.glob("*.json"))
        if len(found) == 1:
            return found[0]
        raise AnnotationError(
            f"{src}: expected one COCO .json in this folder, found {len(found)}; name the file"
        )
    raise AnnotationError(f"{src}: no such file or folder")


def _load(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{file}: not readable JSON ({exc})") from exc


def _categories(cats: Any, file: Path) -> dict[int, str]:
    if not isinstance(cats, list) or not cats:
        raise AnnotationError(f"{file}: no 'categories' list")
    out: dict[int, str] = {}
    for k, cat in enumerate(cats):
        try:
            out[int(cat["id"])] = str(cat["name"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(
                f"{file}: category {k} needs an integer 'id' and a 'name'"
            ) from exc
    return out


def _image(entry: Any, where: str, base: Path) -> tuple[Any, AnnotatedImage]:
    try:
        image_id = entry["id"]
        name = str(entry["file_name"])
        height, width = int(entry["height"]), int(entry["width"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AnnotationError(f"{where}: needs 'id', 'file_name', 'height' and 'width'") from exc
    if height <= 0 or width <= 0:
        raise AnnotationError(f"{where}: non-positive size {width} x {height}")
    path = Path(name) if Path(name).is_absolute() else base / name
    group = str(entry.get("group") or default_group(name))
    return image_id, AnnotatedImage(path, height, width, [], group)


def _annotation(
    ann: Any,
    where: str,
    by_id: dict[Any, AnnotatedImage],
    cats: dict[int, str],
    names: list[str],
    logs: dict[Any, geo.ShapeLog],
    file: Path,
) -> tuple[Any, Instance]:
    if not isinstance(ann, dict):
        raise AnnotationError(f"{where}: not an object")
    image_id = ann.get("image_id")
    if image_id not in by_id:
        raise AnnotationError(f"{where}: image_id {image_id!r} is not in 'images'")
    img = by_id[image_id]
    try:
        label = cats[int(ann["category_id"])]
    except (KeyError, TypeError, ValueError) as exc:
        raise AnnotationError(
            f"{where}: category_id {ann.get('category_id')!r} is unknown"
        ) from exc
    if label not in names:
        raise AnnotationError(f"{where}: class {label!r} is not one of {', '.join(names)}")
    log = logs.setdefault(image_id, geo.ShapeLog(f"{file}: {img.path.name}"))
    attrs = dict(ann.get("attributes") or {})
    attrs["iscrowd"] = int(ann.get("iscrowd", 0) or 0)
    score = ann.get("score")
    score = float(score) if score is not None else None
    seg = ann.get("segmentation")
    if isinstance(seg, dict):
        inst = _rle_instance(seg, label, where, img)
        attrs["shape"] = "rle"
    elif isinstance(seg, list) and seg:
        inst = _polygon_instance(seg, label, where, img, log)
        attrs["shape"] = "polygon"
    else:
        inst = _box_instance(ann.get("bbox"), label, where, img, log)
        attrs["shape"] = "box"
    inst.score = score
    inst.attributes = attrs
    return image_id, inst


def _rle_instance(seg: dict[str, Any], label: str, where: str, img: AnnotatedImage) -> Instance:
    try:
        size = [int(v) for v in seg["size"]]
        counts = seg["counts"]
        if size != [img.height, img.width]:
            raise AnnotationError(
                f"{where}: RLE size {size} differs from the image's [{img.height}, {img.width}]"
            )
        with warnings.catch_warnings():
            # pycocotools 2.0.x under numpy 2 warns about the copy keyword on every mask: harmless,
            # and `train detector` would print it once per instance
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="pycocotools")
            if isinstance(counts, list):
                rle = mask_utils.frPyObjects({"size": size, "counts": counts}, *size)
            else:
                rle = {"size": size, "counts": counts.encode("ascii")}
            mask = mask_utils.decode(rle).astype(bool)
    except AnnotationError:
        raise
    except Exception as exc:  # pycocotools raises bare Exceptions / ValueErrors on bad counts
        raise AnnotationError(f"{where}: unreadable RLE segmentation ({exc})") from exc
    box = box_of_mask(mask)
    if box is None:
        raise AnnotationError(f"{where}: RLE mask is empty")
    return Instance(label=label, box=box, mask=mask)


def _polygon_instance(
    seg: list[Any], label: str, where: str, img: AnnotatedImage, log: geo.ShapeLog
) -> Instance:
    parts = []
    for ring in seg:
        try:
            values = [float(v) for v in ring]
        except (TypeError, ValueError) as exc:
            raise AnnotationError(f"{where}: polygon coordinates must be numbers") from exc
        if len(values) % 2 or not all(math.isfinite(v) for v in values):
            raise AnnotationError(f"{where}: a polygon needs finite x, y pairs")
        try:
            parts.append(geo.polygon(values[0::2], values[1::2]))
        except ValueError as exc:
            raise AnnotationError(f"{where}: {exc}") from exc
    geom = parts[0]
    for part in parts[1:]:  # COCO fills every ring (it has no holes): union them
        geom = geom.union(part)
    return geo.instance_from_shape(geom, label, img.height, img.width, where, log)


def _box_instance(
    bbox: Any, label: str, where: str, img: AnnotatedImage, log: geo.ShapeLog
) -> Instance:
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise AnnotationError(f"{where}: no segmentation and no 'bbox' [x, y, w, h]") from exc
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise AnnotationError(f"{where}: bbox {[x, y, w, h]} is not a positive-size box")
    box = (x, y, x + w, y + h)
    clipped = clip_box(box, img.width, img.height)
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        raise AnnotationError(f"{where}: bbox lies outside the {img.width} x {img.height} image")
    if max(abs(a - b) for a, b in zip(box, clipped, strict=True)) > 0.5:
        log.clipped.append(where)
    return Instance(label=label, box=clipped)


def read_coco_results(path: str | Path, truth: AnnotationSet) -> AnnotationSet:
    """Detections in COCO results form (a list of annotations with ``score``) on ``truth``'s images.

    Image ids and category ids are ``1 + index`` in ``truth``, as :func:`write_coco` numbers them.
    """
    file = Path(path)
    doc = _load(file)
    if not isinstance(doc, list):
        raise AnnotationError(f"{file}: a COCO results file is a list of annotations")
    by_id = {
        k: AnnotatedImage(im.path, im.height, im.width, [], im.group)
        for k, im in enumerate(truth.images, start=1)
    }
    cats = {k: name for k, name in enumerate(truth.classes, start=1)}
    logs: dict[Any, geo.ShapeLog] = {}
    for k, ann in enumerate(doc):
        image_id, inst = _annotation(
            ann, f"{file}: result {k}", by_id, cats, truth.classes, logs, file
        )
        by_id[image_id].instances.append(inst)
    for log in logs.values():
        log.warn()
    return AnnotationSet(classes=list(truth.classes), images=list(by_id.values()))
