"""Height field -> radiance: Lambertian hillshading with cast shadows and sky light.

Use :func:`shade` on a height window that extends ``shadow_margin(...)`` pixels beyond the
region you keep: shadows are cast by terrain up to that distance up-sun, so the kept core is
exactly the same whichever window it was rendered in (seamless strips).

Angles: ``sun_azimuth`` in degrees clockwise from north (image up), pointing *to* the sun;
``incidence`` in degrees from the zenith (0 = overhead sun, HiRISE typically 40-70).
"""

from __future__ import annotations

import math

import numpy as np


def sun_vector(sun_azimuth: float, incidence: float) -> tuple[float, float, float]:
    """Unit vector to the sun as (east, north, up)."""
    az, inc = math.radians(sun_azimuth), math.radians(incidence)
    return (math.sin(az) * math.sin(inc), math.cos(az) * math.sin(inc), math.cos(inc))


def shadow_offsets(sun_azimuth: float, max_px: int) -> list[tuple[int, int]]:
    """Integer (row, col) steps of the doubling shadow scan: step k ~ 2**k pixels up-sun."""
    az = math.radians(sun_azimuth)
    dr, dc = -math.cos(az), math.sin(az)  # north is up (negative rows)
    steps: list[tuple[int, int]] = []
    done_r = done_c = 0.0
    t = 1
    while t <= max_px:
        # step so that the cumulative offset stays close to the exact ray
        tr, tc = round(dr * (2 * t - 1)), round(dc * (2 * t - 1))
        steps.append((int(tr - done_r), int(tc - done_c)))
        done_r, done_c = tr, tc
        t *= 2
    return steps


def shadow_margin(sun_azimuth: float, max_px: int) -> int:
    """Pixels of terrain needed beyond a kept region for :func:`shade` to be exact there."""
    return int(sum(max(abs(r), abs(c)) for r, c in shadow_offsets(sun_azimuth, max_px))) + 2


def _shift_max(s: np.ndarray, dr: int, dc: int, drop: float) -> None:
    """s[x] = max(s[x], s[x + (dr, dc)] - drop) in place (out-of-window terms ignored)."""
    h, w = s.shape
    ra, rb = max(0, -dr), min(h, h - dr)
    ca, cb = max(0, -dc), min(w, w - dc)
    if ra >= rb or ca >= cb:
        return
    src = s[ra + dr : rb + dr, ca + dc : cb + dc] - np.float32(drop)
    np.maximum(s[ra:rb, ca:cb], src, out=s[ra:rb, ca:cb])


def cast_shadow(
    height: np.ndarray, scale: float, sun_azimuth: float, incidence: float, max_px: int
) -> np.ndarray:
    """Fraction of the sun hidden by up-sun terrain within ``max_px`` pixels (float32 0..1)."""
    tan_elev = math.tan(math.radians(90.0 - min(incidence, 89.0)))
    s = height.astype(np.float32, copy=True)
    for dr, dc in shadow_offsets(sun_azimuth, max_px):
        # the shifted source is copied before the in-place maximum (numpy temporaries)
        _shift_max(s, dr, dc, math.hypot(dr, dc) * scale * tan_elev)
    s -= height
    soft = np.float32(scale * tan_elev * 1.5)  # ~1.5 px penumbra
    s /= soft
    np.clip(s, 0.0, 1.0, out=s)
    return s


def shade(
    height: np.ndarray,
    scale: float,
    sun_azimuth: float,
    incidence: float,
    albedo: np.ndarray | float = 1.0,
    sky: float = 0.18,
    shadow_px: int = 64,
    keep: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Radiance of a height field (metres) on pixels of ``scale`` m; flat ground at albedo 1 = 1.

    The result is one pixel smaller on each side than ``height`` (central differences) and
    includes cast shadows of terrain up to ``shadow_px`` pixels up-sun; ``sky`` is the
    diffuse fraction that still lights shadows (Mars' dusty sky keeps them grey, not black).
    ``keep`` = (row0, col0, h, w) in result coordinates computes only that part (the rest of
    ``height`` still casts shadows into it).
    """
    full = (0, 0, height.shape[0] - 2, height.shape[1] - 2)
    r0, c0, h, w = keep if keep is not None else full
    sx, sy, sz = sun_vector(sun_azimuth, incidence)
    inv = np.float32(1.0 / (2.0 * scale))
    hh = height[r0 : r0 + h + 2, c0 : c0 + w + 2]
    gx = hh[1:-1, 2:] - hh[1:-1, :-2]
    gx *= inv  # dh/d(east)
    gy = hh[:-2, 1:-1] - hh[2:, 1:-1]
    gy *= inv  # dh/d(north): rows grow southwards
    # cos(local incidence) = (-gx sx - gy sy + sz) / sqrt(1 + gx^2 + gy^2)
    norm = gx * gx
    norm += gy * gy
    norm += 1.0
    np.sqrt(norm, out=norm)
    cosi = gx
    cosi *= np.float32(-sx)
    gy *= np.float32(-sy)
    cosi += gy
    del gy
    cosi += np.float32(sz)
    cosi /= norm
    del norm
    np.maximum(cosi, 0.0, out=cosi)
    cosi *= np.float32((1.0 - sky) / max(sz, 0.05))
    if shadow_px > 0:
        sh = cast_shadow(height, scale, sun_azimuth, incidence, shadow_px)
        sh = sh[r0 + 1 : r0 + 1 + h, c0 + 1 : c0 + 1 + w]
        np.subtract(1.0, sh, out=sh)
        cosi *= sh
        del sh
    cosi += np.float32(sky)
    if isinstance(albedo, np.ndarray):
        cosi *= (
            albedo[r0 + 1 : r0 + 1 + h, c0 + 1 : c0 + 1 + w]
            if albedo.shape == height.shape
            else albedo
        )
    else:
        cosi *= np.float32(albedo)
    return cosi
