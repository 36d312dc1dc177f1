"""``areoscan evaluate segmenter``: pixel metrics on labelled scenes, coral share on real tiles.

Only argument parsing and printing live here; the work is in :mod:`areoscan.data.seg_metrics`
(scores on labelled tiles) and :mod:`areoscan.evaluate.segmenter` (shares on real tiles).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from areoscan.synth.commands import add_pattern_arguments


def register(subparsers: Any) -> None:
    """Add ``segmenter`` to ``areoscan evaluate``."""
    p = subparsers.add_parser(
        "segmenter",
        help="evaluate a segmenter: IoU/F1/P/R, TP/TN/FP/FN %%, tiles/s; coral share of real tiles",
        description="Evaluate a segmenter on labelled scenes (every tile of --scenes, so give held-out "
        "scenes), and report the share of pixels it marks as brain coral on real brain-coral "
        "tiles (--coral-tiles, upsampled x3 to 0.25 m/px) and real landmark tiles per class "
        "(--landmarks, at their own scale).",
    )
    p.add_argument(
        "--model", required=True, help="shipped model name, model folder, .json or .onnx path"
    )
    p.add_argument(
        "--backend", choices=("torch", "onnx"), default="torch", help="inference backend"
    )
    p.add_argument(
        "--scenes", nargs="+", type=Path, metavar="DIR", help="folders of labelled scenes"
    )
    p.add_argument(
        "--synth",
        type=int,
        default=0,
        metavar="N",
        help="first generate N held-out synthetic scenes into the first --scenes folder",
    )
    p.add_argument(
        "--synth-seed",
        type=int,
        default=1000,
        help="seed of the first generated scene (default 1000)",
    )
    p.add_argument("--synth-size", type=int, nargs=2, default=(2048, 2048), metavar=("H", "W"))
    p.add_argument(
        "--synth-scale", type=float, default=0.25, help="scale of generated scenes, m/px"
    )
    p.add_argument(
        "--synth-coral", type=float, default=0.3, help="coral fraction of generated scenes"
    )
    add_pattern_arguments(p)
    p.add_argument(
        "--synth-sun-azimuth",
        type=float,
        default=None,
        metavar="DEG",
        help="fix the sun azimuth of generated scenes (training draws 200-300)",
    )
    p.add_argument(
        "--synth-incidence",
        type=float,
        default=None,
        metavar="DEG",
        help="fix the solar incidence of generated scenes (training draws 40-65)",
    )
    p.add_argument(
        "--levels", type=int, nargs="+", default=[0], metavar="L", help="levels to cut tiles from"
    )
    p.add_argument(
        "--tile", type=int, default=None, help="tile size (default: the card's tile size)"
    )
    p.add_argument("--max-tiles-per-scene", type=int, default=None, metavar="N")
    p.add_argument(
        "--coral-tiles", type=Path, metavar="DIR", help="folder of real brain-coral PNG tiles"
    )
    p.add_argument(
        "--coral-upsample", type=int, default=3, help="upsampling of the coral tiles (default 3)"
    )
    p.add_argument("--landmarks", type=Path, metavar="DIR",
                   help="hirise-landmarks-v3 or -v1 folder (observations in the card's training "
                        "or validation split are left out)")  # fmt: skip
    p.add_argument("--all-landmark-tiles", action="store_true",
                   help="also use landmark tiles of observations the model was trained on")  # fmt: skip
    p.add_argument(
        "--speed-size",
        type=int,
        default=1024,
        help="tile side for the tiles/s figure (default 1024)",
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="also write every number to OUT (JSON)")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    """Entry point of ``areoscan evaluate segmenter``."""
    import torch

    from areoscan.data.seg_metrics import (
        TABLE_COLUMNS,
        evaluate_tiles,
        markdown_table,
        per_class_table,
        table_row,
        tiles_per_second,
        train_tiles,
    )
    from areoscan.data.sources import DEFAULT_SCENE_CACHE
    from areoscan.errors import DataError
    from areoscan.io import atomic_output
    from areoscan.models.segmenters import load_segmenter

    torch.set_num_threads(2)
    pred = load_segmenter(args.model, backend=args.backend)
    card = pred.card
    if not (args.scenes or args.synth or args.coral_tiles or args.landmarks):
        raise DataError(
            "nothing to evaluate on: give --scenes/--synth, --coral-tiles and/or --landmarks"
        )
    report: dict[str, Any] = {"model": card.name, "backend": args.backend}
    train_n = train_tiles(card)
    tps = tiles_per_second(pred, size=args.speed_size)
    report["tiles_per_s_1k"] = tps
    if args.scenes or args.synth:
        from areoscan.data.seg_samples import scenes_dataset
        from areoscan.data.synth_args import synthesize_from_args

        folders = list(args.scenes or [DEFAULT_SCENE_CACHE.with_name("seg-heldout")])
        if args.synth:
            synthesize_from_args(
                args,
                folders[0],
                sun_azimuth=args.synth_sun_azimuth,
                incidence=args.synth_incidence,
            )
        mode = "binary" if len(card.classes) == 2 else "terrain"
        data = scenes_dataset(
            folders,
            args.levels,
            args.tile or card.tile_size,
            mode,
            max_tiles=args.max_tiles_per_scene,
            seed=args.synth_seed,
        )
        m = evaluate_tiles(pred, data)
        report["scenes"] = m
        print(markdown_table(TABLE_COLUMNS, [table_row(card.name, train_n, m, tps)]))
        print()
        print(per_class_table(m))
        if m.get("collapsed"):
            print(f"\nWARNING: {m['collapsed']}")
    else:
        print(f"{card.name}: {tps:.3g} 1K×1K tiles/s ({args.backend})")
    if args.coral_tiles:
        report["coral_tiles"] = _coral_tiles(pred, args)
    if args.landmarks:
        report.update(_landmarks(pred, args))
    if args.json:
        with atomic_output(args.json) as tmp:
            Path(tmp).write_text(json.dumps(report, indent=2, default=float))
        print(f"\nwrote {args.json}")
    return 0


def _coral_tiles(pred: Any, args: argparse.Namespace) -> dict[str, float]:
    """Share of each real brain-coral tile marked coral (printed as a table)."""
    import numpy as np

    from areoscan.data.seg_metrics import markdown_table
    from areoscan.evaluate.segmenter import coral_tile_shares

    shares = coral_tile_shares(pred, args.coral_tiles, upsample=args.coral_upsample)
    vals = np.array(list(shares.values()))
    print(
        f"\nreal brain-coral tiles (x{args.coral_upsample}): share marked coral mean {vals.mean():.3f}, "
        f"min {vals.min():.3f}, max {vals.max():.3f} over {len(vals)} tiles"
    )
    print(
        markdown_table(["tile", "share marked coral"], [[k, f"{v:.3f}"] for k, v in shares.items()])
    )
    return shares


def _landmarks(pred: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Share of real landmark tiles marked coral per class, leaving out observations the model saw."""
    from areoscan.data.landmarks import seen_landmark_observations
    from areoscan.data.seg_metrics import markdown_table
    from areoscan.evaluate.segmenter import landmark_shares

    seen = set() if args.all_landmark_tiles else seen_landmark_observations(pred.card)
    lm = landmark_shares(pred, args.landmarks, exclude=seen)
    left = (
        f", leaving out the {len(seen)} observations the model was trained or validated on"
        if seen
        else ""
    )
    print(f"\nreal landmark tiles (should be near 0){left}:")
    print(
        markdown_table(
            ["class", "tiles", "mean share marked coral", "max share"],
            [
                [k, str(v["tiles"]), f"{v['mean_share']:.4f}", f"{v['max_share']:.3f}"]
                for k, v in lm.items()
            ],
        )
    )
    return {"landmarks": lm, "landmark_observations_left_out": sorted(seen)}
