"""Plain-text results tables in the reference's columns, plus per-class detail.

Use :func:`classifier_report` to turn the dict of :func:`areoscan.evaluate.classifier.evaluate_classifier`
into what a terminal (or a Markdown doc) shows. :func:`table` is the generic fixed-width table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from areoscan.data.metrics import format_confusion

COLUMNS = ["model", "train n", "test n", "F1", "TP%", "TN%", "FP%", "FN%", "1K×1K tiles/s"]


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Fixed-width table, first column left-aligned, others right-aligned."""
    cells = [[str(h) for h in header]] + [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for k, r in enumerate(cells):
        lines.append(
            "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def summary_row(name: str, train_n: int | str, res: dict[str, Any]) -> list[object]:
    """One row in the reference's columns (F1 = positive-class F1 for screens, macro-F1 otherwise)."""
    b = res["binary"]
    f1 = b["f1"] if res.get("is_screen") else res["macro_f1"]
    return [
        name,
        train_n,
        res["n"],
        f1,
        b["tp_pct"],
        b["tn_pct"],
        b["fp_pct"],
        b["fn_pct"],
        res["speed"]["area_1k_per_s"],
    ]


def classifier_report(name: str, train_n: int | str, res: dict[str, Any], excluded: int = 0) -> str:
    """The full text report for one evaluated classifier."""
    parts = [table(COLUMNS, [summary_row(name, train_n, res)])]
    if res.get("is_screen"):
        parts.append("F1 and TP/TN/FP/FN % refer to the positive class.")
    else:
        parts.append(
            "F1 = macro-F1; TP/TN/FP/FN %: 'any class but the majority class' counted as positive."
        )
    speed = res["speed"]
    parts.append(
        f"speed: {speed['tiles_per_s']:.0f} model tiles/s (batch {speed['batch_size']}, decode not included); "
        "1K×1K = level-0 area of 1024×1024 px per second"
    )
    if excluded:
        parts.append(f"left out {excluded} tiles from observations used in training/validation")
    parts.append(
        f"accuracy {res['accuracy']:.3f}   macro-F1 {res['macro_f1']:.3f}   majority baseline "
        f"('{res['majority_class']}'): accuracy {res['majority_accuracy']:.3f}, macro-F1 {res['majority_macro_f1']:.3f}"
    )
    rows = [
        [c, v["precision"], v["recall"], v["f1"], v["support"]] for c, v in res["per_class"].items()
    ]
    parts.append(table(["class", "precision", "recall", "F1", "n"], rows))
    if len(res["per_class"]) > 2:
        parts.append(format_confusion(_array(res["confusion"]), list(res["per_class"])))
    per = res.get("per_data_class", {})
    if res.get("is_screen") and per:
        rows = [[c, v["n"], v["predicted_positive"]] for c, v in per.items()]
        parts.append(table(["data class", "n", "predicted positive"], rows))
    rk = res.get("ranking")
    if rk:
        parts.append(
            f"ranking: ROC AUC {rk['auc']:.4f}; flagging every positive (threshold "
            f"{rk['lowest_positive']:.4f}) flags {rk['fpr_at_full_recall']:.4f} of the negatives"
        )
    sw = res.get("swapped_brightness")
    if sw:
        parts.append(
            "brightness/contrast swapped (positives get mean/sd {neg}, negatives {pos}, in 0-255 units): "
            "recall {r:.3f} (was {r0:.3f}), FP rate {f:.3f} (was {f0:.3f})".format(
                neg=sw["negative_mean_sd_255"],
                pos=sw["positive_mean_sd_255"],
                r=sw["recall"],
                r0=res["binary"]["recall"],
                f=sw["fpr"],
                f0=res["binary"]["fpr"],
            )
        )
    if res.get("collapsed"):
        bar = "!" * 78
        parts.append(f"{bar}\n{res['collapsed']}\n{bar}")
    return "\n\n".join(parts)


def _array(rows: list[list[int]]):  # numpy only when needed
    import numpy as np

    return np.asarray(rows)
