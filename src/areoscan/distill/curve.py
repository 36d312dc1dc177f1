"""The N-shot curve: decoders trained on N labelled images, repeated random draws, held-out scores.

Use :func:`split_by_group` once (test images never share an observation with training ones), then
:func:`nshot_curve` for N in ``--n`` with ``draws`` random draws each, and :func:`write_curve` for
the Markdown table (mean ± standard deviation over draws) and the PNG (every draw as a dot, the mean
as a line), so the spread between draws is visible next to the effect of N.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.distill.fewshot import Examples, fit_decoder, predict_maps
from areoscan.distill.metrics import METRICS, confusion, scores
from areoscan.errors import DataError
from areoscan.io.atomic import atomic_output

Chooser = Callable[[int, int, np.ndarray], np.ndarray]


def split_by_group(
    data: Examples, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(pool, test) example indices, whole groups on one side; at least one group each."""
    groups = sorted(set(data.groups))
    if len(groups) < 2:
        raise DataError("all images share one group (observation): nothing to hold out")
    rng = np.random.default_rng(seed)
    order = [groups[i] for i in rng.permutation(len(groups))]
    n_test = min(len(groups) - 1, max(1, int(round(test_fraction * len(groups)))))
    test_groups = set(order[:n_test])
    test = np.array([i for i, g in enumerate(data.groups) if g in test_groups])
    pool = np.array([i for i, g in enumerate(data.groups) if g not in test_groups])
    return pool, test


def evaluate(net: Any, data: Examples) -> dict[str, float]:
    """Pixel scores of ``net`` on ``data`` (see :mod:`areoscan.distill.metrics`)."""
    pred = predict_maps(net, data.x)
    return scores(confusion(data.y, pred, len(data.classes)))


def random_chooser(n: int, draw: int, pool: np.ndarray) -> np.ndarray:
    """The first N of the draw's random order of the pool: a draw's sets are nested as N grows
    (what a labeller adding images at random does, and the baseline of active choice)."""
    rng = np.random.default_rng(draw)
    return np.sort(rng.permutation(pool)[:n])


def nshot_curve(
    data: Examples,
    ns: list[int],
    draws: int,
    pool: np.ndarray,
    test: np.ndarray,
    *,
    epochs: int = 100,
    choose: Chooser = random_chooser,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per (N, draw): the training stems and the held-out scores of its decoder."""
    held_out = data.subset(test)
    rows = []
    for n in ns:
        if n > len(pool):
            raise DataError(f"--n {n}: only {len(pool)} images outside the held-out groups")
        for draw in range(draws):
            rows.append(trained_row(data, choose(n, draw, pool), held_out, draw, epochs)[0])
            if progress:
                progress(f"N={n} draw {draw + 1}/{draws}: mIoU {rows[-1]['miou']:.3f}")
    return rows


def trained_row(
    data: Examples, idx: Any, held_out: Examples, draw: int, epochs: int
) -> tuple[dict[str, Any], Any]:
    """(curve row, decoder) of one decoder trained on ``data``'s examples ``idx`` (seed = draw)."""
    idx = sorted(int(i) for i in idx)
    net = fit_decoder(data.subset(idx), epochs=epochs, seed=draw)
    row: dict[str, Any] = {"n": len(idx), "draw": draw, **evaluate(net, held_out)}
    row["train"] = [data.stems[i] for i in idx]
    return row, net


def table(rows: list[dict[str, Any]], label: str = "") -> str:
    """Markdown: one line per N, each metric as mean ± sd over the draws (and the draw count)."""
    head = "| " + (f"{label} " if label else "") + "N | draws | " + " | ".join(METRICS) + " |"
    lines = [head, "|" + " --- |" * (len(METRICS) + 2)]
    for n in sorted({r["n"] for r in rows}):
        sel = [r for r in rows if r["n"] == n]
        cells = [
            f"{np.mean([r[m] for r in sel]):.3f} ± {np.std([r[m] for r in sel]):.3f}"
            for m in METRICS
        ]
        lead = f"| {label} " if label else "| "
        lines.append(f"{lead}{n} | {len(sel)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(curves: dict[str, list[dict[str, Any]]], path: Path, metrics=("miou", "macro_f1")) -> None:
    """PNG: per metric, every draw as a dot and the mean over draws as a line, per curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for k, (name, rows) in enumerate(curves.items()):
            colour = f"C{k}"
            ns = sorted({r["n"] for r in rows})
            ax.scatter(
                [r["n"] for r in rows], [r[metric] for r in rows], s=12, alpha=0.5, color=colour
            )
            ax.plot(
                ns,
                [np.mean([r[metric] for r in rows if r["n"] == n]) for n in ns],
                color=colour,
                label=name or None,
                marker="o",
            )
        ax.set_xlabel("labelled images N")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if any(curves):
            ax.legend()
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def write_curve(rows: list[dict[str, Any]], out: Path, header: str) -> tuple[Path, Path]:
    """``out/nshot.md`` (header + table), ``out/nshot.png`` and ``out/nshot.json`` (every row)."""
    md, png = out / "nshot.md", out / "nshot.png"
    with atomic_output(md) as tmp:
        tmp.write_text(header.rstrip() + "\n\n" + table(rows))
    plot({"": rows}, png)
    with atomic_output(out / "nshot.json") as tmp:
        tmp.write_text(json.dumps(rows, indent=1))
    return md, png
