"""The order of JPEG2000 packets in a tile: the five progression orders of ITU-T T.800 B.12.

Use :func:`packet_order` (through :func:`areoscan.io.codestream.index_codestream`) to know which
(layer, resolution, component, precinct) each packet of a tile is, so that a packet-length list (PLT)
can be turned into a table of byte ranges. The position-driven orders (RPCL, PCRL, CPRL) follow
OpenJPEG's iterator (``opj_pi_next_*`` in pi.c) step for step, including its grid step and its rule
for the first precinct of a tile whose origin is not precinct-aligned, so that a file indexes the
same way OpenJPEG decodes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

ORDERS = ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")


def ceildiv(a: int, b: int) -> int:
    """ceil(a / b) for non-negative integers."""
    return -(-a // b)


@dataclass(frozen=True)
class ComponentGeometry:
    """One component of one tile: its sub-sampling, resolutions and precinct exponents.

    dx, dy: XRsiz, YRsiz. precincts: (PPx, PPy) for resolutions 0 .. NL (NL = levels).
    """

    dx: int
    dy: int
    levels: int
    precincts: tuple[tuple[int, int], ...]

    def resolution_bounds(self, tile: tuple[int, int, int, int], r: int) -> tuple[int, ...]:
        """(trx0, try0, trx1, try1) of resolution ``r`` for a tile (x0, y0, x1, y1) of the grid."""
        x0, y0, x1, y1 = tile
        sx, sy = self.dx << (self.levels - r), self.dy << (self.levels - r)
        return ceildiv(x0, sx), ceildiv(y0, sy), ceildiv(x1, sx), ceildiv(y1, sy)

    def precinct_grid(self, tile: tuple[int, int, int, int], r: int) -> tuple[int, int]:
        """(pw, ph): precincts across and down at resolution ``r`` (0 when the resolution is empty)."""
        rx0, ry0, rx1, ry1 = self.resolution_bounds(tile, r)
        ppx, ppy = self.precincts[r]
        pw = 0 if rx0 == rx1 else ceildiv(rx1, 1 << ppx) - (rx0 >> ppx)
        ph = 0 if ry0 == ry1 else ceildiv(ry1, 1 << ppy) - (ry0 >> ppy)
        return pw, ph


Packet = tuple[int, int, int, int]  # (layer, resolution, component, precinct)


def packet_order(
    order: str, layers: int, tile: tuple[int, int, int, int], comps: Sequence[ComponentGeometry]
) -> list[Packet]:
    """Every packet of a tile, in codestream order, as (layer, resolution, component, precinct).

    tile: (x0, y0, x1, y1) of the tile on the reference grid. Precinct indices are raster order
    within their (component, resolution). Empty resolutions (no samples) have no packets.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown progression order {order!r}")
    grids = [[c.precinct_grid(tile, r) for r in range(c.levels + 1)] for c in comps]
    max_res = max(c.levels for c in comps) + 1
    out: list[Packet] = []
    if order in ("LRCP", "RLCP"):
        outer = (
            ((lay, r) for lay in range(layers) for r in range(max_res))
            if order == "LRCP"
            else ((lay, r) for r in range(max_res) for lay in range(layers))
        )
        for lay, r in outer:
            for ci, c in enumerate(comps):
                if r <= c.levels:
                    pw, ph = grids[ci][r]
                    out.extend((lay, r, ci, p) for p in range(pw * ph))
        return out
    seen: set[tuple[int, int, int]] = set()
    for r, ci, prec in _position_order(order, tile, comps, grids, max_res):
        if (r, ci, prec) not in seen:
            seen.add((r, ci, prec))
            out.extend((lay, r, ci, prec) for lay in range(layers))
    return out


def _steps(comps: Sequence[ComponentGeometry]) -> tuple[int, int]:
    dx = min(c.dx << (c.precincts[r][0] + c.levels - r) for c in comps for r in range(c.levels + 1))
    dy = min(c.dy << (c.precincts[r][1] + c.levels - r) for c in comps for r in range(c.levels + 1))
    return dx, dy


def _positions(tile: tuple[int, int, int, int], dx: int, dy: int) -> Iterator[tuple[int, int]]:
    x0, y0, x1, y1 = tile
    y = y0
    while y < y1:
        x = x0
        while x < x1:
            yield x, y
            x += dx - x % dx
        y += dy - y % dy


def _precinct_at(
    c: ComponentGeometry,
    r: int,
    tile: tuple[int, int, int, int],
    grid: tuple[int, int],
    x: int,
    y: int,
) -> int | None:
    """The precinct of (c, r) that starts at grid position (x, y), or None (OpenJPEG's test)."""
    pw, ph = grid
    if pw == 0 or ph == 0:
        return None
    level = c.levels - r
    rx0, ry0, _rx1, _ry1 = c.resolution_bounds(tile, r)
    ppx, ppy = c.precincts[r]
    rpx, rpy = ppx + level, ppy + level
    if not (y % (c.dy << rpy) == 0 or (y == tile[1] and (ry0 << level) % (1 << rpy))):
        return None
    if not (x % (c.dx << rpx) == 0 or (x == tile[0] and (rx0 << level) % (1 << rpx))):
        return None
    i = (ceildiv(x, c.dx << level) >> ppx) - (rx0 >> ppx)
    j = (ceildiv(y, c.dy << level) >> ppy) - (ry0 >> ppy)
    return i + j * pw


def _position_order(
    order: str,
    tile: tuple[int, int, int, int],
    comps: Sequence[ComponentGeometry],
    grids: list[list[tuple[int, int]]],
    max_res: int,
) -> Iterator[tuple[int, int, int]]:
    """(resolution, component, precinct) in RPCL / PCRL / CPRL order, layers left to the caller."""

    def at(ci: int, r: int, x: int, y: int) -> Iterator[tuple[int, int, int]]:
        c = comps[ci]
        if r <= c.levels:
            prec = _precinct_at(c, r, tile, grids[ci][r], x, y)
            if prec is not None:
                yield r, ci, prec

    if order == "RPCL":
        dx, dy = _steps(comps)
        for r in range(max_res):
            for x, y in _positions(tile, dx, dy):
                for ci in range(len(comps)):
                    yield from at(ci, r, x, y)
    elif order == "PCRL":
        dx, dy = _steps(comps)
        for x, y in _positions(tile, dx, dy):
            for ci in range(len(comps)):
                for r in range(comps[ci].levels + 1):
                    yield from at(ci, r, x, y)
    else:  # CPRL: the grid step of each component alone
        for ci in range(len(comps)):
            dx, dy = _steps([comps[ci]])
            for x, y in _positions(tile, dx, dy):
                for r in range(comps[ci].levels + 1):
                    yield from at(ci, r, x, y)
