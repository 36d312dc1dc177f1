"""Brain coral heights: labyrinthine ridges from thresholded band-pass (Turing-like) noise.

Two ring-spectrum fields with their own ridge spacing and preferred direction are blended by a
slowly varying weight (orientation and spacing wander across a patch), passed through ``tanh``
(flat-topped ridges with steep walls, closed cells where level sets close), softened where the
patch is partly mantled, and given a fine ribbed texture on trough floors as in HiRISE images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from areoscan.synth.noise import Ring, band_field, half_grid, pad_for, upsample2

if TYPE_CHECKING:
    from areoscan.synth.layout import Layout

LAYER_CORAL = 11
PAD_PERIODS = 1.8  # filter tails beyond this many longest periods are < 1e-3: no seams
TEXTURE_BANDWIDTH = 0.3
RAMP_M = 6.0  # metres over which ridges grow from the patch edge to full relief
TEXTURE_M = 3.0  # spacing of the ribs on trough floors
TEXTURE_AMP = 0.06  # rib relief as a fraction of the ridge relief
BANDWIDTH = 0.35  # relative width of the ring spectra (wider: less regular labyrinths)
ROUGHNESS_M = 0.05  # rms of the fine fractal roughness on coral surfaces


def lattice_factor(min_wavelength_m: float, scale: float) -> int:
    """Largest power-of-two lattice step (px) with >= 2.5 samples per shortest wavelength.

    The lattice noise is interpolated by zero-padding its spectrum (exact for band-limited
    fields), so the lattice only has to resolve the shortest wavelength a filter passes.
    """
    f = 1
    while f * 2 * scale * 2.5 <= min_wavelength_m:
        f *= 2
    return f


def coral_weight(pc: np.ndarray) -> np.ndarray:
    """Relief multiplier from the signed patch distance ``pc`` (0 outside, 1 well inside)."""
    a = pc * np.float32(1.0 / RAMP_M)
    np.minimum(a, 1.0, out=a)
    np.maximum(a, 0.0, out=a)
    s = a * np.float32(-2.0)
    s += np.float32(3.0)
    a *= a
    a *= s
    return a


CORAL_FIELDS = ["coral_cos", "coral_sin", "coral_kappa", "coral_gain"]


def coral_heights(lay: Layout, window: tuple[int, int, int, int]) -> np.ndarray:
    """Brain coral heights (m) on ``window`` (r0, c0, h, w), before the patch weight is applied.

    Uses the layout's coarse fields ``coral_cos``/``coral_sin`` (blend of the two ridge
    fields), ``coral_kappa`` (wall steepness) and ``coral_gain`` (relief, m). When the noise
    lattice is 2 px (0.25 m/px scenes) the pattern is shaped on that lattice and interpolated
    (cubic) to pixels: everything it contains is resolved there, at a quarter of the cost.
    """
    p = lay.params
    s = p.scale
    l1, l2 = p.coral_wavelength
    tex_m = max(TEXTURE_M, 3.0 * s)
    filters = [
        Ring(l1, BANDWIDTH, p.coral_aniso[0], p.coral_theta[0]),
        Ring(l2, BANDWIDTH, p.coral_aniso[1], p.coral_theta[1]),
        Ring(tex_m, TEXTURE_BANDWIDTH),  # ribbed trough floors (disjoint band: independent)
    ]
    # shortest wavelength any filter passes (Gaussian rings: ~3 widths above the centre)
    shortest = tex_m / (1.0 + 3.0 * TEXTURE_BANDWIDTH)
    fac = min(lattice_factor(shortest, s), 2)
    pad = pad_for(max(l1, l2), s, PAD_PERIODS) + 8
    half = fac == 2
    f1, f2, t = band_field(p.seed, LAYER_CORAL, window, s, filters, fac, pad, on_lattice=half)
    if half:
        (gr, nr), (gc, nc) = half_grid(window[0], window[2]), half_grid(window[1], window[3])
        fields = lay.window(CORAL_FIELDS, 2 * gr, 2 * gc, nr, nc, step=2)
    else:
        fields = lay.window(CORAL_FIELDS, *window)
    f1 *= fields["coral_cos"]
    f2 *= fields["coral_sin"]
    f1 += f2
    del f2
    f1 -= np.float32(p.coral_bias)
    f1 *= fields["coral_kappa"]
    g = np.tanh(f1, out=f1)
    # ribbed trough floors: fine, short-crested texture where g < 0
    trough = np.negative(g)
    np.maximum(trough, 0.0, out=trough)
    t *= trough
    t *= np.float32(TEXTURE_AMP)
    g += t
    g *= fields["coral_gain"]
    return upsample2(g, window) if half else g
