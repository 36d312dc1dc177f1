"""YOLO txt labels (boxes ``cls cx cy w h`` and YOLO-seg polygons ``cls x1 y1 x2 y2 ...``).

Use it for Ultralytics / Roboflow exports such as ``hirise-pits-boxes``. Accepted layouts: a dataset
root with ``data.yaml`` (every split it lists: ``train: train/images``; labels sit in the sibling
``labels`` folder), a split folder holding ``images/`` and ``labels/``, or a labels folder with the
images given by ``images=``. Coordinates are normalised to the image size, so every image must be
present (its header gives the size). Images without a label file are negatives (no instances).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from areoscan.annotations.geometry import ShapeLog, instance_from_shape, polygon
from areoscan.annotations.model import (
    AnnotatedImage,
    AnnotationSet,
    Instance,
    clip_box,
    default_group,
)
from areoscan.errors import AnnotationError

# Boxes narrower or shorter than this (pixels) are dropped with a warning: nothing can detect them.
MIN_SIDE = 1.0
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def read_yolo(
    path: str | Path,
    *,
    images: Path | None = None,
    classes: list[str] | None = None,
    seg: bool = False,
) -> AnnotationSet:
    """Read a YOLO (``seg=False``: boxes) or YOLO-seg (``seg=True``: polygons -> masks) dataset.

    classes: class names by index; default from ``data.yaml`` ``names`` (or ``classes.txt``), else
    ``"0"``, ``"1"``... Raises :class:`AnnotationError` naming the file and line for a malformed
    line, a class index outside the names, or a shape wholly outside its image.
    """
    root = Path(path)
    if not root.exists():
        raise AnnotationError(f"{root}: no such file or folder")
    pairs, names = _layout(root, images)
    if classes is None:
        classes = names
    images_out: list[AnnotatedImage] = []
    for image_path, label_path in pairs:
        images_out.append(_read_one(image_path, label_path, classes, seg))
    if classes is None:
        top = max((int(i.label) for im in images_out for i in im.instances), default=-1)
        classes = [str(k) for k in range(top + 1)]
    return AnnotationSet(classes=list(classes), images=images_out)


def _layout(
    root: Path, images: Path | None
) -> tuple[list[tuple[Path, Path | None]], list[str] | None]:
    """(image, label file or None) pairs under ``root`` and the class names it declares."""
    yaml_path = root / "data.yaml" if root.is_dir() else root
    if yaml_path.suffix in (".yaml", ".yml") and yaml_path.is_file():
        info = _load_yaml(yaml_path)
        base = Path(info.get("path") or yaml_path.parent)
        if not base.is_absolute():
            base = yaml_path.parent / base
        pairs: list[tuple[Path, Path | None]] = []
        for split in ("train", "val", "test"):
            entries = info.get(split)
            for entry in [entries] if isinstance(entries, str) else (entries or []):
                image_dir = (base / entry).resolve()
                if not image_dir.is_dir():
                    image_dir = (yaml_path.parent / Path(entry).name).resolve()
                if not image_dir.is_dir():  # Roboflow's "../train/images"
                    image_dir = (yaml_path.parent / Path(entry).parent.name / "images").resolve()
                if not image_dir.is_dir():
                    raise AnnotationError(f"{yaml_path}: {split}: {entry} is not a folder")
                pairs += _pairs(image_dir, _labels_dir(image_dir))
        return _dedupe(pairs), _names(info.get("names"), yaml_path)
    if (root / "images").is_dir() and (root / "labels").is_dir():
        return _pairs(root / "images", root / "labels"), _classes_txt(root)
    if root.is_dir():
        image_dir = images or _images_dir(root)
        return _pairs(image_dir, root), _classes_txt(root)
    raise AnnotationError(
        f"{root}: expected a data.yaml, a folder with images/ and labels/, or a labels folder"
    )


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        info = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AnnotationError(f"{path}: not readable YAML ({exc})") from exc
    if not isinstance(info, dict):
        raise AnnotationError(f"{path}: expected a mapping with train/val/names")
    return info


def _names(names: Any, where: Path) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, dict):
        try:
            return [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError) as exc:
            raise AnnotationError(f"{where}: names keys must be integers 0..n-1") from exc
    if isinstance(names, list):
        return [str(n) for n in names]
    raise AnnotationError(f"{where}: names must be a list or a mapping, got {type(names).__name__}")


def _classes_txt(root: Path) -> list[str] | None:
    for candidate in (root / "classes.txt", root.parent / "classes.txt"):
        if candidate.is_file():
            return [ln.strip() for ln in candidate.read_text().splitlines() if ln.strip()]
    return None


def _labels_dir(image_dir: Path) -> Path:
    """YOLO's rule: the labels of ``.../images/x.jpg`` are in ``.../labels/x.txt``."""
    return image_dir.parent / "labels" if image_dir.name == "images" else image_dir


def _images_dir(label_dir: Path) -> Path:
    sibling = label_dir.parent / "images"
    return sibling if label_dir.name == "labels" and sibling.is_dir() else label_dir


def _pairs(image_dir: Path, label_dir: Path) -> list[tuple[Path, Path | None]]:
    if not image_dir.is_dir():
        raise AnnotationError(f"{image_dir}: images folder not found; pass --images DIR")
    found = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    stems = {p.stem for p in found}
    if label_dir.is_dir():
        for txt in sorted(label_dir.glob("*.txt")):
            if txt.stem not in stems and txt.name != "classes.txt":
                raise AnnotationError(f"{txt}: no image {txt.stem}.* in {image_dir}")
    return [
        (p, (label_dir / f"{p.stem}.txt") if (label_dir / f"{p.stem}.txt").is_file() else None)
        for p in found
    ]


def _dedupe(pairs: list[tuple[Path, Path | None]]) -> list[tuple[Path, Path | None]]:
    seen: set[Path] = set()
    out = []
    for image, label in pairs:
        if image not in seen:
            seen.add(image)
            out.append((image, label))
    return out


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the image header, without decoding pixels."""
    try:
        with Image.open(path) as im:
            width, height = im.size
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot read the image size ({exc})") from exc
    return int(height), int(width)


def _read_one(
    image: Path, label: Path | None, classes: list[str] | None, seg: bool
) -> AnnotatedImage:
    height, width = image_size(image)
    instances: list[Instance] = []
    if label is not None:
        log = ShapeLog(str(label))
        for number, line in enumerate(label.read_text().splitlines(), start=1):
            if line.strip():
                where = f"{label}: line {number}"
                inst = _parse_line(line, where, height, width, classes, seg, log)
                if inst is not None:
                    instances.append(inst)
        log.warn()
    return AnnotatedImage(image, height, width, instances, default_group(image.name))


def _parse_line(
    line: str,
    where: str,
    height: int,
    width: int,
    classes: list[str] | None,
    seg: bool,
    log: ShapeLog,
) -> Instance | None:
    fields = line.split()
    try:
        cls = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError as exc:
        raise AnnotationError(
            f"{where}: expected 'class x y ...' numbers, got {line.strip()!r}"
        ) from exc
    if cls < 0 or (classes is not None and cls >= len(classes)):
        count = "?" if classes is None else len(classes)
        raise AnnotationError(f"{where}: class {cls} is not one of the {count} declared classes")
    label = classes[cls] if classes is not None else str(cls)
    if not np.all(np.isfinite(values)):
        raise AnnotationError(f"{where}: non-finite coordinate in {line.strip()!r}")
    if len(values) in (4, 5) and not (seg and len(values) == 5):
        return _box_instance(values, label, where, height, width, log)
    if seg and len(values) >= 6 and len(values) % 2 == 0:
        xs = [v * width for v in values[0::2]]
        ys = [v * height for v in values[1::2]]
        try:
            geom = polygon(xs, ys)
        except ValueError as exc:
            raise AnnotationError(f"{where}: {exc}") from exc
        return instance_from_shape(geom, label, height, width, where, log, {"shape": "polygon"})
    wanted = (
        "'cls x1 y1 x2 y2 x3 y3 ...' (YOLO-seg)"
        if seg
        else "'cls cx cy w h' (YOLO boxes; use --format yolo-seg for polygons)"
    )
    raise AnnotationError(f"{where}: {len(fields)} fields; expected {wanted}")


def _box_instance(
    values: list[float], label: str, where: str, height: int, width: int, log: ShapeLog
) -> Instance | None:
    cx, cy, w, h = values[:4]
    if w <= 0 or h <= 0:
        raise AnnotationError(f"{where}: box of non-positive size {w:g} x {h:g}")
    box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
    box = (round(box[0], 4), round(box[1], 4), round(box[2], 4), round(box[3], 4))
    if w * width < MIN_SIDE or h * height < MIN_SIDE:
        # Seen in hirise-pits-boxes: boxes normalised twice (every value / 900 again), sub-pixel
        # at the corner; no detector can match them and keeping them would count as misses.
        log.dropped.append(where)
        return None
    clipped = clip_box(box, width, height)
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        raise AnnotationError(
            f"{where}: box lies outside the image (normalised cx={cx:g}, cy={cy:g})"
        )
    if max(abs(a - b) for a, b in zip(box, clipped, strict=True)) > 0.5:
        log.clipped.append(where)
    score = values[4] if len(values) == 5 else None
    return Instance(label=label, box=clipped, score=score, attributes={"shape": "box"})
