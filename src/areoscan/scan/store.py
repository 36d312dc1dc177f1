"""One-byte probabilities of every segmented group, kept on disk rather than in memory.

Use :class:`GroupStore` between the segment stage (which writes each band's finished rows) and the
clean / vectorise / mask-writing stages (which read rows back): each group's bounding box is one
row-major ``uint8`` block of a single sparse file in the scan's temporary folder. Reads and writes go
through ``os.pread`` / ``os.pwrite``, so the data live in the page cache, not in the process's
resident memory, however much of an image is flagged.

Stored bytes are ``code + 1`` (``areoscan.scan.quant`` codes), so a byte never written reads as
:data:`~areoscan.scan.quant.NO_VALUE`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from areoscan.errors import OutputError
from areoscan.tiling import Window


class GroupStore:
    """A sparse file holding a ``uint8`` array per group bounding box.

    Args:
        path: the file (created; removed by :meth:`close`).
        boxes: each group's bounding window (its array is ``height × width`` bytes).
    """

    def __init__(self, path: Path, boxes: list[Window]) -> None:
        self.path = Path(path)
        self.boxes = list(boxes)
        self.offsets = np.concatenate([[0], np.cumsum([b.height * b.width for b in boxes])]).astype(
            np.int64
        )
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.ftruncate(self.fd, int(self.offsets[-1]))
        except OSError as exc:
            raise OutputError(
                f"{self.path}: cannot create the scan's work file ({exc.strerror})"
            ) from None

    def write(self, g: int, part: Window, codes: np.ndarray) -> None:
        """Store ``codes`` (uint8 codes, ``part``'s shape) for window ``part`` of group ``g``."""
        self._rows(g, part, codes.astype(np.uint8) + np.uint8(1), write=True, box=self.boxes[g])

    def read(
        self, g: int, row0: int, row1: int, col0: int | None = None, col1: int | None = None
    ) -> np.ndarray:
        """Codes of rows ``row0:row1`` (and columns ``col0:col1``; level coordinates) of group ``g``.

        Rows and columns outside the group's box read as NO_VALUE.
        """
        box = self.boxes[g]
        col0 = box.col if col0 is None else col0
        col1 = box.col + box.width if col1 is None else col1
        out = np.full((max(0, row1 - row0), max(0, col1 - col0)), 255, dtype=np.uint8)
        part = Window(row0, col0, row1 - row0, col1 - col0).intersect(box)
        if part is None:
            return out
        buf = np.empty((part.height, part.width), dtype=np.uint8)
        self._rows(g, part, buf, write=False, box=box)
        out[
            part.row - row0 : part.row - row0 + part.height,
            part.col - col0 : part.col - col0 + part.width,
        ] = buf - np.uint8(1)
        return out

    def _rows(self, g: int, part: Window, buf: np.ndarray, write: bool, box: Window) -> None:
        base = int(self.offsets[g])
        r_in, c_in = part.row - box.row, part.col - box.col
        if part.width == box.width:  # whole rows: one contiguous run
            start = base + r_in * box.width
            mv = memoryview(np.ascontiguousarray(buf)).cast("B")  # type: ignore[arg-type]
            (self._pwrite if write else self._pread)(mv, start)
            return
        for i in range(part.height):
            start = base + (r_in + i) * box.width + c_in
            row = np.ascontiguousarray(buf[i]) if write else buf[i]
            (self._pwrite if write else self._pread)(memoryview(row).cast("B"), start)  # type: ignore[arg-type]

    def _pwrite(self, mv: memoryview, offset: int) -> None:
        done = 0
        while done < len(mv):
            done += os.pwrite(self.fd, mv[done:], offset + done)

    def _pread(self, mv: memoryview, offset: int) -> None:
        done = 0
        while done < len(mv):
            got = os.preadv(self.fd, [mv[done:]], offset + done)
            if got == 0:
                raise OutputError(f"{self.path}: work file shorter than expected")
            done += got

    def close(self) -> None:
        """Close and delete the file (safe to call twice)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.path.unlink(missing_ok=True)


class ClassStores:
    """One :class:`GroupStore` per foreground class, written together (multi-class segmenters).

    :meth:`write` takes ``(C, h, w)`` codes (class c + 1 in plane c, see
    :func:`areoscan.scan.segment.segment_groups`); each class's store is then cleaned and vectorised
    like a binary segmenter's.
    """

    def __init__(self, stores: list[GroupStore]) -> None:
        self.stores = list(stores)
        self.boxes = self.stores[0].boxes

    def write(self, g: int, part: Window, codes: np.ndarray) -> None:
        """Store plane c of ``codes`` in class c's store."""
        for store, plane in zip(self.stores, codes, strict=True):
            store.write(g, part, plane)

    def close(self) -> None:
        """Close and delete every class's file."""
        for store in self.stores:
            store.close()
