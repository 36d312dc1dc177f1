"""The seed's question: is a Mask R-CNN trained on consensus masks inside the human spread?

Several people annotated the same images (one VIA file per rater, e.g. des-ghosts-via's
``common_core``: 50 DES images, 8 raters, classes Bright / Faint / Rays). This script

1. holds out ``--test-fraction`` of the images (seeded, by name: the same split with or without a
   model; :func:`areoscan.evaluate.spread.split_images`);
2. builds the majority consensus of all raters on the other images (``areoscan agreement``'s
   builder, :func:`areoscan.evaluate.agreement.consensus`) and trains a Mask R-CNN on its masks
   (:func:`areoscan.train.detector.train_detector`, from scratch or ``--init``);
3. on the held-out images scores each rater against the consensus of the *others*, and the model
   (detections with score >= ``--min-score``) against each of those same consensuses, with one
   metric (pooled pixel IoU / F1 per class, instance F1 at IoU 0.5), and prints the model's rank
   within the human spread (:func:`areoscan.evaluate.spread.spread`).

``--raters-only`` skips 2 and the model (no images needed: give ``--image-size``): the human half.

    /work/coord/cpu .venv/bin/python benchmarks/ghost_spread.py \\
        --via ../shared/data/des-ghosts-via/common_core \\
        --images ../shared/data/des-ghosts-via/common_core/images --out /tmp/ghosts --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from areoscan.annotations import AnnotatedImage, AnnotationSet, ViaOptions
from areoscan.errors import AreoscanError
from areoscan.evaluate.agreement import consensus, quiet_read_raters
from areoscan.evaluate.spread import format_spread, raters_on, split_images, spread, subset


def train_on_consensus(
    raters: dict[str, AnnotationSet], train_names: list[str], args: argparse.Namespace
) -> tuple[Any, dict[str, Any]]:
    """A detector trained on the consensus of every rater on ``train_names``; (detector, info)."""
    from areoscan.models.detectors import TorchDetector
    from areoscan.models.registry import load_model
    from areoscan.train.detector import DetectorConfig, train_detector

    truth = consensus(raters_on(raters, train_names))
    cfg = DetectorConfig(
        arch=args.arch, backbone=args.backbone, epochs=args.epochs, size=args.size,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads,
        iterations=args.iterations, channels=args.channels, head=args.head, init=args.init,
        anchors_per_level=args.anchors_per_level, norm=args.norm, min_stride=args.min_stride,
        rpn_fg_iou=args.rpn_fg_iou,
    )  # fmt: skip
    started = time.monotonic()
    card, _ = train_detector(truth, None, cfg, "consensus-detector", args.out / "models",
                             command=" ".join(sys.argv), progress=not args.quiet)  # fmt: skip
    module, card = load_model(args.out / "models" / f"{card.name}.json")
    info = {
        "train_images": len(truth.images),
        "train_instances": truth.counts(),
        "train_seconds": round(time.monotonic() - started, 1),
        "config": card.training.get("config") if card.training else None,
    }
    return TorchDetector(module, card), info


def detections(detector: Any, test: AnnotationSet, min_score: float) -> AnnotationSet:
    """The detector's instances with score >= ``min_score`` on the held-out images."""
    from areoscan.data.detection import detect_all

    found = detect_all(detector, test, progress=False)
    return AnnotationSet(
        list(test.classes),
        [
            AnnotatedImage(im.path, im.height, im.width,
                           [i for i in im.instances if (i.score or 0.0) >= min_score], im.group)
            for im in found.images
        ],
    )  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every step above; returns (and writes to ``OUT/spread.json``) the result."""
    size = None
    if args.image_size:
        width, height = (int(v) for v in args.image_size.lower().split("x"))
        size = (height, width)
    options = ViaOptions(size=size, unlabelled="skip")
    raters, warned = quiet_read_raters(args.via, args.images, options)
    for line in warned:
        print(f"warning: {line}", file=sys.stderr)
    first = next(iter(raters.values()))
    train_names, test_names = split_images(
        [im.path.name for im in first.images], args.test_fraction, args.seed
    )
    held = raters_on(raters, test_names)
    model, info = None, None
    if not args.raters_only:
        detector, info = train_on_consensus(raters, train_names, args)
        model = detections(detector, subset(first, test_names), args.min_score)
    res = spread(held, model, instances=not args.no_instances)
    res["split"] = {"seed": args.seed, "train": train_names, "test": test_names}
    res["training"] = info
    res["min_score"] = None if args.raters_only else args.min_score
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "spread.json").write_text(json.dumps(res, indent=2) + "\n")
    print(format_spread(res))
    return res


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--via", type=Path, required=True, help="folder of VIA files, one per rater")
    ap.add_argument("--images", type=Path, default=None, help="folder of the images")
    ap.add_argument("--out", type=Path, required=True, help="folder for spread.json and the model")
    ap.add_argument("--test-fraction", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--raters-only", action="store_true", help="human spread only, no model")
    ap.add_argument("--image-size", default=None, help="WxH when the images are absent")
    ap.add_argument("--no-instances", action="store_true", help="pixel figures only")
    ap.add_argument("--arch", default="maskrcnn", choices=("maskrcnn",))
    ap.add_argument("--backbone", default="mobilenet_v3_large")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--head", type=int, default=256)
    ap.add_argument("--anchors-per-level", type=int, default=1)
    ap.add_argument("--norm", choices=("fixed", "image"), default="fixed")
    ap.add_argument("--min-stride", type=int, choices=(8, 16), default=16)
    ap.add_argument("--rpn-fg-iou", type=float, default=0.7)
    ap.add_argument("--init", default=None, help="start from this detector's matching tensors")
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except AreoscanError as exc:
        print(f"ghost_spread: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
