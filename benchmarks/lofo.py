"""Leave-one-family-out: train the segmenter on every coral family but one, score the one left out.

Benchmark (not a unit test), point 2 of issue 19: the headline generalisation figure. For each
family F of :data:`areoscan.synth.params.FAMILIES`:

1. training scenes of every other family (``family_scenes.py``: JP2 + masks written by
   ``generate_scene``, layout ``regions``, 12-48 % coral) are cut into tiles exactly as
   ``areoscan train segmenter --scenes`` cuts them (:func:`scenes_dataset`), split by scene
   into train / validation, and a segmenter is trained with the recipe's own Python API
   (:func:`train_segmenter`, :class:`SegTrainConfig`; threshold tuned on validation);
2. test scenes of F (other seeds) and, for contrast, test scenes of the training families are
   tiled the same way and scored: pixel IoU (pooled over tiles, no-data ignored) and tile
   recall with the segmenter as its own screen (a tile with >= 25 % coral is found when >= 10 %
   of its pixels are marked). The shipped screen is a separate classifier that LOFO does not
   retrain; ``family_eval.py`` gives its per-family recall.

The defaults are a REDUCED configuration that fits < 15 min per fold on 2 shared cores (slim
U-Net, one phase, 6 epochs, 6 training scenes of 1024^2 px per family, 12 tiles of 256 px per
scene), not the shipped recipe (64 + 24 scenes, 10 + 3 epochs, three phases). Prints and writes
a Markdown table (``--out``/lofo.md) and the per-fold histories (lofo.json).

    python benchmarks/lofo.py [--train-scenes 6] [--epochs 6] [--families bandpass turing cells]

The new data recipe of the shipped U-Net (issue 19, points 3-6) at the same reduced budget:
``--levels 0 1 --max-tiles 6`` (the same tiles per scene, half at 0.5 m/px), ``--patch-scenes 2``
(layout ``patches``), ``--negative-scenes 2`` (one hard-negative kind each: knobby, layered,
ripples, rim_polygons, tars) per training family and ``--coarsen 0.25``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.data.seg_samples import SegSet, concat, scenes_dataset
from areoscan.synth.params import FAMILIES
from areoscan.train.segmenter import (
    SegTrainConfig,
    iou_score,
    labels_from_probs,
    predict_probs,
    prepare_splits,
    train_segmenter,
)
from family_scenes import family_scenes, negative_scenes  # beside this script (on sys.path)

TRAIN_SEED0, TEST_SEED0 = 8000, 9000  # + 100 x family index: disjoint from all other seeds
PATCH_SEED0, NEG_SEED0 = 8050, 8070  # the new data recipe's extra training scenes (same rule)
IGNORE = 255


def tiles(
    folders: list[Path], tile: int, max_tiles: int | None, seed: int, levels: tuple[int, ...] = (0,)
) -> SegSet:
    """Tiles of every scene in ``folders`` at ``levels`` (the recipe's own tiler)."""
    return scenes_dataset(folders, list(levels), tile, "binary", max_tiles=max_tiles, seed=seed)


def training_folders(args: argparse.Namespace, fam: str) -> list[Path]:
    """A training family's folders: its ``regions`` scenes, plus ``--patch-scenes`` scenes in
    layout ``patches`` and ``--negative-scenes`` hard-negative scenes (the new data recipe)."""
    i = FAMILIES.index(fam)
    folders = [scene_folders(args, fam, False)]
    size = tuple(args.size)
    if args.patch_scenes:
        seeds = [PATCH_SEED0 + 100 * i + k for k in range(args.patch_scenes)]
        pairs = family_scenes(args.cache, fam, seeds, size, args.scale, "patches", tag="-train")
        folders.append(pairs[0][0].parent)
    if args.negative_scenes:
        seeds = [NEG_SEED0 + 100 * i + k for k in range(args.negative_scenes)]
        folders.append(negative_scenes(args.cache, fam, seeds, size, args.scale))
    return folders


def score(model: Any, data: SegSet, threshold: float) -> dict[str, float]:
    """Pixel IoU (pooled) and tile recall of the model used as its own screen."""
    probs = predict_probs(model, data.images)
    labels = labels_from_probs(probs, threshold)
    valid = data.targets != IGNORE
    truth = np.where(valid, data.targets == 1, False)
    share = truth.sum((1, 2)) / np.maximum(valid.sum((1, 2)), 1)
    marked = np.where(valid, labels == 1, False).sum((1, 2)) / np.maximum(valid.sum((1, 2)), 1)
    pos = share >= 0.25
    return {
        "iou": iou_score(data.targets, labels, 2),
        "tile_recall": float((marked[pos] >= 0.10).mean()) if pos.any() else float("nan"),
        "positive_tiles": int(pos.sum()),
        "tiles": len(data),
    }


def scene_folders(args: argparse.Namespace, fam: str, test: bool) -> Path:
    """The folder of a family's training or test scenes (generated if missing)."""
    i = FAMILIES.index(fam)
    n = args.test_scenes if test else args.train_scenes
    seed0 = (TEST_SEED0 if test else TRAIN_SEED0) + 100 * i
    size = tuple(args.test_size if test else args.size)
    pairs = family_scenes(
        args.cache, fam, [seed0 + k for k in range(n)], size, args.scale, args.layout,
        tag="-test" if test else "-train",
    )  # fmt: skip
    return pairs[0][0].parent


def fold(args: argparse.Namespace, held: str) -> dict[str, Any]:
    """Train without ``held``; score on ``held`` and on the training families' test scenes.

    ``held = "none"`` trains on every family: the reference row (same budget, nothing unseen).
    """
    others = [f for f in args.families if f != held]
    t0 = time.perf_counter()
    folders = [d for f in others for d in training_folders(args, f)]
    data = tiles(folders, args.tile, args.max_tiles, 0, tuple(args.levels))
    splits = prepare_splits(data, seed=0, fractions=(0.8, 0.2, 0.0))
    cfg = SegTrainConfig(
        arch=args.arch,
        schedule=args.schedule,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch,
        seed=0,
        threads=args.threads,
        max_minutes=args.max_minutes,
        coarsen=args.coarsen,
    )
    model, hist = train_segmenter(splits["train"], splits["val"], cfg, progress=False, log=True)
    thr = hist["threshold"]
    test = {f: tiles([scene_folders(args, f, True)], args.tile, None, 1) for f in args.families}
    return {
        "held_out": held,
        "trained_on": others,
        "train_tiles": len(splits["train"]),
        "val_tiles": len(splits["val"]),
        "threshold": thr,
        "minutes": round((time.perf_counter() - t0) / 60, 1),
        "stopped_early": hist["stopped_early"],
        "held_out_scores": score(model, test[held], thr) if held in test else None,
        "seen_scores": score(model, concat([test[f] for f in others]), thr),
        "per_family": {f: score(model, d, thr) for f, d in test.items()},
        "history": hist["epochs"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument(
        "--held-out",
        nargs="+",
        default=None,
        help="run only these folds (default all; 'none' = the reference fold trained on every"
        " family); earlier folds in --out/lofo.json are kept, so each fold can run under its"
        " own CPU-lock turn",
    )
    ap.add_argument("--train-scenes", type=int, default=6, help="per training family")
    ap.add_argument("--test-scenes", type=int, default=3, help="per family")
    ap.add_argument("--size", type=int, nargs=2, default=(1024, 1024), help="training scenes")
    ap.add_argument("--test-size", type=int, nargs=2, default=(1024, 1024))
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--layout", default="regions")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--max-tiles", type=int, default=12, help="per training scene and level")
    ap.add_argument("--levels", type=int, nargs="+", default=[0], help="training tile levels")
    ap.add_argument("--patch-scenes", type=int, default=0, help="layout patches, per family")
    ap.add_argument("--negative-scenes", type=int, default=0, help="hard negatives, per family")
    ap.add_argument("--coarsen", type=float, default=0.0, help="train segmenter --coarsen")
    ap.add_argument("--arch", default="slim-unet")
    ap.add_argument("--schedule", default="one")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=12.0, help="training cap per fold")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/areoscan/families")
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache/areoscan/lofo")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "lofo.json"
    folds = (
        {f["held_out"]: f for f in json.loads(store.read_text())["folds"]}
        if store.is_file()
        else {}
    )
    for held in args.held_out or args.families:
        folds[held] = fold(args, held)
        store.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "folds": list(folds.values())},
                indent=1,
            )
        )
    lines = [
        "| family held out | trained on | train tiles | pixel IoU, held out | tile recall, held out "
        "| pixel IoU, training families' test scenes | minutes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for held in [*args.families, "none"]:
        if held not in folds:
            continue
        r = folds[held]
        h, s = r["held_out_scores"], r["seen_scores"]
        cells = (
            f"{h['iou']:.3f} | {h['tile_recall']:.3f} ({h['positive_tiles']} tiles)"
            if h
            else "– | –"
        )
        lines.append(
            f"| {held} | {', '.join(r['trained_on'])} | {r['train_tiles']} | {cells} | "
            f"{s['iou']:.3f} | {r['minutes']} |"
        )
    table = "\n".join(lines)
    (args.out / "lofo.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
