"""Train several segmenters on one split and compare them: a markdown table and a PNG.

Use :func:`compare` (``areoscan train compare``) to answer "which architecture, and do the three
phases help?" on equal terms: every config sees the same train / validation / test tiles (split by
observation) and the same epoch budget; the table has the reference's columns plus per-class IoU,
training minutes and 1K×1K tiles/s, and the PNG shows test tiles with each model's prediction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.data.seg_metrics import TABLE_COLUMNS, markdown_table, table_row


def config_label(config: Any) -> str:
    """Short name of a config: ``arch/schedule/loss`` (+ encoder when not the default)."""
    enc = config.arch_kwargs.get("encoder")
    return f"{config.arch}/{config.schedule}/{config.loss}" + (f"/{enc}" if enc else "")


def _example_png(path: Path, test: Any, predictors: list[tuple[str, Any]], n: int = 4) -> None:
    """Rows: test tiles with the most labelled foreground; columns: image, truth, each model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fg = [(int(((t != 0) & (t != 255)).sum()), i) for i, t in enumerate(test.targets)]
    mixed = [i for c, i in sorted(fg, reverse=True) if 0 < c < test.targets[i].size * 0.9]
    pick = (mixed or [i for _, i in sorted(fg, reverse=True)])[:n]
    cols = 2 + len(predictors)
    fig, axes = plt.subplots(len(pick), cols, figsize=(2.2 * cols, 2.2 * len(pick)), squeeze=False)
    vmax = max(int(test.targets[test.targets != 255].max(initial=1)), 1)
    for r, i in enumerate(pick):
        axes[r, 0].imshow(test.images[i], cmap="gray")
        truth = np.ma.masked_equal(test.targets[i], 255)
        axes[r, 1].imshow(truth, cmap="viridis", vmin=0, vmax=vmax, interpolation="nearest")
        for c, (name, pred) in enumerate(predictors, start=2):
            axes[r, c].imshow(
                pred.labels(test.images[i : i + 1, None])[0],
                cmap="viridis",
                vmin=0,
                vmax=vmax,
                interpolation="nearest",
            )
            if r == 0:
                axes[r, c].set_title(name.replace("/", "\n"), fontsize=7)
        if r == 0:
            axes[r, 0].set_title("image", fontsize=7)
            axes[r, 1].set_title("truth", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(path)


def compare(
    configs: Sequence[Any],
    data: Any,
    out_dir: str | Path,
    *,
    seed: int = 0,
    command: str = "",
    infer_tile: int = 512,
    progress: bool = True,
    data_note: dict[str, Any] | None = None,
    speed_size: int = 1024,
) -> Path:
    """Train every config on one split of ``data``; write ``compare.md``, ``compare.json``,
    ``compare.png`` and each model under ``models/`` in ``out_dir``; return the markdown path."""
    from areoscan.models.card import write_bytes_atomic
    from areoscan.models.segmenters import load_segmenter
    from areoscan.train.segmenter import fit_and_save, prepare_splits

    out_dir = Path(out_dir)
    splits = prepare_splits(data, seed=seed)
    classes = list(configs[0].classes)
    rows, per_class_rows, results, predictors = [], [], [], []
    for cfg in configs:
        label = config_label(cfg)
        name = label.replace("/", "_").replace("+", "")
        card, m = fit_and_save(
            cfg,
            splits,
            out_dir / "models",
            name,
            tile_size=infer_tile,
            command=command,
            data_note=data_note,
            progress=progress,
            speed_size=speed_size,
        )
        minutes = card.training["history"]["minutes"]
        rows.append(
            table_row(label, len(splits["train"]), m, m["tiles_per_s_1k"]) + [f"{minutes:.1f}"]
        )
        per_class_rows.append([label] + [f"{m['per_class'][c]['iou']:.3f}" for c in classes])
        results.append({"config": label, "minutes": minutes, "metrics": m})
        predictors.append((label, load_segmenter(out_dir / "models" / f"{name}.json")))
    text = [
        "# Segmenter comparison",
        "",
        f"Split by observation (seed {seed}): train {len(splits['train'])}, val {len(splits['val'])}, "
        f"test {len(splits['test'])} tiles; test observations never appear in training.",
        "",
        markdown_table([*TABLE_COLUMNS, "train min"], rows),
        "",
        "Per-class IoU on the test split:",
        "",
        markdown_table(["model", *classes], per_class_rows),
        "",
        "![example predictions](compare.png)",
        "",
    ]
    if command:
        text += [f"Command: `{command}`", ""]
    md = out_dir / "compare.md"
    write_bytes_atomic(md, "\n".join(text).encode("utf-8"))
    write_bytes_atomic(
        out_dir / "compare.json", json.dumps(results, indent=2, default=str).encode("utf-8")
    )
    if len(splits["test"]):
        _example_png(out_dir / "compare.png", splits["test"], predictors)
    return md
