"""Scan one image: screen at low resolution, segment flagged windows at full resolution, publish.

Use :func:`scan_image` (returns a :class:`ScanSummary`) and :func:`read_regions` /
:func:`read_detections` (the regions / detections of a finished scan, for the survey). Modules, in data-flow order: ``levels`` (which level each model
reads), ``screen``, ``windows`` (where to segment), ``bands`` (reads within a memory budget),
``segment`` (the segment stage), ``band_blend`` (blended tiles into the store), ``quant`` (one-byte probabilities), ``clean``, ``vectorize``, ``outputs``,
``quicklook``, ``pipeline``; ``compare`` holds the mask tools. Names load lazily.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "scan_image": "areoscan.scan.pipeline",
    "ScanSummary": "areoscan.scan.pipeline",
    "read_regions": "areoscan.scan.outputs",
    "read_detections": "areoscan.scan.outputs",
    "compare_masks": "areoscan.scan.compare",
    "to_training_mask": "areoscan.scan.compare",
}

__all__ = [
    "ScanSummary",
    "compare_masks",
    "read_detections",
    "read_regions",
    "scan_image",
    "to_training_mask",
]

if TYPE_CHECKING:
    from areoscan.scan.compare import compare_masks, to_training_mask
    from areoscan.scan.outputs import read_detections, read_regions
    from areoscan.scan.pipeline import ScanSummary, scan_image


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'areoscan.scan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
