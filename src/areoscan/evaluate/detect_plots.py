"""Precision-recall curves of a detection evaluation as one PNG.

Use :func:`pr_curves_png` on the dict :func:`~areoscan.data.detection.detection_metrics`
returns: one curve per class at IoU 0.5 (COCO's interpolated precision, the curve AP50 integrates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from areoscan.data.detection import RECALL_GRID
from areoscan.io.atomic import atomic_output


def pr_curves_png(res: dict[str, Any], path: str | Path, title: str = "") -> None:
    """Write the per-class PR curves (IoU 0.5) of ``res`` to ``path`` atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, c in res["per_class"].items():
        if c["n_true"] == 0:
            continue
        ap50 = c["ap50"] if c["ap50"] is not None else 0.0
        ax.plot(RECALL_GRID, c["pr_curve"], label=f"{name} (AP50 {ap50:.3f}, n={c['n_true']})")
        if c["recall"] is not None and c["precision"] is not None:
            ax.plot([c["recall"]], [c["precision"]], "o", color=ax.lines[-1].get_color(), ms=4)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"{title} PR at IoU 0.5 (dot: best-F1 threshold)".strip(), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
