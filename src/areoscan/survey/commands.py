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
    """Add the ``survey``, ``report`` and ``vet`` sub-parsers."""
    _add_survey(subparsers)
    _add_report(subparsers)
    _add_vet(subparsers)


def _add_survey(subparsers: Any) -> None:
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
    _add_fetch_options(p)
    _add_scan_options(p)
    p.add_argument(
        "--dashboard-address",
        default=":8787",
        metavar="ADDR",
        help="local cluster dashboard address (:8787; ':0' picks a free port)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (there is none either when stderr is not a terminal)",
    )
    p.set_defaults(func=run_survey_command)


def _add_fetch_options(p: Any) -> None:
    """How remote images are fetched: by the packet or whole, read ahead, timeouts and limits."""
    p.add_argument(
        "--whole-downloads",
        action="store_true",
        help="download remote JP2s whole (default: fetch only the packets the screen and "
        "segmentation read, when the file has PLT markers and the server honours Range)",
    )
    p.add_argument(
        "--no-read-ahead",
        action="store_true",
        help="do not open a worker's next remote image while it scans the current one (default: "
        "its headers and screen level, or its whole download, come in the background)",
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
        help="refuse images larger than this when no size is announced, whole downloads and "
        "reads by the packet alike (4096)",
    )


def _add_scan_options(p: Any) -> None:
    """The scan's options a survey passes on (defaults from :class:`ScanConfig`)."""
    p.add_argument("--screen-model", metavar="NAME", help="scan's screening classifier")
    p.add_argument("--segment-model", metavar="NAME", help="scan's segmenter")
    p.add_argument("--fast", action="store_true", help="scan --fast (skip refinements)")
    p.add_argument("--detector", metavar="NAME",
                   help="scan --detector: also detect objects (stored in the catalogue, shown in "
                        "the report)")  # fmt: skip
    p.add_argument("--detect-gate", action="store_true",
                   help="scan --detect-gate: detect only around the screen's flagged tiles")  # fmt: skip
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


def _add_report(subparsers: Any) -> None:
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


def _add_vet(subparsers: Any) -> None:
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
    """The ``survey`` verb: :func:`areoscan.survey.run.survey` with SIGTERM as Ctrl-C."""
    from areoscan.survey.run import survey

    scan_options: dict[str, Any] = {
        "fast": args.fast,
        "threads": args.threads,
        "memory_mb": args.memory_mb,
    }
    if args.detect_gate:
        scan_options["detect_gate"] = True
    for key in ("screen_model", "segment_model", "backend", "detector"):
        if getattr(args, key) is not None:
            scan_options[key] = getattr(args, key)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        outcome = survey(
            args.source,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            reprocess=args.reprocess,
            keep_images=args.keep_images,
            partial=not args.whole_downloads,
            read_ahead=not args.no_read_ahead,
            bbox=args.bbox,
            max_scale=args.max_scale,
            limit=args.limit,
            base_url=args.base_url,
            max_attempts=args.max_attempts,
            timeout=args.timeout,
            retries=args.retries,
            max_image_mb=args.max_image_mb,
            dashboard_address=args.dashboard_address,
            say=_say,
            progress=not args.quiet,
            record={k: v for k, v in vars(args).items() if k != "func"},
            **scan_options,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    _say(f"areoscan survey: next, `areoscan report {args.out}`")
    return 130 if outcome.interrupted else 0


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
