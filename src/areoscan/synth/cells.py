"""Cellular brain coral: ridges on the walls of a warped Voronoi tessellation.

Use through :mod:`areoscan.synth.families` (``--family cells``). Cell seeds sit on a jittered
grid of one wavelength, hashed from the scene seed (any window sees the same cells). Each pixel
finds its three nearest seeds in a rotated, stretched and finely warped frame; a ridge runs
along the bisector between the nearest seed and each of the next two. A smooth gate field
(a few wavelengths) breaks walls where it is low: with every wall kept the cells are closed,
with many walls broken neighbouring cells merge into winding open corridors (meanders). The
gate is continuous, so walls end in tapered ridge ends, not steps.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from areoscan.synth.noise import PowerLaw, band_field, hash_uniform, pad_for

if TYPE_CHECKING:
    from areoscan.synth.layout import Layout

LAYER_WARP = 41  # and 42
LAYER_GATE = 44
STREAM_SEEDS = 611  # jitter y, x: 611, 612
JITTER = 0.9
HALF_WIDTH = 0.16  # ridge half-width in cells: walls about a third of the spacing
WARP = 0.12  # rms of the fine warp, in wavelengths (gradient well below 1: no folds)
GATE_AT_OPEN = -0.4  # gate threshold (unit-rms field) at closure 0: ~1/3 of walls broken
GATE_AT_CLOSED = -3.0  # at closure 1: none broken
GATE_SOFT = 0.3  # width of the taper where a wall ends


def _lattice(lam: float, scale: float) -> int:
    """Largest power-of-two noise lattice (px) with >= 3 samples per shortest warp length."""
    f = 1
    while f * 2 * scale * 3.0 <= 2.0 * lam:
        f *= 2
    return f


def _frame(lay: Layout, window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions in cell units of the rotated, stretched, warped frame."""
    p = lay.params
    fp = p.family
    assert fp is not None
    r0, c0, h, w = window
    lam, s = fp.wavelength, p.scale
    filt = PowerLaw(3.0, 2.0 * lam, 6.0 * lam)
    wy, wx = band_field(
        p.seed, LAYER_WARP, window, s, [filt, filt], _lattice(lam, s), pad_for(6 * lam, s, 1.5)
    )
    amp = np.float32(WARP * lam)
    wy *= amp
    wx *= amp
    wy += ((np.arange(r0, r0 + h, dtype=np.float32) + 0.5) * np.float32(s))[:, None]
    wx += ((np.arange(c0, c0 + w, dtype=np.float32) + 0.5) * np.float32(s))[None, :]
    c, sn = math.cos(fp.theta), math.sin(fp.theta)
    inv = 1.0 / lam
    u = (wx * np.float32(c) + wy * np.float32(sn)) * np.float32(inv / (1.0 + fp.aniso))
    v = (wy * np.float32(c) - wx * np.float32(sn)) * np.float32(inv)
    return v, u


def pattern(lay: Layout, window: tuple[int, int, int, int]) -> np.ndarray:
    """The ridge pattern (> 0 on ridges, about -2..2) at the pixels of ``window``."""
    p = lay.params
    fp = p.family
    assert fp is not None
    v, u = _frame(lay, window)
    ci = np.floor(v).astype(np.int32)
    cj = np.floor(u).astype(np.int32)
    i_lo, j_lo = int(ci.min()) - 1, int(cj.min()) - 1
    gi, gj = np.meshgrid(
        np.arange(i_lo, int(ci.max()) + 2), np.arange(j_lo, int(cj.max()) + 2), indexing="ij"
    )
    tw = gi.shape[1]
    sy = (gi + 0.5 + JITTER * (hash_uniform(p.seed, STREAM_SEEDS, gi, gj) - 0.5)).ravel()
    sx = (gj + 0.5 + JITTER * (hash_uniform(p.seed, STREAM_SEEDS + 1, gi, gj) - 0.5)).ravel()
    sy, sx = sy.astype(np.float32), sx.astype(np.float32)
    base = (ci - i_lo) * tw + (cj - j_lo)
    del ci, cj
    shape = v.shape
    big = np.float32(1e9)
    d = [np.full(shape, big, np.float32) for _ in range(3)]
    idx = [np.zeros(shape, np.int32) for _ in range(3)]
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            k = base + (di * tw + dj)
            dy = sy[k] - v
            dd = dy * dy
            dy = sx[k] - u
            dd += dy * dy
            del dy
            # insert (dd, k) into the sorted triple d[0] <= d[1] <= d[2]
            lt2, lt1, lt0 = dd < d[2], dd < d[1], dd < d[0]
            d[2] = np.where(lt1, d[1], np.where(lt2, dd, d[2]))
            idx[2] = np.where(lt1, idx[1], np.where(lt2, k, idx[2]))
            d[1] = np.where(lt0, d[0], np.where(lt1, dd, d[1]))
            idx[1] = np.where(lt0, idx[0], np.where(lt1, k, idx[1]))
            d[0] = np.where(lt0, dd, d[0])
            idx[0] = np.where(lt0, k, idx[0])
    del u, v, base
    a = idx[0]
    dist = np.full(shape, big, np.float32)
    for j in (1, 2):
        b = idx[j]
        gap = np.hypot(sy[b] - sy[a], sx[b] - sx[a])
        # distance to the bisector of seeds a and b (exact for the perpendicular bisector)
        np.minimum(dist, (d[j] - d[0]) / (2.0 * np.maximum(gap, 1e-3)), out=dist)
    del d, idx
    out = np.float32(1.0) - dist * np.float32(1.0 / HALF_WIDTH)
    np.clip(out, -2.0, 1.0, out=out)
    # broken walls sink to the trough floor (-2), never below it
    out += np.float32(2.0)
    out *= np.float32(1.0) - _broken(lay, window)
    out -= np.float32(2.0)
    out *= np.float32(2.0)
    return out


def _broken(lay: Layout, window: tuple[int, int, int, int]) -> np.ndarray:
    """0 where walls stand .. 1 where they are broken (smooth, a few wavelengths across)."""
    p = lay.params
    fp = p.family
    assert fp is not None
    lam, s = fp.wavelength, p.scale
    thr = GATE_AT_OPEN + (GATE_AT_CLOSED - GATE_AT_OPEN) * fp.closure
    filt = PowerLaw(3.0, 1.5 * lam, 3.0 * lam)
    pad = pad_for(3 * lam, s, 1.5)
    (gate,) = band_field(p.seed, LAYER_GATE, window, s, [filt], _lattice(lam, s), pad)
    gate -= np.float32(thr)
    gate *= np.float32(-1.0 / GATE_SOFT)
    return np.clip(gate, 0.0, 1.0, out=gate)
