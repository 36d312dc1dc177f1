"""Seamless random fields: counter-based hashing, a global white-noise lattice, spectral filters.

Use :func:`band_field` whenever a band-limited random field is needed on a window of a scene:
the value at a pixel depends only on (seed, layer, absolute position), never on the window, so
blocks and strips rendered separately join without seams (up to the filter's tail beyond
``pad``, which :func:`pad_for` makes negligible). Use :func:`hash_uniform` for per-object random
numbers (craters, polygon seeds) that must not depend on which block asks for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

NOISE_BLOCK = 256  # lattice cells per side of one independently seeded white-noise block
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)

# --------------------------------------------------------------------------- hashing


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hash_u64(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """A 64-bit hash of (seed, stream, keys...), vectorised and broadcast over array keys."""
    z = _mix(np.asarray([(seed * 0x2545F4914F6CDD1D + stream) & 0xFFFFFFFFFFFFFFFF], np.uint64))
    for k in keys:
        kk = np.asarray(k).astype(np.int64).astype(np.uint64)
        z = _mix(z ^ kk)
    return z


def hash_uniform(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform floats in [0, 1) from :func:`hash_u64` (float64, broadcast shape of keys)."""
    return (hash_u64(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) * (2.0**-53)


# --------------------------------------------------------------------------- white noise


def _block_noise(seed: int, layer: int, bi: int, bj: int) -> np.ndarray:
    ss = np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, layer, bi + 2**31, bj + 2**31])
    rng = np.random.Generator(np.random.PCG64(ss))
    a = rng.random((NOISE_BLOCK, NOISE_BLOCK), dtype=np.float32)
    a -= 0.5
    a *= math.sqrt(12.0)  # unit variance
    return a


def lattice_noise(seed: int, layer: int, r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """Unit-variance white noise on lattice cells [r0, r0+h) x [c0, c0+w) of a global lattice."""
    out = np.empty((h, w), np.float32)
    b = NOISE_BLOCK
    for bi in range(r0 // b, (r0 + h - 1) // b + 1):
        ra, rb = max(r0, bi * b), min(r0 + h, (bi + 1) * b)
        for bj in range(c0 // b, (c0 + w - 1) // b + 1):
            ca, cb = max(c0, bj * b), min(c0 + w, (bj + 1) * b)
            blk = _block_noise(seed, layer, bi, bj)
            out[ra - r0 : rb - r0, ca - c0 : cb - c0] = blk[
                ra - bi * b : rb - bi * b, ca - bj * b : cb - bj * b
            ]
    return out


# --------------------------------------------------------------------------- spectral filters

Filter = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""A radial/anisotropic amplitude response H(ky, kx), frequencies in cycles per metre."""


@dataclass(frozen=True)
class Ring:
    """Band-pass around wavelength ``wavelength`` m: labyrinths and ridges (brain coral).

    ``bandwidth`` is the Gaussian width in units of the centre frequency; ``aniso`` in [0, 1)
    favours ridges running along ``theta`` (radians, from the column axis) when > 0.
    """

    wavelength: float
    bandwidth: float = 0.25
    aniso: float = 0.0
    theta: float = 0.0

    def __call__(self, ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        k0 = 1.0 / self.wavelength
        k = np.sqrt(ky * ky + kx * kx)
        h = np.exp(-0.5 * ((k - k0) / (self.bandwidth * k0)) ** 2)
        if self.aniso:
            # ridges along theta have wave vectors perpendicular to theta
            c = (kx * -math.sin(self.theta) + ky * math.cos(self.theta)) / np.maximum(k, 1e-12)
            h = h * (1.0 - self.aniso + self.aniso * c * c)
        return h.astype(np.float32)


@dataclass(frozen=True)
class PowerLaw:
    """Fractal (power-law) heights between ``lmin`` and ``lmax`` m with smooth roll-offs.

    ``beta`` is the slope of the 2-D power spectrum (P ~ k^-beta; natural terrain 3-4).
    """

    beta: float
    lmin: float
    lmax: float

    def __call__(self, ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        k = np.sqrt(ky * ky + kx * kx)
        kk = np.maximum(k, 0.25 / self.lmax)
        h = kk ** (-self.beta / 2.0)
        h = h * (1.0 - np.exp(-((k * self.lmax) ** 2)))  # high-pass at lmax
        h = h * np.exp(-((k * self.lmin) ** 2))  # low-pass at lmin
        return h.astype(np.float32)


@dataclass(frozen=True)
class Gaussian:
    """Gaussian blur of width ``sigma`` m (boulders, smoothing), unit gain at k = 0."""

    sigma: float

    def __call__(self, ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        return np.exp(-2.0 * math.pi**2 * self.sigma**2 * (ky * ky + kx * kx)).astype(np.float32)


@lru_cache(maxsize=256)
def filter_gain(filt: Filter, cell_m: float) -> float:
    """Standard deviation of ``filt`` applied to unit white noise on cells of ``cell_m`` m.

    Computed on a fixed frequency grid, so it is the same for every window (no seams).
    """
    n = 256
    k = np.fft.fftfreq(n, d=cell_m).astype(np.float32)
    var = float(np.mean(filt(k[:, None], k[None, :]).astype(np.float64) ** 2))
    return math.sqrt(max(var, 1e-30))


def pad_for(max_wavelength_m: float, scale: float, periods: float = 3.0) -> int:
    """Pixels of padding so a filter with longest wavelength ``max_wavelength_m`` has decayed."""
    return int(math.ceil(periods * max_wavelength_m / scale))


def band_field(
    seed: int,
    layer: int,
    window: tuple[int, int, int, int],
    scale: float,
    filters: Sequence[Filter],
    factor: int = 1,
    pad: int = 0,
    normalise: bool = True,
    source: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    on_lattice: bool = False,
) -> list[np.ndarray]:
    """Filtered global white noise on a pixel ``window`` = (row0, col0, h, w); one array per filter.

    The noise lives on a lattice ``factor`` pixels apart (use factor > 1 when every filter is
    band-limited well below that lattice's Nyquist: cheaper), and is interpolated to pixels by
    zero-padding its spectrum. ``normalise`` scales each output to unit standard deviation.
    ``source(noise, rows_px, cols_px)`` may replace the lattice noise by something derived from
    it (e.g. sparse impulses for boulders); it then also receives the lattice positions.
    ``on_lattice=True`` returns the fields at the lattice points instead (pixel indices that
    are multiples of ``factor``), covering the window for :func:`upsample2` when factor is 2:
    lattice rows ``half_grid(row0, h)``, columns ``half_grid(col0, w)``.
    """
    r0, c0, h, w = window
    f = int(factor)
    lr0 = (r0 - pad) // f
    lc0 = (c0 - pad) // f
    hl = sfft.next_fast_len(-(-(r0 + h + pad) // f) - lr0, real=True)
    wl = sfft.next_fast_len(-(-(c0 + w + pad) // f) - lc0, real=True)
    if hl % 2:
        hl += 1
    if wl % 2:
        wl += 1
    noise = lattice_noise(seed, layer, lr0, lc0, hl, wl)
    if source is not None:
        rows = (np.arange(hl) + lr0) * f
        cols = (np.arange(wl) + lc0) * f
        noise = source(noise, rows, cols)
    spec = sfft.rfft2(noise, workers=1)
    del noise
    ky = np.fft.fftfreq(hl, d=f * scale).astype(np.float32)[:, None]
    kx = np.fft.rfftfreq(wl, d=f * scale).astype(np.float32)[None, :]
    out = []
    roff, coff = r0 - lr0 * f, c0 - lc0 * f
    if on_lattice:
        if f != 2:
            raise ValueError("on_lattice output is for factor 2")
        (gr0, nr), (gc0, nc) = half_grid(r0, h), half_grid(c0, w)
        if gr0 < lr0 or gc0 < lc0 or gr0 + nr > lr0 + hl or gc0 + nc > lc0 + wl:
            raise ValueError("pad too small for the lattice window")
    for filt in filters:
        g = filt(ky, kx)
        if normalise:
            g = g / np.float32(filter_gain(filt, f * scale))
        s = spec * g
        if on_lattice:
            field = sfft.irfft2(s, s=(hl, wl), workers=1)
            rr, cc = gr0 - lr0, gc0 - lc0
            out.append(np.ascontiguousarray(field[rr : rr + nr, cc : cc + nc], dtype=np.float32))
            continue
        if f > 1:
            big = np.zeros((hl * f, wl * f // 2 + 1), np.complex64)
            big[: hl // 2, : wl // 2] = s[: hl // 2, : wl // 2]
            big[-(hl // 2) :, : wl // 2] = s[-(hl // 2) :, : wl // 2]
            s = big
            s *= np.float32(f * f)
        field = sfft.irfft2(s, s=(hl * f, wl * f), workers=1)
        out.append(np.ascontiguousarray(field[roff : roff + h, coff : coff + w], dtype=np.float32))
    return out


# --------------------------------------------------------------------------- half resolution


def half_grid(start: int, n: int) -> tuple[int, int]:
    """First index and count of the even-pixel lattice (pixel = 2 * index) that :func:`upsample2`
    needs to produce pixels [start, start + n)."""
    l0 = start // 2 - 1
    return l0, -(-(start + n + 3) // 2) - l0


def _up_rows(a: np.ndarray) -> np.ndarray:
    """2x along axis 0 with Catmull-Rom midpoints; row 0 of the result is lattice row 1."""
    n = a.shape[0]
    out = np.empty((2 * n - 5,) + a.shape[1:], np.float32)
    out[0::2] = a[1 : n - 1]
    mid = a[1 : n - 2] + a[2 : n - 1]
    mid *= np.float32(9.0 / 16.0)
    side = a[0 : n - 3] + a[3:n]
    side *= np.float32(1.0 / 16.0)
    mid -= side
    out[1::2] = mid
    return out


def upsample2(a: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """Pixel ``window`` (r0, c0, h, w) of a field given on the even-pixel lattice.

    ``a`` covers lattice rows/columns :func:`half_grid` (r0, h) / (c0, w). Cubic (Catmull-Rom)
    interpolation at absolute positions: any window of the same field agrees.
    """
    r0, c0, h, w = window
    ro = r0 - 2 * (half_grid(r0, h)[0] + 1)
    co = c0 - 2 * (half_grid(c0, w)[0] + 1)
    rows = _up_rows(a)[ro : ro + h]
    return np.ascontiguousarray(_up_rows(rows.T)[co : co + w].T)
