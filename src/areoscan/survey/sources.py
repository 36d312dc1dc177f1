"""Turn a survey SOURCE into jobs: a local PDS folder, an http(s) tree, a cumulative index, an id list.

Use :func:`collect_jobs` from the survey command; it detects the kind of SOURCE, validates every
name on the way (see :mod:`areoscan.survey.safety`) and applies the ``--bbox`` / ``--max-scale``
selection. Each :class:`Job` knows where its RED JP2 is, whether it is remote (downloaded, then
deleted) or local (never deleted), and the largest download it may take (``max_bytes``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from areoscan.errors import DataError
from areoscan.io.obsid import (
    RED_PRODUCT_RE,
    check_observation_id,
    find_observation_id,
    observation_id_from_name,
)
from areoscan.survey import pdsindex
from areoscan.survey.jobs import (
    DEFAULT_MAX_IMAGE_MB,
    HIRISE_PDS_URL,
    Job,
    Selection,
    join_url,
    lon_centre,
    pds_product_path,
    target_latitude,
)
from areoscan.survey.listing import walk_http
from areoscan.survey.safety import check_product_id, check_relative_path, check_url

# ---------------------------------------------------------------------------------------------
# local folders


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


def _label_metadata(label_path: Path) -> dict[str, Any]:
    """Centre, bounds and scale from a product's PDS label (via areoscan.io.read_label)."""
    from areoscan.io import read_label

    lab = read_label(label_path)
    scale = float(lab.map_scale)
    lats = [lab.minimum_latitude, lab.maximum_latitude]
    lons = [lab.westernmost_longitude, lab.easternmost_longitude]
    if any(v is None for v in lats + lons):
        return {"scale": scale}
    lat0, lat1 = (
        float(min(v for v in lats if v is not None)),
        float(max(v for v in lats if v is not None)),
    )
    lon0, lon1 = sorted(float(v) % 360.0 for v in lons if v is not None)
    if lon1 - lon0 > 180:  # the image straddles the 0/360 seam
        lon0, lon1 = lon1, lon0
    return {
        "lat": (lat0 + lat1) / 2,
        "lon": lon_centre(lon0, lon1),
        "scale": scale,
        "bounds": (lat0, lat1, lon0 % 360.0, lon1 % 360.0),
    }


def _raster_metadata(path: Path) -> dict[str, Any]:
    """Centre, bounds and scale of any product areoscan opens (PDS3, ISIS3, GeoTIFF, VRT)."""
    from areoscan.io import open_raster

    with open_raster(path) as raster:
        if raster.georef is None or raster.scale is None:
            return {}
        corners = raster.georef.corners_lonlat(raster.shape)
    centre = corners.pop("centre")
    lats = [v[1] for v in corners.values()]
    lons = sorted(v[0] % 360.0 for v in corners.values())
    lon0, lon1 = (lons[-1], lons[0]) if lons[-1] - lons[0] > 180 else (lons[0], lons[-1])
    return {
        "lat": centre[1],
        "lon": centre[0] % 360.0,
        "scale": float(raster.scale),
        "bounds": (min(lats), max(lats), lon0, lon1),
    }


def _beside_label(jp2: Path) -> Path | None:
    for suffix in (".LBL", ".lbl"):
        if jp2.with_suffix(suffix).exists():
            return jp2.with_suffix(suffix)
    return None


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
                job = replace(job, **_raster_metadata(path))
            except Exception as exc:  # a bad product excludes itself, it does not stop the survey
                warn(f"{path}: unreadable ({exc}); skipped")
                continue
        elif selection.active:
            label = _beside_label(path)
            if label is None:
                warn(f"{path}: no label beside it, cannot apply --bbox/--max-scale; skipped")
                continue
            try:
                job = replace(job, **_label_metadata(label))
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


# ---------------------------------------------------------------------------------------------
# http(s) trees


def jobs_from_http(
    base: str,
    selection: Selection,
    *,
    cache_dir: Path,
    timeout: float,
    max_image_bytes: int,
    warn: Callable[[str], None],
) -> list[Job]:
    """Jobs for every RED JP2 in a remote tree; labels fetched (into cache_dir) only to select."""
    jobs: dict[str, Job] = {}
    for url, size in walk_http(base, timeout=timeout):
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        obs = observation_id_from_name(name, where=url)
        if obs in jobs:
            continue
        limit = min(size, max_image_bytes) if size else max_image_bytes
        jobs[obs] = Job(obs, url, remote=True, max_bytes=limit)
    if not jobs:
        raise DataError(f"{base}: no *_RED.JP2 found in the listing tree")
    return _select_remote(list(jobs.values()), selection, cache_dir, timeout, warn)


def _select_remote(
    jobs: list[Job],
    selection: Selection,
    cache_dir: Path,
    timeout: float,
    warn: Callable[[str], None],
) -> list[Job]:
    """Apply a selection to remote jobs, fetching only the labels of plausible images."""
    if not selection.active:
        return jobs
    if selection.bbox is not None:  # the id's target latitude prunes most of an archive cheaply
        lat0, lat1 = selection.bbox[0] - 1.0, selection.bbox[1] + 1.0
        jobs = [j for j in jobs if lat0 <= target_latitude(j.observation_id) <= lat1]

    def with_label(job: Job) -> Job | None:
        from areoscan.io import fetch

        label_url = re.sub(r"\.JP2$", ".LBL", job.url, flags=re.IGNORECASE)
        try:
            path = fetch(
                label_url, cache_dir, label=False, retries=2, timeout=timeout, max_bytes=1 << 20
            )
            return replace(job, **_label_metadata(Path(path)))
        except Exception as exc:  # an unreachable label excludes the image only
            warn(f"{label_url}: cannot read label ({exc}); skipped")
            return None

    cache_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        located = [j for j in pool.map(with_label, jobs) if j is not None]
    return [j for j in located if selection.accepts(j)]


# ---------------------------------------------------------------------------------------------
# cumulative index


INDEX_COLUMNS = (
    "FILE_NAME_SPECIFICATION",
    "PRODUCT_ID",
    "IMAGE_LINES",
    "LINE_SAMPLES",
    "MAP_SCALE",
    "MINIMUM_LATITUDE",
    "MAXIMUM_LATITUDE",
    "MINIMUM_LONGITUDE",
    "MAXIMUM_LONGITUDE",
)


def index_size_bound(lines: int | None, samples: int | None) -> int | None:
    """Upper bound of a RED JP2's size from its dimensions: the raw 16-bit raster plus 1 MiB.

    A lossless JPEG 2000 of 10-bit data cannot exceed its raw size, so a bigger download is wrong.
    """
    if not lines or not samples:
        return None
    return int(lines) * int(samples) * 2 + (1 << 20)


def jobs_from_index(
    table: Path, selection: Selection, *, base_url: str, max_image_bytes: int
) -> list[Job]:
    """Jobs for the RED products of a cumulative index that pass the selection (from its columns)."""
    layout = pdsindex.read_index_label(pdsindex.find_label_for_table(table))
    local_base = None if re.match(r"^(https?|file)://", base_url) else Path(base_url)
    if local_base is None:
        check_url(base_url, "--base-url")
    jobs: dict[str, Job] = {}
    for number, row in enumerate(pdsindex.iter_rows(table, layout, INDEX_COLUMNS), start=1):
        spec = row["FILE_NAME_SPECIFICATION"] or ""
        name = spec.rsplit("/", 1)[-1]
        if not RED_PRODUCT_RE.match(name):
            continue  # COLOR and other products
        rel = check_relative_path(spec, where=f"{table} row {number}")
        obs = observation_id_from_name(name, where=f"{table} row {number}")
        lat0, lat1 = row["MINIMUM_LATITUDE"], row["MAXIMUM_LATITUDE"]
        lon0, lon1 = row["MINIMUM_LONGITUDE"], row["MAXIMUM_LONGITUDE"]
        known = None not in (lat0, lat1, lon0, lon1)
        bound = index_size_bound(row["IMAGE_LINES"], row["LINE_SAMPLES"])
        job = Job(
            obs,
            str((local_base / rel).resolve())
            if local_base is not None
            else join_url(base_url, rel),
            remote=local_base is None,
            max_bytes=min(bound, max_image_bytes) if bound else max_image_bytes,
            lat=(lat0 + lat1) / 2 if known else None,
            lon=lon_centre(lon0 % 360.0, lon1 % 360.0) if known else None,
            scale=row["MAP_SCALE"],
            bounds=(lat0, lat1, lon0 % 360.0, lon1 % 360.0) if known else None,
        )
        if obs not in jobs and selection.accepts(job):
            jobs[obs] = job
    return list(jobs.values())


def default_index_base(table: Path) -> str:
    """Archive root for an index: the local tree around it if it has RDR/, else the HiRISE PDS."""
    for parent in (table.parent, table.parent.parent):
        if (parent / "RDR").is_dir():
            return str(parent)
    return HIRISE_PDS_URL


# ---------------------------------------------------------------------------------------------
# id lists


def _id_list_tokens(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            yield number, re.split(r"[\s,;]+", text, maxsplit=1)[0].strip("\"'")


def jobs_from_id_list(
    path: Path,
    selection: Selection,
    *,
    base_url: str,
    cache_dir: Path,
    timeout: float,
    max_image_bytes: int,
    warn: Callable[[str], None],
) -> list[Job]:
    """Jobs from a text file with one observation id, URL or local path per line.

    Only the first token of a line counts (so a CSV whose first column is the id works); a first
    line that is not an id is taken for a header. Ids are placed in the archive at ``base_url``.
    """
    jobs: dict[str, Job] = {}
    for index, (number, token) in enumerate(_id_list_tokens(path)):
        where = f"{path} line {number}"
        try:
            job = _job_from_token(token, base_url, max_image_bytes, where)
        except DataError:
            if index == 0:
                continue  # a header line
            raise
        if job.observation_id not in jobs:
            jobs[job.observation_id] = job
    if not jobs:
        raise DataError(f"{path}: no observation ids or URLs found")
    remote = [j for j in jobs.values() if j.remote]
    local = [j for j in jobs.values() if not j.remote]
    if selection.active:
        located = []
        for job in local:
            label = _beside_label(Path(job.url))
            try:
                if label is not None:
                    located.append(replace(job, **_label_metadata(label)))
            except Exception as exc:  # a bad label excludes the image, it does not stop the survey
                warn(f"{label}: unreadable label ({exc}); skipped")
        local = [j for j in located if selection.accepts(j)]
        remote = _select_remote(remote, selection, cache_dir, timeout, warn)
    keep = {j.observation_id for j in local + remote}
    return [j for j in (local + remote) if j.observation_id in keep]


def _job_from_token(token: str, base_url: str, max_image_bytes: int, where: str) -> Job:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", token):
        url = check_url(token, where)
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        obs = observation_id_from_name(name, where)
        if url.lower().startswith("file://"):
            local = Path(unquote(urlsplit(url).path))
            return Job(obs, str(local.resolve()), remote=False)
        return Job(obs, url, remote=True, max_bytes=max_image_bytes)
    if token.upper().endswith(".JP2"):
        local = Path(token).expanduser()
        obs = observation_id_from_name(local.name, where)
        return Job(obs, str(local.resolve()), remote=False)
    obs = check_observation_id(token, where)
    rel = pds_product_path(obs)
    if re.match(r"^https?://", base_url):
        return Job(obs, join_url(check_url(base_url, "--base-url"), rel), True, max_image_bytes)
    return Job(obs, str((Path(base_url) / rel).resolve()), remote=False)


# ---------------------------------------------------------------------------------------------
# dispatcher


def source_kind(source: str) -> str:
    """``http-tree``, ``index``, ``folder`` or ``id-list`` for a SOURCE argument; DataError else."""
    if re.match(r"^https?://", source, flags=re.IGNORECASE):
        check_url(source, "SOURCE")
        path = urlsplit(source).path.upper()
        return "index" if path.endswith((".TAB", ".LBL")) else "http-tree"
    if "://" in source:
        raise DataError(f"SOURCE {source!r}: only http(s) URLs or local paths are accepted")
    local = Path(source)
    if local.is_dir():
        return "folder"
    if local.is_file():
        return "index" if local.suffix.upper() in (".TAB", ".LBL") else "id-list"
    raise DataError(
        f"SOURCE {source}: no such file or folder (give a folder, an index, a list or a URL)"
    )


def collect_jobs(
    source: str,
    selection: Selection,
    *,
    work_dir: Path,
    base_url: str | None = None,
    timeout: float = 30.0,
    max_image_mb: int = DEFAULT_MAX_IMAGE_MB,
    warn: Callable[[str], None] | None = None,
) -> tuple[str, list[Job]]:
    """(kind, jobs) for SOURCE; downloads (index, labels) go under ``work_dir`` only."""
    say = warn or (lambda msg: print(f"areoscan survey: {msg}", file=sys.stderr))
    kind = source_kind(source)
    max_bytes = int(max_image_mb) * 1024 * 1024
    cache = work_dir / "labels"
    if kind == "folder":
        return kind, jobs_from_folder(Path(source), selection, say)
    if kind == "http-tree":
        return kind, jobs_from_http(
            source, selection, cache_dir=cache, timeout=timeout, max_image_bytes=max_bytes, warn=say
        )
    if kind == "index":
        table = _local_index(source, work_dir, timeout)
        base = base_url or (
            source.rsplit("/", 2)[0] + "/" if "://" in source else default_index_base(table)
        )
        return kind, jobs_from_index(table, selection, base_url=base, max_image_bytes=max_bytes)
    return kind, jobs_from_id_list(
        Path(source),
        selection,
        base_url=base_url or HIRISE_PDS_URL,
        cache_dir=cache,
        timeout=timeout,
        max_image_bytes=max_bytes,
        warn=say,
    )


def _local_index(source: str, work_dir: Path, timeout: float) -> Path:
    """The local .TAB for an index SOURCE (downloading TAB + LBL into work_dir/index if remote)."""
    if "://" not in source:
        path = Path(source)
        if path.suffix.upper() == ".LBL":
            layout = pdsindex.read_index_label(path)
            if not layout.table_file:
                raise DataError(f"{path}: label does not name its table file")
            path = path.parent / check_relative_path(layout.table_file, str(path))
        return path
    from areoscan.io import fetch

    url = re.sub(r"\.LBL$", ".TAB", source, flags=re.IGNORECASE)
    return Path(fetch(url, work_dir / "index", label=True, retries=3, timeout=timeout))


def describe(jobs: Iterable[Job]) -> str:
    """One line: how many jobs, how many remote."""
    jobs = list(jobs)
    remote = sum(j.remote for j in jobs)
    return f"{len(jobs)} images ({remote} remote, {len(jobs) - remote} local)"
