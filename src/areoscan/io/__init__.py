"""Raster input/output for HiRISE-scale JPEG2000 images.

Use :func:`open_raster` to read an image (path or http(s) URL) level by level, window by window or in
memory-bounded strips, with its georeference from the detached PDS3 label; :func:`fetch` to download
into a cache; :func:`read_label` / :func:`write_label` for labels; :func:`write_jp2` /
:func:`write_geotiff` and :func:`atomic_output` to write files. Names are imported lazily so that
``import areoscan.io`` stays cheap (glymur, rasterio and pyproj load on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Bound eagerly (stdlib only, cheap): the submodule shares the function's name, and importing the
# submodule (as the readers do) would otherwise leave ``areoscan.io.fetch`` naming the module.
from areoscan.io.fetch import fetch

_EXPORTS = {
    "open_raster": "areoscan.io.raster",
    "Raster": "areoscan.io.raster",
    "Strip": "areoscan.io.strips",
    "plan_strips": "areoscan.io.strips",
    "MapLabel": "areoscan.io.label",
    "read_label": "areoscan.io.label",
    "write_label": "areoscan.io.label_writer",
    "Georef": "areoscan.io.georef",
    "label_centred_on": "areoscan.io.georef",
    "write_jp2": "areoscan.io.writers",
    "Jp2Layout": "areoscan.io.writers",
    "write_geotiff": "areoscan.io.writers",
    "atomic_output": "areoscan.io.atomic",
}

__all__ = [
    "Georef",
    "Jp2Layout",
    "MapLabel",
    "Raster",
    "Strip",
    "atomic_output",
    "fetch",
    "label_centred_on",
    "open_raster",
    "plan_strips",
    "read_label",
    "write_geotiff",
    "write_jp2",
    "write_label",
]

if TYPE_CHECKING:
    from areoscan.io.atomic import atomic_output
    from areoscan.io.georef import Georef, label_centred_on
    from areoscan.io.label import MapLabel, read_label
    from areoscan.io.label_writer import write_label
    from areoscan.io.raster import Raster, open_raster
    from areoscan.io.strips import Strip, plan_strips
    from areoscan.io.writers import Jp2Layout, write_geotiff, write_jp2


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'areoscan.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
