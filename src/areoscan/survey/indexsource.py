"""Survey SOURCE = a PDS cumulative index (``RDRCUMINDEX.TAB`` + its ``.LBL``), local or remote.

Use :func:`jobs_from_index` (through :func:`areoscan.survey.sources.collect_jobs`) to survey an
archive without listing it: the index rows give each RED product's path, size and footprint, so the
``--bbox`` / ``--max-scale`` selection costs no download and each job's largest download is bounded
by its dimensions (:func:`index_size_bound`). :func:`local_index` fetches a remote index first.
"""

from __future__ import annotations

import re
from pathlib import Path

from areoscan.errors import DataError
from areoscan.io.obsid import RED_PRODUCT_RE, observation_id_from_name
from areoscan.survey import pdsindex
from areoscan.survey.jobs import HIRISE_PDS_URL, Job, Selection, join_url, lon_centre
from areoscan.survey.safety import check_relative_path, check_url

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


def local_index(source: str, work_dir: Path, timeout: float) -> Path:
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
