"""Run a detector over annotated images: the bridge between detectors and the metrics.

Use :func:`resolve_detector` to turn ``--model`` into something with ``detect(image)`` (the
``log-blobs`` baseline, or a trained torchvision detector) and :func:`detect_all` to get its
detections as an :class:`AnnotationSet` on the truth's images, ready for
:func:`~areoscan.evaluate.detection.detection_metrics`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance
from areoscan.annotations.pixels import load_gray
from areoscan.errors import ModelError


class Detector(Protocol):
    """Anything that finds instances in one ``(H, W)`` float32 [0, 1] image."""

    name: str
    classes: list[str]

    def detect(self, image: np.ndarray) -> list[Instance]: ...

    def describe(self) -> dict[str, object]: ...


def resolve_detector(name: str, truth: AnnotationSet, threads: int = 2) -> Detector:
    """``log-blobs`` (fitted to ``truth``'s sizes) or a trained detector model by name or path."""
    from areoscan.evaluate.blobs import NAME, LogBlobs

    if name == NAME:
        return LogBlobs.fit(truth)
    try:
        from areoscan.models.detectors import load_detector
    except ModuleNotFoundError as exc:
        if exc.name != "areoscan.models.detectors":
            raise
        raise ModelError(f"{name}: no detector models in this version; use {NAME}") from None
    detector: Detector = load_detector(name, threads=threads)
    missing = [c for c in truth.classes if c not in detector.classes]
    if missing:
        raise ModelError(
            f"{name}: the data's classes {missing} are not the model's ({', '.join(detector.classes)})"
        )
    return detector


def detect_all(detector: Detector, truth: AnnotationSet, progress: bool = True) -> AnnotationSet:
    """The detector's instances on every image of ``truth`` (classes outside the truth's dropped)."""
    from tqdm import tqdm

    wanted = set(truth.classes)
    images: list[AnnotatedImage] = []
    for im in tqdm(truth.images, desc="detect", unit="img", disable=not progress, leave=False):
        found = detector.detect(load_gray(im.path, (im.height, im.width)))
        kept = [i for i in found if i.label in wanted]
        images.append(AnnotatedImage(im.path, im.height, im.width, kept, im.group))
    return AnnotationSet(list(truth.classes), images)
