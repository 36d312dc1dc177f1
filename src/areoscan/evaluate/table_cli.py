"""``areoscan evaluate table``: the reference's results table for several models in one command.

Use it to regenerate the docs' tables: each model is evaluated on its own held-out tiles (the
tiles of observations it was trained or validated on are left out, as ``evaluate classifier``
does) and gets one row — model, train n, test n, F1, TP%, TN%, FP%, FN%, 1K×1K tiles/s (the
reference's columns), then accuracy, macro-F1 and the majority-class baseline (its accuracy and
macro-F1) — written as Markdown and CSV. ``--data SPEC`` applies to every model;
``--data MODEL=SPEC`` to one. A segmenter (the brain-coral U-Net) is scored per pixel on folders
of labelled scenes (X.JP2 + X_mask.tif at its scale; scenes it never saw), its row in the same
columns: F1 and TP/TN/FP/FN % of the positive class, pixel accuracy, macro-F1 and the
all-background baseline. Exit 1 if any model's predictions collapsed onto one class.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from areoscan.data.sources import DATA_HELP
from areoscan.errors import DataError

TABLE_COLUMNS = (
    "model",
    "train n",
    "test n",
    "F1",
    "TP%",
    "TN%",
    "FP%",
    "FN%",
    "1K×1K tiles/s",
    "accuracy",
    "macro-F1",
    "majority class",
    "majority accuracy",
    "majority macro-F1",
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "table",
        help="the reference's results table (F1, TP/TN/FP/FN %%, tiles/s, baselines) for several "
        "models, as Markdown + CSV",
        description=__doc__.split("\n\n")[1].replace("``", "`"),
    )
    p.add_argument(
        "--models", nargs="+", required=True, metavar="NAME", help="models, in row order"
    )
    p.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="[MODEL=]SPEC",
        help=DATA_HELP.replace("training data", "evaluation data")
        + "; MODEL=SPEC: for one model only",
    )
    p.add_argument("--out", type=Path, metavar="TABLE", help="write TABLE.md and TABLE.csv")
    p.add_argument(
        "--backend", default="torch", choices=["torch", "onnx"], help="inference backend [torch]"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    p.add_argument("--seed", type=int, default=12345, help="seed for synth:N tiles [12345]")
    p.set_defaults(func=run)


def data_for(models: Sequence[str], specs: Sequence[str]) -> dict[str, list[str]]:
    """Each model's data specs: the common ones, then its own (``MODEL=SPEC``)."""
    common = [s for s in specs if not any(s.startswith(f"{m}=") for m in models)]
    out = {m: list(common) for m in models}
    for spec in specs:
        for m in models:
            if spec.startswith(f"{m}="):
                out[m].append(spec[len(m) + 1 :])
    empty = [m for m, s in out.items() if not s]
    if empty:
        raise DataError(f"no --data for {', '.join(empty)}: give --data SPEC or --data MODEL=SPEC")
    return out


def table_row(name: str, train_n: Any, res: dict[str, Any]) -> list[Any]:
    """One row in TABLE_COLUMNS from an ``evaluate_classifier`` result."""
    from areoscan.evaluate.report import summary_row

    return [
        *summary_row(name, train_n, res),
        res["accuracy"],
        res["macro_f1"],
        res["majority_class"],
        res["majority_accuracy"],
        res["majority_macro_f1"],
    ]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def markdown(rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (numbers right-aligned)."""
    head = "| " + " | ".join(TABLE_COLUMNS) + " |"
    align = "| " + " | ".join("---" if i in (0, 11) else "---:" for i in range(len(TABLE_COLUMNS)))
    body = ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return "\n".join([head, align + " |", *body]) + "\n"


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    writer.writerows([[f"{v:.6g}" if isinstance(v, float) else v for v in r] for r in rows])
    return buf.getvalue()


def evaluate_model(name: str, specs: list[str], args: argparse.Namespace) -> tuple[Any, dict]:
    """(train n, evaluate_classifier result) of one model on its held-out tiles."""
    from areoscan.data.samples import concat, load_source
    from areoscan.evaluate.classifier import evaluate_classifier, held_out
    from areoscan.models.export import make_runner

    runner, card = make_runner(name, backend=args.backend)
    scale = card.scale_m_per_px or 1.0
    sets = [
        load_source(s, card.tile_size, card.resize, card.level, scale, args.seed + 1000 * i)
        for i, s in enumerate(specs)
    ]
    samples, _ = held_out(concat(sets), card)
    res = evaluate_classifier(runner, card, samples, args.batch_size, progress=True)
    return (card.training.get("train") or {}).get("n", "?"), res


def evaluate_segmenter(name: str, specs: list[str], args: argparse.Namespace) -> tuple[Any, dict]:
    """(train n, result in ``evaluate_classifier``'s keys) of a segmenter, per pixel on scenes."""
    from areoscan.data.seg_metrics import evaluate_tiles, tiles_per_second, train_tiles
    from areoscan.data.seg_samples import scenes_dataset
    from areoscan.models.segmenters import load_segmenter

    folders = [Path(s) for s in specs]
    for folder in folders:
        if not folder.is_dir():
            raise DataError(
                f"{folder}: a segmenter ({name}) is scored on folders of labelled scenes "
                f"(X.JP2 + X_mask.tif); give --data {name}=DIR"
            )
    pred = load_segmenter(name, backend=args.backend)
    card = pred.card
    mode = "binary" if len(card.classes) == 2 else "terrain"
    data = scenes_dataset(folders, [0], card.tile_size, mode, seed=args.seed)
    m = evaluate_tiles(pred, data, batch_size=max(1, args.batch_size // 8))
    rates = {k: m.get(k, "–") for k in ("tp_pct", "tn_pct", "fp_pct", "fn_pct")}
    result = {
        **{k: m[k] for k in ("accuracy", "macro_f1", "majority_class")},
        **{k: m[k] for k in ("majority_accuracy", "majority_macro_f1")},
        "n": m["tiles"],
        "is_screen": True,
        "binary": {"f1": m["f1"], **rates},
        "speed": {"area_1k_per_s": tiles_per_second(pred, size=512)},
        "collapsed": m.get("collapsed"),
    }
    train_n = train_tiles(card)
    return train_n, result


def run(args: argparse.Namespace) -> int:
    import torch

    from areoscan.models.card import write_bytes_atomic
    from areoscan.models.registry import load_card

    torch.set_num_threads(max(1, args.threads))
    specs = data_for(args.models, args.data)
    rows, collapsed = [], []
    for name in args.models:
        task = load_card(name).task
        evaluate = evaluate_segmenter if task == "segmentation" else evaluate_model
        train_n, res = evaluate(name, specs[name], args)
        rows.append(table_row(name, train_n, res))
        if res.get("collapsed"):
            collapsed.append(f"{name}: {res['collapsed']}")
    md = markdown(rows)
    print(md, end="")
    if args.out:
        write_bytes_atomic(args.out.with_suffix(".md"), md.encode())
        write_bytes_atomic(args.out.with_suffix(".csv"), csv_text(rows).encode())
    for line in collapsed:
        print(f"areoscan: {line}", file=sys.stderr)
    return 1 if collapsed else 0
