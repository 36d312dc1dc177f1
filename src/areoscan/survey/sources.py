"""Turn a survey SOURCE into jobs: a local PDS folder, an http(s) tree, a cumulative index, an id list.

Use :func:`collect_jobs` from the survey command; it detects the kind of SOURCE
(:func:`source_kind`), validates every name on the way (see :mod:`areoscan.survey.safety`) and
applies the ``--bbox`` / ``--max-scale`` selection. Folders are read by
:mod:`areoscan.survey.foldersource`, indexes by :mod:`areoscan.survey.indexsource`; http(s) trees
and id lists are here (both select remote images by their fetched labels). Each :class:`Job`
knows where its RED JP2 is, whether it is remote (downloaded, then deleted) or local (never
deleted), and the largest download it may take (``max_bytes``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from areoscan.errors import DataError
from areoscan.io.obsid import check_observation_id, observation_id_from_name
from areoscan.survey.foldersource import jobs_from_folder
from areoscan.survey.footprint import label_beside, label_footprint
from areoscan.survey.indexsource import default_index_base, jobs_from_index, local_index
from areoscan.survey.jobs import (
    DEFAULT_MAX_IMAGE_MB,
    HIRISE_PDS_URL,
    Job,
    Selection,
    join_url,
    pds_product_path,
    target_latitude,
)
from areoscan.survey.listing import walk_http
from areoscan.survey.safety import check_url

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
            return replace(job, **label_footprint(Path(path)))
        except Exception as exc:  # an unreachable label excludes the image only
            warn(f"{label_url}: cannot read label ({exc}); skipped")
            return None

    cache_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        located = [j for j in pool.map(with_label, jobs) if j is not None]
    return [j for j in located if selection.accepts(j)]


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
            label = label_beside(Path(job.url))
            try:
                if label is not None:
                    located.append(replace(job, **label_footprint(label)))
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
        table = local_index(source, work_dir, timeout)
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


def describe(jobs: Iterable[Job]) -> str:
    """One line: how many jobs, how many remote."""
    jobs = list(jobs)
    remote = sum(j.remote for j in jobs)
    return f"{len(jobs)} images ({remote} remote, {len(jobs) - remote} local)"
