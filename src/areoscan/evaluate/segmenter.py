"""Evaluate a segmenter: pixel metrics on labelled tiles, coral share on real tiles, throughput.

Use :func:`evaluate_tiles` for labelled tiles (a :class:`~areoscan.data.seg_samples.SegSet`):
confusion matrix, per-class IoU / precision / recall / F1 and, for binary models, the reference's
TP / TN / FP / FN % columns. Use :func:`coral_tile_shares` and :func:`landmark_shares` for real
tiles that have no masks (the share of pixels marked brain coral: high on real brain coral, near 0
on real landmark tiles). :func:`tiles_per_second` measures 1K×1K tiles/s on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.data.landmarks import landmark_rows
from areoscan.data.metrics import ConfusionAccumulator, binary_rates, scores
from areoscan.data.seg_samples import IGNORE_INDEX, upsample_tile
from areoscan.errors import DataError
from areoscan.io.tilefile import read_tile

# Real coral tiles are 0.25 m/px imagery downsampled ~3x (~0.75 m/px); the model works at 0.25.
CORAL_TILE_UPSAMPLE = 3


def metrics_from_confusion(cm: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Summary dict: ``iou``/``f1``/``precision``/``recall`` of the positive class (binary) or
    their macro means (multi-class), ``per_class``, ``mean_iou``, and TP/TN/FP/FN % for binary."""
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
        out["accuracy"] = s["accuracy"]
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


def positive_share(predictor: Any, image: np.ndarray) -> float:
    """Share of a tile's valid pixels marked as the positive class (binary) / class 1 (multi)."""
    lab = predictor.labels(image[None, None].astype(np.float32))[0]
    valid = image > 0
    return float((lab[valid] == 1).mean()) if valid.any() else 0.0


def coral_tile_shares(
    predictor: Any, folder: str | Path, upsample: int = CORAL_TILE_UPSAMPLE
) -> dict[str, float]:
    """Per real brain-coral tile (PNG), the share of pixels marked brain coral.

    Tiles are upsampled ``upsample``× (bicubic) to the 0.25 m/px training scale first.
    """

    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise DataError(f"{folder}: no PNG brain-coral tiles found")
    return {f.name: positive_share(predictor, upsample_tile(read_tile(f), upsample)) for f in files}


def landmark_shares(
    predictor: Any,
    root: str | Path,
    observations: set[str] | None = None,
    exclude: set[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Per landmark class, the mean and max share of pixels marked brain coral (original tiles).

    ``root``: a hirise-landmarks-v3 or -v1 folder. Tiles are used at their own (browse) scale;
    ``observations`` keeps only those observations, ``exclude`` leaves these out (e.g. the ones
    the model was trained or validated on).
    """

    rows = landmark_rows(root)
    if observations is not None:
        rows = [r for r in rows if r[2] in observations]
    if exclude:
        rows = [r for r in rows if r[2] not in exclude]
    shares: dict[str, list[float]] = {}
    for path, cls, _ in rows:
        img = np.clip(read_tile(path), 1e-3, 1.0)
        shares.setdefault(cls, []).append(positive_share(predictor, img))
    return {
        k: {"tiles": len(v), "mean_share": float(np.mean(v)), "max_share": float(np.max(v))}
        for k, v in sorted(shares.items())
    }


def seen_landmark_observations(card: Any) -> set[str]:
    """Landmark observations a segmenter's card says it (or the model it was fine-tuned from) was
    trained or validated on."""
    training = card.training or {}
    data = training.get("data", {})
    seen = {o for k in ("train", "val") for o in data.get(k, {}).get("landmark_observations", [])}
    return seen | set(training.get("init_landmark_observations", []))


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
