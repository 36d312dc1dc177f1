"""Annotations in and out: VIA, COCO and YOLO files to one in-memory form, and COCO JSON out.

This package sits at the data layer (it may import :mod:`areoscan.io` and :mod:`areoscan.errors`,
never models, train or scan), so detectors, metrics, agreement and distillation all share it.
"""

from areoscan.annotations.coco_in import read_coco_results
from areoscan.annotations.coco_out import write_coco
from areoscan.annotations.model import (
    AnnotatedImage,
    AnnotationSet,
    Instance,
    box_ellipse,
    box_of_mask,
    default_group,
    source_name,
)
from areoscan.annotations.read import FORMATS, read_annotations
from areoscan.annotations.via import ViaOptions

__all__ = [
    "FORMATS",
    "AnnotatedImage",
    "AnnotationSet",
    "Instance",
    "ViaOptions",
    "box_ellipse",
    "box_of_mask",
    "default_group",
    "read_annotations",
    "read_coco_results",
    "source_name",
    "write_coco",
]
