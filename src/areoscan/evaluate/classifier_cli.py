"""``areoscan evaluate classifier``: metrics of a trained classifier on labelled tiles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from areoscan.data.sources import DATA_HELP


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "classifier",
        help="evaluate a tile classifier (reference columns, per-class metrics, majority baseline)",
        description="Evaluate a tile classifier on labelled tiles. Prints model, train n, test n, F1, "
        "TP/TN/FP/FN %%, 1K×1K tiles/s; for several classes the confusion matrix, per-class "
        "precision/recall/F1, macro-F1 and the majority-class baseline; a model whose predictions "
        "collapse onto one class is flagged. Tiles from observations the model was trained or "
        "validated on are left out by default. Exit 1 if the predictions collapsed.",
    )
    p.add_argument(
        "--model", required=True, help="shipped model name, model folder, .json or .onnx"
    )
    p.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="SPEC",
        help=DATA_HELP.replace("training", "evaluation"),
    )
    p.add_argument(
        "--backend", default="torch", choices=["torch", "onnx"], help="inference backend [torch]"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    p.add_argument(
        "--include-training-groups",
        action="store_true",
        help="keep tiles from observations used in training",
    )
    p.add_argument(
        "--seed", type=int, default=12345, help="seed for synth:N evaluation tiles [12345]"
    )
    p.add_argument(
        "--json", type=Path, default=None, metavar="OUT", help="also write all numbers as JSON"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from areoscan.data.samples import concat, load_source
    from areoscan.evaluate.classifier import evaluate_classifier, held_out
    from areoscan.evaluate.report import classifier_report
    from areoscan.models.card import write_bytes_atomic
    from areoscan.models.export import make_runner

    torch.set_num_threads(max(1, args.threads))
    runner, card = make_runner(args.model, backend=args.backend)
    scale = card.scale_m_per_px or 1.0
    sets = [
        load_source(s, card.tile_size, card.resize, card.level, scale, args.seed + 1000 * i)
        for i, s in enumerate(args.data)
    ]
    samples = concat(sets)
    excluded = 0
    if not args.include_training_groups:
        samples, excluded = held_out(samples, card)
    res = evaluate_classifier(runner, card, samples, args.batch_size)
    train_n = (card.training.get("train") or {}).get("n", "?")
    print(classifier_report(card.name, train_n, res, excluded))
    if args.json:
        res["model"] = card.name
        res["excluded_training_tiles"] = excluded
        write_bytes_atomic(args.json, (json.dumps(res, indent=2) + "\n").encode())
    if res.get("collapsed"):
        print(f"areoscan: {res['collapsed']}", file=sys.stderr)
        return 1
    return 0
