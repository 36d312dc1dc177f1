"""Distillation figures on generated scenes with exact masks (issue 22).

``teacher``: how well each promptable teacher turns the scenes' tight boxes into masks — per-instance
IoU (mean, median, 10th percentile) and image-level IoU (union of an image's masks against the union
of its true masks, the study's ">90 % with box prompts" measure), for GrabCut, the inscribed-ellipse
baseline and, with ``--sam CHECKPOINT[:KIND]``, SAM.

``active``: active choice (``areoscan label suggest``'s uncertainty) against random choice on the
N-shot curve: generated pit/mound scenes with exact class maps, embedded once by the shipped U-Net
backbone; each draw starts from the same random N0 images, random choice then adds images in a
random order, active choice adds the pool images the current decoder is least sure about. Scores on
held-out scenes; writes the table and a PNG of both curves to --out.

    python benchmarks/bench_distill.py teacher [--scenes 40] [--classes pit,mound] [--sam CKPT]
    python benchmarks/bench_distill.py active [--pool 60] [--test 30] [--n 4,8,12,16,24] [--draws 3]

``sam-cost``: CPU seconds of SAM's image encoder (one 1024 px pass = one image of ``areoscan label
--teacher sam:`` or ``areoscan embed --encoder sam:``) and of one box prompt, for randomly
initialised vit_b / vit_l / vit_h built by segment_anything itself (same FLOPs as the published
checkpoints; nothing is downloaded).

    python benchmarks/bench_distill.py sam-cost [--kinds vit_b] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

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


def scene_examples(seeds: list[int], classes: tuple[str, ...], folder: Path, size: int):
    """Scenes embedded (cached in ``folder``) with their exact class maps, as Examples."""
    from areoscan.distill.cache import build_cache
    from areoscan.distill.encoders import UnetEncoder
    from areoscan.distill.fewshot import UPSAMPLE, Examples

    scenes = {f"scene_{s}": pit_scene(s, classes=classes) for s in seeds}
    paths = []
    for stem in scenes:
        path = folder / "images" / f"{stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        paths.append(path)
    cache, _ = build_cache(
        paths, UnetEncoder(input_size=size), folder / "emb", read=lambda p: scenes[p.stem].image
    )
    side = cache.grid * UPSAMPLE
    ys = []
    for sc in scenes.values():
        y = np.zeros(sc.image.shape, np.uint8)
        for inst in sc.instances:
            y[inst.mask] = 1 + classes.index(inst.label)
        ys.append(np.asarray(Image.fromarray(y).resize((side, side), Image.Resampling.NEAREST)))
    stems = list(scenes)
    x = np.stack([np.asarray(cache.load(s)) for s in stems])
    names = ["background", *classes]
    return Examples(stems, x, np.stack(ys), names, stems)


def active_vs_random(args: argparse.Namespace) -> None:
    import torch

    from areoscan.distill.curve import nshot_curve, plot, table
    from areoscan.distill.suggest import active_curve

    torch.set_num_threads(1)
    classes = tuple(c.strip() for c in args.classes.split(","))
    seeds = list(range(2000, 2000 + args.pool + args.test))
    data = scene_examples(seeds, classes, args.out, args.input_size)
    pool, test = np.arange(args.pool), np.arange(args.pool, args.pool + args.test)
    ns = [int(v) for v in args.n.split(",")]
    t0 = time.perf_counter()
    rand = nshot_curve(data, ns, args.draws, pool, test, epochs=args.epochs)
    act = active_curve(data, ns, args.draws, pool, test, epochs=args.epochs)
    text = table(rand, "random") + "\n" + table(act, "active")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "active.md").write_text(text)
    (args.out / "active.json").write_text(json.dumps({"random": rand, "active": act}))
    plot({"random": rand, "active": act}, args.out / "active.png")
    print(f"{time.perf_counter() - t0:.0f} s; wrote {args.out / 'active.png'}")


def sam_cost(kinds: list[str], threads: int) -> None:
    import torch
    from segment_anything import SamPredictor, sam_model_registry

    torch.set_num_threads(threads)
    image = (np.random.default_rng(0).random((900, 900, 3)) * 255).astype(np.uint8)
    for kind in kinds:
        sam = sam_model_registry[kind]().eval()
        pred = SamPredictor(sam)
        t0 = time.perf_counter()
        with torch.inference_mode():
            pred.set_image(image)
            t1 = time.perf_counter()
            pred.predict(box=np.array([300, 300, 500, 480]), multimask_output=False)
        t2 = time.perf_counter()
        n_par = sum(p.numel() for p in sam.parameters()) / 1e6
        print(
            json.dumps(
                {
                    "kind": kind,
                    "params_M": round(n_par, 1),
                    "threads": threads,
                    "encoder_s": round(t1 - t0, 2),
                    "prompt_s": round(t2 - t1, 3),
                }
            )
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("teacher", help="teacher IoU against exact masks")
    t.add_argument("--scenes", type=int, default=40)
    t.add_argument("--classes", default="pit,mound")
    t.add_argument("--sam", default=None, help="SAM checkpoint[:KIND] to score as well")
    a = sub.add_parser("active", help="active vs random choice on the N-shot curve")
    a.add_argument("--pool", type=int, default=60)
    a.add_argument("--test", type=int, default=30)
    a.add_argument("--n", default="4,8,12,16,24")
    a.add_argument("--draws", type=int, default=3)
    a.add_argument("--epochs", type=int, default=40)
    a.add_argument("--classes", default="pit,mound")
    a.add_argument("--input-size", type=int, default=192)
    a.add_argument("--out", type=Path, default=Path.home() / ".cache/areoscan/bench/distill")
    c = sub.add_parser("sam-cost", help="CPU cost of SAM's encoder and of one prompt")
    c.add_argument("--kinds", default="vit_b")
    c.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.what == "sam-cost":
        sam_cost(args.kinds.split(","), args.threads)
    if args.what == "active":
        active_vs_random(args)
    if args.what == "teacher":
        classes = tuple(c.strip() for c in args.classes.split(","))
        seeds = list(range(1000, 1000 + args.scenes))
        specs = ["ellipse", "grabcut"] + ([f"sam:{args.sam}"] if args.sam else [])
        for spec in specs:
            print(json.dumps(teacher_quality(make_teacher(spec), seeds, classes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
