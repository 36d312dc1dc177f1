"""Full-width strips: stream a gigapixel level through a fixed memory budget.

Use :meth:`areoscan.io.Raster.strips` (which calls :func:`plan_strips`) whenever a pass touches a
whole full-resolution image: decoding a 1 Gpx HiRISE JP2 at once costs ~6.5 GB, a strip costs what
you allow. Each :class:`Strip` carries ``overlap`` extra rows on each side (context for filters or
sliding windows); its *core* rows partition the image, so a consumer that keeps only the core of
every strip covers each row exactly once.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Memory per strip pixel, measured (benchmarks/bench_io.py; OpenJPEG 2.5.0). Decoding a *window* of a
# single-tile JP2 costs ~22 B/px (decoded code-blocks, the sparse tile-component window, the
# window buffer and two int32 output images), far more than a whole-tile decode (~9 B/px), plus our
# uint16 copy. With prefetch, the next strip decodes while the current float32 strip (4 B/px) and the
# one the consumer still holds (4 B/px) are alive: 32.6 B/px measured on 20,000-px strips; ~28 B/px
# without prefetch.
DECODE_BYTES_PER_PX = 22.0
BYTES_PER_PX = 33.0
BYTES_PER_PX_NO_PREFETCH = 28.0


@dataclasses.dataclass(frozen=True)
class Strip:
    """One full-width band of a level.

    row0/row1: rows held in ``data`` (row1 exclusive), including the overlap.
    core0/core1: rows this strip is responsible for; cores of successive strips tile the level.
    data: float32 (row1 - row0, W) scaled to [0, 1].
    """

    row0: int
    row1: int
    core0: int
    core1: int
    data: np.ndarray

    @property
    def core(self) -> np.ndarray:
        """The core rows of ``data`` (a view)."""
        return self.data[self.core0 - self.row0 : self.core1 - self.row0]


def rows_for_budget(
    width: int, memory_mb: float, bytes_per_px: float = BYTES_PER_PX, reserved_mb: float = 0.0
) -> int:
    """How many full-width rows fit in ``memory_mb`` (minus ``reserved_mb`` already spoken for)."""
    budget = (memory_mb - reserved_mb) * 2**20
    return int(budget // (max(1, width) * bytes_per_px))


def plan_strips(
    height: int,
    width: int,
    memory_mb: float = 512,
    overlap: int = 0,
    rows: int | None = None,
    bytes_per_px: float = BYTES_PER_PX,
    reserved_mb: float = 0.0,
    align: int = 64,
) -> list[tuple[int, int, int, int]]:
    """Plan strips as (row0, row1, core0, core1) tuples covering ``height`` rows.

    rows: core rows per strip (None: as many as ``memory_mb`` allows once the overlap is paid for).
    overlap: extra rows each side (clipped at the image edges). align: round core heights down to a
    multiple of this (64 = JPEG2000 code-block height) when they are larger. reserved_mb: memory
    already used by the decoder that does not scale with the strip (e.g. the compressed tile).
    Raises ValueError if the budget cannot hold one core row plus the overlap.
    """
    if height <= 0 or width <= 0:
        return []
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, not {overlap}")
    if rows is None:
        fit = rows_for_budget(width, memory_mb, bytes_per_px, reserved_mb)
        core = fit - 2 * overlap
        if core < 1:
            need = (2 * overlap + 1) * width * bytes_per_px / 2**20 + reserved_mb
            raise ValueError(
                f"memory_mb={memory_mb} cannot hold one {width}-px row plus {overlap} overlap rows "
                f"each side; allow at least {need:.0f} MB or reduce the overlap"
            )
        if core > align:
            core -= core % align
    else:
        if rows < 1:
            raise ValueError(f"rows must be >= 1, not {rows}")
        core = rows
    core = min(core, height)
    plan = []
    for core0 in range(0, height, core):
        core1 = min(height, core0 + core)
        plan.append((max(0, core0 - overlap), min(height, core1 + overlap), core0, core1))
    return plan
