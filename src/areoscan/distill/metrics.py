"""Pixel metrics of a class map against the truth: the study's mIoU, micro-F1/P/R, accuracy, macro-F1.

Use :func:`confusion` to accumulate over images and :func:`scores` to read the figures from it.
Class 0 is background. ``accuracy`` and ``miou`` count every class (background included);
``micro_*`` pool the true / false positives and false negatives of the foreground classes (so a map
that is all background scores 0, not the background's share); ``macro_f1`` averages the foreground
classes' F1 (classes absent from both truth and prediction are left out).
"""

from __future__ import annotations

import numpy as np


def confusion(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` int64 counts, rows = truth, columns = prediction."""
    t = truth.astype(np.int64).ravel()
    p = pred.astype(np.int64).ravel()
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def scores(cm: np.ndarray) -> dict[str, float]:
    """mIoU, accuracy, micro precision / recall / F1, macro-F1 and foreground IoU of a confusion."""
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    seen = (tp + fp + fn) > 0
    iou = np.divide(tp, tp + fp + fn, out=np.zeros_like(tp), where=seen)
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=seen)
    fg = slice(1, None)
    tp_f, fp_f, fn_f = tp[fg].sum(), fp[fg].sum(), fn[fg].sum()
    precision, recall = _ratio(tp_f, tp_f + fp_f), _ratio(tp_f, tp_f + fn_f)
    fg_seen = seen[fg]
    return {
        "miou": float(iou[seen].mean()) if seen.any() else 0.0,
        "accuracy": _ratio(tp.sum(), cm.sum()),
        "micro_precision": precision,
        "micro_recall": recall,
        "micro_f1": _ratio(2 * tp_f, 2 * tp_f + fp_f + fn_f),
        "macro_f1": float(f1[fg][fg_seen].mean()) if fg_seen.any() else 0.0,
        "fg_iou": _ratio(tp_f, tp_f + fp_f + fn_f),
    }


METRICS = ("miou", "micro_f1", "accuracy", "micro_precision", "micro_recall", "macro_f1")
