"""Impact craters of many sizes as discrete objects: bowl, raised rim, ejecta blanket.

Craters are drawn per size bin on a world grid of cells (cells grow with crater size), with a
power-law size-frequency distribution N(>D) = k D^-2 per m^2 thinned by the layout's
``crater_density`` field. Every number comes from hashing (seed, bin, cell, index), so any
window finds exactly the same craters: use :func:`craters_near` then :func:`draw_craters`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from areoscan.synth.layout import Layout
from areoscan.synth.noise import hash_uniform

D_MIN_M = 2.0
D_MAX_M = 400.0
EJECTA_R = 2.5  # ejecta reach, in crater radii
LABEL_MIN_D_M = 20.0  # craters at least this wide are labelled CRATERS outside crater regions
LABEL_R = 1.3  # labelled out to this many radii (rim + near ejecta)
MAX_DENSITY = 26.0  # upper bound of layout.fields["crater_density"]


@dataclass
class Craters:
    """Crater centres (pixel row/col, float), diameters (m) and freshness (0 degraded..1 fresh)."""

    row: np.ndarray
    col: np.ndarray
    diameter: np.ndarray
    fresh: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


def _poisson(u: np.ndarray, lam: float) -> np.ndarray:
    """Inverse-CDF Poisson counts for uniforms ``u`` (vectorised, small lambda)."""
    k = np.zeros(u.shape, np.int64)
    p = math.exp(-lam)
    cdf = np.full(u.shape, p)
    for i in range(1, 200):
        more = u > cdf
        if not more.any():
            break
        k += more
        p *= lam / i
        cdf = cdf + p
    return k


def craters_near(lay: Layout, window: tuple[int, int, int, int]) -> Craters:
    """All craters whose ejecta reach pixel window (r0, c0, h, w)."""
    p = lay.params
    s = p.scale
    r0, c0, h, w = window
    d_min = max(D_MIN_M, 3.0 * s)
    rows, cols, diam, fresh = [], [], [], []
    nbins = int(math.ceil(math.log2(D_MAX_M / d_min)))
    for b in range(nbins):
        lo, hi = d_min * 2.0**b, d_min * 2.0 ** (b + 1)
        cell_m = max(64.0, 4.0 * hi)
        lam = p.crater_k * (lo**-2 - hi**-2) * cell_m**2 * MAX_DENSITY
        reach = EJECTA_R * hi / 2.0
        y0, y1 = r0 * s - reach, (r0 + h) * s + reach
        x0, x1 = c0 * s - reach, (c0 + w) * s + reach
        grid_i, grid_j = np.meshgrid(
            np.arange(math.floor(y0 / cell_m), math.floor(y1 / cell_m) + 1),
            np.arange(math.floor(x0 / cell_m), math.floor(x1 / cell_m) + 1),
            indexing="ij",
        )
        gi, gj = grid_i.ravel(), grid_j.ravel()
        n = _poisson(hash_uniform(p.seed, 700 + b, gi, gj), lam)
        if n.sum() == 0:
            continue
        ci, cj = np.repeat(gi, n), np.repeat(gj, n)
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        u = [hash_uniform(p.seed, 800 + 10 * b + q, ci, cj, k) for q in range(5)]
        cy = (ci + u[0]) * cell_m / s  # pixel coordinates of the centre
        cx = (cj + u[1]) * cell_m / s
        d = (lo**-2 - u[2] * (lo**-2 - hi**-2)) ** -0.5
        keep = u[3] * MAX_DENSITY < lay.points("crater_density", cy, cx)
        # no crater overlapping a coral patch (coral field ~ signed metres to its edge)
        keep &= lay.points("coral", cy, cx) < -(EJECTA_R * d / 2.0 + 5.0)
        rr = EJECTA_R * d / 2.0 / s
        keep &= (cy + rr > r0) & (cy - rr < r0 + h) & (cx + rr > c0) & (cx - rr < c0 + w)
        rows.append(cy[keep])
        cols.append(cx[keep])
        diam.append(d[keep])
        fresh.append(u[4][keep] ** 0.7)
    if not rows:
        e = np.zeros(0)
        return Craters(e, e, e, e)
    return Craters(*(np.concatenate(a) for a in (rows, cols, diam, fresh)))


def crater_profile(r: np.ndarray, fresh: float) -> np.ndarray:
    """Height of a crater of unit diameter at radius r (in radii): bowl, rim, ejecta.

    Use it for any crater drawn as a height field (the scene craters here, the labelled
    instance crops of :mod:`areoscan.synth.objects`): rim crest at r = 1, ejecta to r = EJECTA_R.
    """
    depth = 0.05 + 0.15 * fresh
    rim = 0.008 + 0.032 * fresh
    bowl = -depth + (depth + rim) * np.minimum(r, 1.0) ** (2.0 + 2.0 * fresh)
    ejecta = (
        rim * np.maximum(r, 1.0) ** -3.0 * np.minimum(np.maximum((EJECTA_R - r) / 0.5, 0.0), 1.0)
    )
    prof = np.where(r < 1.0, bowl, ejecta)
    if fresh < 0.5:  # degraded: soften the rim crest
        soft = 1.0 - 0.5 * (0.5 - fresh) * np.exp(-(((r - 1.0) / 0.15) ** 2))
        prof = prof * soft
    return prof


def draw_craters(
    height: np.ndarray,
    origin: tuple[int, int],
    scale: float,
    craters: Craters,
    label: np.ndarray | None = None,
    label_origin: tuple[int, int] = (0, 0),
    label_value: int = 4,
) -> None:
    """Add crater relief to ``height`` (window at ``origin``) and mark labelled craters in ``label``."""
    r0, c0 = origin
    hh, ww = height.shape
    for cy, cx, d, fr in zip(
        craters.row, craters.col, craters.diameter, craters.fresh, strict=True
    ):
        rad_px = d / 2.0 / scale
        reach = EJECTA_R * rad_px
        ra, rb = max(int(cy - reach) - r0, 0), min(int(cy + reach) + 2 - r0, hh)
        ca, cb = max(int(cx - reach) - c0, 0), min(int(cx + reach) + 2 - c0, ww)
        if ra >= rb or ca >= cb:
            continue
        dy = (np.arange(ra, rb) + r0 + 0.5 - cy)[:, None]
        dx = (np.arange(ca, cb) + c0 + 0.5 - cx)[None, :]
        r = np.sqrt(dy * dy + dx * dx) / rad_px
        height[ra:rb, ca:cb] += (d * crater_profile(r, float(fr))).astype(np.float32)
        if label is not None and d >= LABEL_MIN_D_M:
            lr0, lc0 = label_origin
            la, lb = max(ra + r0 - lr0, 0), min(rb + r0 - lr0, label.shape[0])
            lca, lcb = max(ca + c0 - lc0, 0), min(cb + c0 - lc0, label.shape[1])
            if la < lb and lca < lcb:
                sub = r[
                    la + lr0 - r0 - ra : lb + lr0 - r0 - ra,
                    lca + lc0 - c0 - ca : lcb + lc0 - c0 - ca,
                ]
                view = label[la:lb, lca:lcb]
                view[sub < LABEL_R] = label_value
