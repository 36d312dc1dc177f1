"""Text table and heat map of an :func:`~areoscan.evaluate.agreement.agreement` result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from areoscan.io.atomic import atomic_output


def _f(v: float | None) -> str:
    return "  -  " if v is None else f"{v:.3f}"


def format_agreement(res: dict[str, Any]) -> str:
    """Per class: mean pairwise IoU / F1 / instance F1, and each rater against the others."""
    lines = [
        f"{len(res['raters'])} raters, {res['images']} images; pooled pixel figures per class",
        f"{'class':<10} {'pair IoU':>8} {'pair F1':>8} {'inst F1':>8}   rater vs others' "
        "consensus IoU (min / median / max)",
    ]
    for c, s in res["summary"].items():
        loo = s["vs_others_iou"]
        spread = f"{_f(loo['min'])} / {_f(loo['median'])} / {_f(loo['max'])}" if loo else "-"
        lines.append(
            f"{c[:10]:<10} {_f(s['pairwise_iou_mean']):>8} {_f(s['pairwise_f1_mean']):>8} "
            f"{_f(s['pairwise_instance_f1_50_mean']):>8}   {spread}"
        )
    lines.append(
        "rater      " + " ".join(f"{c[:8]:>8}" for c in res["classes"]) + "  (IoU vs others)"
    )
    for r, per in res["vs_others_consensus"].items():
        lines.append(f"{r[:10]:<10} " + " ".join(f"{_f(per[c]['iou']):>8}" for c in res["classes"]))
    return "\n".join(lines)


def heat_map_png(res: dict[str, Any], path: str | Path) -> None:
    """One panel per class: the rater x rater pixel IoU matrix, values printed in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, classes = res["raters"], res["classes"]
    n = len(names)
    fig, axes = plt.subplots(
        1, len(classes), figsize=(0.55 * n * len(classes) + 1.5, 0.55 * n + 1.4)
    )
    for ax, c in zip(np.atleast_1d(axes), classes, strict=True):
        m = np.array(
            [[np.nan if v is None else v for v in row] for row in res["pairwise"][c]["iou"]]
        )
        ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
        for i in range(n):
            for j in range(n):
                if not np.isnan(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if m[i, j] < 0.6 else "black")  # fmt: skip
        ax.set_xticks(range(n), names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
        mean = res["summary"][c]["pairwise_iou_mean"]
        ax.set_title(f"{c}: pixel IoU (mean {_f(mean)})", fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
