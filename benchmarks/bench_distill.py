"""Distillation figures on generated scenes with exact masks (issue 22).

``teacher``: how well each promptable teacher turns the scenes' tight boxes into masks — per-instance
IoU (mean, median, 10th percentile) and image-level IoU (union of an image's masks against the union
of its true masks, the study's ">90 % with box prompts" measure), for GrabCut, the inscribed-ellipse
baseline and, with ``--sam CHECKPOINT[:KIND]``, SAM.

    python benchmarks/bench_distill.py teacher [--scenes 40] [--classes pit,mound] [--sam CKPT]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from areoscan.annotations import AnnotatedImage, Instance
from areoscan.distill.prompts import prompts_of
from areoscan.distill.scenes import pit_scene
from areoscan.distill.teachers import Teacher, make_teacher


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def teacher_quality(teacher: Teacher, seeds: list[int], classes: tuple[str, ...]) -> dict:
    """Per-instance and image-level IoU of ``teacher`` on the scenes of ``seeds``."""
    per_instance, per_image = [], []
    t0 = time.perf_counter()
    for s in seeds:
        scene = pit_scene(s, classes=classes)
        h, w = scene.image.shape
        boxes = [Instance(i.label, i.box) for i in scene.instances]
        masks = teacher.segment(scene.image, prompts_of(AnnotatedImage("s", h, w, boxes, "g")))
        truth = [i.mask for i in scene.instances]
        per_instance += [_iou(m, t) for m, t in zip(masks, truth, strict=True)]
        per_image.append(_iou(np.any(masks, axis=0), np.any(truth, axis=0)))
    inst = np.array(per_instance)
    return {
        "teacher": teacher.name,
        "scenes": len(seeds),
        "instances": int(inst.size),
        "instance_iou_mean": round(float(inst.mean()), 4),
        "instance_iou_median": round(float(np.median(inst)), 4),
        "instance_iou_p10": round(float(np.percentile(inst, 10)), 4),
        "image_iou_mean": round(float(np.mean(per_image)), 4),
        "seconds_per_scene": round((time.perf_counter() - t0) / len(seeds), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("teacher", help="teacher IoU against exact masks")
    t.add_argument("--scenes", type=int, default=40)
    t.add_argument("--classes", default="pit,mound")
    t.add_argument("--sam", default=None, help="SAM checkpoint[:KIND] to score as well")
    args = ap.parse_args(argv)
    if args.what == "teacher":
        classes = tuple(c.strip() for c in args.classes.split(","))
        seeds = list(range(1000, 1000 + args.scenes))
        specs = ["ellipse", "grabcut"] + ([f"sam:{args.sam}"] if args.sam else [])
        for spec in specs:
            print(json.dumps(teacher_quality(make_teacher(spec), seeds, classes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
