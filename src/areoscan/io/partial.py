"""Partial JPEG2000 files: only the packets that a resolution level (and a window) needs.

Use :func:`needed_packets` to know which packets of an indexed file (:mod:`areoscan.io.codestream`)
a read of level L (optionally of one window of it) needs, and :func:`build_partial` to write a valid
JP2 from those packets alone: every other packet becomes an empty packet (one zero byte, the
"zero-length packet" bit, with its SOP / EPH markers when the file uses them), SOT lengths are
rewritten and the TLM / PLT / PLM markers, which would no longer match, are dropped. OpenJPEG decodes
such a file to exactly the pixels the whole file gives at that level (or in that window): a kept
precinct keeps all its layers, so every packet header it reads has its full tag-tree history.

Windows: a window keeps the precincts whose area the wavelet synthesis reaches from it: the window's
area at each lower resolution widened by :data:`MARGIN` coefficients per step (the 9/7 filter's
reach is 4, the 5/3's 2). Without user precincts each resolution is one precinct, so a window needs
its whole level.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from areoscan.errors import RasterError
from areoscan.io.atomic import atomic_output
from areoscan.io.codestream import (
    COD,
    EOC,
    PLM,
    PLT,
    SOD,
    SOT,
    TLM,
    Bytes,
    CodestreamIndex,
    Read,
    segments,
)
from areoscan.io.progression import ComponentGeometry, ceildiv
from areoscan.io.window import WindowLike

MARGIN = 4

_DROPPED = {TLM, PLM, PLT}
_COPY_CHUNK = 1 << 22


def _packets(index: CodestreamIndex) -> np.ndarray:
    if index.packets is None:
        raise RasterError(f"no packet table: {index.reason}")
    return index.packets


def window_box(index: CodestreamIndex, level: int, window: WindowLike) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) on the reference grid of a window of ``level`` (as Raster reads it)."""
    r0, c0, h, w = window
    s = 2**level
    siz = index.siz
    x1 = min(siz.width, siz.x0 + (c0 + w) * s)
    y1 = min(siz.height, siz.y0 + (r0 + h) * s)
    return siz.x0 + c0 * s, siz.y0 + r0 * s, x1, y1


def _regions(
    g: ComponentGeometry, top: int, box: tuple[int, int, int, int]
) -> list[tuple[int, int, int, int]]:
    """Per resolution 0..top: the area (x0, y0, x1, y1, resolution coordinates) to keep."""
    x0, y0, x1, y1 = box
    sx, sy = g.dx << (g.levels - top), g.dy << (g.levels - top)
    lo_x, lo_y, hi_x, hi_y = x0 // sx, y0 // sy, ceildiv(x1, sx), ceildiv(y1, sy)
    out = []
    for _r in range(top, -1, -1):
        pad = 2 * MARGIN + 2  # the high bands of r hold coefficients of r - 1's area, doubled
        out.append((lo_x - pad, lo_y - pad, hi_x + pad, hi_y + pad))
        lo_x, lo_y = lo_x // 2 - MARGIN, lo_y // 2 - MARGIN
        hi_x, hi_y = ceildiv(hi_x, 2) + MARGIN, ceildiv(hi_y, 2) + MARGIN
    return out[::-1]


def needed_packets(
    index: CodestreamIndex, level: int, window: WindowLike | None = None
) -> np.ndarray:
    """bool mask over ``index.packets``: the packets a read of ``level`` (and ``window``) needs."""
    p = _packets(index)
    keep = np.zeros(len(p), dtype=bool)
    box = None if window is None else window_box(index, level, window)
    for tile in np.unique(p["tile"]).tolist():
        rect = index.siz.tile_rect(tile)
        if box is not None and not (
            box[0] < rect[2] and rect[0] < box[2] and box[1] < rect[3] and rect[1] < box[3]
        ):
            continue
        in_tile = p["tile"] == tile
        for ci, g in enumerate(index.geometry(tile)):
            top = g.levels - level
            if top < 0:
                raise RasterError(f"level {level} exceeds the {g.levels} levels of component {ci}")
            regions = None if box is None else _regions(g, top, box)
            for r in range(top + 1):
                sel = np.flatnonzero(in_tile & (p["component"] == ci) & (p["resolution"] == r))
                if regions is None:
                    keep[sel] = True
                    continue
                keep[sel[_precincts_in(g, rect, r, p["precinct"][sel], regions[r])]] = True
    return keep


def _precincts_in(
    g: ComponentGeometry,
    rect: tuple[int, int, int, int],
    r: int,
    precinct: np.ndarray,
    region: tuple[int, int, int, int],
) -> np.ndarray:
    pw, _ph = g.precinct_grid(rect, r)
    rx0, ry0, _rx1, _ry1 = g.resolution_bounds(rect, r)
    ppx, ppy = g.precincts[r]
    px0 = ((rx0 >> ppx) + precinct % pw) << ppx
    py0 = ((ry0 >> ppy) + precinct // pw) << ppy
    x0, y0, x1, y1 = region
    return (px0 < x1) & (px0 + (1 << ppx) > x0) & (py0 < y1) & (py0 + (1 << ppy) > y0)  # type: ignore[no-any-return]


@dataclass
class _Part:
    """One tile-part of the output: header bytes and body pieces (bytes, or (offset, n) to copy)."""

    header: bytes  # SOT..SOD without PLT, SOT's Psot still to fill
    pieces: list[bytes | tuple[int, int]]

    @property
    def length(self) -> int:
        body = sum(len(x) if isinstance(x, bytes) else x[1] for x in self.pieces)
        return len(self.header) + body


def _marker(code: int, body: bytes) -> bytes:
    return code.to_bytes(2, "big") + (len(body) + 2).to_bytes(2, "big") + body


def _empty_packet(sop: bool, eph: bool, seq: int) -> bytes:
    return (
        (b"\xff\x91\x00\x04" + (seq % 65536).to_bytes(2, "big") if sop else b"")
        + b"\x00"
        + (b"\xff\x92" if eph else b"")
    )


def _plan(index: CodestreamIndex, src: Bytes, keep: np.ndarray) -> list[_Part]:
    p = _packets(index)
    parts = []
    tp_starts = np.array([tp.data_offset for tp in index.tile_parts])
    owner = np.searchsorted(tp_starts, p["offset"], side="right") - 1
    seq: dict[int, int] = {}
    for i, tp in enumerate(index.tile_parts):
        segs, _sod = segments(src, tp.offset + 12, (SOD,))
        head = src.get(tp.offset, 12)
        header = head + b"".join(_marker(m, b) for m, b in segs if m not in _DROPPED) + b"\xff\x93"
        style = index.tile_style.get(tp.tile, index.style)
        pieces: list[bytes | tuple[int, int]] = []
        rows = np.flatnonzero(owner == i)
        for k in rows.tolist():
            n = seq.get(tp.tile, 0)
            seq[tp.tile] = n + 1
            off, length = int(p["offset"][k]), int(p["length"][k])
            last = pieces[-1] if pieces else None
            if not keep[k]:
                pieces.append(_empty_packet(style.sop, style.eph, n))
            elif isinstance(last, tuple) and last[0] + last[1] == off:
                pieces[-1] = (last[0], last[1] + length)
            else:
                pieces.append((off, length))
        parts.append(_Part(header, pieces))
    return parts


def _main_header(index: CodestreamIndex, src: Bytes) -> bytes:
    segs, _ = segments(src, index.start + 2, (SOT, EOC))
    if not any(m == COD for m, _ in segs):
        raise RasterError("JPEG2000 main header has no COD marker")
    return b"\xff\x4f" + b"".join(_marker(m, b) for m, b in segs if m not in _DROPPED)


def kept_ranges(index: CodestreamIndex, keep: np.ndarray) -> list[tuple[int, int]]:
    """Byte ranges (offset, end) of the file that the kept packets occupy, merged when adjacent."""
    p = _packets(index)
    out: list[tuple[int, int]] = []
    for off, n in zip(p["offset"][keep].tolist(), p["length"][keep].tolist(), strict=True):
        if out and out[-1][1] == off:
            out[-1] = (out[-1][0], off + n)
        elif n:
            out.append((off, off + n))
    return out


def _chunks(read: Read, off: int, n: int) -> Iterator[bytes]:
    end = off + n
    while off < end:
        data = read(off, min(_COPY_CHUNK, end - off))
        if not data:
            raise RasterError(f"JPEG2000 data ends at byte {off}, packets need {end}")
        yield data
        off += len(data)


def build_partial(index: CodestreamIndex, read: Read, keep: np.ndarray, dest: Path) -> int:
    """Write a JP2 (or J2K, as the source) holding only the ``keep`` packets to ``dest``; its size."""
    src = Bytes(read)
    parts = _plan(index, src, keep)
    main = _main_header(index, src)
    codestream = len(main) + sum(part.length for part in parts) + 2
    box_start = _box_start(index, src)
    with atomic_output(dest) as tmp, tmp.open("wb") as out:
        if box_start is not None:
            out.write(b"".join(_chunks(read, 0, box_start)) if box_start else b"")
            if codestream + 8 < 2**32:
                out.write((codestream + 8).to_bytes(4, "big") + b"jp2c")
            else:
                out.write((1).to_bytes(4, "big") + b"jp2c" + (codestream + 16).to_bytes(8, "big"))
        out.write(main)
        for part in parts:
            h = part.header
            out.write(h[:6] + part.length.to_bytes(4, "big") + h[10:])
            for piece in part.pieces:
                if isinstance(piece, bytes):
                    out.write(piece)
                else:
                    for data in _chunks(read, *piece):
                        out.write(data)
        out.write(b"\xff\xd9")
        size = out.tell()
    return size


def _box_start(index: CodestreamIndex, src: Bytes) -> int | None:
    """Offset of the jp2c box header (None for a raw codestream)."""
    if index.start == 0:
        return None
    for hdr in (8, 16):
        if index.start >= hdr and src.get(index.start - hdr + 4, 4) == b"jp2c":
            return index.start - hdr
    raise RasterError("JPEG2000 codestream box header not found")
