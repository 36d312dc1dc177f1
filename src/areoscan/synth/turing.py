"""Reaction-diffusion (Turing) brain coral: a Swift-Hohenberg pattern on a periodic grid.

Use through :mod:`areoscan.synth.families` (``--family turing``). The pattern is grown once per
scene on a coarse periodic grid of ``CELLS_PER_WAVELENGTH`` cells per ridge spacing (at most
``MAX_CELLS`` a side, so a scene of any size costs about a second or two), by the
semi-implicit spectral scheme for

    du/dt = r u - (1 + lap / q0^2)^2 u + g(x) u^2 - u^3

g = 0 gives labyrinths (open meanders), g > 0 hexagonal spots: their complement is a network of
closed cells. g varies slowly over the grid (``closure`` sets its mean), so a scene mixes
meanders and cells. Pixels sample the grid (cubic spline, wrapping) through a rotation and a
slow domain warp from the layout, so orientation wanders and the period is hard to see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from areoscan.synth.noise import PowerLaw

if TYPE_CHECKING:
    from areoscan.synth.layout import Layout

CELLS_PER_WAVELENGTH = 8
MAX_CELLS = 384  # periodic grid side; larger scenes wrap (>= 48 wavelengths per period)
MIN_CELLS = 64
STEPS = 90
DT = 3.0
STABILISE = 2.0  # linear term moved to the implicit side: stable at DT = 3
R = 0.3  # distance above onset: ridges about as wide as troughs
G_MAX = 0.9  # quadratic coefficient at closure 1: hexagonal cells everywhere
WARP_FIELDS = ["fam_wy", "fam_wx"]


@dataclass(frozen=True)
class TuringPattern:
    """The grown pattern: spline coefficients of a periodic grid of ``cell_m`` m cells."""

    coeffs: np.ndarray
    cell_m: float
    scale: float  # 1 / rms of the pattern: sampled values come out at unit rms


def _grid_size(extent_m: float, cell_m: float) -> int:
    n = int(math.ceil(extent_m / cell_m))
    n = sfft.next_fast_len(min(max(n, MIN_CELLS), MAX_CELLS), real=True)
    return n + (n % 2)


def grow(n: int, closure: float, seed: int, steps: int = STEPS) -> np.ndarray:
    """Swift-Hohenberg pattern on an n x n periodic grid (float32, ridges where > 0)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 23, seed >> 32])
    u = (0.1 * rng.standard_normal((n, n))).astype(np.float32)
    # slowly varying quadratic coefficient: regions of cells among meanders
    k = (2.0 * math.pi * np.fft.fftfreq(n)).astype(np.float32)
    kr = (2.0 * math.pi * np.fft.rfftfreq(n)).astype(np.float32)
    k2 = k[:, None] ** 2 + kr[None, :] ** 2
    q0 = 2.0 * math.pi / CELLS_PER_WAVELENGTH
    smooth = np.exp(-k2 * (3.0 * CELLS_PER_WAVELENGTH) ** 2 / 2.0)
    gn = sfft.irfft2(sfft.rfft2(rng.standard_normal((n, n)).astype(np.float32)) * smooth, s=(n, n))
    gn /= max(float(gn.std()), 1e-6)
    g = np.clip(G_MAX * (closure + 0.35 * gn), 0.0, 1.2 * G_MAX).astype(np.float32)
    lin = R - ((q0 * q0 - k2) / (q0 * q0)) ** 2
    den = (1.0 - DT * (lin - STABILISE)).astype(np.float32)
    uh = sfft.rfft2(u, workers=1)
    for _ in range(steps):
        nl = g * u
        nl -= u * u
        nl *= u
        nl += np.float32(STABILISE) * u
        uh += np.float32(DT) * sfft.rfft2(nl, workers=1)
        uh /= den
        u = sfft.irfft2(uh, s=(n, n), workers=1).astype(np.float32)
    # g > 0 makes spots of high u: the ridges are the connected low-u network around them
    return np.negative(u)


def prepare(lay: Layout) -> TuringPattern:
    """Grow the scene's pattern and add the slow warp fields (m) to the layout."""
    p = lay.params
    fp = p.family
    assert fp is not None
    lam = fp.wavelength
    cell_m = lam / CELLS_PER_WAVELENGTH
    extent = max(p.height, p.width) * p.scale
    u = grow(_grid_size(extent, cell_m), fp.closure, p.seed)
    shape = lay.fields["coral"].shape
    warp = PowerLaw(3.0, max(16.0, 10.0 * lam), max(200.0, 60.0 * lam))
    for i, name in enumerate(WARP_FIELDS):
        lay.fields[name] = (0.8 * lam * lay.noise(64 + i, shape, warp)).astype(np.float32)
    coeffs = ndimage.spline_filter(u, order=3, mode="grid-wrap").astype(np.float32)
    return TuringPattern(coeffs, cell_m, 1.0 / max(float(u.std()), 1e-6))


def pattern(lay: Layout, window: tuple[int, int, int, int]) -> np.ndarray:
    """The pattern (unit rms, > 0 on ridges) at the pixels of ``window`` (r0, c0, h, w)."""
    p = lay.params
    fp = p.family
    tp = lay.pattern
    assert fp is not None and isinstance(tp, TuringPattern)
    r0, c0, h, w = window
    wf = lay.window(WARP_FIELDS, *window)
    y = wf["fam_wy"]
    x = wf["fam_wx"]
    y += ((np.arange(r0, r0 + h, dtype=np.float32) + 0.5) * np.float32(p.scale))[:, None]
    x += ((np.arange(c0, c0 + w, dtype=np.float32) + 0.5) * np.float32(p.scale))[None, :]
    # rotate into the grid's frame; stretch along theta (elongated meanders)
    c, s = math.cos(fp.theta), math.sin(fp.theta)
    inv = np.float32(1.0 / tp.cell_m)
    gu = (x * np.float32(c) + y * np.float32(s)) * (inv / np.float32(1.0 + fp.aniso))
    gv = (y * np.float32(c) - x * np.float32(s)) * inv
    del x, y, wf
    out = ndimage.map_coordinates(
        tp.coeffs, [gv, gu], order=3, mode="grid-wrap", prefilter=False, output=np.float32
    )
    out *= np.float32(tp.scale)
    return out
