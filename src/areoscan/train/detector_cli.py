"""``areoscan train detector``: train a Faster R-CNN or Mask R-CNN on annotated images.

Only argument parsing lives here; the work is in :mod:`areoscan.train.detector`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

from areoscan.annotations.commands import FORMAT_CHOICES, add_via_options, via_options


def register(subparsers: Any) -> None:
    from areoscan.models.detectors import BACKBONES, DETECTOR_ARCHS

    p = subparsers.add_parser(
        "detector",
        help="train an object detector (Faster R-CNN boxes, Mask R-CNN masks) from scratch",
        description="Train a torchvision Faster R-CNN (boxes) or Mask R-CNN (boxes + masks) from "
        "scratch on annotated images (VIA, COCO, YOLO), with anchor sizes from the data, seeded "
        "augmentation (flips, quarter turns, gain/offset) and a validation set held out by image "
        "group (observation) unless --val is given. Writes NAME.safetensors + NAME.json.",
    )
    p.add_argument("--arch", choices=DETECTOR_ARCHS, default="fasterrcnn")
    p.add_argument("--backbone", choices=BACKBONES, default="mobilenet_v3_large")
    p.add_argument("--data", required=True, type=Path, help="training annotations")
    p.add_argument("--format", required=True, choices=FORMAT_CHOICES, help="annotation format")
    p.add_argument("--images", type=Path, default=None, help="folder of the training images")
    p.add_argument("--val", type=Path, default=None, help="validation annotations (same format)")
    p.add_argument("--val-images", type=Path, default=None, help="folder of the validation images")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        help="without --val: fraction of images held out, by whole groups; 0 = train on every "
        "image and keep the last epoch (a final fit whose length cross-validation chose) [0.2]",
    )
    p.add_argument("--classes", default=None, help="comma-separated class names in order")
    p.add_argument("--name", required=True, help="model name (file stem)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument(
        "--iterations", type=int, default=None, help="steps per epoch [one pass over the images]"
    )
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument(
        "--size", type=int, default=512, help="longer image side fed to the network [512]"
    )
    p.add_argument("--channels", type=int, default=128, help="FPN width [128]")
    p.add_argument("--head", type=int, default=256, help="box head width [256]")
    p.add_argument(
        "--init",
        default=None,
        metavar="MODEL",
        help="start from this detector's matching tensors (synthetic pretraining, or continue "
        "a run in chunks)",
    )
    p.add_argument(
        "--anchors-per-level",
        type=int,
        default=1,
        help="anchor sizes per pyramid level (MobileNet has 3 levels: 2-3 match small boxes better) [1]",
    )
    p.add_argument(
        "--norm",
        choices=("fixed", "image"),
        default="fixed",
        help="input standardisation: fixed mean/std, or each image by its own (crops whose "
        "brightness varies) [fixed]",
    )
    p.add_argument(
        "--min-stride",
        type=int,
        choices=(8, 16),
        default=16,
        help="finest pyramid level of a MobileNet backbone: 8 adds a stride-8 level for objects "
        "under ~30 px at --size [16]",
    )
    p.add_argument(
        "--rpn-fg-iou",
        type=float,
        default=0.7,
        help="IoU from which an anchor is an RPN positive; 0.5 trains several anchors per small "
        "box instead of about one [0.7]",
    )
    p.add_argument(
        "--box-masks",
        choices=("ellipse",),
        default=None,
        help="Mask R-CNN on box-only annotations: train on the ellipse inscribed in each box",
    )
    p.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_via_options(p)
    p.set_defaults(func=run)


def _read(path: Path, images: Path | None, args: argparse.Namespace) -> Any:
    from areoscan.annotations import read_annotations

    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ann = read_annotations(
            path, args.format, images=images, classes=classes, via=via_options(args)
        )
    for w in caught:
        print(f"areoscan: warning: {w.message}", file=sys.stderr)
    return ann


def run(args: argparse.Namespace) -> int:
    from areoscan.annotations import AnnotationSet
    from areoscan.train.detector import DetectorConfig, split_by_group, train_detector

    bad = [
        flag
        for flag, ok in (
            ("--epochs", args.epochs >= 1),
            ("--batch-size", args.batch_size >= 1),
            ("--size", args.size >= 32),
            ("--iterations", args.iterations is None or args.iterations >= 1),
            ("--val-fraction", 0.0 <= args.val_fraction < 1.0),
            ("--lr", args.lr > 0),
            ("--anchors-per-level", 1 <= args.anchors_per_level <= 5),
            ("--rpn-fg-iou", 0.3 < args.rpn_fg_iou <= 1.0),
        )
        if not ok
    ]
    if bad:
        print(f"areoscan: error: {', '.join(bad)} out of range", file=sys.stderr)
        return 2
    ann = _read(args.data, args.images, args)
    if args.val is not None:
        val = _read(args.val, args.val_images, args)
        if val.classes != ann.classes:
            val = AnnotationSet(list(ann.classes), val.images)
            unknown = set(val.counts()) - set(ann.classes)
            if unknown:
                print(f"areoscan: error: --val classes {sorted(unknown)} are not in --data's")
                return 2
        train = ann
    elif args.val_fraction == 0:
        train, val = ann, None
    else:
        train, val = split_by_group(ann, args.val_fraction, args.seed)
    cfg = DetectorConfig(
        arch=args.arch,
        backbone=args.backbone,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        size=args.size,
        channels=args.channels,
        head=args.head,
        iterations=args.iterations,
        val_fraction=args.val_fraction,
        seed=args.seed,
        augment=not args.no_augment,
        threads=args.threads,
        init=args.init,
        box_masks=args.box_masks,
        anchors_per_level=args.anchors_per_level,
        norm=args.norm,
        min_stride=args.min_stride,
        rpn_fg_iou=args.rpn_fg_iou,
    )
    command = "areoscan " + shlex.join(sys.argv[1:])
    card, best = train_detector(
        train, val, cfg, args.name, args.out, command=command, progress=not args.quiet
    )
    shown = ", ".join(f"{k} {v:.3f}" for k, v in best.items() if isinstance(v, float))
    print(
        f"wrote {args.out / (card.name + '.json')} (kept epoch {card.training['kept_epoch']}: {shown})"
    )
    return 0
