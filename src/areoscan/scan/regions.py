"""Clean a segmented group: threshold and open it stripe by stripe, then find regions on its runs.

Use :func:`clean_group` for each :class:`~areoscan.scan.windows.TileGroup` after the segment stage.
It reads the group's probabilities from the :class:`~areoscan.scan.store.GroupStore` in stripes
that fit the memory budget (in parallel threads: numpy releases the GIL), thresholds each stripe,
opens it on bit-packed rows (with a halo, so the opening is exact) and keeps only its runs
(:mod:`areoscan.scan.runs`). Holes and the minimum area are then decided on the runs of the whole
group at once — a region's area is its whole area and a hole is a hole of the whole group, however
many stripes they span. The result, :class:`CleanedGroup`, keeps the kept runs and their region
ids: masks and labels of any rows are painted back from them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from areoscan.scan.clean import CleanParams, clean_runs, open_packed, threshold_mask
from areoscan.scan.runs import Runs, pack
from areoscan.scan.store import GroupStore
from areoscan.tiling import Window

# stripe in flight per thread: codes (1), threshold temporaries (2), packed rows and the opening's
# temporaries (~0.5)
CLEAN_BYTES_PER_PX = 4.0


@dataclass
class CleanedGroup:
    """Cleaned regions of one group.

    bbox: the group's box at the segment level; runs: the kept runs (level coordinates, sorted by
    row); region: the region id 1..n of each run; n: number of regions; stripes: the row ranges
    the group was read in.
    """

    index: int
    bbox: Window
    runs: Runs
    region: np.ndarray
    n: int
    stripes: list[tuple[int, int]]

    def mask_rows(self, row0: int, row1: int) -> np.ndarray:
        """Final coral mask of level rows ``row0:row1`` (inside the box), full box width."""
        out = np.zeros((row1 - row0, self.bbox.width), dtype=bool)
        part = self.runs.take(self.runs.rows_between(row0, row1))
        return part.paint(out, row0, self.bbox.col)

    def labels(self, row0: int, row1: int) -> np.ndarray:
        """Region ids (int32, 0 = none) of level rows ``row0:row1``, full box width."""
        out = np.zeros((row1 - row0, self.bbox.width), dtype=np.int32)
        sl = self.runs.rows_between(row0, row1)
        return self.runs.take(sl).paint(out, row0, self.bbox.col, values=self.region[sl])


def stripe_rows(bbox: Window, memory_mb: float, halo: int, threads: int = 1) -> int:
    """Core rows per stripe so that ``threads`` stripes plus halos fit ``memory_mb`` (at least 64)."""
    budget_px = memory_mb * 2**20 / CLEAN_BYTES_PER_PX / max(1, threads)
    return max(64, int(budget_px // max(1, bbox.width)) - 2 * halo)


def _stripe_runs(store: GroupStore, g: int, params: CleanParams, s0: int, s1: int,
                 halo: int) -> Runs:  # fmt: skip
    """Runs of the thresholded, opened rows ``s0:s1`` of group ``g`` (read with a halo)."""
    bbox = store.boxes[g]
    r0, r1 = max(bbox.row, s0 - halo), min(bbox.row + bbox.height, s1 + halo)
    mask = threshold_mask(store.read(g, r0, r1), params.threshold)
    words = open_packed(pack(mask), params.opening_px, bbox.width)
    del mask
    return Runs.from_packed(words[s0 - r0 : s1 - r0], row0=s0, col0=bbox.col)


def clean_group(
    store: GroupStore, g: int, params: CleanParams, memory_mb: float = 512, threads: int = 1
) -> CleanedGroup:
    """Clean group ``g``: threshold, opening, small holes, then the minimum area over whole regions."""
    bbox = store.boxes[g]
    halo = 2 * params.opening_px
    step = stripe_rows(bbox, memory_mb, halo, threads)
    stripes = [
        (r, min(bbox.row + bbox.height, r + step))
        for r in range(bbox.row, bbox.row + bbox.height, step)
    ]
    if threads > 1 and len(stripes) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(
                pool.map(lambda s: _stripe_runs(store, g, params, s[0], s[1], halo), stripes)
            )
    else:
        parts = [_stripe_runs(store, g, params, s0, s1, halo) for s0, s1 in stripes]
    runs, region, n = clean_runs(Runs.concat(parts), (bbox.height, bbox.width), params,
                                 origin=(bbox.row, bbox.col))  # fmt: skip
    return CleanedGroup(g, bbox, runs, region, n, stripes)
