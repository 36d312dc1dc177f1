"""Segmenter scores on labelled tiles, shared by training (held-out metrics in the card) and evaluation.

Use :func:`evaluate_tiles` to score a segmenter (anything with ``labels(tiles)`` and a ``card``) on
a :class:`~areoscan.data.seg_samples.SegSet`: confusion matrix, per-class IoU / precision / recall
/ F1, pixel accuracy, macro-F1, the majority-class baseline and, for binary models, the reference's
TP / TN / FP / FN % columns (:func:`metrics_from_confusion` on any confusion matrix).
:func:`tiles_per_second` measures the 1K×1K tiles/s column on this machine, :func:`train_tiles`
reads a card's training-tile count, and :func:`table_row` / :func:`markdown_table` /
:func:`per_class_table` print the reference's results table from these dicts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from areoscan.data.metrics import ConfusionAccumulator, binary_rates, scores
from areoscan.data.seg_samples import IGNORE_INDEX


def metrics_from_confusion(cm: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Summary dict: ``iou``/``f1``/``precision``/``recall`` of the positive class (binary) or
    their macro means (multi-class), ``per_class``, ``mean_iou``, TP/TN/FP/FN % for binary, and for
    every model pixel ``accuracy``, ``macro_f1`` and the majority-class baseline
    (``majority_class``, ``majority_accuracy``, ``majority_macro_f1``)."""
    s = scores(cm, list(classes))
    per = s["per_class"]
    out: dict[str, Any] = {"pixels": s["n"], "mean_iou": s["mean_iou"], "per_class": per}
    if len(classes) == 2:
        pos = per[classes[1]]
        out.update({k: pos[k] for k in ("iou", "f1", "precision", "recall")})
        out.update(binary_rates(cm, positive=1))
    else:
        present = [v for v in per.values() if v["support"] > 0]
        for k in ("iou", "f1", "precision", "recall"):
            out[k] = float(np.mean([v[k] for v in present])) if present else 0.0
    out.update({k: s[k] for k in ("accuracy", "macro_f1", "majority_class")})
    out.update({k: s[k] for k in ("majority_accuracy", "majority_macro_f1")})
    out["collapsed"] = s["collapsed"]
    out["confusion"] = s["confusion"]
    return out


def evaluate_tiles(predictor: Any, data: Any, batch_size: int = 8) -> dict[str, Any]:
    """Pixel metrics of ``predictor`` on a SegSet; also metrics per sample source."""
    classes = list(predictor.card.classes)
    n = len(classes)
    total = ConfusionAccumulator(n, ignore_index=IGNORE_INDEX)
    by_source: dict[str, ConfusionAccumulator] = {}
    for i in range(0, len(data), batch_size):
        labels = predictor.labels(data.images[i : i + batch_size, None])
        for j in range(labels.shape[0]):
            tgt = data.targets[i + j]
            total.update(tgt, labels[j])
            src = data.sources[i + j]
            by_source.setdefault(src, ConfusionAccumulator(n, ignore_index=IGNORE_INDEX)).update(
                tgt, labels[j]
            )
    out = metrics_from_confusion(total.matrix, classes)
    out["tiles"] = len(data)
    out["by_source"] = {
        k: {
            kk: v
            for kk, v in metrics_from_confusion(acc.matrix, classes).items()
            if kk in ("iou", "f1", "fpr", "recall", "pixels")
        }
        for k, acc in sorted(by_source.items())
    }
    return out


def train_tiles(card: Any) -> int | str:
    """How many tiles a segmenter was trained on, from its card ("?" when the card does not say)."""
    return card.metrics.get("test", {}).get(
        "train_tiles", card.training.get("data", {}).get("train", {}).get("tiles", "?")
    )


def tiles_per_second(predictor: Any, size: int = 1024, batch: int = 2, repeats: int = 2) -> float:
    """1K×1K tiles per second (the reference's column), after one warm-up batch.

    Timed on ``size``-px tiles and expressed per 1024×1024 tile by pixel count, so a smaller
    ``size`` gives a quicker (slightly optimistic) estimate of the same column.
    """
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.8, (batch, 1, size, size)).astype(np.float32)
    predictor(x)
    t0 = time.perf_counter()
    for _ in range(repeats):
        predictor(x)
    return batch * repeats / (time.perf_counter() - t0) * (size * size) / (1024 * 1024)


TABLE_COLUMNS = (
    "model",
    "train n",
    "test n",
    "IoU",
    "F1",
    "precision",
    "recall",
    "TP%",
    "TN%",
    "FP%",
    "FN%",
    "1K×1K tiles/s",
)


def table_row(name: str, train_n: int | str, m: dict[str, Any], tps: float | None) -> list[str]:
    """One row of the reference's results table from :func:`evaluate_tiles` output."""

    def pct(key: str) -> str:
        return f"{m[key]:.1f}" if key in m else "–"

    return [
        name,
        str(train_n),
        str(m.get("tiles", "–")),
        f"{m['iou']:.3f}",
        f"{m['f1']:.3f}",
        f"{m['precision']:.3f}",
        f"{m['recall']:.3f}",
        pct("tp_pct"),
        pct("tn_pct"),
        pct("fp_pct"),
        pct("fn_pct"),
        f"{tps:.3g}" if tps is not None else "–",
    ]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def per_class_table(m: dict[str, Any]) -> str:
    """Markdown table of per-class IoU / precision / recall / F1 / support."""
    rows = [
        [
            k,
            f"{v['iou']:.3f}",
            f"{v['precision']:.3f}",
            f"{v['recall']:.3f}",
            f"{v['f1']:.3f}",
            str(v["support"]),
        ]
        for k, v in m["per_class"].items()
    ]
    return markdown_table(["class", "IoU", "precision", "recall", "F1", "pixels"], rows)
