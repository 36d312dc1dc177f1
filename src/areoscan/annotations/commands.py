"""The ``areoscan annotations convert|info`` verbs: read any supported format, write COCO, summarise.

Use ``convert`` to bring VIA / COCO / YOLO annotations into the COCO JSON every areoscan detector verb
reads, and ``info`` to check what a file holds (classes, counts, groups, sizes) before training.
Bad input exits 2 with one line naming the file and the entry.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

FORMAT_CHOICES = ("via", "coco", "yolo", "yolo-seg")


def register(subparsers: Any) -> None:
    """Add ``annotations`` with its ``convert`` and ``info`` sub-verbs."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "annotations",
        help="convert annotations (VIA, COCO, YOLO, YOLO-seg) to COCO JSON, or summarise them",
        description="Convert annotations to COCO JSON, or summarise them (classes, counts, groups).",
    )
    nested = parser.add_subparsers(dest="annotations_what", metavar="WHAT")
    nested.required = True
    conv = nested.add_parser(
        "convert",
        help="read annotations in any supported format and write COCO JSON",
        description="Read annotations (VIA 2.x JSON, COCO JSON, YOLO txt boxes, YOLO-seg polygons) "
        "and write one COCO JSON (masks as RLE, or polygons with --polygons). Shapes partly outside "
        "an image are clipped with a warning; malformed entries, unknown classes and shapes wholly "
        "outside the image exit 2 with one line naming the file and the entry.",
    )
    _common(conv)
    conv.add_argument("--out", required=True, type=Path, help="COCO JSON file to write")
    conv.add_argument(
        "--polygons",
        action="store_true",
        help="write masks as traced polygons (editable; default: exact compressed RLE)",
    )
    conv.set_defaults(func=run_convert)
    info = nested.add_parser(
        "info",
        help="summarise annotations: classes, instances per class, groups, sizes",
        description="Read annotations and print what they hold: images, groups (observations), "
        "instances per class, masks vs boxes, box sizes.",
    )
    _common(info)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=run_info)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", type=Path, help="annotation file or folder (YOLO: data.yaml root)"
    )
    parser.add_argument("--format", required=True, choices=FORMAT_CHOICES, help="input format")
    parser.add_argument(
        "--images",
        type=Path,
        default=None,
        help="folder holding the images (default: beside the annotations)",
    )
    parser.add_argument(
        "--classes",
        default=None,
        help="comma-separated class names in order; other labels are refused (YOLO: names of "
        "indices 0..n-1, overriding data.yaml)",
    )
    add_via_options(parser)


def add_via_options(parser: argparse.ArgumentParser) -> None:
    """VIA shape options (stroke width, point radius, polylines, image size, label attribute).

    Use on every verb that reads ``--format via``; :func:`via_options` turns them into ViaOptions.
    """
    group = parser.add_argument_group("VIA shapes")
    group.add_argument(
        "--line-width", type=float, default=3.0, help="stroke width (px) of open polylines"
    )
    group.add_argument(
        "--point-radius", type=float, default=2.5, help="disc radius (px) of point regions"
    )
    group.add_argument(
        "--polylines",
        choices=("auto", "closed", "open"),
        default="auto",
        help="auto: a polyline ending within 30%% of its length of its start is an outline",
    )
    group.add_argument(
        "--image-size",
        default=None,
        metavar="WxH",
        help="size of images that are not at hand (VIA stores none)",
    )
    group.add_argument(
        "--label-key", default=None, help="region attribute holding the class (default: guessed)"
    )
    group.add_argument(
        "--unlabelled",
        choices=("error", "skip", "default"),
        default="error",
        help="regions without a class: refuse (exit 2), drop, or give the project's default class",
    )


def via_options(args: argparse.Namespace) -> Any:
    """The :class:`ViaOptions` of parsed :func:`add_via_options` arguments."""
    from areoscan.annotations.via import ViaOptions
    from areoscan.errors import AnnotationError

    size = None
    if args.image_size:
        try:
            w, h = (int(v) for v in args.image_size.lower().split("x"))
        except ValueError as exc:
            raise AnnotationError(f"--image-size {args.image_size!r}: expected WxH") from exc
        if w <= 0 or h <= 0:
            raise AnnotationError(f"--image-size {args.image_size!r}: sides must be positive")
        size = (h, w)
    if args.line_width <= 0 or args.point_radius <= 0:
        raise AnnotationError("--line-width and --point-radius must be positive")
    return ViaOptions(
        line_width=args.line_width,
        point_radius=args.point_radius,
        polylines=args.polylines,
        label_key=args.label_key,
        size=size,
        unlabelled=args.unlabelled,
    )


def read_with_warnings(args: argparse.Namespace, source: Path) -> Any:
    """Read ``source`` in ``args.format`` (with ``args.images``, ``args.classes`` and the VIA
    options of :func:`add_via_options`), printing each repair warning as one
    ``areoscan: warning:`` line.

    Use it in every verb that reads user annotations, so all of them report repairs alike.
    """
    from areoscan.annotations import read_annotations

    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ann = read_annotations(
            source, args.format, images=args.images, classes=classes, via=via_options(args)
        )
    for w in caught:
        print(f"areoscan: warning: {w.message}", file=sys.stderr)
    return ann


def _read(args: argparse.Namespace) -> Any:
    """The annotations of ``args.source`` (see :func:`read_with_warnings`)."""
    return read_with_warnings(args, args.source)


def run_convert(args: argparse.Namespace) -> int:
    """Read, write COCO, print one summary line; return 0."""
    from areoscan.annotations import write_coco

    ann = _read(args)
    write_coco(ann, args.out, segmentation="polygon" if args.polygons else "rle")
    n = sum(len(img.instances) for img in ann.images)
    print(f"wrote {args.out}: {len(ann.images)} images, {n} instances, {len(ann.classes)} classes")
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Print the summary of :func:`areoscan.annotations.summary.summarize`; return 0."""
    from areoscan.annotations.summary import format_summary, summarize

    facts = summarize(_read(args))
    print(json.dumps(facts, indent=2) if args.json else format_summary(facts))
    return 0
