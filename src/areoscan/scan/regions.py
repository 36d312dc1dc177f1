"""Clean a segmented group in horizontal stripes and join regions that cross stripe edges.

Use :func:`clean_group` for each :class:`~areoscan.scan.windows.TileGroup` after the segment stage:
it reads the group's probabilities from the :class:`~areoscan.scan.store.GroupStore` in stripes that
fit the memory budget, cleans each stripe (:mod:`areoscan.scan.clean`, with a halo so the opening is
exact), labels it, joins labels that touch across stripe edges (one connected-components call on
the pairs found in the two edge rows) and only then drops regions smaller than the minimum area —
so a region's area is its whole area, however many stripes it spans. A group that fits in one
stripe (the usual case) is cleaned in one piece. The result, :class:`CleanedGroup`, keeps each
stripe's cleaned mask bit-packed (1 bit per pixel) and gives back final labels stripe by stripe.

Holes are filled within a stripe and its halo: a hole crossing a stripe edge is filled only when it
lies inside the halo of both stripes (the halo is at least 64 px).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from areoscan.scan.clean import (
    CleanParams,
    binary_open_cross,
    fill_small_holes,
    label_sizes,
    lookup,
)
from areoscan.scan.quant import LEVELS, threshold_code
from areoscan.scan.store import GroupStore
from areoscan.tiling import Window

_CROSS = ndi.generate_binary_structure(2, 1)
CLEAN_BYTES_PER_PX = 14.0  # q, mask, two int32 label arrays and temporaries


@dataclass
class CleanedGroup:
    """Cleaned regions of one group: stripes of its bounding box with final labels 1..n.

    bbox: the group's box at the segment level; stripes: ``(row0, row1)`` level rows of each stripe;
    cols: ``(col0, col1)`` level columns of each stripe that hold any coral (work is cropped to
    them); n: number of regions; tables: per stripe, local label → final label (0 = dropped);
    packed: each stripe's cleaned mask (cropped), bit-packed.
    """

    index: int
    bbox: Window
    stripes: list[tuple[int, int]]
    cols: list[tuple[int, int]]
    n: int
    tables: list[np.ndarray]
    packed: list[np.ndarray] = field(repr=False)
    cached: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def _width(self, k: int) -> int:
        return self.cols[k][1] - self.cols[k][0]

    def _local(self, k: int) -> np.ndarray:
        if k in self.cached:
            return self.cached[k]
        mask = np.unpackbits(self.packed[k], axis=1, count=self._width(k)).view(bool)
        labels, _ = ndi.label(mask, structure=_CROSS)
        return labels

    def labels(self, k: int) -> np.ndarray:
        """Final labels (int32, 0 = background or dropped) of stripe ``k``'s columns ``cols[k]``."""
        local, table = self._local(k), self.tables[k]
        if np.array_equal(table, np.arange(table.size)):
            return local
        if k in self.cached:  # relabel the kept array in place, once
            self.cached[k] = lookup(table, local, out=local)
            self.tables[k] = np.arange(self.n + 1, dtype=np.int32)
            return self.cached[k]
        return lookup(table, local)

    def final_stripes(self) -> Iterator[tuple[int, int, int, np.ndarray, np.ndarray]]:
        """Yield ``(row0, row1, col0, local labels, table)`` per stripe (cropped to its coral columns).

        ``table[local label]`` is the final region (0 = dropped). As each stripe is yielded its
        packed mask is replaced by the final one (dropped regions removed), so that
        :meth:`mask_rows` needs no labels later and the labels can be freed.
        """
        for k, (s0, s1) in enumerate(self.stripes):
            local, table = self._local(k), self.tables[k]
            yield s0, s1, self.cols[k][0], local, table
            keep = table > 0
            if not keep[1:].all():
                self.packed[k] = np.packbits(lookup(keep, local), axis=1)
            self.cached.pop(k, None)
        self.tables = [np.arange(self.n + 1, dtype=np.int32) for _ in self.stripes]

    def mask_rows(self, row0: int, row1: int) -> np.ndarray:
        """Final coral mask of level rows ``row0:row1`` (inside the box), full box width."""
        out = np.zeros((row1 - row0, self.bbox.width), dtype=bool)
        for k, (s0, s1) in enumerate(self.stripes):
            a, b = max(row0, s0), min(row1, s1)
            c0, c1 = self.cols[k]
            if a >= b or c1 <= c0:
                continue
            dst = out[a - row0 : b - row0, c0 - self.bbox.col : c1 - self.bbox.col]
            table = self.tables[k]
            if (table[1:] > 0).all() and k not in self.cached:
                bits = np.unpackbits(self.packed[k][a - s0 : b - s0], axis=1, count=c1 - c0)
                dst[...] = bits.view(bool)
            else:
                dst[...] = self.labels(k)[a - s0 : b - s0] > 0
        return out


def stripe_rows(bbox: Window, memory_mb: float, halo: int) -> int:
    """Core rows per stripe so that a stripe plus its halo fits ``memory_mb`` (at least 64)."""
    budget_px = memory_mb * 2**20 / CLEAN_BYTES_PER_PX
    return max(64, int(budget_px // max(1, bbox.width)) - 2 * halo)


def _clean_stripe(
    q: np.ndarray, params: CleanParams, top: int, core: int
) -> tuple[np.ndarray, int]:
    """Cleaned mask (before the area filter) of rows ``top:top+core`` of a stripe read with halo,
    cropped to the columns holding coral, and the crop's first column (in ``q``)."""
    mask = (q >= threshold_code(params.threshold)) & (q <= LEVELS)
    mask = binary_open_cross(mask, params.opening_px)
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return np.zeros((core, 0), dtype=bool), 0
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    mask = fill_small_holes(mask[:, c0:c1], params.max_hole_px)  # holes lie inside the crop
    return np.ascontiguousarray(mask[top : top + core]), c0


def clean_group(
    store: GroupStore, g: int, params: CleanParams, memory_mb: float = 512
) -> CleanedGroup:
    """Clean group ``g``: threshold, opening, small holes, then the minimum area over whole regions."""
    bbox = store.boxes[g]
    halo = max(2 * params.opening_px, 64) if bbox.height > 64 else 0
    step = stripe_rows(bbox, memory_mb, halo)
    stripes = [
        (r, min(bbox.row + bbox.height, r + step))
        for r in range(bbox.row, bbox.row + bbox.height, step)
    ]
    single = len(stripes) == 1
    packed, sizes, firsts, lasts, counts, cached, cols = [], [], [], [], [], {}, []
    for k, (s0, s1) in enumerate(stripes):
        r0, r1 = max(bbox.row, s0 - halo), min(bbox.row + bbox.height, s1 + halo)
        q = store.read(g, r0, r1)
        mask, c0 = _clean_stripe(q, params, s0 - r0, s1 - s0)
        del q
        if mask.shape[1]:
            labels, n = ndi.label(mask, structure=_CROSS)
        else:
            labels, n = np.zeros(mask.shape, dtype=np.int32), 0
        sizes.append(label_sizes(labels, n))
        first = np.zeros(bbox.width, dtype=labels.dtype)
        last = np.zeros(bbox.width, dtype=labels.dtype)
        first[c0 : c0 + labels.shape[1]] = labels[0]
        last[c0 : c0 + labels.shape[1]] = labels[-1]
        firsts.append(first)
        lasts.append(last)
        counts.append(n)
        cols.append((bbox.col + c0, bbox.col + c0 + labels.shape[1]))
        packed.append(np.packbits(mask, axis=1))
        if single:
            cached[k] = labels
    offsets = np.concatenate([[0], np.cumsum([c + 1 for c in counts])]).astype(np.int64)
    total = int(offsets[-1])
    # join labels that touch across each stripe edge (4-connectivity: same column)
    a_list, b_list = [np.arange(total)], [np.arange(total)]
    for k in range(len(stripes) - 1):
        up, down = lasts[k], firsts[k + 1]
        both = (up > 0) & (down > 0)
        a_list.append(up[both].astype(np.int64) + offsets[k])
        b_list.append(down[both].astype(np.int64) + offsets[k + 1])
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = np.concatenate(a_list), np.concatenate(b_list)
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(total, total))
    _, comp = connected_components(graph, directed=False)
    area = np.bincount(
        comp, weights=np.concatenate(sizes).astype(np.float64), minlength=comp.max() + 1
    )
    is_bg = np.zeros(total, dtype=bool)
    is_bg[offsets[:-1]] = True  # each stripe's label 0
    keep_comp = area >= max(1, params.min_area_px)
    keep_comp[comp[is_bg]] = False
    # final ids 1..n in order of first appearance (top to bottom)
    first_seen = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, comp, np.arange(total))
    kept = np.flatnonzero(keep_comp)
    order = kept[np.argsort(first_seen[kept])]
    final = np.zeros(comp.max() + 1, dtype=np.int32)
    final[order] = np.arange(1, order.size + 1, dtype=np.int32)
    tables = [final[comp[offsets[k] : offsets[k + 1]]] for k in range(len(stripes))]
    return CleanedGroup(g, bbox, stripes, cols, int(order.size), tables, packed, cached)
