"""Which detector ``--model`` names: the ``log-blobs`` baseline or a trained detector model.

Use :func:`resolve_detector` to turn ``--model`` into a :class:`~areoscan.data.detection.Detector`
(something with ``detect(image)``); :func:`~areoscan.data.detection.detect_all` then gives its
detections on the truth's images, ready for :func:`~areoscan.data.detection.detection_metrics`.
"""

from __future__ import annotations

from areoscan.annotations.model import AnnotationSet
from areoscan.data.detection import Detector
from areoscan.errors import ModelError


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
