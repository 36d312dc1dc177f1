"""One entry point for every annotation format: :func:`read_annotations`.

Use it instead of a format's own reader when the format is a user's choice (``--format``).
"""

from __future__ import annotations

from pathlib import Path

from areoscan.annotations.coco_in import read_coco
from areoscan.annotations.model import AnnotationSet
from areoscan.annotations.via import ViaOptions, read_via
from areoscan.annotations.yolo import read_yolo
from areoscan.errors import AnnotationError

FORMATS = ("via", "coco", "yolo", "yolo-seg")


def read_annotations(
    path: str | Path,
    fmt: str,
    *,
    images: Path | None = None,
    classes: list[str] | None = None,
    via: ViaOptions | None = None,
) -> AnnotationSet:
    """Read annotations in format ``fmt`` (one of :data:`FORMATS`) into an :class:`AnnotationSet`.

    images: folder holding the images when the annotations do not sit beside them. classes: the
    expected class names in order; labels outside them are an :class:`AnnotationError` (for YOLO, the
    names of class indices 0..n-1, overriding ``data.yaml``). via: how VIA shapes become masks
    (stroke width of open polylines, point radius, image size when the images are absent).
    """
    images = Path(images) if images is not None else None
    if fmt == "via":
        return read_via(path, images=images, classes=classes, options=via)
    if fmt == "coco":
        return read_coco(path, images=images, classes=classes)
    if fmt == "yolo":
        return read_yolo(path, images=images, classes=classes, seg=False)
    if fmt == "yolo-seg":
        return read_yolo(path, images=images, classes=classes, seg=True)
    raise AnnotationError(
        f"{path}: unknown annotation format {fmt!r}; use one of {', '.join(FORMATS)}"
    )
