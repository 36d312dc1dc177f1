"""The one window type: a rectangle of pixels at one resolution level.

Use :class:`Window` for every ``(row, col, height, width)`` rectangle (raster reads, tile grids,
flagged regions, store boxes). It unpacks like the tuple, and :meth:`Window.of` accepts either, so
``raster.read(level, (r, c, h, w))`` and ``raster.read(level, window)`` are the same call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, order=True)
class Window:
    """A rectangle of pixels at one level: top-left ``(row, col)`` and size ``(height, width)``."""

    row: int
    col: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """Numpy slices selecting this window from an array of the whole level."""
        return slice(self.row, self.row + self.height), slice(self.col, self.col + self.width)

    def __iter__(self) -> Iterator[int]:
        """Unpack like the tuple: ``row, col, height, width = window``."""
        return iter((self.row, self.col, self.height, self.width))

    @classmethod
    def of(cls, value: WindowLike) -> Window:
        """A :class:`Window` from a Window or a ``(row, col, height, width)`` sequence."""
        if isinstance(value, Window):
            return value
        row, col, height, width = (int(v) for v in value)
        return cls(row, col, height, width)

    def as_tuple(self) -> tuple[int, int, int, int]:
        """``(row, col, height, width)``, the form ``Raster.read`` takes."""
        return (self.row, self.col, self.height, self.width)

    def intersect(self, other: Window) -> Window | None:
        """The overlap of two windows, or None when they do not touch."""
        r0, c0 = max(self.row, other.row), max(self.col, other.col)
        r1 = min(self.row + self.height, other.row + other.height)
        c1 = min(self.col + self.width, other.col + other.width)
        if r1 <= r0 or c1 <= c0:
            return None
        return Window(r0, c0, r1 - r0, c1 - c0)


#: What a read accepts: a :class:`Window` or a ``(row, col, height, width)`` sequence.
WindowLike: TypeAlias = Window | Sequence[int]
