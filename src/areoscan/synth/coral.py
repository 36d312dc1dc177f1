"""Brain coral heights: labyrinthine ridges from thresholded band-pass (Turing-like) noise.

Two ring-spectrum fields with their own ridge spacing and preferred direction are blended by a
slowly varying weight (orientation and spacing wander across a patch), passed through ``tanh``
(flat-topped ridges with steep walls, closed cells where level sets close), softened where the
patch is partly mantled, and given a fine ribbed texture on trough floors as in HiRISE images.
"""

from __future__ import annotations

import numpy as np

from areoscan.synth.noise import Ring, band_field, pad_for
from areoscan.synth.params import SceneParams

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


def coral_heights(
    p: SceneParams, window: tuple[int, int, int, int], fields: dict[str, np.ndarray]
) -> np.ndarray:
    """Brain coral heights (m) on ``window`` (r0, c0, h, w), before the patch weight is applied.

    ``fields`` holds the coarse fields ``coral_cos``/``coral_sin`` (blend of the two ridge
    fields), ``coral_kappa`` (wall steepness) and ``coral_gain`` (relief, m) on the same window
    (from :meth:`Layout.window`).
    """
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
    fac = lattice_factor(shortest, s)
    f1, f2, t = band_field(
        p.seed, LAYER_CORAL, window, s, filters, fac, pad_for(max(l1, l2), s, PAD_PERIODS)
    )
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
    return g
