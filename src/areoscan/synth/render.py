"""Render one window of a scene: heights -> shading -> detector -> 10-bit DN, plus exact labels.

:func:`render_window` is the unit of work for scenes, strips and patches. It renders a margin
around the window (shadows, blur), so any tiling of the image into windows gives the same
pixels (block grids in :mod:`scene` fix which windows are used, so outputs are bit-identical
whatever the strip height or thread count).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from areoscan.synth import coral, craters, families, negatives, surfaces
from areoscan.synth.blas import single_thread_blas
from areoscan.synth.classes import NODATA, Terrain
from areoscan.synth.footprint import column_gains
from areoscan.synth.layout import Layout
from areoscan.synth.noise import lattice_noise
from areoscan.synth.shading import shade, shadow_margin

LAYER_DETECTOR = 31
SKY = 0.22  # diffuse light in shadows, fraction of flat-ground radiance
MTF_SIGMA = 0.55  # optical + TDI blur, pixels
SHADOW_M = 25.0  # shadows are cast by terrain up to ~2x this distance up-sun
PRESENT = 2e-3  # a kind's weight below this everywhere in a window: skip it there


def shadow_px(scale: float) -> int:
    """Power-of-two shadow scan length for pixels of ``scale`` m."""
    n = 1
    while n * 2 * scale <= SHADOW_M:
        n *= 2
    return n


def window_margin(lay: Layout) -> int:
    """Pixels rendered around a window so its own pixels are exact."""
    p = lay.params
    return shadow_margin(p.sun_azimuth, shadow_px(p.scale)) + 4


def _sub(ext: tuple[int, int, int, int], sub: tuple[int, int, int, int]) -> tuple[slice, slice]:
    """Slices of ``sub`` inside arrays covering ``ext``."""
    return (
        slice(sub[0] - ext[0], sub[0] - ext[0] + sub[2]),
        slice(sub[1] - ext[1], sub[1] - ext[1] + sub[3]),
    )


def heights(
    lay: Layout,
    ext: tuple[int, int, int, int],
    core: tuple[int, int, int, int],
    labels: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Heights (m) and albedo on window ``ext``; draws crater labels into ``labels`` (core).

    Each kind is evaluated only on the part of the window where the layout says it is present.
    """
    p = lay.params
    f = lay.window(["relief", "fine_amp", "albedo"], *ext)
    fr = surfaces.fractal(p, ext)
    bg = fr * f.pop("fine_amp")

    sub = lay.support(["dune_amp0", "dune_amp1"], ext, PRESENT)
    if sub is not None:
        d = lay.window(["dune_phase0", "dune_amp0", "dune_phase1", "dune_amp1"], *sub)
        bg[_sub(ext, sub)] += surfaces.dunes(
            d["dune_phase0"], d["dune_amp0"], d["dune_phase1"], d["dune_amp1"], lay.dune_wavelength
        )
    sub = lay.support(["tar_amp"], ext, PRESENT)  # None in scenes without the TARS kind
    if sub is not None:
        d = lay.window(["tar_phase", "tar_amp"], *sub)
        bg[_sub(ext, sub)] += surfaces.tars(d["tar_phase"], d["tar_amp"], p.tar_wavelength)
    w_poly = f"w_{Terrain.POLYGONS.slug}"
    sub = lay.support([w_poly], ext, PRESENT)
    if sub is not None:
        poly = surfaces.polygons(p, sub)
        poly *= lay.window([w_poly], *sub)[w_poly]
        bg[_sub(ext, sub)] += poly
        del poly
    w_b = f"w_{Terrain.BOULDERS.slug}"
    sub = lay.support([w_b], ext, PRESENT)
    if sub is not None:

        def density(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            return lay.window([w_b], int(rows[0]), int(cols[0]), len(rows), len(cols))[w_b]

        bg[_sub(ext, sub)] += surfaces.boulders(p, sub, density)
    negatives.add_heights(lay, ext, bg, f["albedo"])
    found = craters.craters_near(lay, ext)
    craters.draw_craters(bg, ext[:2], p.scale, found, labels, core[:2], int(Terrain.CRATERS))

    sub = lay.support(["coral"], ext, 0.0)
    if sub is not None:
        sl = _sub(ext, sub)
        a = coral.coral_weight(lay.window(["coral"], *sub)["coral"])
        hc = families.coral_heights(lay, sub)
        hc += np.float32(coral.ROUGHNESS_M) * fr[sl]
        hc -= bg[sl]
        hc *= a
        bg[sl] += hc
        del hc, a
    del fr
    h = f.pop("relief")
    h += bg
    return h, f["albedo"]


def classes(lay: Layout, core: tuple[int, int, int, int]) -> np.ndarray:
    """Terrain id of each core pixel from the layout alone (craters are added by :func:`heights`).

    The dominant background kind (largest blend weight), brain coral wherever the coral
    field is positive. Each kind is only evaluated where it is present.
    """
    best = np.zeros(core[2:], np.float32)
    lab = np.full(core[2:], int(lay.kinds[0]), np.uint8)
    for k in lay.kinds:
        name = f"w_{k.slug}"
        sub = lay.support([name], core, 0.05)
        if sub is None:
            continue
        sl = _sub(core, sub)
        wk = lay.window([name], *sub)[name]
        win = wk > best[sl]
        lab[sl][win] = int(k)
        np.maximum(best[sl], wk, out=best[sl])
    sub = lay.support(["coral"], core, 0.0)
    if sub is not None:
        sl = _sub(core, sub)
        pc = lay.window(["coral"], *sub)["coral"]
        lab[sl][pc > 0] = int(Terrain.BRAIN_CORAL)
    return lab


def render_window(lay: Layout, window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """DN (uint16, 0 outside the footprint) and class labels (uint8, 255 outside) of a window."""
    with single_thread_blas():
        return _render_window(lay, window)


def _render_window(lay: Layout, window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    p = lay.params
    r0, c0, h, w = window
    fp = lay.footprint
    inside, u = fp.mask_and_across(r0, c0, h, w)
    if not inside.any():  # corner blocks of a rotated strip: nothing to render
        return np.zeros((h, w), np.uint16), np.full((h, w), NODATA, np.uint8)
    m = window_margin(lay)
    ext = (r0 - m, c0 - m, h + 2 * m, w + 2 * m)
    labels = classes(lay, window)
    hgt, alb = heights(lay, ext, window, labels)
    # shade the window plus the blur kernel's reach (k px); the margin still casts shadows
    k = 2
    keep = (m - 1 - k, m - 1 - k, h + 2 * k, w + 2 * k)
    rad = shade(hgt, p.scale, p.sun_azimuth, p.incidence, alb, SKY, shadow_px(p.scale), keep)
    del hgt, alb
    rad = ndimage.gaussian_filter(rad, MTF_SIGMA, truncate=3.0, mode="nearest")[
        k : k + h, k : k + w
    ]
    gains = column_gains(p.seed, int(max(fp.across, w)) + 4, p.stripe)
    np.clip(u, 0, len(gains) - 1, out=u)
    rad *= np.take(gains, u.astype(np.int32))
    del u
    dn = rad
    dn -= 1.0
    dn *= np.float32(p.dn_contrast)
    dn += np.float32(p.dn_mean)
    noise = lattice_noise(p.seed, LAYER_DETECTOR, r0, c0, h, w)
    # shot noise ~ sqrt(DN / 50) plus read noise, in DN
    sigma = np.sqrt(np.maximum(dn, 0.0) * np.float32(1.0 / 50.0) + np.float32(p.noise_dn**2))
    noise *= sigma
    dn += noise
    del noise, sigma
    np.clip(dn, 1.0, 1023.0, out=dn)
    out = np.rint(dn).astype(np.uint16)
    out[~inside] = 0
    labels[~inside] = NODATA
    return out, labels
