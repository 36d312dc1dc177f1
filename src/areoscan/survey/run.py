"""Run a survey from Python or the CLI: collect a SOURCE's images, queue them, scan them on Dask.

Use :func:`survey` (``areoscan.run_survey(...)`` and the ``areoscan survey`` verb both call it): it
opens (or creates) the folder's catalogue, adds SOURCE's images, resets rows a killed run left
running, picks the images to process now, scans them on a local or existing Dask cluster and
records each result as it arrives. Running it again resumes. It returns a :class:`SurveyOutcome`;
Ctrl-C (KeyboardInterrupt) is caught by the engine, leaves the catalogue consistent and comes back
as ``outcome.interrupted``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from areoscan.errors import DataError
from areoscan.survey.catalogue import CATALOGUE_NAME, Catalogue
from areoscan.survey.engine import SurveyOptions, SurveyResult, open_client, process_on_cluster
from areoscan.survey.sources import Selection, collect_jobs, describe


@dataclass(frozen=True)
class SurveyOutcome:
    """What :func:`survey` did.

    folder / catalogue: the survey folder and its catalogue.sqlite. kind: what SOURCE was (folder,
    http, index, list). selected: images SOURCE selected; new: of them, new in the catalogue;
    recovered: rows a killed run had left running; to_process: images this run took on.
    result: the engine's figures (None when there was nothing to do). counts: catalogue totals
    per status after the run.
    """

    folder: Path
    catalogue: Path
    kind: str
    selected: int
    new: int
    recovered: int
    to_process: int
    result: SurveyResult | None
    counts: dict[str, int]

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C / SIGTERM stopped the run (run the same call again to resume)."""
        return self.result is not None and self.result.interrupted


def _check_positive(**values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value < (0 if name == "limit" else 1):
            raise DataError(f"--{name.replace('_', '-')} must be positive, got {value}")


def _queue(cat: Catalogue, kind: str, jobs: list[Any], reprocess: bool, max_attempts: int,
           limit: int | None, say: Callable[[str], None]) -> tuple[int, int, list[Any]]:  # fmt: skip
    """Add ``jobs`` to the catalogue, reset interrupted rows; (new, recovered, rows to process)."""
    new = cat.add_jobs(jobs)
    recovered = cat.recover()
    rows = cat.todo(
        [j.observation_id for j in jobs],
        reprocess=reprocess,
        max_attempts=max_attempts,
        limit=limit,
    )
    say(
        f"areoscan survey: {kind} source, {describe(jobs)}; {new} new in the catalogue"
        + (f", {recovered} interrupted rows reset" if recovered else "")
        + f"; {len(rows)} to process"
    )
    return new, recovered, rows


def survey(
    source: str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    reprocess: bool = False,
    keep_images: bool = False,
    partial: bool = True,
    read_ahead: bool = True,
    bbox: Sequence[float] | None = None,
    max_scale: float | None = None,
    limit: int | None = None,
    base_url: str | None = None,
    max_attempts: int = 3,
    timeout: float = 30.0,
    retries: int = 5,
    max_image_mb: int = 4096,
    dashboard_address: str | None = ":8787",
    say: Callable[[str], None] | None = None,
    progress: bool = False,
    record: dict[str, Any] | None = None,
    **scan_options: Any,
) -> SurveyOutcome:
    """Scan SOURCE's images into the survey folder ``out`` (resumable); see ``areoscan survey -h``.

    source: a local PDS-layout folder, an http(s) archive URL, a cumulative index (.TAB) or a text
    file of ids / URLs / paths. workers: local Dask worker processes (default CPU count) unless
    ``scheduler`` (tcp://host:8786) names a running cluster. bbox: (lat0, lat1, lon0, lon1) in
    degrees; max_scale: m/px. limit: at most that many images this run. max_attempts: failed
    images are retried until they failed that often. timeout / retries / max_image_mb: for
    downloads. partial: read remote JP2s by the packet when they allow it (False: whole
    downloads). read_ahead: a worker opens its next remote image while it scans the current one
    (False: one image at a time, e.g. to bound a worker's disk and bandwidth). scan_options:
    passed to each scan (screen_model, segment_model, fast, threads, memory_mb, backend). say:
    where progress lines go (default stderr). progress: a bar of images with ETA when stderr is a
    terminal. record: the arguments stored with this run in the catalogue (default: these keyword
    arguments).
    """
    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    _check_positive(
        workers=workers,
        limit=limit,
        max_attempts=max_attempts,
        retries=retries,
        threads=scan_options.get("threads"),
        memory_mb=scan_options.get("memory_mb"),
    )
    folder = Path(out)
    selection = Selection(bbox=tuple(bbox) if bbox else None, max_scale=max_scale)  # type: ignore[arg-type]
    options = SurveyOptions(keep_images, retries, timeout, {"progress": False, **scan_options},
                            partial=partial, read_ahead=read_ahead)  # fmt: skip
    arguments = record if record is not None else {
        "workers": workers, "scheduler": scheduler, "reprocess": reprocess, "bbox": bbox,
        "max_scale": max_scale, "limit": limit, **scan_options,
    }  # fmt: skip
    with Catalogue(folder) as cat:
        kind, jobs = collect_jobs(
            str(source),
            selection,
            work_dir=folder.resolve(),
            base_url=base_url,
            timeout=timeout,
            max_image_mb=max_image_mb,
            warn=say,
        )
        new, recovered, rows = _queue(cat, kind, jobs, reprocess, max_attempts, limit, say)
        run_id = cat.start_run(str(source), arguments)
        outcome, result = "interrupted", None
        try:
            if rows:
                with open_client(
                    workers, scheduler, say=say, dashboard_address=dashboard_address
                ) as client:
                    result = process_on_cluster(
                        cat, rows, client, folder, options, say=say, progress=progress
                    )
                outcome = "interrupted" if result.interrupted else "completed"
                say(
                    f"areoscan survey: {result.processed} images in {result.wall_s:.1f} s "
                    f"({result.images_per_hour:.0f} images/h): {result.counts}"
                )
            else:
                outcome = "completed"
                say(
                    "areoscan survey: no image matches --bbox / --max-scale"
                    if not jobs
                    else "areoscan survey: nothing to do: every selected image is done, empty, "
                    "or failed --max-attempts times (--reprocess scans them again)"
                )
        finally:
            cat.finish_run(run_id, outcome)
        totals = cat.counts()
    say(f"areoscan survey: catalogue {folder / CATALOGUE_NAME}: {totals}")
    return SurveyOutcome(
        folder, folder / CATALOGUE_NAME, kind, len(jobs), new, recovered, len(rows), result, totals
    )
