"""The scene's coarse tier: where each terrain kind is, long-wavelength relief, albedo, phases.

Everything that varies over tens of metres or more is computed once for the whole scene on a
grid of ``cell_m`` (4 m) cells (what goes into it: :mod:`areoscan.synth.layout_fields`), then
interpolated (cubic, at absolute pixel positions) into each block: the fields are global, so
blocks agree exactly wherever they overlap. Use
:meth:`Layout.window` to get fields on a pixel window and :meth:`Layout.points` to query them at
object positions (crater centres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.fft as sfft

from areoscan.synth import families
from areoscan.synth.classes import Terrain
from areoscan.synth.footprint import Footprint
from areoscan.synth.layout_fields import make_fields
from areoscan.synth.noise import Filter, PowerLaw, filter_gain
from areoscan.synth.params import SceneParams

MAX_CELLS = 12_000_000  # coarse cells per field before the cell size doubles


def _cubic_weights(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys cubic (a = -0.5): base index and the four weights for positions ``u``."""
    i0 = np.floor(u).astype(np.int64)
    t = (u - i0)[:, None]
    d = np.concatenate([t + 1, t, 1 - t, 2 - t], axis=1)
    a = -0.5
    w = np.where(
        d <= 1,
        (a + 2) * d**3 - (a + 3) * d**2 + 1,
        a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a,
    )
    return i0 - 1, w.astype(np.float32)


def _linear_weights(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation: base index and the two weights for positions ``u``."""
    i0 = np.floor(u).astype(np.int64)
    t = (u - i0)[:, None]
    return i0, np.concatenate([1 - t, t], axis=1).astype(np.float32)


# fields interpolated with cubic kernels (heights, edges); the rest are smooth enough for linear
CUBIC = {"relief", "coral", "dune_phase0", "dune_phase1", "tar_phase"}


@dataclass
class Layout:
    """Global coarse fields of one scene; build with :meth:`build`."""

    params: SceneParams
    footprint: Footprint
    cell_m: float
    margin: int
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    coral_threshold: float = 0.0
    kinds: tuple[Terrain, ...] = ()
    pattern: object = None  #: global state of the coral family's pattern (turing: its grid)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def dune_wavelength(self) -> tuple[float, float]:
        """Dune and ripple spacing (m), dunes no longer than a third of a region."""
        lam0, lam1 = self.params.dune_wavelength
        return (min(lam0, max(self.params.region_m / 3.0, 2.0 * lam1)), lam1)

    @property
    def cell_px(self) -> float:
        return self.cell_m / self.params.scale

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, p: SceneParams, force_kind: Terrain | None = None) -> Layout:
        """Compute every coarse field of scene ``p``.

        ``force_kind`` makes one kind cover the whole scene (patches for classifier tiles).
        """
        cell_m = max(4.0, 2.0 * p.scale)
        margin_m = 200.0 + 300.0 * p.scale  # block margins + FFT pads reach this far outside
        while True:
            margin = int(math.ceil(margin_m / cell_m)) + 4
            hc = int(math.ceil(p.height * p.scale / cell_m)) + 2 * margin
            wc = int(math.ceil(p.width * p.scale / cell_m)) + 2 * margin
            if hc * wc <= MAX_CELLS:
                break
            cell_m *= 2.0
        fp = Footprint(p.height, p.width, p.rotation, p.footprint)
        lay = cls(p, fp, cell_m, margin)
        make_fields(lay, hc, wc, force_kind)
        families.prepare(lay)
        return lay

    def mantle(self, stream: int, coral: np.ndarray) -> np.ndarray:
        """Unclipped mantle cover from noise ``stream`` and the coral field's signed distance
        (patch margins are the most mantled); every coral family starts from it."""
        edge = np.exp(-np.abs(coral) / 12.0)
        return (
            0.5 * self.noise(stream, coral.shape, PowerLaw(3.0, 15.0, 150.0)) + 0.05 + 0.35 * edge
        )

    def noise(self, stream: int, shape: tuple[int, int], filt: Filter) -> np.ndarray:
        """Unit-rms filtered noise on the coarse grid (global: computed once per scene)."""
        p = self.params
        rng = np.random.default_rng([p.seed & 0xFFFFFFFF, p.seed >> 32, 1000 + stream])
        fh, fw = sfft.next_fast_len(shape[0], real=True), sfft.next_fast_len(shape[1], real=True)
        wn = rng.standard_normal((fh, fw), dtype=np.float32)
        ky = np.fft.fftfreq(fh, d=self.cell_m).astype(np.float32)[:, None]
        kx = np.fft.rfftfreq(fw, d=self.cell_m).astype(np.float32)[None, :]
        g = filt(ky, kx) / np.float32(filter_gain(filt, self.cell_m))
        out = sfft.irfft2(sfft.rfft2(wn, workers=2) * g, s=(fh, fw), workers=2)
        return np.ascontiguousarray(out[: shape[0], : shape[1]], dtype=np.float32)

    def _coarse_footprint(self, hc: int, wc: int) -> np.ndarray:
        rows = ((np.arange(hc) - self.margin + 0.5) * self.cell_px).astype(np.int64)
        cols = ((np.arange(wc) - self.margin + 0.5) * self.cell_px).astype(np.int64)
        inside = (rows >= 0) & (rows < self.params.height)
        inside_c = (cols >= 0) & (cols < self.params.width)
        if not self.footprint.enabled:
            return inside[:, None] & inside_c[None, :]
        m = np.zeros((hc, wc), bool)
        fp = self.footprint
        ri, ci = np.nonzero(inside)[0], np.nonzero(inside_c)[0]
        if len(ri) and len(ci):
            u, v = fp._frame(rows[ri, None].astype(float), cols[None, ci].astype(float))
            a, b = fp._ab  # type: ignore[attr-defined]
            m[np.ix_(ri, ci)] = (u >= 0) & (u < a) & (v >= 0) & (v < b)
        return m

    # ------------------------------------------------------------------ sampling
    def _coords(self, start: int, n: int, step: int = 1) -> np.ndarray:
        px = start + step * np.arange(n, dtype=np.float64)
        return (px + 0.5) / self.cell_px + self.margin - 0.5

    def window(
        self, names: list[str], r0: int, c0: int, h: int, w: int, step: int = 1
    ) -> dict[str, np.ndarray]:
        """Fields interpolated onto pixel window (r0, c0, h, w): float32 (h, w) each.

        Heights and edges (``CUBIC``) use Keys cubic kernels, the rest linear ones; both are
        evaluated at absolute positions, so overlapping windows agree. ``step`` > 1 samples
        every step-th pixel from (r0, c0): h x w samples (half-resolution lattices).
        """
        out: dict[str, np.ndarray] = {}
        for cubic in (True, False):
            group = [n for n in names if (n in CUBIC) == cubic]
            if group:
                out.update(self._interp(group, r0, c0, h, w, cubic, step))
        return out

    def _axis(
        self, start: int, n: int, cubic: bool, step: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Base coarse index and weights along one axis (cached: blocks reuse windows)."""
        key = (start, n, cubic, step)
        hit = self._cache.get(key)
        if hit is None:
            hit = (_cubic_weights if cubic else _linear_weights)(self._coords(start, n, step))
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _interp(
        self, names: list[str], r0: int, c0: int, h: int, w: int, cubic: bool, step: int = 1
    ) -> dict[str, np.ndarray]:
        taps = 4 if cubic else 2
        ir, wr = self._axis(r0, h, cubic, step)
        ic, wc = self._axis(c0, w, cubic, step)
        i_lo, i_hi = int(ir[0]), int(ir[-1]) + taps
        j_lo, j_hi = int(ic[0]), int(ic[-1]) + taps
        hc, wcn = self.fields["coral"].shape
        if i_lo < 0 or j_lo < 0 or i_hi > hc or j_hi > wcn:
            raise ValueError("window reaches beyond the layout margin")
        # dense column-interpolation matrix (small: coarse cols x w)
        mc = np.zeros((j_hi - j_lo, w), np.float32)
        cols = np.arange(w)
        for k in range(taps):
            mc[ic - j_lo + k, cols] += wc[:, k]
        out: dict[str, np.ndarray] = {}
        starts = ir - i_lo
        # rows sharing one base index form a group: (group x taps) @ (taps x w)
        change = np.flatnonzero(np.diff(starts)) + 1
        bounds = np.concatenate([[0], change, [h]])
        for name in names:
            t = self.fields[name][i_lo:i_hi, j_lo:j_hi] @ mc
            o = np.empty((h, w), np.float32)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                s = starts[a]
                np.matmul(wr[a:b], t[s : s + taps], out=o[a:b])
            out[name] = o
        return out

    def support(
        self, names: list[str], window: tuple[int, int, int, int], above: float
    ) -> tuple[int, int, int, int] | None:
        """The part of pixel ``window`` where any of ``names`` may exceed ``above`` (None: nowhere)."""
        r0, c0, h, w = window
        cp, m = self.cell_px, self.margin
        i0 = max(int(math.floor(r0 / cp)) + m - 3, 0)
        i1 = int(math.ceil((r0 + h) / cp)) + m + 3
        j0 = max(int(math.floor(c0 / cp)) + m - 3, 0)
        j1 = int(math.ceil((c0 + w) / cp)) + m + 3
        hit = None
        for n in names:
            if n in self.fields:
                x = self.fields[n][i0:i1, j0:j1] > above
                hit = x if hit is None else hit | x
        if hit is None or not hit.any():
            return None
        rows, cols = np.flatnonzero(hit.any(axis=1)), np.flatnonzero(hit.any(axis=0))
        ra = max(r0, int(math.floor((rows[0] + i0 - m - 2) * cp)))
        rb = min(r0 + h, int(math.ceil((rows[-1] + i0 - m + 3) * cp)))
        ca = max(c0, int(math.floor((cols[0] + j0 - m - 2) * cp)))
        cb = min(c0 + w, int(math.ceil((cols[-1] + j0 - m + 3) * cp)))
        if ra >= rb or ca >= cb:
            return None
        return (ra, ca, rb - ra, cb - ca)

    def points(self, name: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Bilinear value of a field at pixel positions (float arrays), e.g. object centres."""
        fld = self.fields[name]
        u = rows / self.cell_px + self.margin - 0.5
        v = cols / self.cell_px + self.margin - 0.5
        i = np.clip(np.floor(u).astype(np.int64), 0, fld.shape[0] - 2)
        j = np.clip(np.floor(v).astype(np.int64), 0, fld.shape[1] - 2)
        tu, tv = np.clip(u - i, 0, 1), np.clip(v - j, 0, 1)
        return (
            fld[i, j] * (1 - tu) * (1 - tv)
            + fld[i + 1, j] * tu * (1 - tv)
            + fld[i, j + 1] * (1 - tu) * tv
            + fld[i + 1, j + 1] * tu * tv
        )
