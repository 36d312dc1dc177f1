"""Evaluate a segmenter on real tiles that have no masks: the share of pixels marked brain coral.

Use :func:`coral_tile_shares` (real brain-coral tiles: the share should be high) and
:func:`landmark_shares` (real landmark tiles: near 0). Scores on labelled tiles (confusion matrix,
IoU, F1, TP / TN / FP / FN %, tiles/s) are :mod:`areoscan.data.seg_metrics`, which training uses too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from areoscan.data.landmarks import landmark_rows
from areoscan.data.seg_samples import upsample_tile
from areoscan.errors import DataError
from areoscan.io.tilefile import read_tile

# Real coral tiles are 0.25 m/px imagery downsampled ~3x (~0.75 m/px); the model works at 0.25.
CORAL_TILE_UPSAMPLE = 3


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
