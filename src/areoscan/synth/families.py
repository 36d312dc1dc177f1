"""Brain coral pattern families: which generator draws the ridges, and how they are degraded.

Use :func:`coral_heights` wherever coral heights are needed: it dispatches on the scene's
``coral_family``. ``bandpass`` is the original thresholded band-pass labyrinth
(:mod:`areoscan.synth.coral`, unchanged pixels); ``turing`` is a Swift-Hohenberg
reaction-diffusion pattern (:mod:`areoscan.synth.turing`); ``cells`` is a ridge network on the
walls of Voronoi cells (:mod:`areoscan.synth.cells`). The two new families share no code with
the band-pass one for the pattern itself; they share :func:`degrade` (mantling, dust, burial,
erosion), so that one held-out family differs from the others by its pattern only.

:func:`prepare` runs once per scene (from :meth:`Layout.build`): it adds the coarse fields the
new families need (``fam_*``) and whatever global state their pattern has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from areoscan.synth import cells, coral, turing
from areoscan.synth.noise import PowerLaw, band_field, pad_for

if TYPE_CHECKING:
    from areoscan.synth.layout import Layout

LAYER_EROSION = 43
BURIAL_SOFT = 0.15  # width of the soft maximum between ridges and a filled trough floor
FAMILY_FIELDS = ["fam_mantle", "fam_bury", "fam_erode", "fam_gain"]


def prepare(lay: Layout) -> None:
    """Coarse degradation fields (and the pattern's global state) of a non-default family."""
    p = lay.params
    fp = p.family
    if fp is None:
        return
    f = lay.fields
    shape = f["coral"].shape
    mantle = np.clip(lay.mantle(60, f["coral"]) + fp.dust, 0.0, 0.85)
    bury = fp.burial * (0.7 + 0.6 * lay.noise(61, shape, PowerLaw(3.0, 20.0, 300.0)))
    erode = fp.erosion * (0.6 + 0.6 * lay.noise(62, shape, PowerLaw(3.0, 20.0, 300.0)))
    amp = 1.0 + 0.2 * lay.noise(63, shape, PowerLaw(3.0, 20.0, 200.0))
    f["fam_mantle"] = mantle.astype(np.float32)
    f["fam_bury"] = np.clip(bury, 0.0, 0.9).astype(np.float32)
    f["fam_erode"] = np.clip(erode, 0.0, 1.0).astype(np.float32)
    f["fam_gain"] = (fp.relief * fp.wavelength * amp * (1.0 - 0.5 * mantle)).astype(np.float32)
    if p.coral_family == "turing":
        lay.pattern = turing.prepare(lay)


def coral_heights(lay: Layout, window: tuple[int, int, int, int]) -> np.ndarray:
    """Coral heights (m) on ``window`` (r0, c0, h, w) for the scene's family, before the
    patch weight is applied (see :func:`areoscan.synth.render.heights`)."""
    p = lay.params
    if p.family is None:
        return coral.coral_heights(lay, window)
    if p.coral_family == "turing":
        v = turing.pattern(lay, window)
    else:
        v = cells.pattern(lay, window)
    return degrade(lay, window, v)


def degrade(lay: Layout, window: tuple[int, int, int, int], v: np.ndarray) -> np.ndarray:
    """Ridge heights (m) from a pattern ``v`` (> 0 on ridges, ~unit scale), degraded in place.

    Mantling and dust soften the walls (lower tanh gain) and lower the relief; burial fills
    the troughs to a level set by ``fam_bury`` (a soft maximum, so ridges poke out of a flat
    floor); erosion breaks ridge crests down where a fine noise field is high.
    """
    p = lay.params
    fp = p.family
    assert fp is not None
    fld = lay.window(FAMILY_FIELDS, *window)
    kappa = np.float32(fp.sharp) * (1.0 - np.float32(0.6) * fld["fam_mantle"])
    v *= kappa
    g = np.tanh(v, out=v)
    floor = fld["fam_bury"] * np.float32(2.0) - np.float32(1.0)
    d = g - floor
    d *= d
    d += np.float32(BURIAL_SOFT**2)
    np.sqrt(d, out=d)
    g += floor
    g += d
    g *= np.float32(0.5)  # soft max(g, floor)
    del d, floor
    lam = fp.wavelength
    s = p.scale
    filt = PowerLaw(3.0, max(0.7 * lam, 2.5 * s), 4.0 * lam)
    (e,) = band_field(p.seed, LAYER_EROSION, window, s, [filt], 1, pad_for(4.0 * lam, s, 1.5))
    e *= np.float32(0.6)
    e += np.float32(0.5)
    np.clip(e, 0.0, 1.0, out=e)
    e *= fld["fam_erode"]
    e *= np.maximum(g, 0.0)
    e *= np.float32(1.2)
    g -= e
    del e
    g *= fld["fam_gain"]
    return g
