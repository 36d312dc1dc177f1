"""On-the-fly augmentation of segmentation tiles: dihedral transforms, gamma, noise, coarsening.

Use :func:`augment_batch` on every training batch (image and target transformed alike) and
:func:`coarsen_batch` to show a share of the tiles as a coarser product resampled back to the
model's scale (``areoscan train segmenter --coarsen``); :mod:`areoscan.train.segmenter` does both.
"""

from __future__ import annotations

import numpy as np


def augment_batch(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random dihedral transform per tile (image and target) plus gamma and noise on valid pixels."""
    x = x.copy()
    y = y.copy()
    for i in range(x.shape[0]):
        k = int(rng.integers(4))
        xi, yi = np.rot90(x[i], k), np.rot90(y[i], k)
        if rng.random() < 0.5:
            xi, yi = xi[:, ::-1], yi[:, ::-1]
        valid = xi > 0
        gamma = float(np.exp(rng.uniform(-0.3, 0.3)))
        xi = np.where(valid, np.clip(xi, 1e-6, 1.0) ** gamma, 0.0)
        sigma = float(rng.uniform(0.0, 0.02))
        if sigma > 0:
            noisy = np.clip(xi + rng.normal(0.0, sigma, xi.shape), 1e-6, 1.0)
            xi = np.where(valid, noisy, 0.0)
        x[i], y[i] = xi.astype(np.float32), yi
    return x, y


def coarsen_tile(x: np.ndarray, factor: float) -> np.ndarray:
    """``x`` (S, S; 0 = no data) as a product ``factor`` times coarser, resampled back to S x S.

    Use it to teach a segmenter images coarser than its scale that the scan upsamples to it (a
    1 m/px bin-4 product for a 0.25 m/px model): the mean of the valid pixels over blocks of
    ``factor`` px (area), then bilinear to the tile's grid; no-data pixels stay 0.
    """
    import torch
    import torch.nn.functional as F

    side = x.shape[-1]
    small = max(2, round(side / factor))
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None]
    valid = (t > 0).float()
    num = F.interpolate(t * valid, size=(small, small), mode="area")
    den = F.interpolate(valid, size=(small, small), mode="area")
    low = num / den.clamp_min(1e-6)
    up = F.interpolate(low, size=x.shape, mode="bilinear", align_corners=False)[0, 0].numpy()
    return np.where(x > 0, np.clip(up, 1e-6, 1.0), 0.0).astype(np.float32)


def coarsen_batch(x: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Each tile, with probability ``share``, through :func:`coarsen_tile` at a factor in 1.5-4."""
    if share <= 0:
        return x
    picks = np.asarray(rng.random(x.shape[0]) < share)
    factors = np.exp(rng.uniform(np.log(1.5), np.log(4.0), x.shape[0]))
    if not picks.any():
        return x
    x = x.copy()
    for i in np.flatnonzero(picks):
        x[i] = coarsen_tile(x[i], float(factors[i]))
    return x
