"""areoscan: find landforms in gigapixel planetary images.

The Python API (docs/api.md) — ``open_raster``, ``run_scan``, ``load_model``, ``run_survey``,
``report``, ``vet`` and the result types — loads on first use, so ``import areoscan`` stays light
(no numpy, torch, rasterio or dask until a function needs them). The functions live in
:mod:`areoscan.api`; ``areoscan.scan``, ``areoscan.survey`` and the other subpackages are the
packages that do the work, also loaded on first use (``areoscan.scan.read_regions``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "open_raster": "areoscan.io.raster",
    "load_model": "areoscan.models.registry",
    "run_scan": "areoscan.api",
    "run_survey": "areoscan.api",
    "report": "areoscan.api",
    "vet": "areoscan.api",
    "ScanResult": "areoscan.api",
    "ScanPaths": "areoscan.api",
}
_SUBPACKAGES = frozenset(
    {"annotations", "data", "distill", "evaluate", "io", "models", "scan", "survey", "synth"}
    | {"tiling", "train"}
)

__all__ = [
    "ScanPaths",
    "ScanResult",
    "__version__",
    "load_model",
    "open_raster",
    "report",
    "run_scan",
    "run_survey",
    "vet",
]

if TYPE_CHECKING:
    from areoscan.api import ScanPaths, ScanResult, report, run_scan, run_survey, vet
    from areoscan.io.raster import open_raster
    from areoscan.models.registry import load_model


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"areoscan.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'areoscan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
