"""Verbs ``areoscan scan`` (one image → georeferenced masks and regions) and ``areoscan compare``.

Exit codes of ``scan``: 0 done (whether or not regions were found; the image may be "empty" when
nothing was flagged), 2 bad input (image, label, model or option; one line on stderr), 3 the output
folder cannot be written, 130 interrupted. ``compare``: 0 done, 2 bad input, 3 output not writable.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from areoscan.errors import DataError
from areoscan.io.commands import add_band_argument
from areoscan.scan.config import BACKENDS, ScanConfig

DEFAULTS = ScanConfig()


def _int_at_least(low: int) -> Any:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its 'invalid int value' message
    return parse


_positive_int = _int_at_least(1)


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], not {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), not {value}")
    return value


def register(sub: Any) -> None:
    """Add the ``scan`` and ``compare`` verbs."""
    p = sub.add_parser(
        "scan",
        help="screen, segment and map brain coral in one HiRISE image",
        description=(
            "Screen a HiRISE image at low resolution, segment the flagged areas at full resolution, "
            "clean the mask and write mask.tif, salience.tif, regions.gpkg, regions.geojson, "
            "quicklook.png and summary.json into OUT/<OBSERVATION_ID>/. Exit codes: 0 done (regions "
            "found or not), 2 bad input, 3 output not writable."
        ),
    )
    p.add_argument("image", metavar="IMAGE_OR_URL",
                   help="HiRISE _RED JP2, GeoTIFF/COG, VRT, PDS3 .IMG/.LBL or ISIS3 .cub (path or "
                        "http(s) URL)")  # fmt: skip
    add_band_argument(p)
    p.add_argument("--out", type=Path, default=Path("scans"), metavar="DIR",
                   help="output folder (default: ./scans)")  # fmt: skip
    p.add_argument("--screen-model", default=DEFAULTS.screen_model, metavar="NAME",
                   help="screening classifier: shipped name, folder, .json or .onnx")  # fmt: skip
    p.add_argument("--segment-model", default=DEFAULTS.segment_model, metavar="NAME",
                   help="segmenter: shipped name, folder, .json or .onnx")  # fmt: skip
    p.add_argument("--fast", action="store_true",
                   help="smaller tile overlap, no morphological refinements")  # fmt: skip
    p.add_argument("--threads", type=_positive_int, default=DEFAULTS.threads, metavar="N",
                   help="CPU threads for decoding and inference (default %(default)s)")  # fmt: skip
    p.add_argument("--memory-mb", type=_positive_int, default=DEFAULTS.memory_mb, metavar="M",
                   help="memory budget for decoding, including the compressed image "
                        "(default %(default)s)")  # fmt: skip
    p.add_argument("--backend", choices=BACKENDS, default=DEFAULTS.backend,
                   help="inference backend: onnx (onnxruntime, models exported once to "
                        "~/.cache/areoscan/onnx), torch, or auto = onnx when available (default)")  # fmt: skip
    p.add_argument("--screen-threshold", type=_probability, metavar="P",
                   help="flag tiles with p >= P (default: the screen model's card)")  # fmt: skip
    p.add_argument("--segment-threshold", type=_probability, metavar="P",
                   help="coral pixels have p >= P (default: the segmenter's card)")  # fmt: skip
    p.add_argument("--screen-overlap", type=_fraction, default=DEFAULTS.screen_overlap, metavar="F",
                   help="fraction of a screen tile shared with neighbours "
                        "(default %(default)s; 0 = disjoint)")  # fmt: skip
    p.add_argument("--segment-tile", type=_positive_int, metavar="PX",
                   help="tile side for the segmenter (default: the model card's tile)")  # fmt: skip
    p.add_argument("--segment-overlap", type=_int_at_least(0), metavar="PX",
                   help="px shared by neighbouring segment tiles (default: a quarter of the "
                        "model card's tile, an eighth with --fast)")  # fmt: skip
    p.add_argument("--detector", default=DEFAULTS.detector, metavar="NAME",
                   help="also detect objects with this detector (shipped name, folder or .json): "
                        "detections.gpkg / .geojson, outlined in the quick-look")  # fmt: skip
    p.add_argument("--detect-gate", action="store_true", default=DEFAULTS.detect_gate,
                   help="run the detector only around the screen's flagged tiles "
                        "(default: over the whole image)")  # fmt: skip
    p.add_argument("--detect-min-score", type=_probability, metavar="P",
                   help="publish detections scoring >= P (default: the detector's card, else 0.5)")  # fmt: skip
    p.add_argument("--detect-overlap", type=_int_at_least(0), metavar="PX",
                   help="px (at the detector's scale) shared by neighbouring detector tiles "
                        "(default: a quarter of its tile)")  # fmt: skip
    p.add_argument("--min-area", type=float, default=DEFAULTS.min_area_m2, metavar="M2",
                   help="drop regions smaller than M2 square metres (default %(default)g)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=run_scan_command)

    c = sub.add_parser(
        "compare",
        help="score a predicted mask against a reference mask (IoU, F1, overlay)",
        description=(
            "Compare two mask images (0 background, other values coral, the file's nodata ignored): "
            "prints IoU, F1, precision, recall and TP/TN/FP/FN %, writes an overlay PNG; "
            "--to-training-mask reduces PRED to a training mask at a resolution level instead."
        ),
    )
    c.add_argument("pred", metavar="PRED", help="predicted mask (e.g. a scan's mask.tif)")
    c.add_argument("ref", metavar="REF", nargs="?", help="reference mask")
    c.add_argument("--overlay", type=Path, metavar="PNG",
                   help="overlay PNG (default: PRED's folder/compare_overlay.png)")  # fmt: skip
    c.add_argument("--to-training-mask", nargs=2, metavar=("LEVEL", "OUT"),
                   help="write PRED reduced to resolution LEVEL as a training mask GeoTIFF OUT")  # fmt: skip
    c.add_argument("--json", action="store_true", help="print the scores as JSON")
    c.set_defaults(func=run_compare_command)


def run_scan_command(args: argparse.Namespace) -> int:
    """The ``areoscan scan`` verb's handler (parsed arguments -> exit code); from Python call
    :func:`areoscan.run_scan` or :func:`areoscan.scan.scan_image` instead."""
    from areoscan.scan.pipeline import scan_image

    config = ScanConfig(
        screen_model=args.screen_model,
        segment_model=args.segment_model,
        fast=args.fast,
        threads=args.threads,
        memory_mb=args.memory_mb,
        backend=args.backend,
        screen_threshold=args.screen_threshold,
        segment_threshold=args.segment_threshold,
        min_area_m2=args.min_area,
        screen_overlap=args.screen_overlap,
        segment_tile=args.segment_tile,
        segment_overlap=args.segment_overlap,
        band=args.band,
        detector=args.detector,
        detect_gate=args.detect_gate,
        detect_min_score=args.detect_min_score,
        detect_overlap=args.detect_overlap,
    )
    summary = scan_image(args.image, args.out, config, progress=not args.quiet)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        found = f", {summary.detections} detections" if summary.detect else ""
        print(f"{summary.observation_id}: {summary.status}, {summary.regions} regions{found}, "
              f"{summary.total_area_m2:.0f} m2 ({summary.percent_of_footprint:.2f}% of the footprint); "
              f"outputs in {summary.output_dir}")  # fmt: skip
    return 0


def run_compare_command(args: argparse.Namespace) -> int:
    """The ``areoscan compare`` verb's handler; from Python call
    :func:`areoscan.scan.compare_masks` instead."""
    from areoscan.scan.compare import compare_masks, to_training_mask

    if args.to_training_mask:
        level_text, out = args.to_training_mask
        try:
            level = int(level_text)
        except ValueError:
            raise DataError(
                f"--to-training-mask LEVEL must be an integer, not {level_text!r}"
            ) from None
        path = to_training_mask(args.pred, level, out)
        print(f"training mask at level {level}: {path}")
        if args.ref is None:
            return 0
    if args.ref is None:
        raise DataError("compare needs PRED and REF (or --to-training-mask LEVEL OUT)")
    overlay = args.overlay or Path(args.pred).with_name("compare_overlay.png")
    scores = compare_masks(args.pred, args.ref, overlay=overlay)
    if args.json:
        print(json.dumps(scores, indent=2))
        return 0
    print(f"{'pred':<10}{args.pred}\n{'ref':<10}{args.ref}")
    print("  ".join(f"{k}={scores[k]:.4f}" for k in ("iou", "f1", "precision", "recall")))
    print("  ".join(f"{k[:2].upper()}%={scores[k]:.2f}" for k in ("tp_pct", "tn_pct", "fp_pct", "fn_pct"))
          + f"  n={scores['n']}")  # fmt: skip
    print(f"overlay   {scores['overlay']}")
    return 0
