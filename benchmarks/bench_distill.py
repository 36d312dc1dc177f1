"""Distillation figures on generated scenes with exact masks (issue 22).

``teacher``: how well each promptable teacher turns the scenes' tight boxes into masks — per-instance
IoU (mean, median, 10th percentile) and image-level IoU (union of an image's masks against the union
of its true masks, the study's ">90 % with box prompts" measure), for GrabCut, the rim contour, the
inscribed-ellipse baseline and, with ``--sam CHECKPOINT[:KIND]``, SAM.

``real-teacher``: for ``areoscan label`` outputs on real boxes (no hand masks), how each teacher's
masks sit in their boxes: bounding-box IoU with the prompt box, fill, IoU with the box ellipse,
fallbacks and empty masks (see :func:`box_agreement`).

``active``: active choice (``areoscan label suggest``'s uncertainty) against random choice on the
N-shot curve: generated pit/mound scenes with exact class maps, embedded once by the shipped U-Net
backbone; each draw starts from the same random N0 images, random choice then adds images in a
random order, active choice adds the pool images the current decoder is least sure about. Scores on
held-out scenes; writes the table and a PNG of both curves to --out.

    python benchmarks/bench_distill.py teacher [--scenes 40] [--classes pit,mound] [--sam CKPT]
        [--floor dark,plains]     # plains: pits whose floor is the plains' grey (real HiRISE look)
        [--loose 0,0.2,0.4]       # boxes grown by up to this fraction per edge (real boxes are loose)
    python benchmarks/bench_distill.py real-teacher LABEL_DIR ...   # real boxes, no hand masks
    python benchmarks/bench_distill.py active [--pool 60] [--test 30] [--n 4,8,12,16,24] [--draws 3]

``teacher-decoder``: is the better teacher the better decoder? Pit scenes with the real crops' look
(plains floors) and loose boxes; decoders trained on N scenes whose masks come from each teacher
(``ellipse``, ``rim``, ``grabcut``, and ``exact`` = hand masks, the reference), all scored on the
same held-out scenes against their exact masks. Same draws (scenes, seeds) for every teacher.

    python benchmarks/bench_distill.py teacher-decoder [--teachers ellipse,rim,exact] [--n 5,10,20]
        [--pool 40] [--test 30] [--draws 2] [--epochs 40] [--loose 0.3] --out DIR

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


def teacher_quality(
    teacher: Teacher,
    seeds: list[int],
    classes: tuple[str, ...],
    floor: str = "dark",
    loose: float = 0.0,
) -> dict:
    """Per-instance and image-level IoU of ``teacher`` on the scenes of ``seeds``.

    loose: each box edge moves out by a random 0..``loose`` of the box's side (seeded): the real
    pits boxes are not tight (a pit often spans half its box).
    """
    per_instance, per_image = [], []
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for s in seeds:
        scene = pit_scene(s, classes=classes, floor=floor)
        h, w = scene.image.shape
        boxes = [Instance(i.label, _loosen(i.box, loose, rng, w, h)) for i in scene.instances]
        masks = teacher.segment(scene.image, prompts_of(AnnotatedImage("s", h, w, boxes, "g")))
        truth = [i.mask for i in scene.instances]
        per_instance += [_iou(m, t) for m, t in zip(masks, truth, strict=True)]
        per_image.append(_iou(np.any(masks, axis=0), np.any(truth, axis=0)))
    inst = np.array(per_instance)
    return {
        "teacher": teacher.name,
        "floor": floor,
        "loose": loose,
        "scenes": len(seeds),
        "instances": int(inst.size),
        "instance_iou_mean": round(float(inst.mean()), 4),
        "instance_iou_median": round(float(np.median(inst)), 4),
        "instance_iou_p10": round(float(np.percentile(inst, 10)), 4),
        "image_iou_mean": round(float(np.mean(per_image)), 4),
        "seconds_per_scene": round((time.perf_counter() - t0) / len(seeds), 3),
    }


def _loosen(box, loose: float, rng: np.random.Generator, w: int, h: int):
    """``box`` with each edge moved out by a random 0..``loose`` of its side, clipped to the image."""
    x0, y0, x1, y1 = box
    g = rng.uniform(0, loose, 4) * np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0])
    return (max(0.0, x0 - g[0]), max(0.0, y0 - g[1]), min(w, x1 + g[2]), min(h, y1 + g[3]))


def box_agreement(folder: Path) -> dict:
    """How an ``areoscan label`` output's masks sit in their prompt boxes (no hand masks needed).

    mask_box_iou: IoU of each mask's bounding box with its prompt box (a tight expert box means a
    good mask spans it: 1.0 for the inscribed ellipse by construction); fill: mask area / box area
    (the inscribed ellipse fills 0.785); ellipse_iou: IoU with the box's inscribed ellipse (how far
    the teacher departs from the box prior); fallbacks: masks the teacher replaced by the ellipse.
    """
    from pycocotools import mask as mask_utils

    from areoscan.annotations import box_of_mask
    from areoscan.distill.prompts import Prompt
    from areoscan.distill.teachers import EllipseTeacher

    doc = json.loads((folder / "annotations.json").read_text())
    sizes = {im["id"]: (im["height"], im["width"]) for im in doc["images"]}
    box_iou, fill, ell_iou, fallbacks, empty = [], [], [], 0, 0
    for a in doc["annotations"]:
        attrs = a.get("attributes", {})
        mask = mask_utils.decode(a["segmentation"]).astype(bool)
        box = tuple(float(v) for v in attrs["prompt_box"])
        fallbacks += attrs.get("teacher_fallback") == "ellipse"
        tight = box_of_mask(mask)
        if tight is None:
            empty += 1
            box_iou.append(0.0)
            fill.append(0.0)
            ell_iou.append(0.0)
            continue
        h, w = sizes[a["image_id"]]
        (ell,) = EllipseTeacher().segment(np.zeros((h, w), np.uint8), [Prompt("x", box)])
        box_iou.append(_box_iou(tight, box))
        fill.append(mask.sum() / max((box[2] - box[0]) * (box[3] - box[1]), 1.0))
        ell_iou.append(_iou(mask, ell))
    n = len(box_iou)
    return {
        "labels": str(folder),
        "teacher": doc["annotations"][0]["attributes"].get("teacher") if n else None,
        "masks": n,
        "empty": empty,
        "fallbacks": fallbacks,
        "mask_box_iou_mean": round(float(np.mean(box_iou)), 4),
        "mask_box_iou_p10": round(float(np.percentile(box_iou, 10)), 4),
        "fill_median": round(float(np.median(fill)), 4),
        "ellipse_iou_median": round(float(np.median(ell_iou)), 4),
        "ellipse_like": round(float(np.mean(np.array(ell_iou) > 0.95)), 4),
    }


def _box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def scene_examples(
    seeds: list[int], classes: tuple[str, ...], folder: Path, size: int, floor: str = "dark"
):
    """Scenes embedded (cached in ``folder``) with their exact class maps, as Examples."""
    from areoscan.distill.cache import build_cache
    from areoscan.distill.encoders import UnetEncoder
    from areoscan.distill.fewshot import UPSAMPLE, Examples

    scenes = {f"scene_{s}": pit_scene(s, classes=classes, floor=floor) for s in seeds}
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


def _teacher_maps(spec: str, seeds: list[int], loose: float, side: int) -> np.ndarray:
    """Class maps (pit = 1) at ``side`` px of ``spec``'s masks from the scenes' loosened boxes."""
    teacher = make_teacher(spec)
    rng = np.random.default_rng(0)  # the same loose boxes for every teacher
    out = []
    for s in seeds:
        scene = pit_scene(s, classes=("pit",), floor="plains")
        h, w = scene.image.shape
        boxes = [Instance(i.label, _loosen(i.box, loose, rng, w, h)) for i in scene.instances]
        masks = teacher.segment(scene.image, prompts_of(AnnotatedImage("s", h, w, boxes, "g")))
        y = np.any(np.asarray(masks, bool).reshape(-1, h, w), axis=0).astype(np.uint8)
        out.append(np.asarray(Image.fromarray(y).resize((side, side), Image.Resampling.NEAREST)))
    return np.stack(out)


def teacher_decoder(args: argparse.Namespace) -> None:
    """N-shot curves of decoders trained on each teacher's masks, scored on exact masks."""
    import torch

    from areoscan.distill.curve import nshot_curve, plot, table

    torch.set_num_threads(1)
    seeds = list(range(3000, 3000 + args.pool + args.test))
    data = scene_examples(seeds, ("pit",), args.out, args.input_size, floor="plains")
    pool, test = np.arange(args.pool), np.arange(args.pool, args.pool + args.test)
    ns = [int(v) for v in args.n.split(",")]
    curves, text, t0 = {}, "", time.perf_counter()
    for spec in args.teachers.split(","):
        y = data.y.copy()
        if spec != "exact":  # training masks from the teacher; held-out ones stay exact
            y[pool] = _teacher_maps(spec, seeds[: args.pool], args.loose, y.shape[-1])
        trained = type(data)(data.stems, data.x, y, data.classes, data.groups)
        curves[spec] = nshot_curve(trained, ns, args.draws, pool, test, epochs=args.epochs)
        text += table(curves[spec], spec) + "\n"
        print(table(curves[spec], spec), flush=True)
    (args.out / "teacher_decoder.md").write_text(text)
    (args.out / "teacher_decoder.json").write_text(json.dumps(curves))
    plot(curves, args.out / "teacher_decoder.png")
    print(f"{time.perf_counter() - t0:.0f} s; wrote {args.out / 'teacher_decoder.md'}")


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
    t.add_argument("--floor", default="dark,plains", help="pit looks: dark and/or plains floors")
    t.add_argument("--loose", default="0", help="box looseness values, e.g. 0,0.2,0.4")
    r = sub.add_parser("real-teacher", help="teacher masks of real boxes: agreement with the box")
    r.add_argument("labels", nargs="+", type=Path, help="'areoscan label' output folders")
    a = sub.add_parser("active", help="active vs random choice on the N-shot curve")
    a.add_argument("--pool", type=int, default=60)
    a.add_argument("--test", type=int, default=30)
    a.add_argument("--n", default="4,8,12,16,24")
    a.add_argument("--draws", type=int, default=3)
    a.add_argument("--epochs", type=int, default=40)
    a.add_argument("--classes", default="pit,mound")
    a.add_argument("--input-size", type=int, default=192)
    a.add_argument("--out", type=Path, default=Path.home() / ".cache/areoscan/bench/distill")
    d = sub.add_parser("teacher-decoder", help="decoders on each teacher's masks vs exact masks")
    d.add_argument("--teachers", default="ellipse,rim,exact")
    d.add_argument("--pool", type=int, default=40)
    d.add_argument("--test", type=int, default=30)
    d.add_argument("--n", default="5,10,20")
    d.add_argument("--draws", type=int, default=2)
    d.add_argument("--epochs", type=int, default=40)
    d.add_argument("--loose", type=float, default=0.3, help="box looseness (see teacher --loose)")
    d.add_argument("--input-size", type=int, default=192)
    d.add_argument("--out", type=Path, default=Path.home() / ".cache/areoscan/bench/distill-td")
    c = sub.add_parser("sam-cost", help="CPU cost of SAM's encoder and of one prompt")
    c.add_argument("--kinds", default="vit_b")
    c.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.what == "sam-cost":
        sam_cost(args.kinds.split(","), args.threads)
    if args.what == "active":
        active_vs_random(args)
    if args.what == "teacher-decoder":
        args.out.mkdir(parents=True, exist_ok=True)
        teacher_decoder(args)
    if args.what == "teacher":
        classes = tuple(c.strip() for c in args.classes.split(","))
        seeds = list(range(1000, 1000 + args.scenes))
        specs = ["ellipse", "grabcut", "rim"] + ([f"sam:{args.sam}"] if args.sam else [])
        for floor in args.floor.split(","):
            for loose in (float(v) for v in args.loose.split(",")):
                for spec in specs:
                    res = teacher_quality(make_teacher(spec), seeds, classes, floor, loose)
                    print(json.dumps(res))
    if args.what == "real-teacher":
        for folder in args.labels:
            print(json.dumps(box_agreement(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
