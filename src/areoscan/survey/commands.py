"""Verbs ``areoscan survey`` (many images on Dask, resumable catalogue), ``areoscan report`` and
``areoscan vet`` (people's verdicts on candidates into the catalogue).

Exit codes: 0 the run completed (images that failed are recorded in the catalogue, not fatal);
2 bad input (SOURCE, options, another survey holding the folder); 3 output not writable;
130 interrupted (Ctrl-C or SIGTERM: the catalogue stays consistent, run again to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from areoscan.scan.config import BACKENDS, SURVEY_THREADS, ScanConfig

SURVEY_HELP = "Scan many HiRISE images on a Dask cluster into a resumable catalogue."
REPORT_HELP = (
    "Rank a survey's candidates and write an interactive offline HTML page (map, table, quick-looks,"
    " vetting), CSV, GeoJSON, a static map and page."
)
VET_HELP = "Store yes/no/maybe verdicts on a survey's candidates (a CSV) in its catalogue."


def register(subparsers: Any) -> None:
    """Add the ``survey`` and ``report`` sub-parsers."""
    p = subparsers.add_parser(
        "survey",
        help=SURVEY_HELP,
        description=SURVEY_HELP
        + " SOURCE is a local folder in PDS layout (RDR/ESP/ORB_*/ID/ID_RED.JP2), an http(s) base"
        " URL of such a tree, a PDS cumulative index (RDRCUMINDEX.TAB with its .LBL), or a text"
        " file with one observation id, URL or path per line. Running the same command again"
        " resumes: done and empty images are skipped, failed ones retried up to --max-attempts.",
    )
    p.add_argument("source", metavar="SOURCE", help="folder, http(s) URL, index .TAB, or id list")
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="survey folder: catalogue.sqlite, observations/, downloads/, report/",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of a local Dask cluster (default: CPU count)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="join an existing Dask cluster (tcp://host:8786); DIR must be shared",
    )
    p.add_argument("--reprocess", action="store_true", help="process done/empty images again")
    p.add_argument(
        "--keep-images", action="store_true", help="keep downloaded JP2s in DIR/downloads"
    )
    p.add_argument(
        "--bbox",
        nargs=4,
        type=float,
        metavar=("LAT0", "LAT1", "LON0", "LON1"),
        help="only images intersecting this box (degrees, east lon 0-360 or -180-180)",
    )
    p.add_argument("--max-scale", type=float, metavar="M", help="only images of at most M m/px")
    p.add_argument("--limit", type=int, metavar="K", help="process at most K images in this run")
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="archive root for ids and index paths (default: the HiRISE PDS, or the "
        "local tree around a local index)",
    )
    p.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        metavar="N",
        help="retry failed images in later runs until they have failed N times (3)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="network timeout per request, seconds (30)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=5,
        metavar="N",
        help="download attempts on 5xx, timeouts and dropped connections (5)",
    )
    p.add_argument(
        "--max-image-mb",
        type=int,
        default=4096,
        metavar="MB",
        help="refuse downloads larger than this when no size is announced (4096)",
    )
    p.add_argument("--screen-model", metavar="NAME", help="scan's screening classifier")
    p.add_argument("--segment-model", metavar="NAME", help="scan's segmenter")
    p.add_argument("--fast", action="store_true", help="scan --fast (skip refinements)")
    p.add_argument(
        "--threads",
        type=int,
        default=SURVEY_THREADS,
        metavar="N",
        help="threads per image inside a worker (%(default)s; add workers rather than threads)",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=ScanConfig().memory_mb,
        metavar="MB",
        help="decode memory budget per image (%(default)s)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        help="inference backend for the scan (default auto: onnx when available)",
    )
    p.add_argument(
        "--dashboard-address",
        default=":8787",
        metavar="ADDR",
        help="local cluster dashboard address (:8787; ':0' picks a free port)",
    )
    p.set_defaults(func=run_survey_command)

    r = subparsers.add_parser("report", help=REPORT_HELP, description=REPORT_HELP)
    r.add_argument("dir", type=Path, metavar="DIR", help="a survey folder (with catalogue.sqlite)")
    r.add_argument("--out", type=Path, metavar="FOLDER", help="report folder (default DIR/report)")
    r.add_argument(
        "--basemap",
        type=Path,
        metavar="IMAGE",
        help="equirectangular global basemap (-180..180, -90..90), e.g. a MOLA shaded map",
    )
    r.add_argument("--top", type=int, default=200, metavar="N", help="rows in the HTML table (200)")
    r.add_argument(
        "--rank-by",
        choices=("score", "area", "probability"),
        default="score",
        help="score = area x mean probability (default), area, or probability",
    )
    r.set_defaults(func=run_report_command)

    v = subparsers.add_parser(
        "vet",
        help=VET_HELP,
        description=VET_HELP
        + " VERDICTS.csv has the columns observation,region,verdict,note (region = the region id"
        " in the catalogue, verdict yes|no|maybe), as downloaded from the report page or filled in"
        " from the report's to_vet.csv (rows with an empty verdict are skipped). The whole file is"
        " checked first: a bad row is named with its line number and nothing is written. Storing"
        " the same file again changes nothing; a later verdict on a candidate replaces the earlier.",
    )
    v.add_argument("dir", type=Path, metavar="DIR", help="a survey folder (with catalogue.sqlite)")
    v.add_argument("verdicts", type=Path, metavar="VERDICTS.csv", help="the verdicts file")
    v.set_defaults(func=run_vet_command)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_survey_command(args: argparse.Namespace) -> int:
    """The ``survey`` verb."""
    from areoscan.errors import DataError
    from areoscan.survey.catalogue import Catalogue
    from areoscan.survey.engine import SurveyOptions, open_client, run_survey
    from areoscan.survey.sources import Selection, collect_jobs, describe

    for name in ("workers", "limit", "max_attempts", "threads", "memory_mb", "retries"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "limit" else 1):
            raise DataError(f"--{name.replace('_', '-')} must be positive, got {value}")
    selection = Selection(bbox=tuple(args.bbox) if args.bbox else None, max_scale=args.max_scale)
    scan_kwargs: dict[str, Any] = {
        "fast": args.fast,
        "threads": args.threads,
        "memory_mb": args.memory_mb,
        "progress": False,
    }
    for key in ("screen_model", "segment_model", "backend"):
        if getattr(args, key) is not None:
            scan_kwargs[key] = getattr(args, key)
    options = SurveyOptions(args.keep_images, args.retries, args.timeout, scan_kwargs)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with Catalogue(args.out) as cat:
            kind, jobs = collect_jobs(
                args.source,
                selection,
                work_dir=args.out.resolve(),
                base_url=args.base_url,
                timeout=args.timeout,
                max_image_mb=args.max_image_mb,
                warn=_say,
            )
            new = cat.add_jobs(jobs)
            recovered = cat.recover()
            rows = cat.todo(
                [j.observation_id for j in jobs],
                reprocess=args.reprocess,
                max_attempts=args.max_attempts,
                limit=args.limit,
            )
            _say(
                f"areoscan survey: {kind} source, {describe(jobs)}; {new} new in the catalogue"
                + (f", {recovered} interrupted rows reset" if recovered else "")
                + f"; {len(rows)} to process"
            )
            run_id = cat.start_run(
                args.source, {k: v for k, v in vars(args).items() if k != "func"}
            )
            outcome = "interrupted"
            try:
                if rows:
                    with open_client(
                        args.workers,
                        args.scheduler,
                        say=_say,
                        dashboard_address=args.dashboard_address,
                    ) as client:
                        result = run_survey(cat, rows, client, args.out, options, say=_say)
                    outcome = "interrupted" if result.interrupted else "completed"
                    _say(
                        f"areoscan survey: {result.processed} images in {result.wall_s:.1f} s "
                        f"({result.images_per_hour:.0f} images/h): {result.counts}"
                    )
                else:
                    outcome = "completed"
                    if not jobs:
                        _say("areoscan survey: no image matches --bbox / --max-scale")
                    else:
                        _say(
                            "areoscan survey: nothing to do: every selected image is done, empty, "
                            "or failed --max-attempts times (--reprocess scans them again)"
                        )
            finally:
                cat.finish_run(run_id, outcome)
            totals = cat.counts()
        _say(f"areoscan survey: catalogue {args.out / 'catalogue.sqlite'}: {totals}")
        _say(f"areoscan survey: next, `areoscan report {args.out}`")
        return 130 if outcome == "interrupted" else 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_report_command(args: argparse.Namespace) -> int:
    """The ``report`` verb."""
    from areoscan.survey.report import write_report

    paths = write_report(
        args.dir, out=args.out, basemap=args.basemap, top=args.top, rank_by=args.rank_by
    )
    print(f"{paths.n_candidates} candidates")
    for p in (paths.html, paths.candidates_csv, paths.candidates_geojson, paths.to_vet_csv):
        print(p)
    return 0


def run_vet_command(args: argparse.Namespace) -> int:
    """The ``vet`` verb."""
    from areoscan.survey.vetting import vet

    result = vet(args.dir, args.verdicts)
    print(
        f"areoscan vet: {result.describe()}; `areoscan report {args.dir}` shows the ranking's precision"
    )
    return 0
