"""Verbs ``areoscan models`` (list shipped models), ``areoscan export`` (ONNX) and ``areoscan classify``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "models",
        help="list the models shipped with areoscan",
        description="List shipped models: task, architecture, input (size, level, m/px), classes and held-out metrics.",
    )
    p.add_argument("--json", action="store_true", help="print the model cards as JSON")
    p.add_argument(
        "--dir",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also list the models (name.json + name.safetensors) in DIR, e.g. trained decoders",
    )
    p.set_defaults(func=run_models)

    p = subparsers.add_parser(
        "export",
        help="export a model to ONNX (with a parity check against torch)",
        description="Export a model to ONNX (TorchScript exporter, batch axis dynamic, model card in the "
        "ONNX metadata) and check that onnxruntime matches torch on random input (max |Δ| ≤ 1e-4; exit 1 if not).",
    )
    p.add_argument("--model", required=True, help="shipped model name, model folder or .json")
    p.add_argument("--onnx", required=True, type=Path, metavar="OUT.onnx", help="output file")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=run_export)

    p = subparsers.add_parser(
        "classify",
        help="classify image tiles (PNG/JPG/TIFF) into a CSV of labels and class probabilities",
        description="Classify image tiles of any size (resized by the model's own rule) and write a CSV "
        "with columns file, label and p_<class> per class.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE_OR_DIR",
        help="tile files or folders (searched recursively)",
    )
    p.add_argument(
        "--model", required=True, help="shipped model name, model folder, .json or .onnx"
    )
    p.add_argument(
        "--out", type=Path, default=None, metavar="preds.csv", help="output CSV (default: stdout)"
    )
    p.add_argument(
        "--backend", default="torch", choices=["torch", "onnx"], help="inference backend [torch]"
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar (none either off a terminal)"
    )
    p.set_defaults(func=run_classify)


def _model_paths(dirs: list[Path]) -> list[Path]:
    """Card paths: the shipped models', then those in each of ``dirs`` (with their weights)."""
    from areoscan.errors import ModelError
    from areoscan.models.registry import shipped_dir, shipped_models

    cards = [shipped_dir() / f"{n}.json" for n in shipped_models()]
    for folder in dirs:
        if not folder.is_dir():
            raise ModelError(f"{folder}: no such model folder")
        cards += sorted(p for p in folder.glob("*.json") if p.with_suffix(".safetensors").is_file())
    return cards


def run_models(args: argparse.Namespace) -> int:
    from areoscan.models.registry import load_card, shipped_dir

    paths = _model_paths(args.dir)
    if args.json:
        print(json.dumps([load_card(p).to_dict() for p in paths], indent=2))
        return 0
    if not paths:
        print("no shipped models found in", shipped_dir())
        return 0
    for path in paths:
        c = load_card(path)
        n = c.name if path.parent == shipped_dir() else str(path)
        size_mb = path.with_suffix(".safetensors").stat().st_size / 1e6
        test = c.metrics.get("test", {})
        scale = f"{c.scale_m_per_px:g} m/px" if c.scale_m_per_px else "scale n/a"
        print(
            f"{n}  ({c.task}, {c.arch}/{c.mode}, {c.tile_size} px at level {c.level}, {scale}, {size_mb:.1f} MB)"
        )
        print(f"    classes: {', '.join(c.classes)}")
        keys = [
            k
            for k in ("accuracy", "macro_f1", "majority_accuracy", "mean_iou", "iou", "f1", "miou")
            if k in test
        ]
        if keys:
            line = "    held-out: " + ", ".join(f"{k} {float(test[k]):.3f}" for k in keys)
            if c.threshold is not None:
                line += f"; threshold {c.threshold:.3f} on p({c.positive_class})"
            print(line)
        cv = c.metrics.get("cv", {})
        if "ap50" in cv:  # detectors: scored by cross-validation (the shipped fit saw every crop)
            print(
                f"    held-out in CV ({cv.get('folds', '?')} of {cv.get('folds_total', '?')} folds): "
                f"AP50 {float(cv['ap50']):.3f}, "
                f"macro-F1@0.5 {float(cv['macro_f1_50']):.3f} ({cv.get('images', '?')} images)"
            )
    return 0


def run_export(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from areoscan.models.export import OnnxRunner, TorchRunner, export_onnx
    from areoscan.models.registry import load_model

    torch.set_num_threads(2)
    module, card = load_model(args.model)
    out = export_onnx(module, card, args.onnx, opset=args.opset)
    x = np.random.default_rng(0).random(
        (4, card.in_channels, card.tile_size, card.tile_size), dtype=np.float32
    )
    delta = float(np.abs(TorchRunner(module, card)(x) - OnnxRunner(out, card)(x)).max())
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB); onnxruntime vs torch max |Δ| = {delta:.2e}"
    )
    if delta > 1e-4:
        print(
            f"areoscan: {out}: ONNX output differs from torch by {delta:.2e} (> 1e-4)",
            file=sys.stderr,
        )
        return 1
    return 0


def run_classify(args: argparse.Namespace) -> int:
    import torch

    from areoscan.models.classify import classify_paths, write_csv

    torch.set_num_threads(max(1, args.threads))
    rows, card = classify_paths(
        args.inputs, args.model, args.backend, args.batch_size, progress=not args.quiet
    )
    text = write_csv(rows, card, args.out)
    if args.out is None:
        sys.stdout.write(text)
    else:
        counts: dict[str, int] = {}
        for r in rows:
            counts[str(r["label"])] = counts.get(str(r["label"]), 0) + 1
        print(f"wrote {args.out}: {len(rows)} tiles {counts}", file=sys.stderr)
    return 0
