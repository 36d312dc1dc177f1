"""Classification and segmentation metrics from a confusion matrix (pure numpy).

Use :func:`confusion_matrix` (or :class:`ConfusionAccumulator` to stream many tiles / pixel arrays)
and then :func:`scores` for everything a results table needs: per-class precision / recall / F1 /
IoU, macro-F1, accuracy, mean IoU, the majority-class baseline, and a detector for predictions that
collapsed onto one class. :func:`binary_rates` gives the reference's TP% / TN% / FP% / FN% columns.
Rows of a confusion matrix are the true class, columns the predicted class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int,
    ignore_index: int | None = None,
) -> np.ndarray:
    """(n_classes, n_classes) int64 counts; entries equal to ``ignore_index`` in y_true are skipped.

    Works for label vectors and for pixel arrays of any shape (segmentation masks).
    Labels outside ``0..n_classes-1`` (other than ``ignore_index``) raise ValueError.
    """
    t = np.asarray(y_true).reshape(-1).astype(np.int64, copy=False)
    p = np.asarray(y_pred).reshape(-1).astype(np.int64, copy=False)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} entries but y_pred has {p.size}")
    if ignore_index is not None:
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    bad = (t < 0) | (t >= n_classes) | (p < 0) | (p >= n_classes)
    if bad.any():
        raise ValueError(
            f"labels must be in 0..{n_classes - 1}; found {np.unique(np.r_[t[bad], p[bad]])[:5]}"
        )
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


@dataclass
class ConfusionAccumulator:
    """Streaming confusion matrix: call ``update`` per batch or per image, read ``matrix``."""

    n_classes: int
    ignore_index: int | None = None
    matrix: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.matrix = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """Add the counts of one batch."""
        self.matrix += confusion_matrix(y_true, y_pred, self.n_classes, self.ignore_index)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros(np.broadcast(a, b).shape, dtype=np.float64)
    np.divide(a, b, out=out, where=b > 0)
    return out


def collapse_message(
    cm: np.ndarray, class_names: list[str] | None = None, share: float = 0.95
) -> str | None:
    """A loud one-line warning if (almost) every prediction is one class, else None.

    Collapse = one predicted class takes at least ``share`` of all predictions while the true labels
    are not that concentrated (so a degenerate model is not excused by a degenerate test set).
    """
    cm = np.asarray(cm)
    total = cm.sum()
    if total == 0 or cm.shape[0] < 2:
        return None
    pred = cm.sum(axis=0) / total
    true = cm.sum(axis=1) / total
    top = int(np.argmax(pred))
    if pred[top] >= share and true[top] < share:
        name = class_names[top] if class_names else str(top)
        return (
            f"COLLAPSED: {pred[top]:.1%} of predictions are {name!r} (true share {true[top]:.1%}); "
            "the model ignores its input"
        )
    return None


def scores(cm: np.ndarray, class_names: list[str] | None = None) -> dict[str, Any]:
    """Every summary of a confusion matrix, as a JSON-ready dict.

    Keys: ``n``, ``accuracy``, ``macro_f1`` (over classes present in truth or predictions),
    ``mean_iou``, ``per_class`` (name -> precision, recall, f1, iou, support),
    ``majority_class``, ``majority_accuracy`` and ``majority_macro_f1`` (always predicting the most
    frequent true class), ``collapsed`` (message or None), ``confusion`` (list of lists).
    """
    cm = np.asarray(cm, dtype=np.int64)
    n_cls = cm.shape[0]
    names = list(class_names) if class_names else [str(i) for i in range(n_cls)]
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * tp, support + predicted)
    iou = _safe_div(tp, support + predicted - tp)
    present = (support + predicted) > 0
    total = float(cm.sum())
    majority = int(np.argmax(support)) if total else 0
    maj_f1 = np.zeros(n_cls)
    if total:
        maj_f1[majority] = 2 * support[majority] / (support[majority] + total)
    present_true = support > 0
    return {
        "n": int(total),
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "mean_iou": float(iou[present].mean()) if present.any() else 0.0,
        "per_class": {
            names[i]: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "iou": float(iou[i]),
                "support": int(support[i]),
            }
            for i in range(n_cls)
        },
        "majority_class": names[majority],
        "majority_accuracy": float(support[majority] / total) if total else 0.0,
        "majority_macro_f1": float(maj_f1[present_true].mean()) if present_true.any() else 0.0,
        "collapsed": collapse_message(cm, names),
        "confusion": cm.tolist(),
    }


def binary_rates(cm: np.ndarray, positive: int = 1) -> dict[str, float]:
    """The reference's columns for a screen: F1 of ``positive`` and TP/TN/FP/FN as % of all samples.

    For more than two classes, everything that is not ``positive`` counts as negative.
    """
    cm = np.asarray(cm, dtype=np.int64)
    total = float(cm.sum())
    tp = float(cm[positive, positive])
    fn = float(cm[positive].sum() - tp)
    fp = float(cm[:, positive].sum() - tp)
    tn = total - tp - fn - fp
    pct = (lambda v: 100.0 * v / total) if total else (lambda v: 0.0)
    return {
        "f1": float(2 * tp / (2 * tp + fp + fn)) if (2 * tp + fp + fn) else 0.0,
        "tp_pct": pct(tp),
        "tn_pct": pct(tn),
        "fp_pct": pct(fp),
        "fn_pct": pct(fn),
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
    }


def format_confusion(cm: np.ndarray, class_names: list[str]) -> str:
    """Plain-text confusion matrix (rows = true, columns = predicted) for terminals and reports."""
    cm = np.asarray(cm)
    short = [n[:12] for n in class_names]
    width = max(6, max(len(s) for s in short) + 1, len(str(int(cm.max(initial=0)))) + 1)
    head = "true \\ pred".ljust(14) + "".join(s.rjust(width) for s in short)
    rows = [head]
    for i, s in enumerate(short):
        rows.append(s.ljust(14) + "".join(str(int(v)).rjust(width) for v in cm[i]))
    return "\n".join(rows)
