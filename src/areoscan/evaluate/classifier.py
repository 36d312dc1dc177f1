"""Evaluate a trained tile classifier on labelled tiles: metrics, baselines, speed, traps.

Use :func:`evaluate_classifier` (what ``areoscan evaluate classifier`` runs). Data classes are
matched to the model's classes by name; for a binary screen, every data class that is not the
positive class counts as negative, and the false-positive rate is also reported per data class
(e.g. per HiRISE landmark class). Observations the model saw in training or validation (listed in
its card) are left out unless asked otherwise, so the numbers are held out by observation.
For screens the recall / FP rate are recomputed with each tile's brightness and contrast swapped
to the other group's, which exposes a screen that keys on brightness instead of texture.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from areoscan.data.augment import swap_brightness_contrast
from areoscan.data.metrics import binary_rates, confusion_matrix, scores
from areoscan.data.samples import SampleSet
from areoscan.errors import DataError
from areoscan.models.card import ModelCard
from areoscan.models.classify import decide, predict_tiles


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", " ").replace("-", " ")


def map_labels(samples: SampleSet, card: ModelCard) -> np.ndarray:
    """Data labels -> model class indices (by name; screens: anything else is negative)."""
    lookup = {_norm(c): i for i, c in enumerate(card.classes)}
    negative = None
    if card.positive_class is not None and card.n_classes == 2:
        negative = 1 - card.classes.index(card.positive_class)
    table = []
    for c in samples.classes:
        if _norm(c) in lookup:
            table.append(lookup[_norm(c)])
        elif negative is not None:
            table.append(negative)
        else:
            raise DataError(
                f"data class {c!r} is not one of the model's classes {card.classes}; use DIR@CLASS to relabel"
            )
    return np.asarray(table, dtype=np.int64)[samples.labels]


def held_out(samples: SampleSet, card: ModelCard) -> tuple[SampleSet, int]:
    """Samples whose group (observation) was not used for training or validation; and how many were dropped."""
    seen = set(card.training.get("groups", {}).get("train", [])) | set(
        card.training.get("groups", {}).get("validation", [])
    )
    keep = [i for i, g in enumerate(samples.groups) if g not in seen]
    return samples.subset(keep), len(samples) - len(keep)


def evaluate_classifier(
    runner: Callable[[np.ndarray], np.ndarray],
    card: ModelCard,
    samples: SampleSet,
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, Any]:
    """Every number of the results table for ``samples`` (JSON-ready dict)."""
    if len(samples) == 0:
        raise DataError("no evaluation tiles left (all were in the model's training observations?)")
    y = map_labels(samples, card)
    t0 = time.perf_counter()
    probs = predict_tiles(runner, samples.images, batch_size, progress, card.calibration)
    seconds = time.perf_counter() - t0
    pred = decide(probs, card)
    cm = confusion_matrix(y, pred, card.n_classes)
    out: dict[str, Any] = scores(cm, card.classes)
    out["is_screen"] = card.positive_class is not None
    tiles_per_s = len(samples) / max(seconds, 1e-9)
    side0 = card.tile_size * 2**card.level  # level-0 pixels covered by one tile side
    out["speed"] = {
        "tiles_per_s": tiles_per_s,
        "area_1k_per_s": tiles_per_s * side0**2 / 1024**2,
        "batch_size": batch_size,
    }
    if card.positive_class is not None:
        pos = card.classes.index(card.positive_class)
    else:  # multi-class: "any class but the majority" counts as positive
        pos = -1
    out["binary"] = _binary(y, pred, pos, card) if pos >= 0 else _binary_any(y, pred, out)
    out["per_data_class"] = _per_data_class(samples, pred, y, pos)
    if pos >= 0 and (y == pos).any() and (y != pos).any():
        out["ranking"] = screen_ranking(probs[:, pos], y == pos)
        out["swapped_brightness"] = _swapped(runner, card, samples, y, pos, batch_size)
    return out


def screen_ranking(p_pos: np.ndarray, is_pos: np.ndarray) -> dict[str, float]:
    """How well a screen orders the tiles, whatever its threshold: ROC AUC (ties count half) and
    the false-positive rate at the highest threshold that still flags every positive.

    Use it to compare two screens whose thresholds were tuned by different rules: a lower FP rate
    at a higher threshold may just be a stricter threshold, a better AUC is a better ranking.
    """
    from scipy.stats import rankdata

    pos, neg = p_pos[is_pos], p_pos[~is_pos]
    ranks = rankdata(np.r_[neg, pos])  # ties get their average rank
    u = ranks[len(neg) :].sum() - len(pos) * (len(pos) + 1) / 2
    return {
        "auc": float(u / (len(pos) * len(neg))),
        "fpr_at_full_recall": float((neg >= pos.min()).mean()),
        "lowest_positive": float(pos.min()),
    }


def _binary(y: np.ndarray, pred: np.ndarray, pos: int, card: ModelCard) -> dict[str, float]:
    return binary_rates(confusion_matrix(y == pos, pred == pos, 2), positive=1)


def _binary_any(y: np.ndarray, pred: np.ndarray, s: dict[str, Any]) -> dict[str, float]:
    names = list(s["per_class"])
    maj = names.index(s["majority_class"])
    return binary_rates(confusion_matrix(y != maj, pred != maj, 2), positive=1)


def _per_data_class(
    samples: SampleSet, pred: np.ndarray, y: np.ndarray, pos: int
) -> dict[str, dict[str, float]]:
    out = {}
    for i, c in enumerate(samples.classes):
        sel = samples.labels == i
        if not sel.any():
            continue
        row = {"n": int(sel.sum()), "accuracy": float((pred[sel] == y[sel]).mean())}
        if pos >= 0:
            row["predicted_positive"] = float((pred[sel] == pos).mean())
        out[c] = row
    return out


def _swapped(
    runner: Callable[[np.ndarray], np.ndarray],
    card: ModelCard,
    samples: SampleSet,
    y: np.ndarray,
    pos: int,
    batch_size: int,
) -> dict[str, Any]:
    """Recall / FP rate after giving positives the negatives' mean+sd and vice versa."""
    img = samples.images
    is_pos = y == pos
    stats = {
        k: (float(img[m].mean(axis=(1, 2)).mean()), float(img[m].std(axis=(1, 2)).mean()))
        for k, m in (("pos", is_pos), ("neg", ~is_pos))
    }
    swapped = img.copy()
    swapped[is_pos] = swap_brightness_contrast(img[is_pos], *stats["neg"])
    swapped[~is_pos] = swap_brightness_contrast(img[~is_pos], *stats["pos"])
    pred = decide(predict_tiles(runner, swapped, batch_size, calibration=card.calibration), card)
    rates = binary_rates(confusion_matrix(is_pos, pred == pos, 2), positive=1)
    return {
        "positive_mean_sd_255": [round(v * 255, 1) for v in stats["pos"]],
        "negative_mean_sd_255": [round(v * 255, 1) for v in stats["neg"]],
        **rates,
    }
