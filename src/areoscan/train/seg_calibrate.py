"""Calibrate a trained binary segmenter on its validation pixels (temperature scaling).

Use :func:`calibrate_segmenter` right after training (``areoscan train segmenter --calibrate
temperature`` does): it fits the temperature of :mod:`areoscan.models.calibration` on a seeded
sample of validation pixels (no-data pixels left out) and moves the card's threshold with it, so
the scan marks exactly the same pixels while ``salience.tif`` and region probabilities become
calibrated.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from areoscan.data.seg_samples import IGNORE_INDEX, SegSet
from areoscan.models.calibration import fit_calibration, move_threshold


def predict_logits(model: Any, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Raw outputs ``(N, K, H, W)`` of a torch segmenter on ``(N, H, W)`` tiles in [0, 1]."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size, None]))
            out.append(model(x).numpy())
    return np.concatenate(out) if out else np.zeros((0, 1) + images.shape[1:], np.float32)


def pixel_sample(
    logits: np.ndarray, targets: np.ndarray, max_pixels: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(M, 1) logits and (M,) 0/1 labels of at most ``max_pixels`` scored pixels (seeded)."""
    z = np.asarray(logits, dtype=np.float32)[:, 0].ravel()
    t = np.asarray(targets).ravel()
    keep = np.flatnonzero(t != IGNORE_INDEX)
    if len(keep) > max_pixels:
        keep = np.sort(np.random.default_rng(seed).choice(keep, max_pixels, replace=False))
    return z[keep, None], (t[keep] == 1).astype(np.int64)


def calibrate_segmenter(
    model: Any, val: SegSet, threshold: float, max_pixels: int = 400_000, seed: int = 0
) -> tuple[dict[str, Any], float]:
    """(card.calibration dict, the threshold moved to the calibrated scale) from ``val`` tiles."""
    z, y = pixel_sample(predict_logits(model, val.images), val.targets, max_pixels, seed)
    cal = fit_calibration(z, y, fitted_on=f"validation split, {len(val)} tiles, {len(y)} pixels")
    return cal.to_dict(), move_threshold(threshold, cal.temperature)
