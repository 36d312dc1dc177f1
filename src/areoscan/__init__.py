"""areoscan: find landforms in gigapixel planetary images.

The Python API (docs/api.md) — ``open_raster``, ``scan``, ``load_model``, ``survey``, ``report``,
``vet`` and the result types — loads on first use, so ``import areoscan`` stays light (no numpy,
torch, rasterio or dask until a function needs them). ``areoscan.scan`` and ``areoscan.survey`` are
also the packages that do the work; they are callable, so ``areoscan.scan(image, out=...)`` runs a
scan. Typed code can import the functions from :mod:`areoscan.api`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "open_raster": "areoscan.io.raster",
    "load_model": "areoscan.models.registry",
    "report": "areoscan.api",
    "vet": "areoscan.api",
    "ScanResult": "areoscan.api",
    "ScanPaths": "areoscan.api",
}
_CALLABLE_PACKAGES = ("scan", "survey")

__all__ = [
    "ScanPaths",
    "ScanResult",
    "__version__",
    "load_model",
    "open_raster",
    "report",
    "scan",
    "survey",
    "vet",
]

if TYPE_CHECKING:
    from areoscan.api import ScanPaths, ScanResult, report, vet
    from areoscan.io.raster import open_raster
    from areoscan.models.registry import load_model


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_PACKAGES:
        return importlib.import_module(f"areoscan.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'areoscan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
