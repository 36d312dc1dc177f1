"""Rendering a scene block by block: the fixed world-aligned block grid and the threaded fill.

Use :func:`render_into` to render a whole :class:`~areoscan.synth.layout.Layout` into preallocated
arrays (what :func:`~areoscan.synth.render_array` and :func:`~areoscan.synth.generate_scene` both
do, so their pixels are identical), :func:`blocks` for the render windows of a strip of rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from areoscan.synth.layout import Layout
from areoscan.synth.render import render_window

BLOCK = 2048  # pixels per side of the fixed world-aligned render blocks


def blocks(
    height: int, width: int, row0: int = 0, row1: int | None = None, block: int = BLOCK
) -> list[tuple[int, int, int, int]]:
    """Render windows (r0, c0, h, w) on the fixed block grid covering rows [row0, row1)."""
    row1 = height if row1 is None else row1
    out = []
    for r in range(row0, row1, block):
        for c in range(0, width, block):
            out.append((r, c, min(block, height - r), min(block, width - c)))
    return out


def render_into(
    lay: Layout,
    dn: np.ndarray,
    lab: np.ndarray,
    strip_rows: int | None = None,
    threads: int = 2,
    block: int = BLOCK,
) -> None:
    """Render the whole scene into preallocated arrays, strip by strip of ``block``-px blocks."""
    p = lay.params
    if strip_rows is None:  # enough blocks per strip that no thread idles long at a strip's end
        per_row = -(-p.width // block)
        strip_rows = block * max(1, -(-8 * max(1, threads) // per_row))
    rows = max(block, -(-int(strip_rows) // block) * block)

    def one(win: tuple[int, int, int, int]) -> None:
        r, c, h, w = win
        d, lb = render_window(lay, win)
        dn[r : r + h, c : c + w] = d
        lab[r : r + h, c : c + w] = lb

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for r0 in range(0, p.height, rows):
            wins = blocks(p.height, p.width, r0, min(p.height, r0 + rows), block)
            list(pool.map(one, wins))
