"""Observation-split cross-validation of a detector (or the LoG baseline) on annotated crops.

Run one fold per call (each call stays well under 15 min on 2 cores), then pool the folds:

    flock /work/coord/cpu.lock nice -n 10 .venv/bin/python benchmarks/cv_detector.py \\
        --data ../shared/data/hirise-pits-boxes --format yolo --out /tmp/pitscv \\
        --model log-blobs --fold 0          # ... --fold 3; or --model fasterrcnn --epochs 8
    # Mask R-CNN on boxes: --model maskrcnn --box-masks ellipse; a fold longer than one CPU slot:
    # run it in chunks, each later chunk with --resume (starts from the fold's last weights);
    # --init MODEL starts the first chunk from a pretrained detector (`synth instances` pretraining)
    .venv/bin/python benchmarks/cv_detector.py --data ... --format yolo --out /tmp/pitscv --report

Groups are HiRISE observations (:func:`areoscan.annotations.default_group`), so tiles H0..H3 of one
strip and ``_mirrored`` flips of a crop always fall in the same fold. Whole groups are dealt to
``--folds`` folds (seeded, balanced by image count). Training uses every image of the other folds
(flipped copies included: they are augmentation); testing keeps one image per source crop
(:func:`areoscan.annotations.source_name`), so a crop and its mirror are not scored twice. The
report pools the held-out detections of all folds into one
:func:`~areoscan.data.detection.detection_metrics` (AP, AP50, macro-F1 at IoU 0.5, per class),
then the class-agnostic figure (every class relabelled one) and, with 3+ folds, the pool without
each fold: when comparing two runs, a gain that holds in every such pool is not one fold's doing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.annotations import (
    AnnotationSet,
    Instance,
    read_annotations,
    source_name,
    write_coco,
)
from areoscan.annotations.coco_in import read_coco


def folds_of(ann: AnnotationSet, n: int, seed: int) -> dict[str, int]:
    """Group -> fold, whole groups dealt largest-first to the fold with the fewest images."""
    sizes: dict[str, int] = {}
    for im in ann.images:
        sizes[im.group] = sizes.get(im.group, 0) + 1
    rng = np.random.default_rng(seed)
    groups = sorted(sizes, key=lambda g: (-sizes[g], rng.random()))
    load = [0] * n
    out = {}
    for g in groups:
        k = int(np.argmin(load))
        out[g] = k
        load[k] += sizes[g]
    return out


def split(ann: AnnotationSet, fold: int, n: int, seed: int) -> tuple[AnnotationSet, AnnotationSet]:
    """(train, test) of one fold; the test keeps one image per source crop."""
    of = folds_of(ann, n, seed)
    train = [im for im in ann.images if of[im.group] != fold]
    test, seen = [], set()
    for im in sorted(
        (im for im in ann.images if of[im.group] == fold),
        key=lambda im: ("_mirrored" in im.path.name, im.path.name),
    ):
        key = source_name(im.path.name)
        if key not in seen:
            seen.add(key)
            test.append(im)
    return AnnotationSet(list(ann.classes), train), AnnotationSet(list(ann.classes), test)


class BoxesOnly:
    """A detector with its masks dropped: the folds are scored on boxes (the pits have no masks),
    and a Mask R-CNN's full-frame masks would cost ~80 MB per held-out image."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.classes = inner, inner.name, inner.classes

    def detect(self, image: np.ndarray) -> list[Instance]:
        return [replace(i, mask=None) for i in self.inner.detect(image)]

    def describe(self) -> dict[str, object]:
        return dict(self.inner.describe())


def run_fold(args: argparse.Namespace, ann: AnnotationSet) -> None:
    from areoscan.data.detection import detect_all

    train, test = split(ann, args.fold, args.folds, args.seed)
    stem = args.out / f"fold{args.fold}_{args.model}"
    chunks: list[dict[str, float]] = []
    if args.resume and Path(f"{stem}_info.json").is_file():
        chunks = json.loads(Path(f"{stem}_info.json").read_text()).get("chunks", [])
    started = time.monotonic()
    if args.model == "log-blobs":
        from areoscan.evaluate.blobs import LogBlobs

        detector = LogBlobs.fit(train)
    else:
        from areoscan.models.detectors import TorchDetector
        from areoscan.models.registry import load_model
        from areoscan.train.detector import DetectorConfig, train_detector

        name = f"fold{args.fold}-{args.model}"
        previous = args.out / "models" / f"{name}.json"
        if args.resume and not previous.is_file():
            sys.exit(f"--resume: {previous} does not exist yet")
        cfg = DetectorConfig(
            arch=args.model, backbone=args.backbone, epochs=args.epochs, size=args.size,
            batch_size=args.batch_size, lr=args.lr, seed=args.seed + len(chunks),
            threads=args.threads, box_masks=args.box_masks,
            anchors_per_level=args.anchors_per_level, norm=args.norm,
            min_stride=args.min_stride, rpn_fg_iou=args.rpn_fg_iou,
            init=str(previous) if args.resume else args.init,
        )  # fmt: skip
        train_detector(train, None, cfg, name, args.out / "models", progress=not args.quiet)
        module, card = load_model(args.out / "models" / f"{name}.json")
        detector = BoxesOnly(TorchDetector(module, card))
    trained = time.monotonic()
    dets = detect_all(detector, test, progress=not args.quiet)
    write_coco(test, f"{stem}_truth.json")
    write_coco(dets, f"{stem}_dets.json")
    from areoscan.data.detection import detection_metrics

    res = detection_metrics(test, dets, iou_type="bbox")
    chunks.append({"epochs": args.epochs, "train_s": round(trained - started, 1)})
    info = {
        "fold": args.fold,
        "train_images": len(train.images),
        "test_images": len(test.images),
        "test_groups": sorted({im.group for im in test.images}),
        "test_images_names": [im.path.name for im in test.images],
        "chunks": chunks,
        "epochs": sum(c["epochs"] for c in chunks),
        "train_seconds": round(sum(c["train_s"] for c in chunks), 1),
        "detect_seconds": round(time.monotonic() - trained, 1),
        "ap50": round(res["ap50"], 4),
        "macro_f1_50": round(res["macro_f1_50"], 4),
    }
    Path(f"{stem}_info.json").write_text(json.dumps(info, indent=2))
    print(json.dumps(info))


def report(args: argparse.Namespace) -> None:
    from areoscan.data.detection import detection_metrics, format_detection_report

    results = {}
    for model in ("log-blobs", "fasterrcnn", "maskrcnn"):
        truths, dets, done = [], [], []
        for k in range(args.folds):
            stem = args.out / f"fold{k}_{model}"
            if Path(f"{stem}_dets.json").is_file():
                truths.append(read_coco(f"{stem}_truth.json"))
                dets.append(read_coco(f"{stem}_dets.json"))
                done.append(k)
        if not truths:
            continue
        for k, t, d in zip(done, truths, dets, strict=True):
            one = detection_metrics(t, d, iou_type="bbox")
            print(f"{model} fold {k}: AP50 {one['ap50']:.3f}, macro-F1@.5 {one['macro_f1_50']:.3f}")
        truth, found = pooled(truths), pooled(dets)
        res = detection_metrics(truth, found, iou_type="bbox")
        res["folds"] = len(truths)
        results[model] = res
        print(format_detection_report(f"{model} ({len(truths)}/{args.folds} folds)", res))
        res["agnostic"] = robustness(model, done, truths, dets)
    (args.out / "report.json").write_text(json.dumps(results, indent=2))
    if args.card is not None:
        attach(args.card, results, args)


def pooled(sets: list[AnnotationSet]) -> AnnotationSet:
    """The images of several folds' truth (or detection) sets as one set."""
    return AnnotationSet(list(sets[0].classes), [im for a in sets for im in a.images])


def agnostic(ann: AnnotationSet) -> AnnotationSet:
    """Every instance relabelled ``any``: is a pit found at all, whatever its class?"""
    ims = [
        replace(im, instances=[replace(i, label="any") for i in im.instances]) for im in ann.images
    ]
    return AnnotationSet(["any"], ims)


def robustness(
    model: str, done: list[int], truths: list[AnnotationSet], dets: list[AnnotationSet]
) -> dict[str, float]:
    """Print the class-agnostic pooled figure and, with 3+ folds, the pool without each fold (is a
    change between two runs one fold's doing?); return the class-agnostic AP / AP50 / F1."""
    from areoscan.data.detection import detection_metrics

    one = detection_metrics(agnostic(pooled(truths)), agnostic(pooled(dets)), iou_type="bbox")
    c = one["per_class"]["any"]
    print(f"{model} class-agnostic: AP50 {one['ap50']:.3f}, AP {one['ap']:.3f}, F1@.5 "
          f"{one['f1_50']:.3f} (precision {c['precision']:.2f}, recall {c['recall']:.2f})")  # fmt: skip
    for j, k in enumerate(done if len(done) > 2 else []):
        rest = [i for i in range(len(done)) if i != j]
        r = detection_metrics(pooled([truths[i] for i in rest]), pooled([dets[i] for i in rest]),
                              iou_type="bbox")  # fmt: skip
        print(f"{model} without fold {k}: AP50 {r['ap50']:.3f}, macro-F1@.5 {r['macro_f1_50']:.3f}")
    return {k: one[k] for k in ("ap", "ap50", "f1_50")}


def attach(card_path: Path, results: dict[str, Any], args: argparse.Namespace) -> None:
    """Write the pooled CV figures of the card's arch into its ``metrics.cv`` (and the baseline's)."""
    from areoscan.models.card import ModelCard

    card = ModelCard.load(card_path)
    if card.arch not in results:
        sys.exit(f"--card: no {card.arch} folds in {args.out}")
    keep = ("ap", "ap50", "ap75", "f1_50", "macro_f1_50", "images", "folds")
    per_class = ("ap50", "f1_50", "threshold", "precision", "recall", "n_true")

    def short(res: dict[str, Any]) -> dict[str, Any]:
        out = {k: res[k] for k in keep if k in res}
        out["per_class"] = {c: {k: v[k] for k in per_class} for c, v in res["per_class"].items()}
        return out

    card.metrics["cv"] = {
        "rule": f"{args.folds}-fold cross-validation by HiRISE observation (seed {args.seed}); "
        "mirrored copies and H0-H3 tiles collapsed to their source; one held-out image per "
        "source crop; F1 at each class's best threshold on the pooled held-out detections",
        "command": "python " + " ".join(sys.argv),
        **short(results[card.arch]),
        "folds_total": args.folds,
        "baseline": {"log-blobs": short(results["log-blobs"])} if "log-blobs" in results else {},
    }
    card.save(card_path)
    print(f"wrote metrics.cv into {card_path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--format", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--fold", type=int, default=None)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--model", default="log-blobs", choices=("log-blobs", "fasterrcnn", "maskrcnn"))
    ap.add_argument("--backbone", default="mobilenet_v3_large")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--box-masks", choices=("ellipse",), default=None)
    ap.add_argument("--anchors-per-level", type=int, default=1)
    ap.add_argument("--norm", choices=("fixed", "image"), default="fixed")
    ap.add_argument("--min-stride", type=int, choices=(8, 16), default=16)
    ap.add_argument("--rpn-fg-iou", type=float, default=0.7)
    ap.add_argument("--resume", action="store_true", help="continue this fold's model (a chunk)")
    ap.add_argument(
        "--init", default=None, help="first chunk starts from this detector (synthetic pretraining)"
    )
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--card", type=Path, default=None, help="with --report: store it in this card")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.report:
        report(args)
        return
    if args.fold is None or not 0 <= args.fold < args.folds:
        sys.exit("give --fold K (0..folds-1) or --report")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ann = read_annotations(args.data, args.format)
    run_fold(args, ann)


if __name__ == "__main__":
    main()
