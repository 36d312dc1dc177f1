"""Issue 22 point 3: light decoders on N real pit crops against the hirise-pits Mask R-CNN.

Same held-out crops as the detector's cross-validation (``benchmarks/cv_detector.py``: 4 folds by
HiRISE observation, seed 0, one held-out image per source crop). One fold per call, then pool:

    python benchmarks/pits_compare.py fold --data D --embeddings EMB --masks LAB/masks --fold K \\
        --out OUT [--detector /tmp/p21/cv/models/foldK-maskrcnn.json] [--n 5,10,25,50] \\
        [--draws 3] [--epochs 30] [--tag rim] [--choose random|active] [--split-depth 1.0]
    python benchmarks/pits_compare.py rescore --out OUT [--split-depth D]   # boxes again from maps
    python benchmarks/pits_compare.py depths --data D --embeddings EMB --masks M --fold K --out OUT
    python benchmarks/pits_compare.py report --out OUT

Decoders train on N crops drawn from the fold's training images (``EMB`` = ``areoscan embed``
cache, ``--masks`` = ``areoscan label`` class maps, all pit types merged into one ``pit``);
``--choose active`` grows each draw's set by ``label suggest``'s uncertainty instead of at random
(same first N). Both the decoders and the detector are scored on each held-out crop:

- on the expert's boxes (class-agnostic, the decoder being binary): COCO AP, AP50 and F1 at IoU
  0.5 from :func:`areoscan.data.detection.detection_metrics`; a decoder's instances are the
  parts of its map (:func:`areoscan.distill.instances.map_instances`: connected parts, touching
  ones cut apart, score = mean probability). The detector's own 5-class figures are kept beside.
  The held-out teacher masks go through the same conversion ("teacher masks as a decoder"): the
  best a decoder that learnt its teacher perfectly could score on the expert's boxes.
- per pixel against the teacher masks at the decoder's grid: mIoU, micro-F1, accuracy, micro P/R;
  the detector's instances scoring >= 0.5 are painted onto that grid (masks, or boxes).

Heavy: run through the CPU slots. The report pools every fold present (per N and draw). Each
decoder's held-out probability maps are kept (``..._dec.npz``, 8-bit), so ``rescore`` redoes the
boxes with another instance rule without training again.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.annotations import AnnotatedImage, AnnotationSet, Instance, read_annotations
from areoscan.distill.instances import SPLIT_DEPTH, instances_map, map_instances
from areoscan.distill.metrics import confusion, scores

sys.path.insert(0, str(Path(__file__).parent))
from cv_detector import split  # noqa: E402  (the detector's folds, not a copy of them)

PIT = "pit"
PIXEL = ("miou", "micro_f1", "accuracy", "micro_precision", "micro_recall")


def _boxes(insts: list[Instance]) -> list[list[float]]:
    return [[*map(float, i.box), float(1.0 if i.score is None else i.score)] for i in insts]


def _test_examples(args: argparse.Namespace, test: AnnotationSet):
    from areoscan.distill.cache import open_cache
    from areoscan.distill.fewshot import load_examples

    data = load_examples(open_cache(args.embeddings), args.masks, merge=PIT)
    index = {s: k for k, s in enumerate(data.stems)}
    missing = [im.path.stem for im in test.images if im.path.stem not in index]
    if missing:
        sys.exit(f"{len(missing)} held-out crops lack an embedding or mask, e.g. {missing[0]}")
    return data, index


def _map_dets(probs: np.ndarray, test: AnnotationSet, depth: float) -> list[list[list[float]]]:
    """Boxes per held-out crop from its foreground map (the decoder's instance rule)."""
    return [
        _boxes(map_instances(p, im.height, im.width, PIT, split_depth=depth))
        for p, im in zip(probs, test.images, strict=True)
    ]


def teacher_row(args: argparse.Namespace, test: AnnotationSet) -> dict[str, Any]:
    """The held-out teacher masks as if a decoder had output them (score 1): the boxes' ceiling."""
    data, index = _test_examples(args, test)
    y = np.stack([data.y[index[im.path.stem]] for im in test.images]).astype(np.float32)
    return {
        "cm": confusion(y.astype(np.uint8), y.astype(np.uint8), 2).tolist(),
        "dets": _map_dets(y, test, args.split_depth),
    }


def decoder_rows(
    args: argparse.Namespace, train: AnnotationSet, test: AnnotationSet, maps: dict[str, Any]
) -> list:
    """One row per (N, draw): training stems, pixel confusion, held-out boxes per crop.

    ``maps`` receives each row's held-out foreground probabilities (uint8, key ``n{N}_d{draw}``).
    """
    from areoscan.distill.curve import random_chooser
    from areoscan.distill.fewshot import fit_decoder, predict_probs
    from areoscan.distill.suggest import uncertainty

    data, index = _test_examples(args, test)
    held = data.subset([index[im.path.stem] for im in test.images])
    pool = np.array(sorted({index[im.path.stem] for im in train.images if im.path.stem in index}))
    ns = [len(pool) if v == "all" else int(v) for v in args.n.split(",")]
    rows = []
    for draw in range(args.draws):
        chosen: list[int] = []
        net: Any = None
        for n in ns:
            if args.choose == "active" and net is not None:
                rest = np.array([i for i in pool if i not in set(chosen)])
                unsure = uncertainty(predict_probs(net, data.x[rest]))
                chosen += [
                    int(i) for i in rest[np.argsort(-unsure, kind="stable")][: n - len(chosen)]
                ]
            else:
                chosen = [int(i) for i in random_chooser(n, draw, pool)]
            net = fit_decoder(data.subset(sorted(chosen)), epochs=args.epochs, seed=draw)
            probs = predict_probs(net, held.x)[:, 1]
            cm = confusion(held.y, (probs >= 0.5).astype(np.uint8), 2)
            maps[f"n{n}_d{draw}"] = np.round(probs * 255).astype(np.uint8)
            dets = _map_dets(probs, test, args.split_depth)
            rows.append(
                {
                    "n": n,
                    "draw": draw,
                    "train": [data.stems[i] for i in sorted(chosen)],
                    "cm": cm.tolist(),
                    "dets": dets,
                }
            )
            print(
                f"fold {args.fold} {args.choose} N={n} draw {draw}: {scores(cm)['miou']:.3f} mIoU"
            )
    return rows


def detector_row(args: argparse.Namespace, test: AnnotationSet) -> dict[str, Any]:
    """The detector on every held-out crop: labelled boxes and the pixel confusion."""
    from areoscan.annotations.pixels import load_gray
    from areoscan.models.detectors import load_detector

    data, index = _test_examples(args, test)
    side = data.y.shape[-1]
    detector = load_detector(str(args.detector), threads=args.threads)
    cm = np.zeros((2, 2), np.int64)
    dets = []
    for im in test.images:
        found = detector.detect(load_gray(im.path, (im.height, im.width)))
        painted = instances_map(found, side, im.height, im.width)
        cm += confusion(data.y[index[im.path.stem]], painted.astype(np.uint8), 2)
        dets.append([[*_boxes([i])[0], i.label] for i in found])
    return {"model": str(args.detector), "cm": cm.tolist(), "dets": dets}


def _truth(images: AnnotationSet) -> list[dict[str, Any]]:
    return [
        {
            "path": str(im.path),
            "h": im.height,
            "w": im.width,
            "group": im.group,
            "boxes": [[*map(float, i.box), i.label] for i in im.instances],
        }
        for im in images.images
    ]


def depths(args: argparse.Namespace) -> None:
    """Choose ``--split-depth`` on a fold's TRAINING crops: their teacher masks vs their boxes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ann = read_annotations(args.data, "yolo")
    train, _ = split(ann, args.fold, args.folds, args.seed)
    doc = {"truth": _truth(train)}
    for depth in (float(v) for v in args.depths.split(",")):
        args.split_depth = depth
        row = teacher_row(args, train)
        res = _score([doc], lambda _d, row=row: row["dets"], [row["cm"]])
        found = sum(len(d) for d in row["dets"])
        print(
            f"fold {args.fold} training crops {len(train.images)}, split depth {depth}: "
            f"{found} instances for {sum(len(t['boxes']) for t in doc['truth'])} boxes, "
            f"F1@.5 {res['f1_50']:.3f}, AP50 {res['ap50']:.3f}"
        )


def run_fold(args: argparse.Namespace) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ann = read_annotations(args.data, "yolo")
    train, test = split(ann, args.fold, args.folds, args.seed)
    out: dict[str, Any] = {
        "fold": args.fold,
        "tag": args.tag,
        "choose": args.choose,
        "epochs": args.epochs,
        "classes": ann.classes,
        "embeddings": str(args.embeddings),
        "masks": str(args.masks),
        "split_depth": args.split_depth,
        "truth": _truth(test),
    }
    if args.detector:
        out["detector"] = detector_row(args, test)
    maps: dict[str, Any] = {}
    if args.draws:
        out["teacher"] = teacher_row(args, test)
        out["decoder"] = decoder_rows(args, train, test, maps)
    parts = ("_det" if args.detector else "") + ("_dec" if args.draws else "")
    path = args.out / f"fold{args.fold}_{args.tag}_{args.choose}{parts}.json"
    if maps:
        np.savez_compressed(path.with_suffix(".npz"), **maps)
    path.write_text(json.dumps(out))
    print(f"wrote {path}")


def rescore(args: argparse.Namespace) -> None:
    """Boxes again from the kept maps (and the teacher masks) with ``--split-depth``."""
    for path in sorted(args.out.glob("fold*_dec.json")):
        doc = json.loads(path.read_text())
        test = AnnotationSet(
            [PIT],
            [AnnotatedImage(Path(t["path"]), t["h"], t["w"], [], t["group"]) for t in doc["truth"]],
        )
        maps = np.load(path.with_suffix(".npz"))
        for row in doc["decoder"]:
            probs = maps[f"n{row['n']}_d{row['draw']}"].astype(np.float32) / 255
            row["dets"] = _map_dets(probs, test, args.split_depth)
        ns = argparse.Namespace(
            embeddings=Path(doc["embeddings"]),
            masks=Path(doc["masks"]),
            split_depth=args.split_depth,
        )
        doc["teacher"] = teacher_row(ns, test)
        doc["split_depth"] = args.split_depth
        path.write_text(json.dumps(doc))
        print(f"rescored {path} (split depth {args.split_depth})")


def _sets(docs: list[dict], dets_of, agnostic: bool) -> tuple[AnnotationSet, AnnotationSet]:
    """(truth, detections) over the docs' held-out crops; labels collapsed to 'pit' if agnostic."""
    classes = [PIT] if agnostic else list(docs[0]["classes"])
    truth, found = [], []
    for doc in docs:
        for k, t in enumerate(doc["truth"]):
            lab = (lambda v: PIT) if agnostic else str
            boxes = [Instance(lab(b[4]), tuple(b[:4])) for b in t["boxes"]]
            truth.append(AnnotatedImage(Path(t["path"]), t["h"], t["w"], boxes, t["group"]))
            ds = [
                Instance(lab(d[5] if len(d) > 5 else PIT), tuple(d[:4]), score=d[4])
                for d in dets_of(doc)[k]
            ]
            found.append(AnnotatedImage(Path(t["path"]), t["h"], t["w"], ds, t["group"]))
    return AnnotationSet(classes, truth), AnnotationSet(classes, found)


def _score(docs: list[dict], dets_of, cms: list) -> dict[str, float]:
    from areoscan.data.detection import detection_metrics

    truth, found = _sets(docs, dets_of, agnostic=True)
    box = detection_metrics(truth, found, iou_type="bbox")
    pix = scores(np.sum(np.array(cms), axis=0))
    found_boxes = sum(len(im.instances) for im in found.images)
    return {
        "ap": box["ap"],
        "ap50": box["ap50"],
        "f1_50": box["f1_50"],
        "boxes_per_crop": found_boxes / max(len(found.images), 1),
        **{m: pix[m] for m in PIXEL},
    }


KEYS = ("ap", "ap50", "f1_50", "boxes_per_crop", *PIXEL)


def _detector_line(tag: str, docs: list[dict], result: dict[str, Any]) -> str:
    from areoscan.data.detection import detection_metrics

    def dets(d: dict) -> list:
        return d["detector"]["dets"]

    res = _score(docs, dets, [d["detector"]["cm"] for d in docs])
    five = detection_metrics(*_sets(docs, dets, agnostic=False), iou_type="bbox")
    res.update(ap50_5class=five["ap50"], macro_f1_5class=five["macro_f1_50"])
    result[f"detector/{tag}"] = res
    crops = sum(len(d["truth"]) for d in docs)
    cells = " | ".join(f"{res[k]:.3f}" for k in KEYS)
    arch = Path(docs[0]["detector"]["model"]).stem.split("-", 1)[-1]  # foldK-ARCH.json
    return (
        f"| detector {arch} (pixels vs {tag} masks) | {len(docs)} | {crops} | all | 1 | {cells} |"
    )


def _teacher_line(tag: str, choose: str, docs: list[dict], result: dict[str, Any]) -> str:
    res = _score(docs, lambda d: d["teacher"]["dets"], [d["teacher"]["cm"] for d in docs])
    result[f"teacher/{tag}/{choose}"] = res
    crops = sum(len(d["truth"]) for d in docs)
    cells = " | ".join(f"{res[k]:.3f}" for k in KEYS)
    return f"| {tag} masks as a decoder (ceiling) | {len(docs)} | {crops} | - | - | {cells} |"


def _decoder_lines(tag: str, choose: str, docs: list[dict], result: dict[str, Any]) -> list[str]:
    lines = []
    crops = sum(len(d["truth"]) for d in docs)
    for n in sorted({r["n"] for d in docs for r in d["decoder"]}):
        per_draw = []
        for draw in sorted({r["draw"] for d in docs for r in d["decoder"]}):
            rows = {
                id(d): next(r for r in d["decoder"] if r["n"] == n and r["draw"] == draw)
                for d in docs
            }
            per_draw.append(
                _score(
                    docs, lambda d, rows=rows: rows[id(d)]["dets"], [r["cm"] for r in rows.values()]
                )
            )
        result[f"decoder/{tag}/{choose}/{n}"] = per_draw
        cells = " | ".join(
            f"{np.mean([p[k] for p in per_draw]):.3f} ± {np.std([p[k] for p in per_draw]):.3f}"
            for k in KEYS
        )
        lines.append(
            f"| decoder, {tag} masks, {choose} | {len(docs)} | {crops} | {n} | {len(per_draw)} "
            f"| {cells} |"
        )
    return lines


def report(args: argparse.Namespace) -> None:
    """Pool the fold files per (masks tag, choice): one table line per model and N."""
    runs: dict[tuple[str, str], list[dict]] = {}
    only = {int(v) for v in args.folds.split(",")} if args.folds else None
    for f in sorted(args.out.glob("fold*_*.json")):
        doc = json.loads(f.read_text())
        if only is not None and doc["fold"] not in only:
            continue
        runs.setdefault((doc["tag"], doc["choose"]), []).append(doc)
    lines = [
        "| model | folds | crops | N | draws | " + " | ".join(KEYS) + " |",
        "|" + " --- |" * (len(KEYS) + 5),
    ]
    result: dict[str, Any] = {}
    for (tag, choose), docs in sorted(runs.items()):
        with_det = [d for d in docs if "detector" in d]
        if with_det:
            lines.append(_detector_line(tag, with_det, result))
        with_dec = [d for d in docs if "decoder" in d]
        if all("teacher" in d for d in with_dec) and with_dec:
            lines.append(_teacher_line(tag, choose, with_dec, result))
        if with_dec:
            lines += _decoder_lines(tag, choose, with_dec, result)
    text = "\n".join(lines) + "\n"
    print(text)
    tail = "_" + args.folds.replace(",", "") if args.folds else ""
    (args.out / f"compare{tail}.md").write_text(text)
    (args.out / f"compare{tail}.json").write_text(json.dumps(result, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    f = sub.add_parser("fold", help="train decoders / run the detector on one fold")
    f.add_argument("--data", type=Path, required=True, help="hirise-pits-boxes folder (YOLO)")
    f.add_argument("--embeddings", type=Path, required=True)
    f.add_argument("--masks", type=Path, required=True, help="areoscan label OUT/masks")
    f.add_argument("--fold", type=int, required=True)
    f.add_argument("--folds", type=int, default=4)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--detector", type=Path, help="the fold's detector model (.json)")
    f.add_argument("--n", default="5,10,25,50", help="N values; 'all' = every training crop")
    f.add_argument("--draws", type=int, default=3, help="draws per N (0: detector only)")
    f.add_argument("--epochs", type=int, default=30)
    f.add_argument("--choose", choices=("random", "active"), default="random")
    f.add_argument("--tag", default="teacher", help="name of the masks in the report")
    f.add_argument("--threads", type=int, default=1)
    f.add_argument("--split-depth", type=float, default=SPLIT_DEPTH, help="0: whole parts")
    f.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("depths", help="teacher masks vs boxes on a fold's training crops")
    for flag in ("--data", "--embeddings", "--masks"):
        c.add_argument(flag, type=Path, required=True)
    c.add_argument("--fold", type=int, required=True)
    c.add_argument("--folds", type=int, default=4)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--depths", default="0,0.5,1,1.5,2,3")
    c.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("rescore", help="boxes again from the kept maps (no training)")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--split-depth", type=float, default=SPLIT_DEPTH)
    r = sub.add_parser("report", help="pool the folds into compare.md / compare.json")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--folds", default="", help="pool only these folds, e.g. 0,1 [all present]")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(getattr(args, "threads", 1))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "report":
        report(args)
    elif args.what == "rescore":
        rescore(args)
    elif args.what == "depths":
        depths(args)
    else:
        run_fold(args)


if __name__ == "__main__":
    main()
