"""Coral layout ``regions``: a few large contiguous coral regions, like real observations.

Use through ``SceneParams.from_seed(..., layout="regions")`` (``--layout regions``). The five
real layout masks of the JPL survey (``../shared/data/brain-coral-layouts``, measured by
``benchmarks/layout_stats.py``) put 12-48 % of the image in brain coral, mostly in 1-4 large
regions with ragged edges and holes, where the default ``patches`` layout scatters many patches
of a few hundred metres. :func:`region_field` returns a smooth field whose upper quantile is
the coral (the layout thresholds it at the target fraction, exactly as it does the patch noise):
the largest of a few elliptical bumps, plus boundary noise that makes edges ragged and holes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from areoscan.synth.noise import Filter, PowerLaw
from areoscan.synth.params import SceneParams

MAX_REGIONS = 4
EDGE_NOISE = 0.35  # boundary noise relative to the bumps' unit height
STREAM_EDGE = 70


def region_field(
    p: SceneParams,
    gy: np.ndarray,
    gx: np.ndarray,
    noise: Callable[[int, tuple[int, int], Filter], np.ndarray],
) -> np.ndarray:
    """The field to threshold (coarse grid, positions ``gy``/``gx`` in metres from the corner).

    ``noise(stream, shape, filter)`` is the layout's unit-rms coarse noise.
    """
    rng = np.random.default_rng([p.seed & 0xFFFFFFFF, 29, p.seed >> 32])
    hm, wm = p.height * p.scale, p.width * p.scale
    n = int(rng.integers(1, MAX_REGIONS + 1))
    # each region's share of the coral, and its size for that share of the image
    shares = rng.dirichlet(np.full(n, 1.5))
    field = np.full(gy.shape, -np.inf, np.float32)
    for share in shares:
        cy, cx = rng.uniform(0.15, 0.85) * hm, rng.uniform(0.15, 0.85) * wm
        aspect = rng.uniform(1.0, 2.5)
        th = rng.uniform(0.0, math.pi)
        area = max(share * p.coral_fraction, 0.02) * hm * wm
        a = math.sqrt(area * aspect / math.pi)  # semi-axes a >= b, pi a b = area
        b = a / aspect
        dy, dx = gy - cy, gx - cx
        u = (dx * math.cos(th) + dy * math.sin(th)) / a
        v = (dy * math.cos(th) - dx * math.sin(th)) / b
        np.maximum(field, (1.0 - np.sqrt(u * u + v * v)).astype(np.float32), out=field)
    extent = max(min(hm, wm), 64.0)
    edge = noise(STREAM_EDGE, gy.shape, PowerLaw(3.0, 40.0, extent / 3.0))
    return field + np.float32(EDGE_NOISE) * edge
