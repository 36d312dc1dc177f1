"""Survey SOURCE = a local folder: every product under it, by its file name.

Use :func:`jobs_from_folder` (through :func:`areoscan.survey.sources.collect_jobs`) for a local PDS
tree or any folder of products: HiRISE ``*_RED.JP2`` and map-projected files GDAL opens
(:data:`PRODUCT_SUFFIXES`), never masks beside training images; symlinked folders are not followed.
Products are never downloaded nor deleted; labels are read only when a selection needs them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from areoscan.errors import DataError
from areoscan.io.obsid import RED_PRODUCT_RE, find_observation_id, observation_id_from_name
from areoscan.survey.footprint import label_beside, label_footprint, raster_footprint
from areoscan.survey.jobs import Job, Selection
from areoscan.survey.safety import check_product_id

#: Local products besides HiRISE RED JP2s: anything GDAL maps (CTX/HRSC/LROC IMG, ISIS cubes, ...).
PRODUCT_SUFFIXES = (".img", ".cub", ".tif", ".tiff", ".vrt")
_NOT_PRODUCTS = ("_mask", "_classes")  # training labels beside images


def is_product(name: str) -> bool:
    """True for a ``*_RED.JP2`` or a map-projected product file a survey scans (not a mask)."""
    if RED_PRODUCT_RE.match(name):
        return True
    stem, dot, suffix = name.rpartition(".")
    return (
        bool(dot)
        and f".{suffix.lower()}" in PRODUCT_SUFFIXES
        and not stem.lower().endswith(_NOT_PRODUCTS)
        and not name.startswith(".")
    )


def product_id(path: Path) -> str:
    """Job id of a local product: its HiRISE observation id, else its file stem (checked safe)."""
    if RED_PRODUCT_RE.match(path.name):
        return observation_id_from_name(path.name, where=str(path))
    return check_product_id(find_observation_id(path.name) or path.stem, where=str(path))


def walk_folder(root: Path) -> Iterator[Path]:
    """Yield every product (``*_RED.JP2``, ``.IMG``, ``.cub``, GeoTIFF, VRT) under ``root`` in
    sorted order, never following symlinked folders."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if is_product(name):
                yield Path(dirpath) / name


def jobs_from_folder(root: Path, selection: Selection, warn: Callable[[str], None]) -> list[Job]:
    """Jobs for every RED JP2 under a local folder; labels read only when selection needs them."""
    jobs: dict[str, Job] = {}
    for path in walk_folder(root):
        obs = product_id(path)
        if obs in jobs:
            warn(f"{path}: duplicate of {jobs[obs].url}; ignored")
            continue
        job = Job(obs, str(path.resolve()), remote=False)
        if selection.active and not RED_PRODUCT_RE.match(path.name):
            try:
                job = replace(job, **raster_footprint(path))
            except Exception as exc:  # a bad product excludes itself, it does not stop the survey
                warn(f"{path}: unreadable ({exc}); skipped")
                continue
        elif selection.active:
            label = label_beside(path)
            if label is None:
                warn(f"{path}: no label beside it, cannot apply --bbox/--max-scale; skipped")
                continue
            try:
                job = replace(job, **label_footprint(label))
            except Exception as exc:  # a bad label excludes the image, it does not stop the survey
                warn(f"{label}: unreadable label ({exc}); skipped")
                continue
        jobs[obs] = job
    if not jobs:
        raise DataError(
            f"{root}: no *_RED.JP2 (RDR/ESP/ORB_*/ID/ID_RED.JP2), .IMG, .cub, GeoTIFF or VRT "
            "products found"
        )
    return [j for j in jobs.values() if selection.accepts(j) or not selection.active]
