"""``areoscan evaluate detector``: COCO AP, F1 at IoU 0.5, PR curves of a detector on annotated images.

Use it for every detector figure (a trained model, the ``log-blobs`` classical baseline, or a COCO
results file from another tool) so they are all scored by :mod:`areoscan.data.detection`.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from areoscan.annotations.commands import FORMAT_CHOICES, add_via_options, via_options


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "detector",
        help="evaluate an object detector (COCO AP, AP50, AP75, F1 at IoU 0.5, PR curves)",
        description="Run a detector over annotated images (or read its COCO results file) and score "
        "it with pycocotools: AP@[.5:.95], AP50, AP75 per class and mean, F1 at IoU 0.5 at each "
        "class's best score threshold and its macro mean, PR curves (PNG) and an image-level "
        "'contains the feature' confusion matrix. --model log-blobs is the classical baseline "
        "(scikit-image LoG blobs, told only the object size range, polarity and majority class).",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="detector: shipped name, model folder or .json, or log-blobs")
    src.add_argument(
        "--detections", type=Path, help="COCO results file (list of scored annotations) to score"
    )
    p.add_argument("--data", required=True, type=Path, help="annotations (file or folder)")
    p.add_argument("--format", required=True, choices=FORMAT_CHOICES, help="annotation format")
    p.add_argument("--images", type=Path, default=None, help="folder of the images")
    p.add_argument("--classes", default=None, help="comma-separated class names in order")
    p.add_argument(
        "--agnostic",
        action="store_true",
        help="score class-agnostically (every class renamed 'object')",
    )
    p.add_argument(
        "--iou-type",
        choices=("auto", "bbox", "segm"),
        default="auto",
        help="compare masks (segm) or boxes; auto: masks when both sides have them",
    )
    p.add_argument("--max-dets", type=int, default=100, help="detections kept per image [100]")
    p.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write all numbers")
    p.add_argument(
        "--pr-png", type=Path, default=None, help="PR curves PNG (default: beside --json)"
    )
    add_via_options(p)
    p.set_defaults(func=run)


def _read_truth(args: argparse.Namespace) -> Any:
    from areoscan.annotations import read_annotations

    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        truth = read_annotations(
            args.data, args.format, images=args.images, classes=classes, via=via_options(args)
        )
    for w in caught:
        print(f"areoscan: warning: {w.message}", file=sys.stderr)
    return truth


def agnostic(ann: Any) -> Any:
    """The same set with every instance's class renamed ``object`` (one class)."""
    from areoscan.annotations import AnnotatedImage, AnnotationSet, Instance

    images = [
        AnnotatedImage(
            im.path,
            im.height,
            im.width,
            [Instance("object", i.box, i.mask, i.score, i.attributes) for i in im.instances],
            im.group,
        )
        for im in ann.images
    ]
    return AnnotationSet(["object"], images)


def run(args: argparse.Namespace) -> int:
    from areoscan.annotations import read_coco_results
    from areoscan.data.detection import detect_all, detection_metrics, format_detection_report
    from areoscan.evaluate.detect_run import resolve_detector
    from areoscan.models.card import write_bytes_atomic

    if args.max_dets < 1:
        print("areoscan: error: --max-dets must be at least 1", file=sys.stderr)
        return 2
    truth = _read_truth(args)
    if args.detections is not None:
        dets, name, described = read_coco_results(args.detections, truth), str(args.detections), {}
    else:
        detector = resolve_detector(args.model, truth, threads=args.threads)
        dets = detect_all(detector, truth)
        name, described = detector.name, detector.describe()
    if args.agnostic:
        truth, dets = agnostic(truth), agnostic(dets)
    iou_type = None if args.iou_type == "auto" else args.iou_type
    res = detection_metrics(truth, dets, iou_type=iou_type, max_dets=args.max_dets)
    res["model"] = name
    res["detector"] = described
    print(format_detection_report(name, res))
    pr_png = args.pr_png or (args.json.with_name(args.json.stem + "_pr.png") if args.json else None)
    if pr_png is not None:
        from areoscan.evaluate.detect_plots import pr_curves_png

        pr_curves_png(res, pr_png, title=name)
        print(f"PR curves: {pr_png}")
    if args.json:
        write_bytes_atomic(args.json, (json.dumps(res, indent=2) + "\n").encode())
    return 0
