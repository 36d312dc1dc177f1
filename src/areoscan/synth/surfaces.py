"""Fine-scale (< 16 m) heights of the background kinds, evaluated on one pixel window.

Each function takes absolute pixel windows and global seeds, so neighbouring blocks agree:
fractal roughness and boulders come from the global noise lattice (:mod:`noise`), dunes from
coarse phase fields, polygons from a hashed jittered grid of cell centres.
"""

from __future__ import annotations

import math

import numpy as np

from areoscan.synth.noise import (
    Gaussian,
    PowerLaw,
    band_field,
    half_grid,
    hash_uniform,
    pad_for,
    upsample2,
)
from areoscan.synth.params import SceneParams

LAYER_FRACTAL = 21
LAYER_BOULDER = 22
BOULDER_SIGMA_M = 0.45  # blob width of one boulder
BOULDERS_PER_M2 = 0.04  # in the middle of a boulder field
FRACTAL_MAX_M = 16.0  # the coarse tier carries longer wavelengths


def fractal(p: SceneParams, window: tuple[int, int, int, int]) -> np.ndarray:
    """Unit-rms fractal roughness (2-D spectral slope 3.2) with wavelengths 2 px .. 16 m."""
    s = p.scale
    filt = PowerLaw(3.2, max(1.5 * s, 0.3), FRACTAL_MAX_M)
    (out,) = band_field(p.seed, LAYER_FRACTAL, window, s, [filt], 1, pad_for(FRACTAL_MAX_M, s, 1.5))
    return out


def dunes(
    phase0: np.ndarray,
    amp0: np.ndarray,
    phase1: np.ndarray,
    amp1: np.ndarray,
    wavelengths: tuple[float, float],
) -> np.ndarray:
    """Dunes (asymmetric, sharp lee crest) plus ripples (symmetric, sharp crest), metres."""
    lam0, lam1 = wavelengths
    # dune: slow stoss slope, steep lee (skewed wave); ripple: cusped crests
    s0 = np.sin(phase0)
    c0 = np.cos(phase0)
    dune = s0 + 0.35 * (2.0 * s0 * c0)  # sin x + 0.35 sin 2x
    dune *= np.float32(0.035 * lam0) * amp0
    r = np.abs(np.cos(phase1 * 0.5))  # |cos(x/2)|: cusped crests at x = 0 mod 2 pi
    r = np.sqrt(r, out=r)
    r -= np.float32(0.6)
    r *= np.float32(0.06 * lam1) * amp1
    dune += r
    return dune.astype(np.float32, copy=False)


TAR_RELIEF = 0.18  # crest height of transverse aeolian ridges as a fraction of their spacing


def tars(phase: np.ndarray, amp: np.ndarray, wavelength: float) -> np.ndarray:
    """Transverse aeolian ridges (m): symmetric ridges with broad rounded crests, narrow troughs."""
    h = np.cos(phase)
    h += np.float32(1.0)
    h *= np.float32(0.5)  # 1 on the crests, 0 in the troughs
    np.power(h, np.float32(0.7), out=h)  # broader crests: a ridge fills about half the spacing
    h -= np.float32(0.58)
    h *= np.float32(TAR_RELIEF * wavelength)
    h *= amp
    return h


def polygons(p: SceneParams, window: tuple[int, int, int, int]) -> np.ndarray:
    """Polygonal patterned ground: troughs (negative, metres) along Voronoi cell borders.

    Cell centres sit on a jittered grid of ``polygon_m`` cells, hashed from the seed, so any
    window sees the same polygons. Depth about 0.4 m, trough width about 1.5 m. Scenes finer
    than 0.3 m/px are evaluated on every other pixel and interpolated (cubic).
    """
    r0, c0, h, w = window
    if p.scale > 0.3:
        return _polygons_at(p, np.arange(r0, r0 + h), np.arange(c0, c0 + w))
    (gr, nr), (gc, nc) = half_grid(r0, h), half_grid(c0, w)
    lat = _polygons_at(p, 2 * (gr + np.arange(nr)), 2 * (gc + np.arange(nc)))
    return upsample2(lat, window)


def _polygons_at(p: SceneParams, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Polygon relief at pixel rows x cols (1-D index arrays, outer-product grid)."""
    h, w = len(rows), len(cols)
    s, cs = p.scale, p.polygon_m
    y = (rows.astype(np.float64) + 0.5) * s
    x = (cols.astype(np.float64) + 0.5) * s
    ci, cj = np.floor(y / cs).astype(np.int64), np.floor(x / cs).astype(np.int64)
    i_lo, i_hi, j_lo, j_hi = ci.min() - 1, ci.max() + 2, cj.min() - 1, cj.max() + 2
    gi, gj = np.meshgrid(np.arange(i_lo, i_hi), np.arange(j_lo, j_hi), indexing="ij")
    jit = 0.8
    py = ((gi + 0.5 + jit * (hash_uniform(p.seed, 601, gi, gj) - 0.5)) * cs).astype(np.float32)
    px = ((gj + 0.5 + jit * (hash_uniform(p.seed, 602, gi, gj) - 0.5)) * cs).astype(np.float32)
    # cell runs along each axis: tables are per cell, expanded to pixels by np.repeat
    rows_u, rows_n = np.unique(ci, return_counts=True)
    cols_u, cols_n = np.unique(cj, return_counts=True)
    yf, xf = y.astype(np.float32), x.astype(np.float32)
    f1 = np.full((h, w), np.inf, np.float32)
    f2 = np.full((h, w), np.inf, np.float32)
    tmp = np.empty((h, w), np.float32)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            # dy^2 varies by pixel row and column cell; dx^2 by row cell and pixel column
            dy = yf[:, None] - py[ci + di - i_lo][:, cols_u + dj - j_lo]
            dy *= dy
            dx = xf[None, :] - px[rows_u + di - i_lo][:, cj + dj - j_lo]
            dx *= dx
            d = np.repeat(dy, cols_n, axis=1)
            d += np.repeat(dx, rows_n, axis=0)
            # f2 = min(f2, max(f1, d)); f1 = min(f1, d)
            np.maximum(f1, d, out=tmp)
            np.minimum(f2, tmp, out=f2)
            np.minimum(f1, d, out=f1)
    np.sqrt(f1, out=f1)
    np.sqrt(f2, out=f2)
    f2 -= f1  # ~ twice the distance to the nearest border
    f2 *= np.float32(1.0 / 1.5)
    np.multiply(f2, f2, out=f2)
    np.negative(f2, out=f2)
    np.exp(f2, out=f2)
    f2 *= np.float32(-0.4)
    # gentle dome in each polygon
    f1 *= np.float32(1.0 / cs)
    np.multiply(f1, f1, out=f1)
    f1 *= np.float32(-0.15)
    f2 += f1
    return f2


def boulders(p: SceneParams, window: tuple[int, int, int, int], density) -> np.ndarray:
    """Boulder heights (m): sparse impulses of random height blurred into ~1.5 m blobs.

    ``density(rows, cols)`` gives the boulder-field weight (0..1) at pixel positions (1-D
    arrays, outer-product grid); it is evaluated on the padded noise lattice, so blocks agree.
    Size variety comes from the heights (0.3-1.5 m): taller boulders cast longer shadows.
    """
    s = p.scale
    sig = max(BOULDER_SIGMA_M, 0.5 * s)
    gain = 2.0 * math.pi * (sig / s) ** 2  # peak of a unit impulse after the blur

    def source(noise: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        u = noise * np.float32(1.0 / math.sqrt(12.0)) + np.float32(0.5)  # back to uniform
        dens = density(rows, cols)
        dens *= np.float32(BOULDERS_PER_M2 * s * s)
        hit = u < dens
        # heights from the same uniform (conditionally uniform below dens): 0.3 .. 1.5 m
        amp = np.where(hit, u / np.maximum(dens, 1e-9), 0.0).astype(np.float32)
        amp **= 2
        amp *= np.float32(1.2)
        amp += np.float32(0.3)
        amp *= hit
        amp *= np.float32(gain)
        return amp

    (b,) = band_field(
        p.seed,
        LAYER_BOULDER,
        window,
        s,
        [Gaussian(sig)],
        1,
        pad_for(sig * 4, s, 1.0),
        normalise=False,
        source=source,
    )
    return b
