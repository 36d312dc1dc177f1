"""VGG Image Annotator (VIA) 2.x JSON: rect, circle, ellipse, polygon, polyline and point regions.

Use it for projects annotated in VIA (DeepGhostBusters' ``des-ghosts-via``, most hand-labelled
planetary sets). Accepted documents: a VIA 2.x project (``_via_img_metadata``), VIA's "export as JSON"
(a mapping ``filename+size -> image``), a list of image entries, and VIA 1.x regions stored as a
mapping. The class of a region is one of its ``region_attributes`` (``label_key``; by default the
project's only region attribute, else ``class`` / ``label`` / ``type`` / ``name`` in any case).

VIA stores no image size, so each image's header gives it (``images=`` folder, the JSON's folder or
its ``images/`` subfolder); ``size=`` stands in for images that are not at hand. Polylines are areas:
an outline when nearly closed (see :func:`is_outline`), else a stroke ``line_width`` pixels wide.
Points become discs of radius ``point_radius``.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from areoscan.annotations import geometry as geo
from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance, default_group
from areoscan.annotations.yolo import image_size
from areoscan.errors import AnnotationError

LABEL_KEYS = ("class", "label", "type", "name", "category")
# An open polyline whose ends are closer than this fraction of its length is an outline (annotators
# outline objects with VIA's polyline tool and stop near the start: in des-ghosts-via 99.5 % of the
# 7,834 polylines have a gap under 10 % of their length, the rest are still outlines up to ~30 %).
OUTLINE_GAP = 0.3


@dataclass(frozen=True)
class ViaOptions:
    """How VIA shapes become masks. Use the defaults unless the project's conventions differ.

    line_width: stroke width (px) of open polylines. point_radius: disc radius (px) of points.
    polylines: ``"auto"`` (outline when nearly closed), ``"closed"`` (always outlines) or
    ``"open"`` (always strokes). label_key: region attribute holding the class.
    size: ``(height, width)`` for images whose file is not found. unlabelled: what to do with a
    region that has no class: ``"error"``, ``"skip"`` (dropped, with a warning) or ``"default"``
    (the project's declared default option, with a warning).
    """

    line_width: float = 3.0
    point_radius: float = 2.5
    polylines: str = "auto"
    label_key: str | None = None
    size: tuple[int, int] | None = None
    unlabelled: str = "error"


def read_via(
    path: str | Path,
    *,
    images: Path | None = None,
    classes: list[str] | None = None,
    options: ViaOptions | None = None,
) -> AnnotationSet:
    """Read one VIA JSON file, or every VIA JSON in a folder (an image may appear in only one).

    classes: allowed class names in order (others are an :class:`AnnotationError`); default: the
    project's declared options, then labels in order of first appearance.
    """
    opts = options or ViaOptions()
    if opts.polylines not in ("auto", "closed", "open"):
        raise ValueError(f"polylines must be auto, closed or open, not {opts.polylines!r}")
    if opts.unlabelled not in ("error", "skip", "default"):
        raise ValueError(f"unlabelled must be error, skip or default, not {opts.unlabelled!r}")
    src = Path(path)
    if src.is_dir():
        files = sorted(src.glob("*.json"))
        if not files:
            raise AnnotationError(f"{src}: no VIA .json file in this folder")
    elif src.is_file():
        files = [src]
    else:
        raise AnnotationError(f"{src}: no such file or folder")
    declared: list[str] = []
    out: list[AnnotatedImage] = []
    seen: dict[str, Path] = {}
    for file in files:
        doc = _load(file)
        entries, options_declared, key, default = _entries(doc, file, opts.label_key)
        declared += [c for c in options_declared if c not in declared]
        unlabelled = _Unlabelled(str(file), opts.unlabelled, default)
        for name, entry in entries:
            if name in seen:
                raise AnnotationError(f"{file}: image {name} is also annotated in {seen[name]}")
            seen[name] = file
            out.append(_image(file, name, entry, key, images, opts, unlabelled))
        unlabelled.warn()
    names = list(classes) if classes is not None else _class_order(declared, out)
    allowed = set(names)
    for img in out:
        for k, inst in enumerate(img.instances):
            if inst.label not in allowed:
                raise AnnotationError(
                    f"{inst.attributes.get('source', img.path)}: {img.path.name} region {k}: "
                    f"class {inst.label!r} is not one of {', '.join(names)}"
                )
    return AnnotationSet(classes=names, images=out)


class _Unlabelled:
    """Policy and tally for regions without a class (one warning per file)."""

    def __init__(self, source: str, policy: str, default: str | None) -> None:
        self.source, self.policy, self.default = source, policy, default
        self.seen: list[str] = []

    def resolve(self, where: str, key: str | None) -> str | None:
        """The class to use (None: skip the region); raises under the ``"error"`` policy."""
        if self.policy == "error" or (self.policy == "default" and self.default is None):
            wanted = repr(key) if key else "a class attribute"
            hint = "" if self.default is None else " (or --unlabelled default)"
            raise AnnotationError(
                f"{where}: region has no class ({wanted} missing or empty); "
                f"fix it or pass --unlabelled skip{hint}"
            )
        self.seen.append(where.removeprefix(f"{self.source}: "))
        return self.default if self.policy == "default" else None

    def warn(self) -> None:
        if self.seen:
            done = "dropped" if self.policy == "skip" else f"given the default {self.default!r}"
            warnings.warn(
                f"{self.source}: {len(self.seen)} region(s) without a class {done} "
                f"(first: {self.seen[0]})",
                geo.AnnotationWarning,
                stacklevel=3,
            )


def _class_order(declared: list[str], images: list[AnnotatedImage]) -> list[str]:
    names = list(declared)
    for img in images:
        for inst in img.instances:
            if inst.label not in names:
                names.append(inst.label)
    return names


def _load(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{file}: not readable JSON ({exc})") from exc


def _entries(
    doc: Any, file: Path, label_key: str | None
) -> tuple[list[tuple[str, dict[str, Any]]], list[str], str | None, str | None]:
    """(filename, entry) pairs, the declared classes, the label attribute, its default option."""
    declared: list[str] = []
    default = None
    key = label_key
    if isinstance(doc, dict) and "_via_img_metadata" in doc:
        region_attrs = (doc.get("_via_attributes") or {}).get("region") or {}
        if key is None and len(region_attrs) == 1:
            key = next(iter(region_attrs))
        options = (region_attrs.get(key) or {}).get("options") if key else None
        if isinstance(options, dict):
            declared = [str(o) for o in options]
        defaults = (region_attrs.get(key) or {}).get("default_options") if key else None
        if isinstance(defaults, dict):
            ticked = [str(k) for k, v in defaults.items() if v]
            default = ticked[0] if len(ticked) == 1 else None
        doc = doc["_via_img_metadata"]
    if isinstance(doc, dict):
        items = list(doc.values())
    elif isinstance(doc, list):
        items = doc
    else:
        raise AnnotationError(f"{file}: not a VIA document (expected an object or a list)")
    pairs = []
    for k, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
            raise AnnotationError(f"{file}: image entry {k} has no 'filename'")
        pairs.append((item["filename"], item))
    return pairs, declared, key, default


def _image(
    file: Path,
    name: str,
    entry: dict[str, Any],
    key: str | None,
    images: Path | None,
    opts: ViaOptions,
    unlabelled: _Unlabelled,
) -> AnnotatedImage:
    image_path = _find_image(file, name, images)
    if image_path is not None:
        height, width = image_size(image_path)
    elif opts.size is not None:
        height, width = opts.size
        image_path = (images or file.parent) / name
    else:
        raise AnnotationError(
            f"{file}: image {name} not found beside the JSON or in --images, and VIA stores no "
            "image size; pass --images DIR or --image-size WxH"
        )
    regions = entry.get("regions") or []
    if isinstance(regions, dict):  # VIA 1.x
        regions = [regions[k] for k in sorted(regions, key=lambda s: int(s) if s.isdigit() else 0)]
    if not isinstance(regions, list):
        raise AnnotationError(f"{file}: {name}: 'regions' must be a list")
    log = geo.ShapeLog(str(file))
    instances = []
    for k, region in enumerate(regions):
        where = f"{file}: {name} region {k}"
        inst = _region(region, where, key, height, width, opts, log, unlabelled)
        if inst is not None:
            inst.attributes["source"] = str(file)
            instances.append(inst)
    log.warn()
    return AnnotatedImage(image_path, height, width, instances, default_group(name))


def _find_image(file: Path, name: str, images: Path | None) -> Path | None:
    folders = [images] if images is not None else [file.parent, file.parent / "images"]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _region(
    region: Any,
    where: str,
    key: str | None,
    height: int,
    width: int,
    opts: ViaOptions,
    log: geo.ShapeLog,
    unlabelled: _Unlabelled,
) -> Instance | None:
    if not isinstance(region, dict) or not isinstance(region.get("shape_attributes"), dict):
        raise AnnotationError(f"{where}: no 'shape_attributes'")
    shape = region["shape_attributes"]
    attrs = region.get("region_attributes") or {}
    label = _label(attrs, key, where) or unlabelled.resolve(where, key)
    if label is None:
        return None
    kind = shape.get("name")
    try:
        geom = _geometry(shape, opts)
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise AnnotationError(f"{where}: bad {kind} ({detail})") from exc
    extra = {k: v for k, v in attrs.items() if k != key}
    extra["shape"] = kind
    return geo.instance_from_shape(geom, label, height, width, where, log, extra)


def _label(attrs: Any, key: str | None, where: str) -> str | None:
    if not isinstance(attrs, dict):
        raise AnnotationError(f"{where}: 'region_attributes' must be an object")
    if key is None:
        found = [k for k in attrs if k.lower() in LABEL_KEYS]
        key = found[0] if found else (next(iter(attrs)) if len(attrs) == 1 else None)
    value = attrs.get(key) if key is not None else None
    if isinstance(value, dict):  # checkbox attributes: {"Faint": true}
        ticked = [k for k, v in value.items() if v]
        value = ticked[0] if len(ticked) == 1 else None
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def _number(shape: dict[str, Any], name: str) -> float:
    value = float(shape[name])
    if not math.isfinite(value):
        raise ValueError(f"non-finite {name}")
    return value


def _points(shape: dict[str, Any]) -> tuple[list[float], list[float]]:
    xs = [float(v) for v in shape["all_points_x"]]
    ys = [float(v) for v in shape["all_points_y"]]
    if not all(math.isfinite(v) for v in xs + ys):
        raise ValueError("non-finite coordinate")
    return xs, ys


def is_outline(xs: list[float], ys: list[float]) -> bool:
    """True when a polyline outlines an area: 4+ vertices, ends within 1 px or 30 % of its length."""
    if len(xs) < 4:  # an outline needs 3 corners and a closing vertex
        return False
    length = sum(math.hypot(xs[k + 1] - xs[k], ys[k + 1] - ys[k]) for k in range(len(xs) - 1))
    gap = math.hypot(xs[0] - xs[-1], ys[0] - ys[-1])
    return gap <= max(geo.CLOSE_TOLERANCE, OUTLINE_GAP * length)


def _geometry(shape: dict[str, Any], opts: ViaOptions) -> BaseGeometry:
    kind = shape.get("name")
    if kind == "rect":
        return geo.rect(*(_number(shape, k) for k in ("x", "y", "width", "height")))
    if kind == "circle":
        r = _number(shape, "r")
        return geo.ellipse(_number(shape, "cx"), _number(shape, "cy"), r, r)
    if kind == "ellipse":
        theta = _number(shape, "theta") if "theta" in shape else 0.0
        return geo.ellipse(
            _number(shape, "cx"), _number(shape, "cy"), _number(shape, "rx"), _number(shape, "ry"),
            theta,
        )  # fmt: skip
    if kind == "point":
        return geo.disc(_number(shape, "cx"), _number(shape, "cy"), opts.point_radius)
    if kind == "polygon":
        return geo.polygon(*_points(shape))
    if kind == "polyline":
        xs, ys = _points(shape)
        closed = opts.polylines == "closed" or (opts.polylines == "auto" and is_outline(xs, ys))
        if closed and len(xs) >= 3:
            return geo.polygon(xs, ys)
        return geo.polyline(xs, ys, opts.line_width, closed="no")
    raise ValueError(f"unknown shape {kind!r} (rect, circle, ellipse, polygon, polyline, point)")
