"""Labelled landform objects for instance crops: craters, pits / skylights and boulders.

Use :func:`place_objects` to draw a crop's objects (sizes, shapes, non-overlapping footprints,
pit chains) and :func:`draw_object` to add each one's relief and albedo to a height field; the
exact instance mask of an object is :func:`footprint` (its rim crest / edge / outline), so a
label never depends on how the object happens to be lit. Sizes are in pixels of the crop
(they mimic the real pit crops of ``hirise-pits-boxes``: objects 3-50 % of the crop side);
heights are metres at ``scale`` m/px, so the shading and cast shadows of
:func:`areoscan.synth.shading.shade` come out right for the scene's sun.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from areoscan.synth.craters import EJECTA_R, crater_profile

# diameter range of each class as a fraction of the crop side (log-uniform between them)
DIAMETER_FRACTION = {"crater": (0.05, 0.45), "pit": (0.035, 0.35), "boulder": (0.012, 0.05)}
MEAN_COUNT = {"crater": 1.2, "pit": 1.8, "boulder": 3.0}  # Poisson mean per crop
MIN_DIAMETER_PX = 5.0
PIT_VARIANTS = ("skylight", "bowl", "elongated")
CHAIN_PROBABILITY = 0.3  # a pit starts a chain of 2-5 touching pits (collapse pit chains)


@dataclass
class SynthObject:
    """One object: class ``kind``, centre ``(row, col)`` px, semi-axes ``a >= b`` px along
    ``angle`` (radians from the column axis), relief ``height`` m (negative = a depression),
    floor / body ``albedo`` (relative), ``variant`` (skylight, bowl, elongated, fresh, degraded)
    and ``fresh`` (crater degradation 0..1, pit wall sharpness 0..1)."""

    kind: str
    row: float
    col: float
    a: float
    b: float
    angle: float
    height: float
    albedo: float
    variant: str
    fresh: float

    @property
    def reach(self) -> float:
        """Pixels from the centre that the relief touches (crater ejecta beyond the rim)."""
        return self.a * (EJECTA_R if self.kind == "crater" else 1.15)


def _radius(obj: SynthObject, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Elliptical radius (1 on the rim / edge) at pixel centres ``rows`` x ``cols``."""
    dy = rows[:, None] + 0.5 - obj.row
    dx = cols[None, :] + 0.5 - obj.col
    c, s = math.cos(obj.angle), math.sin(obj.angle)
    u = dx * c + dy * s
    v = -dx * s + dy * c
    return np.sqrt((u / obj.a) ** 2 + (v / obj.b) ** 2)


def footprint(obj: SynthObject, shape: tuple[int, int]) -> np.ndarray:
    """The object's exact instance mask on a frame of ``shape``: pixel centres inside its rim."""
    h, w = shape
    mask = np.zeros(shape, bool)
    r0, r1 = max(int(obj.row - obj.a) - 1, 0), min(int(obj.row + obj.a) + 2, h)
    c0, c1 = max(int(obj.col - obj.a) - 1, 0), min(int(obj.col + obj.a) + 2, w)
    if r0 < r1 and c0 < c1:
        mask[r0:r1, c0:c1] = _radius(obj, np.arange(r0, r1), np.arange(c0, c1)) < 1.0
    return mask


def _relief(obj: SynthObject, r: np.ndarray, scale: float) -> np.ndarray:
    """Height (m) of ``obj`` at elliptical radii ``r``."""
    if obj.kind == "crater":
        return 2.0 * obj.a * scale * crater_profile(r, obj.fresh)
    if obj.kind == "pit":
        # walls of width (1 - fresh) * 0.9 + 0.05 radii: a skylight is a near-vertical shaft, a
        # bowl pit a funnel; a low lip at the edge
        wall = 0.05 + 0.9 * (1.0 - obj.fresh)
        inside = np.clip((1.0 - r) / wall, 0.0, 1.0) ** (0.6 + 0.8 * (1.0 - obj.fresh))
        lip = 0.04 * abs(obj.height) * np.exp(-(((r - 1.0) / 0.08) ** 2))
        return obj.height * inside + lip
    # boulder: a half ellipsoid
    return obj.height * np.sqrt(np.clip(1.0 - r * r, 0.0, 1.0))


def draw_object(
    obj: SynthObject, height: np.ndarray, albedo: np.ndarray, origin: int, scale: float
) -> None:
    """Add ``obj``'s relief to ``height`` and set its albedo, both padded by ``origin`` px."""
    hh, ww = height.shape
    reach = obj.reach
    cy, cx = obj.row + origin, obj.col + origin
    r0, r1 = max(int(cy - reach) - 1, 0), min(int(cy + reach) + 2, hh)
    c0, c1 = max(int(cx - reach) - 1, 0), min(int(cx + reach) + 2, ww)
    if r0 >= r1 or c0 >= c1:
        return
    shifted = SynthObject(**{**obj.__dict__, "row": cy, "col": cx})
    r = _radius(shifted, np.arange(r0, r1), np.arange(c0, c1))
    height[r0:r1, c0:c1] += _relief(obj, r, scale).astype(np.float32)
    if obj.albedo != 1.0:
        edge = np.clip((1.0 - r) / 0.15, 0.0, 1.0)  # soft albedo edge just inside the rim
        view = albedo[r0:r1, c0:c1]
        view *= (1.0 + (obj.albedo - 1.0) * edge).astype(np.float32)


def _new_object(
    kind: str, row: float, col: float, d: float, rng: np.random.Generator, scale: float
) -> SynthObject:
    """A random object of ``kind`` and diameter ``d`` px centred at ``(row, col)``."""
    angle = float(rng.uniform(0.0, math.pi))
    if kind == "crater":
        fresh = float(rng.uniform(0.0, 1.0) ** 0.7)
        return SynthObject(kind, row, col, d / 2, d / 2 * float(rng.uniform(0.9, 1.0)), angle,
                           0.0, 1.0, "fresh" if fresh >= 0.5 else "degraded", fresh)  # fmt: skip
    if kind == "pit":
        variant = PIT_VARIANTS[int(rng.integers(len(PIT_VARIANTS)))]
        sharp = {"skylight": (0.85, 1.0), "bowl": (0.0, 0.45), "elongated": (0.3, 0.8)}[variant]
        fresh = float(rng.uniform(*sharp))
        aspect = (
            float(rng.uniform(0.3, 0.7)) if variant == "elongated" else float(rng.uniform(0.8, 1.0))
        )
        depth = (
            d
            * scale
            * float(rng.uniform(0.5, 1.2) if variant == "skylight" else rng.uniform(0.12, 0.35))
        )
        dark = (
            float(rng.uniform(0.3, 0.7)) if variant == "skylight" else float(rng.uniform(0.75, 1.0))
        )
        return SynthObject(kind, row, col, d / 2, d / 2 * aspect, angle, -depth, dark, variant, fresh)  # fmt: skip
    tall = d / 2 * scale * float(rng.uniform(0.6, 1.3))
    return SynthObject(kind, row, col, d / 2, d / 2 * float(rng.uniform(0.6, 1.0)), angle,
                       tall, float(rng.uniform(1.1, 1.5)), "", 1.0)  # fmt: skip


def _fits(obj: SynthObject, placed: list[SynthObject], gap: float = 2.0) -> bool:
    """True when ``obj``'s footprint (bounding circle) keeps ``gap`` px from every placed one."""
    return all(math.hypot(obj.row - p.row, obj.col - p.col) >= obj.a + p.a + gap for p in placed)


def _visible(obj: SynthObject, size: int, share: float = 0.4) -> bool:
    """True when at least ``share`` of the footprint lies inside the ``size`` x ``size`` frame."""
    mask = footprint(obj, (size, size))
    return bool(mask.sum() >= max(share * math.pi * obj.a * obj.b, 0.6 * MIN_DIAMETER_PX**2))


def _chain(
    first: SynthObject, size: int, rng: np.random.Generator, scale: float
) -> list[SynthObject]:
    """2-5 pits of similar size in a row along a random direction, starting at ``first``."""
    out = [first]
    theta = float(rng.uniform(0.0, 2.0 * math.pi))
    for _ in range(int(rng.integers(1, 5))):
        prev = out[-1]
        d = 2.0 * prev.a * float(rng.uniform(0.75, 1.2))
        step = prev.a + d / 2 + float(rng.uniform(2.0, 6.0))
        row, col = prev.row + step * math.sin(theta), prev.col + step * math.cos(theta)
        nxt = _new_object("pit", row, col, d, rng, scale)
        nxt.angle = theta  # elongated links run along the chain
        if not (_fits(nxt, out[:-1]) and _visible(nxt, size)):
            break
        out.append(nxt)
    return out


def place_objects(
    size: int, classes: tuple[str, ...], rng: np.random.Generator, scale: float
) -> list[SynthObject]:
    """Objects of ``classes`` for one ``size``-px crop: Poisson counts (at least one object),
    log-uniform diameters, footprints that never overlap (so every mask is exact), a share of the
    pits in chains; objects may be cut by the frame but keep >= 40 % of their footprint in it."""
    placed: list[SynthObject] = []
    counts = {k: int(rng.poisson(MEAN_COUNT[k])) for k in classes}
    if sum(counts.values()) == 0:
        counts[classes[int(rng.integers(len(classes)))]] = 1
    # big objects first, so the small ones fill the gaps
    for kind in sorted(counts, key=lambda k: -DIAMETER_FRACTION[k][1]):
        lo, hi = (f * size for f in DIAMETER_FRACTION[kind])
        lo = max(lo, MIN_DIAMETER_PX)
        for _ in range(counts[kind]):
            for _try in range(30):
                d = float(math.exp(rng.uniform(math.log(lo), math.log(max(hi, lo + 1)))))
                row, col = (float(v) for v in rng.uniform(-0.3 * d, size + 0.3 * d, 2))
                obj = _new_object(kind, row, col, d, rng, scale)
                if _fits(obj, placed) and _visible(obj, size):
                    group = [obj]
                    if kind == "pit" and rng.random() < CHAIN_PROBABILITY:
                        group = [o for o in _chain(obj, size, rng, scale) if _fits(o, placed)]
                    placed.extend(group)
                    break
    return placed
