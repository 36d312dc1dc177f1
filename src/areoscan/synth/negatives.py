"""Hard negatives for a brain-coral model: knobby terrain, layered deposits, multi-scale ripples.

Use them by naming the kinds (``kinds=["knobby", "layered", "ripples", ...]``, ``--kinds``):
like TARs they are extra kinds, so default scenes keep their pixels. Each looks like something
a coral model could confuse with coral at some scale:

* ``knobby``: scattered rounded knobs and small mesas (6-18 m radius, a jittered 35 m grid,
  about half the cells occupied), casting shadows like coral ridges;
* ``layered``: layered deposits eroded into terraces: a smooth regional surface cut into
  treads and risers of 2-8 m thickness, with a brightness per layer, seen as curved bands
  tens of metres apart;
* ``ripples``: two or three crossing ripple trains at 2-9 m spacing (crosshatched ripples and
  small TARs), sinuous through a slow warp: periodic texture at the coral's own scale;
* ``rim_polygons``: low-centred polygons (10-30 m) whose borders are a trough flanked by two
  raised rims: closed cells of ridges, the hard negative for the ``cells`` coral family.

:func:`layout_fields` adds the coarse fields they need when the layout is built;
:func:`add_heights` adds their heights (and layer brightness) on a render window. Parameters come
from the scene seed through their own stream (:func:`draw`), so they do not move other
parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from areoscan.synth.classes import Terrain
from areoscan.synth.noise import PowerLaw, hash_uniform

if TYPE_CHECKING:
    from areoscan.synth.layout import Layout

KNOB_CELL_M = 35.0
KNOB_OCCUPIED = 0.55
KNOB_RADIUS_M = (6.0, 18.0)
STREAM_KNOBS = 901  # .. 905
LAYER_ALBEDO = 0.05  # brightness step between layers
PRESENT = 2e-3  # as render.PRESENT: below this weight a kind is skipped in a window
NEGATIVES = (Terrain.KNOBBY, Terrain.LAYERED, Terrain.RIPPLES, Terrain.RIM_POLYGONS)
STREAM_RIMS = 911  # jitter y, x: 911, 912
RIM_OFFSET_M, RIM_WIDTH_M, RIM_HEIGHT_M = 1.6, 1.0, 0.5  # rims flanking the border trough


@dataclass(frozen=True)
class NegativeParams:
    """Parameters of the hard-negative kinds of one scene."""

    layer_m: float  #: layer thickness (m)
    layer_slope: float  #: regional slope of the layered surface
    layer_theta: float  #: its down-slope direction (radians)
    ripple_m: tuple[float, ...]  #: spacing of each ripple train (m)
    ripple_theta: tuple[float, ...]  #: crest-normal direction of each train (radians)
    rim_polygon_m: float = 15.0  #: size of raised-rim polygons (m)


def draw(seed: int) -> NegativeParams:
    """The scene's hard-negative parameters (a stream of their own)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 31, seed >> 32])
    n = int(rng.integers(2, 4))
    th0 = float(rng.uniform(0.0, math.pi))
    return NegativeParams(
        layer_m=float(rng.uniform(2.0, 8.0)),
        layer_slope=float(rng.uniform(0.04, 0.15)),
        layer_theta=float(rng.uniform(0.0, 2.0 * math.pi)),
        ripple_m=tuple(float(x) for x in rng.uniform(2.0, 9.0, n)),
        ripple_theta=tuple(th0 + float(rng.normal(0.0, 0.25)) + k * math.pi / 2 for k in range(n)),
        rim_polygon_m=float(rng.uniform(10.0, 30.0)),
    )


def layout_fields(lay: Layout, gy: np.ndarray, gx: np.ndarray) -> None:
    """Coarse fields of the layered kind (``layer_z``: the surface, m) and of the ripples
    (``ripple_warp``: phase warp in spacings), for the kinds present."""
    q = draw(lay.params.seed)
    if Terrain.LAYERED in lay.kinds:
        ramp = gx * math.cos(q.layer_theta) + gy * math.sin(q.layer_theta)
        z = q.layer_slope * ramp + 6.0 * lay.noise(80, gy.shape, PowerLaw(3.0, 40.0, 600.0))
        lay.fields["layer_z"] = z.astype(np.float32)
    if Terrain.RIPPLES in lay.kinds:
        lmax = max(q.ripple_m)
        warp = lay.noise(81, gy.shape, PowerLaw(3.0, 16.0, max(15.0 * lmax, 64.0)))
        lay.fields["ripple_warp"] = (0.6 * warp).astype(np.float32)


def _sub(ext: tuple[int, int, int, int], sub: tuple[int, int, int, int]) -> tuple[slice, slice]:
    return (
        slice(sub[0] - ext[0], sub[0] - ext[0] + sub[2]),
        slice(sub[1] - ext[1], sub[1] - ext[1] + sub[3]),
    )


def add_heights(
    lay: Layout, ext: tuple[int, int, int, int], bg: np.ndarray, alb: np.ndarray
) -> None:
    """Add the hard negatives' heights to ``bg`` (m) and layer brightness to ``alb`` on ``ext``."""
    kinds = lay.kinds
    if not any(k in kinds for k in NEGATIVES):
        return
    q = draw(lay.params.seed)
    for kind, fn in (
        (Terrain.KNOBBY, _knobs),
        (Terrain.RIPPLES, _ripples),
        (Terrain.RIM_POLYGONS, _rim_polygons),
    ):
        name = f"w_{kind.slug}"
        sub = lay.support([name], ext, PRESENT) if kind in kinds else None
        if sub is not None:
            h = fn(lay, sub, q)
            h *= lay.window([name], *sub)[name]
            bg[_sub(ext, sub)] += h
    name = f"w_{Terrain.LAYERED.slug}"
    sub = lay.support([name], ext, PRESENT) if Terrain.LAYERED in kinds else None
    if sub is not None:
        f = lay.window([name, "layer_z"], *sub)
        t = f["layer_z"] / np.float32(q.layer_m)
        layer = np.floor(t)
        frac = t - layer
        # treads then a riser over the last 30 % of each layer: stair minus the smooth surface
        rise = np.clip((frac - np.float32(0.7)) / np.float32(0.3), 0.0, 1.0)
        rise = rise * rise * (3.0 - 2.0 * rise)
        stair = (rise - frac) * np.float32(q.layer_m)
        sl = _sub(ext, sub)
        bg[sl] += stair * f[name]
        bright = hash_uniform(lay.params.seed, 906, layer.astype(np.int64)).astype(np.float32)
        alb[sl] += (bright - np.float32(0.5)) * np.float32(2.0 * LAYER_ALBEDO) * f[name]


def _knobs(lay: Layout, window: tuple[int, int, int, int], q: NegativeParams) -> np.ndarray:
    """Knob heights (m): rounded domes painted cell by cell into the window."""
    p = lay.params
    s = p.scale
    r0, c0, h, w = window
    out = np.zeros((h, w), np.float32)
    reach = KNOB_RADIUS_M[1] + KNOB_CELL_M
    i0, i1 = (
        math.floor((r0 * s - reach) / KNOB_CELL_M),
        math.ceil(((r0 + h) * s + reach) / KNOB_CELL_M),
    )
    j0, j1 = (
        math.floor((c0 * s - reach) / KNOB_CELL_M),
        math.ceil(((c0 + w) * s + reach) / KNOB_CELL_M),
    )
    gi, gj = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
    u = [hash_uniform(p.seed, STREAM_KNOBS + k, gi, gj).ravel() for k in range(5)]
    lo, hi = KNOB_RADIUS_M
    for ci, cj, occ, jy, jx, ur, uh in zip(gi.ravel(), gj.ravel(), *u, strict=True):
        if occ > KNOB_OCCUPIED:
            continue
        cy = (ci + 0.5 + 0.8 * (jy - 0.5)) * KNOB_CELL_M / s - r0  # window pixels
        cx = (cj + 0.5 + 0.8 * (jx - 0.5)) * KNOB_CELL_M / s - c0
        rad = (lo + (hi - lo) * ur) / s
        ya, yb = max(int(cy - rad), 0), min(int(cy + rad) + 2, h)
        xa, xb = max(int(cx - rad), 0), min(int(cx + rad) + 2, w)
        if ya >= yb or xa >= xb:
            continue
        yy = (np.arange(ya, yb, dtype=np.float32) + 0.5 - np.float32(cy))[:, None]
        xx = (np.arange(xa, xb, dtype=np.float32) + 0.5 - np.float32(cx))[None, :]
        d2 = (yy * yy + xx * xx) / np.float32(rad * rad)
        dome = np.clip(1.0 - d2, 0.0, None) ** 1.5
        dome *= np.float32((0.3 + 0.5 * uh) * rad * s)  # height 0.3-0.8 of the radius
        np.maximum(out[ya:yb, xa:xb], dome, out=out[ya:yb, xa:xb])
    return out


def _ripples(lay: Layout, window: tuple[int, int, int, int], q: NegativeParams) -> np.ndarray:
    """Crossing ripple trains (m): cusped crests, sinuous through a slow warp."""
    p = lay.params
    s = p.scale
    r0, c0, h, w = window
    warp = lay.window(["ripple_warp"], *window)["ripple_warp"]
    y = ((np.arange(r0, r0 + h, dtype=np.float32) + 0.5) * np.float32(s))[:, None]
    x = ((np.arange(c0, c0 + w, dtype=np.float32) + 0.5) * np.float32(s))[None, :]
    out = np.zeros((h, w), np.float32)
    for k, (lam, th) in enumerate(zip(q.ripple_m, q.ripple_theta, strict=True)):
        ph = (x * np.float32(math.cos(th)) + y * np.float32(math.sin(th))) / np.float32(lam)
        ph = ph + (warp if k % 2 == 0 else -warp)
        r = np.sqrt(np.abs(np.cos(np.float32(math.pi) * ph)))  # cusped crests
        r -= np.float32(0.6)
        r *= np.float32(0.06 * lam / (1.0 + k))  # later trains fainter
        out += r
    return out


def _rim_polygons(lay: Layout, window: tuple[int, int, int, int], q: NegativeParams) -> np.ndarray:
    """Raised-rim polygon heights (m): a trough on each Voronoi border, a rim on either side."""
    p = lay.params
    s, cs = p.scale, q.rim_polygon_m
    r0, c0, h, w = window
    y = ((np.arange(r0, r0 + h, dtype=np.float64) + 0.5) * s / cs)[:, None]
    x = ((np.arange(c0, c0 + w, dtype=np.float64) + 0.5) * s / cs)[None, :]
    ci, cj = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    i0, j0 = int(ci.min()) - 1, int(cj.min()) - 1
    gi, gj = np.meshgrid(
        np.arange(i0, int(ci.max()) + 2), np.arange(j0, int(cj.max()) + 2), indexing="ij"
    )
    sy = gi + 0.5 + 0.8 * (hash_uniform(p.seed, STREAM_RIMS, gi, gj) - 0.5)
    sx = gj + 0.5 + 0.8 * (hash_uniform(p.seed, STREAM_RIMS + 1, gi, gj) - 0.5)
    f1 = np.full((h, w), np.inf, np.float32)
    f2 = np.full((h, w), np.inf, np.float32)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            a, b = ci + di - i0, cj + dj - j0  # (h, 1) and (1, w)
            d = ((sy[a, b] - y) ** 2 + (sx[a, b] - x) ** 2).astype(np.float32)
            f2 = np.minimum(f2, np.maximum(f1, d))
            f1 = np.minimum(f1, d)
    dist = (np.sqrt(f2) - np.sqrt(f1)) * np.float32(0.5 * cs)  # ~ metres to the border
    rim = np.exp(-(((dist - RIM_OFFSET_M) / RIM_WIDTH_M) ** 2))
    trough = np.exp(-((dist / (0.6 * RIM_WIDTH_M)) ** 2))
    return (RIM_HEIGHT_M * (rim - 0.6 * trough)).astype(np.float32)
