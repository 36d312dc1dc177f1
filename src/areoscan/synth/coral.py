"""Brain coral heights: labyrinthine ridges from thresholded band-pass (Turing-like) noise.

Two ring-spectrum fields with their own ridge spacing and preferred direction are blended by a
slowly varying weight (orientation and spacing wander across a patch), passed through ``tanh``
(flat-topped ridges with steep walls, closed cells where level sets close), softened where the
patch is partly mantled, and given a fine ribbed texture on trough floors as in HiRISE images.
"""

from __future__ import annotations

import math

import numpy as np

from areoscan.synth.noise import Ring, band_field, pad_for
from areoscan.synth.params import SceneParams

LAYER_CORAL = 11
LAYER_CORAL_TEXTURE = 12
RAMP_M = 6.0  # metres over which ridges grow from the patch edge to full relief
TEXTURE_M = 3.0  # spacing of the ribs on trough floors
TEXTURE_AMP = 0.06  # rib relief as a fraction of the ridge relief
BANDWIDTH = 0.35  # relative width of the ring spectra (wider: less regular labyrinths)
ROUGHNESS_M = 0.05  # rms of the fine fractal roughness on coral surfaces


def lattice_factor(min_wavelength_m: float, scale: float) -> int:
    """Largest power-of-two lattice step keeping >= 10 samples per shortest wavelength."""
    f = 1
    while f * 2 * scale * 10 <= min_wavelength_m:
        f *= 2
    return f


def coral_weight(pc: np.ndarray) -> np.ndarray:
    """Relief multiplier from the signed patch distance ``pc`` (0 outside, 1 well inside)."""
    a = np.clip(pc * np.float32(1.0 / RAMP_M), 0.0, 1.0)
    return a * a * (3.0 - 2.0 * a)


def coral_heights(
    p: SceneParams, window: tuple[int, int, int, int], fields: dict[str, np.ndarray]
) -> np.ndarray:
    """Brain coral heights (m) on ``window`` (r0, c0, h, w), before the patch weight is applied.

    ``fields`` holds the coarse fields ``coral_mantle``, ``coral_mix`` and ``coral_amp`` on the
    same window (from :meth:`Layout.window`).
    """
    s = p.scale
    l1, l2 = p.coral_wavelength
    rings = [
        Ring(l1, BANDWIDTH, p.coral_aniso[0], p.coral_theta[0]),
        Ring(l2, BANDWIDTH, p.coral_aniso[1], p.coral_theta[1]),
    ]
    fac = lattice_factor(min(l1, l2) * 0.5, s)
    f1, f2 = band_field(p.seed, LAYER_CORAL, window, s, rings, fac, pad_for(max(l1, l2), s, 2.5))
    beta = fields["coral_mix"] * np.float32(math.pi / 2)
    f1 *= np.cos(beta)
    f2 *= np.sin(beta)
    f1 += f2
    del f2
    mantle = fields["coral_mantle"]
    kappa = np.float32(p.coral_sharp) * (1.0 - 0.6 * mantle)
    f1 -= np.float32(p.coral_bias)
    f1 *= kappa
    g = np.tanh(f1, out=f1)
    # ribbed trough floors: fine, short-crested texture where g < 0
    tex_m = max(TEXTURE_M, 3.0 * s)
    (t,) = band_field(
        p.seed, LAYER_CORAL_TEXTURE, window, s, [Ring(tex_m, 0.3)], 1, pad_for(tex_m, s, 2.5)
    )
    trough = np.clip(-g, 0.0, 1.0)
    t *= trough
    t *= np.float32(TEXTURE_AMP)
    amp = np.float32(p.coral_relief * 0.5 * (l1 + l2)) * fields["coral_amp"] * (1.0 - 0.5 * mantle)
    g += t
    g *= amp
    return g
