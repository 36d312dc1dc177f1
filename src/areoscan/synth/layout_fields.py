"""The recipe of a scene's coarse fields: where coral and each terrain kind are, relief, albedo, phases.

Use :func:`make_fields` from :meth:`areoscan.synth.layout.Layout.build` (it is not called on its
own): it fills the layout's 4 m grid with the brain-coral signed distance and ridge controls, the
blended weights of the background kinds, long-wavelength relief, albedo, crater density, dune /
ripple and TAR phases. The amplitudes below are this recipe's knobs (docs/synth.md); the grid,
its noise and its interpolation into pixel windows are :class:`~areoscan.synth.layout.Layout`'s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from areoscan.synth import negatives
from areoscan.synth.classes import Terrain
from areoscan.synth.noise import PowerLaw
from areoscan.synth.regions import region_field

if TYPE_CHECKING:
    from areoscan.synth.layout import Layout

CORAL_MOUNDS_M = 1.2  # rms relief (m) of the 16-120 m undulations of coral patches
REGION_SCALE = {
    Terrain.DUNES: 1.8,
    Terrain.CRATERS: 1.3,
}  # dune fields and cratered plains are large
BLEND_M = 6.0  # width (Gaussian sigma, m) of the blend between neighbouring background kinds

# fine-fractal amplitude (m) and albedo offset of each kind
FINE_AMP = {
    Terrain.MANTLE: 0.04,
    Terrain.ROUGH: 0.30,
    Terrain.CRATERS: 0.06,
    Terrain.DUNES: 0.02,
    Terrain.POLYGONS: 0.05,
    Terrain.BOULDERS: 0.15,
    Terrain.TARS: 0.03,
    Terrain.KNOBBY: 0.08,
    Terrain.LAYERED: 0.04,
    Terrain.RIPPLES: 0.02,
    Terrain.RIM_POLYGONS: 0.05,
}
COARSE_AMP = {  # rms (m) of the 16-150 m fractal relief of each kind
    Terrain.MANTLE: 0.5,
    Terrain.ROUGH: 2.5,
    Terrain.CRATERS: 0.8,
    Terrain.DUNES: 0.4,
    Terrain.POLYGONS: 0.5,
    Terrain.BOULDERS: 1.5,
    Terrain.TARS: 0.4,
    Terrain.KNOBBY: 1.0,
    Terrain.LAYERED: 0.6,
    Terrain.RIPPLES: 0.4,
    Terrain.RIM_POLYGONS: 0.5,
}
TAR_ALBEDO = 0.1  # transverse aeolian ridges are brighter than the plains they sit on


def _signed_distance(inside: np.ndarray, cell_m: float) -> np.ndarray:
    """Smoothed signed distance (m) to the edge of ``inside``: > 0 inside, < 0 outside."""
    d_in = ndimage.distance_transform_edt(inside)
    d_out = ndimage.distance_transform_edt(~inside)
    sd = (np.where(inside, d_in - 0.5, 0.5 - d_out) * cell_m).astype(np.float32)
    return ndimage.gaussian_filter(sd, 1.0, mode="nearest")


def make_fields(lay: Layout, hc: int, wc: int, force_kind: Terrain | None) -> None:
    """Fill ``lay.fields`` (an ``hc`` x ``wc`` grid): coral distance and ridge controls, kind
    weights, then the surface (:func:`_surface`); ``force_kind`` as in :meth:`Layout.build`."""
    p = lay.params
    shape = (hc, wc)
    f = lay.fields
    gy, gx = np.meshgrid(
        (np.arange(hc) - lay.margin + 0.5) * lay.cell_m,
        (np.arange(wc) - lay.margin + 0.5) * lay.cell_m,
        indexing="ij",
    )  # metres from the image's upper-left corner (x east, y south)

    # ---- brain coral patches: signed, roughly metric distance to the patch edge
    coral_frac = p.coral_fraction if force_kind in (None, Terrain.BRAIN_CORAL) else 0.0
    if force_kind is Terrain.BRAIN_CORAL:
        coral_frac = 1.0
    if p.coral_layout == "regions":
        patch = region_field(p, gy, gx, lay.noise)
    else:
        patch = lay.noise(1, shape, PowerLaw(3.4, 16.0, p.coral_patch_m))
    inside = lay._coarse_footprint(hc, wc)
    if coral_frac >= 1.0:
        thr = -np.inf
    elif coral_frac <= 0.0:
        thr = np.inf
    else:
        thr = float(np.quantile(patch[inside] if inside.any() else patch, 1.0 - coral_frac))
    lay.coral_threshold = thr
    if math.isinf(thr):
        pc = np.full(shape, 1e4 if thr < 0 else -1e4, np.float32)
    else:
        pc = _signed_distance(patch > thr, lay.cell_m)
    f["coral"] = pc
    # partial mantling (0 exposed .. 0.8 mostly buried) softens and lowers the ridges;
    # a slowly varying mix angle blends the two ridge fields (orientation, spacing drift)
    mantle = np.clip(lay.mantle(2, pc), 0.0, 0.8)
    mix = 0.5 + 0.5 * np.tanh(1.5 * lay.noise(3, shape, PowerLaw(3.0, 30.0, 300.0)))
    amp = 1.0 + 0.2 * lay.noise(4, shape, PowerLaw(3.0, 20.0, 200.0))
    lam = 0.5 * sum(p.coral_wavelength)
    f["coral_cos"] = np.cos(mix * math.pi / 2).astype(np.float32)
    f["coral_sin"] = np.sin(mix * math.pi / 2).astype(np.float32)
    f["coral_kappa"] = (p.coral_sharp * (1.0 - 0.6 * mantle)).astype(np.float32)
    f["coral_gain"] = (p.coral_relief * lam * amp * (1.0 - 0.5 * mantle)).astype(np.float32)

    # ---- background partition (softmax over kinds), mantle favoured next to coral
    kinds = [Terrain(k) for k in p.kinds]
    if force_kind is not None and force_kind is not Terrain.BRAIN_CORAL:
        kinds = [force_kind]
    elif force_kind is Terrain.BRAIN_CORAL:
        kinds = [Terrain.MANTLE]
    lay.kinds = tuple(kinds)
    logits = []
    near = np.exp(-np.maximum(-pc, 0.0) / 40.0)
    for k in kinds:
        b = p.kind_bias[p.kinds.index(int(k))] if int(k) in p.kinds else 0.0
        size = p.region_m * REGION_SCALE.get(k, 1.0)
        lg = lay.noise(10 + int(k), shape, PowerLaw(3.0, size / 8.0, size)) + b
        if k is Terrain.MANTLE:
            lg = lg + 2.0 * near
        logits.append(lg.astype(np.float32))
    best = np.argmax(np.stack(logits), axis=0)
    del logits
    sigma = BLEND_M / lay.cell_m
    for i, k in enumerate(kinds):
        wk = ndimage.gaussian_filter((best == i).astype(np.float32), sigma, mode="nearest")
        f[f"w_{k.slug}"] = wk
    wsum = {k: f.get(f"w_{k.slug}", np.zeros(shape, np.float32)) for k in FINE_AMP}
    _surface(lay, pc, kinds, wsum, gy, gx)


def _surface(lay: Layout, pc: np.ndarray, kinds: list[Terrain], wsum: dict[Terrain, np.ndarray],
             gy: np.ndarray, gx: np.ndarray) -> None:  # fmt: skip
    """Relief, albedo, crater density, dunes and TARs over the coral field ``pc`` and the
    background kinds' weights ``wsum`` (the second half of :func:`make_fields`)."""
    p, f, shape = lay.params, lay.fields, pc.shape
    # ---- relief (m): regional slopes + per-kind fractal, coral sits a little lower
    relief = 4.0 * lay.noise(20, shape, PowerLaw(4.0, 60.0, 2500.0))
    frac = lay.noise(21, shape, PowerLaw(3.2, 16.0, 150.0))
    relief += frac * sum(COARSE_AMP[k] * wsum[k] for k in COARSE_AMP)
    a_coral = np.clip(pc / 8.0, 0.0, 1.0)
    a_coral = a_coral * a_coral * (3.0 - 2.0 * a_coral)
    relief -= 0.8 * a_coral
    # brain coral surfaces undulate over tens of metres (mounds, shallow troughs)
    relief += CORAL_MOUNDS_M * a_coral * lay.noise(22, shape, PowerLaw(3.5, 16.0, 120.0))
    f["relief"] = relief.astype(np.float32)
    fine = np.zeros(shape, np.float32)
    for k, fine_m in FINE_AMP.items():
        fine += np.float32(fine_m) * wsum[k]
    f["fine_amp"] = fine

    # ---- albedo: regional variation, dark or bright dunes, slightly brighter coral
    alb = 1.0 + 0.05 * lay.noise(30, shape, PowerLaw(3.0, 40.0, 1500.0))
    dune_alb = -0.25 if (p.seed % 3) else 0.12
    alb += dune_alb * wsum[Terrain.DUNES]
    if Terrain.TARS in kinds:
        alb += TAR_ALBEDO * wsum[Terrain.TARS]
    f["albedo"] = alb.astype(np.float32)

    # ---- crater density multiplier (0 inside and next to coral)
    dens = 1.0 + 25.0 * wsum[Terrain.CRATERS]
    f["crater_density"] = (dens * (pc < -5.0)).astype(np.float32)

    # ---- dunes (large, asymmetric) and ripples (small, symmetric): phases in radians
    for j, (lam, th) in enumerate(zip(lay.dune_wavelength, p.dune_theta, strict=True)):
        warp = 1.2 * lay.noise(40 + j, shape, PowerLaw(3.0, max(3.0 * lam, 16.0), 20.0 * lam))
        ph = 2.0 * math.pi * (gx * math.cos(th) + gy * math.sin(th)) / lam + 2 * math.pi * warp
        f[f"dune_phase{j}"] = ph.astype(np.float32)
        amp = np.clip(0.6 + 0.6 * lay.noise(44 + j, shape, PowerLaw(3.0, 40.0, 600.0)), 0.0, 1.2)
        f[f"dune_amp{j}"] = (amp * wsum[Terrain.DUNES]).astype(np.float32)
    if Terrain.TARS in kinds:
        _tars(lay, gx, gy, wsum[Terrain.TARS])
    negatives.layout_fields(lay, gy, gx)


def _tars(lay: Layout, gx: np.ndarray, gy: np.ndarray, weight: np.ndarray) -> None:
    """Phase and crest height of transverse aeolian ridges: straight-ish parallel crests."""
    p, shape = lay.params, gx.shape
    lam, th = p.tar_wavelength, p.tar_theta
    warp = 0.3 * lay.noise(48, shape, PowerLaw(3.0, max(4.0 * lam, 16.0), 25.0 * lam))
    warp += 0.12 * lay.noise(50, shape, PowerLaw(3.0, max(1.5 * lam, 8.0), 5.0 * lam))
    ph = 2.0 * math.pi * ((gx * math.cos(th) + gy * math.sin(th)) / lam + warp)
    lay.fields["tar_phase"] = ph.astype(np.float32)
    # crests break into segments a few spacings long, and crest height varies regionally
    seg = lay.noise(49, shape, PowerLaw(3.0, max(1.5 * lam, 8.0), 8.0 * lam))
    reg = lay.noise(51, shape, PowerLaw(3.0, 30.0, 400.0))
    amp = np.clip(0.9 + 0.7 * seg + 0.2 * reg, 0.0, 1.3)
    lay.fields["tar_amp"] = (amp * weight).astype(np.float32)
