"""JPEG2000 codestream index: where each packet of a JP2 / J2K file lies, from its headers alone.

Use :func:`index_codestream` before reading part of an image you do not hold whole (a remote JP2):
it reads only the container boxes, the main header (SIZ, COD/COC, QCD, TLM) and the tile-part
headers (SOT, PLT) through a ``read(offset, n)`` callable, so it works on a file, on bytes, or on a
prefix fetched with an HTTP Range request, and returns a :class:`CodestreamIndex` whose ``packets``
table gives (tile, layer, resolution, component, precinct, offset, length) of every packet, offsets
in the file. HiRISE's ``PDS_to_JP2`` writes TLM and PLT markers into every RDR for exactly this.
Without PLT (or with PPM/PPT/POC/PLM, which this index does not follow) ``packets`` is None and
``reason`` says why: a reader then takes whole tile-parts, which are always known from SOT / TLM.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from areoscan.errors import RasterError
from areoscan.io.progression import ORDERS, ComponentGeometry, ceildiv, packet_order

Read = Callable[[int, int], bytes]
"""read(offset, n) -> up to n bytes of the file from offset (fewer only at its end)."""

SOC, SOT, SOD, EOC = 0xFF4F, 0xFF90, 0xFF93, 0xFFD9
SIZ, COD, COC, QCD, QCC, TLM, PLM, PLT, PPM, PPT, POC = (
    0xFF51, 0xFF52, 0xFF53, 0xFF5C, 0xFF5D, 0xFF55, 0xFF57, 0xFF58, 0xFF60, 0xFF61, 0xFF5F,
)  # fmt: skip
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
PACKET_DTYPE = np.dtype(
    [
        ("tile", "i4"), ("layer", "i4"), ("resolution", "i2"), ("component", "i2"),
        ("precinct", "i4"), ("offset", "i8"), ("length", "i8"),
    ]
)  # fmt: skip
HEADER_BLOCK = 1 << 16  # headers are read in blocks this long (one Range request each, remotely)
_UNFOLLOWED = {PPM: "PPM", PPT: "PPT", POC: "POC", PLM: "PLM"}


@dataclass(frozen=True)
class Siz:
    """The SIZ marker: image and tile geometry on the reference grid, and the components."""

    width: int  # Xsiz
    height: int  # Ysiz
    x0: int
    y0: int
    tile_width: int
    tile_height: int
    tile_x0: int
    tile_y0: int
    precision: tuple[int, ...]
    signed: tuple[bool, ...]
    subsampling: tuple[tuple[int, int], ...]  # (XRsiz, YRsiz) per component

    @property
    def tiles_across(self) -> int:
        return ceildiv(self.width - self.tile_x0, self.tile_width)

    @property
    def tiles(self) -> int:
        return self.tiles_across * ceildiv(self.height - self.tile_y0, self.tile_height)

    def tile_rect(self, t: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of tile ``t`` on the reference grid (B.3)."""
        p, q = t % self.tiles_across, t // self.tiles_across
        x0 = max(self.tile_x0 + p * self.tile_width, self.x0)
        y0 = max(self.tile_y0 + q * self.tile_height, self.y0)
        x1 = min(self.tile_x0 + (p + 1) * self.tile_width, self.width)
        y1 = min(self.tile_y0 + (q + 1) * self.tile_height, self.height)
        return x0, y0, x1, y1


@dataclass(frozen=True)
class Coding:
    """What COD / COC say for one component: levels, code-blocks, wavelet, precincts."""

    levels: int
    codeblock: tuple[int, int]  # (width, height) exponents
    reversible: bool  # 5/3 wavelet (else 9/7)
    precincts: tuple[tuple[int, int], ...]  # (PPx, PPy) per resolution 0..levels
    style: int = 0  # code-block style bits (1 bypass, 2 reset, 4 termall, ...)


@dataclass(frozen=True)
class Style:
    """COD's code-wide part: progression order, layers, SOP / EPH markers."""

    order: str
    layers: int
    sop: bool
    eph: bool


@dataclass
class TilePart:
    """One tile-part: its SOT offset, header (SOT..SOD) and data extent in the file."""

    tile: int
    part: int  # TPsot
    offset: int  # of the SOT marker, in the file
    length: int  # Psot (whole tile-part, header included)
    data_offset: int  # first byte after SOD
    plt: list[int] | None = None  # packet lengths from this tile-part's PLT markers

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def header_length(self) -> int:
        return self.data_offset - self.offset


@dataclass
class CodestreamIndex:
    """The index of one codestream. ``packets`` is None when the file does not allow one (``reason``)."""

    start: int  # codestream (SOC) offset in the file
    end: int  # just past EOC
    header_end: int  # first SOT
    siz: Siz
    style: Style
    coding: tuple[Coding, ...]  # per component, main header
    tile_parts: list[TilePart]
    has_tlm: bool
    has_plt: bool
    packets: np.ndarray | None = None
    reason: str = ""
    tile_style: dict[int, Style] = field(default_factory=dict)
    tile_coding: dict[int, tuple[Coding, ...]] = field(default_factory=dict)

    def geometry(self, tile: int) -> list[ComponentGeometry]:
        """Per-component geometry of ``tile`` (tile-part COD/COC override the main header's)."""
        coding = self.tile_coding.get(tile, self.coding)
        return [
            ComponentGeometry(dx, dy, c.levels, c.precincts)
            for (dx, dy), c in zip(self.siz.subsampling, coding, strict=True)
        ]

    @property
    def levels(self) -> int:
        """Decomposition levels of component 0 (the resolution levels are 0 .. levels)."""
        return self.coding[0].levels


def _u16(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "big")


def _u32(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "big")


class Bytes:
    """Reads through ``read`` in blocks, failing with one clear line on a short answer."""

    def __init__(self, read: Read, block: int | None = None) -> None:
        self.read, self.block = read, HEADER_BLOCK if block is None else block
        self.base, self.buf = 0, b""

    def get(self, offset: int, n: int) -> bytes:
        if not (self.base <= offset and offset + n <= self.base + len(self.buf)):
            self.base, self.buf = offset, self.read(offset, max(n, self.block))
        out = self.buf[offset - self.base : offset - self.base + n]
        if len(out) != n:
            raise RasterError(
                f"JPEG2000 headers end early: needed bytes {offset}..{offset + n}, the data stops "
                f"at {offset + len(out)} (truncated file or prefix)"
            )
        return out


def find_codestream(read: Read, size: int) -> tuple[int, int]:
    """(offset, end) of the codestream in a JP2 (its jp2c box) or raw J2K file of ``size`` bytes."""
    src = Bytes(read, 4096)
    head = src.get(0, 12)
    if head[:2] == b"\xff\x4f":
        return 0, size
    if head != JP2_SIGNATURE:
        raise RasterError("not a JPEG2000 file: no JP2 signature box and no SOC marker")
    off = 0
    while off + 8 <= size:
        box = src.get(off, 8)
        length, kind, hdr = _u32(box, 0), box[4:8], 8
        if length == 1:
            length, hdr = int.from_bytes(src.get(off + 8, 8), "big"), 16
        elif length == 0:
            length = size - off
        if length < hdr:
            raise RasterError(f"JP2 box {kind!r} at byte {off} has an impossible length {length}")
        if kind == b"jp2c":
            return off + hdr, off + length
        off += length
    raise RasterError("JP2 file has no codestream (jp2c) box")


def segments(src: Bytes, off: int, stop: tuple[int, ...]) -> tuple[list[tuple[int, bytes]], int]:
    """Marker segments [(marker, body)] from ``off`` up to (not including) a marker in ``stop``."""
    out: list[tuple[int, bytes]] = []
    while True:
        head = src.get(off, 2)
        marker = _u16(head, 0)
        if marker in stop:
            return out, off
        if marker >> 8 != 0xFF:
            raise RasterError(f"JPEG2000 header: expected a marker at byte {off}, got {head.hex()}")
        length = _u16(src.get(off + 2, 2), 0)
        if length < 2:
            raise RasterError(f"JPEG2000 marker {marker:04X} at byte {off} has length {length}")
        out.append((marker, src.get(off + 4, length - 2)))
        off += 2 + length


def _parse_siz(b: bytes) -> Siz:
    vals = struct.unpack(">H8IH", b[:36])
    n = vals[9]
    comps = [b[36 + 3 * i : 39 + 3 * i] for i in range(n)]
    if n == 0 or len(b) < 36 + 3 * n:
        raise RasterError("JPEG2000 SIZ marker is truncated")
    return Siz(
        width=vals[1], height=vals[2], x0=vals[3], y0=vals[4],
        tile_width=vals[5], tile_height=vals[6], tile_x0=vals[7], tile_y0=vals[8],
        precision=tuple((c[0] & 0x7F) + 1 for c in comps),
        signed=tuple(bool(c[0] & 0x80) for c in comps),
        subsampling=tuple((c[1], c[2]) for c in comps),
    )  # fmt: skip


def _parse_spcod(b: bytes, user_precincts: bool) -> Coding:
    levels = b[0]
    if user_precincts:
        if len(b) < 5 + levels + 1:
            raise RasterError("JPEG2000 COD/COC marker is truncated")
        precincts = tuple((v & 0xF, v >> 4) for v in b[5 : 6 + levels])
    else:
        precincts = ((15, 15),) * (levels + 1)
    return Coding(levels, (b[1] + 2, b[2] + 2), b[4] == 1, precincts, b[3])


def _parse_cod(b: bytes) -> tuple[Style, Coding]:
    scod, order = b[0], b[1]
    if order >= len(ORDERS):
        raise RasterError(f"JPEG2000 COD marker names progression order {order}")
    style = Style(ORDERS[order], _u16(b, 2), bool(scod & 2), bool(scod & 4))
    return style, _parse_spcod(b[5:], bool(scod & 1))


def _parse_coc(b: bytes, ncomp: int) -> tuple[int, Coding]:
    wide = ncomp >= 257
    comp = _u16(b, 0) if wide else b[0]
    rest = b[2:] if wide else b[1:]
    return comp, _parse_spcod(rest[1:], bool(rest[0] & 1))


def _parse_tlm(b: bytes) -> list[tuple[int | None, int]]:
    stlm = b[1]
    st, sp = (stlm >> 4) & 3, 4 if stlm >> 6 & 1 else 2
    if st == 3:
        raise RasterError("JPEG2000 TLM marker has an invalid tile-index size")
    step, out, i = st + sp, [], 2
    while i + step <= len(b):
        tile = int.from_bytes(b[i : i + st], "big") if st else None
        out.append((tile, int.from_bytes(b[i + st : i + step], "big")))
        i += step
    return out


def _parse_plt(b: bytes) -> list[int]:
    """Packet lengths of one PLT body (after Zplt): 7 bits per byte, high bit = more follows."""
    data = np.frombuffer(b, dtype=np.uint8)[1:].astype(np.int64)
    ends = np.flatnonzero(data & 0x80 == 0)
    if not len(ends):
        return []
    data = data[: ends[-1] + 1]  # an unfinished last value is dropped, as before
    group = np.concatenate([[0], np.cumsum(data[:-1] & 0x80 == 0)])  # value each byte belongs to
    shift = 7 * (ends[group] - np.arange(len(data)))  # bits below this byte in its value
    # float64 sums: exact below 2**53 (a real packet), never negative for a corrupt huge one
    return [int(v) for v in np.bincount(group, weights=(data & 0x7F) * 2.0**shift)]


def _codings(
    default: Coding, cocs: dict[int, Coding], ncomp: int, base: tuple[Coding, ...] | None = None
) -> tuple[Coding, ...]:
    return tuple(cocs.get(c, default if base is None else base[c]) for c in range(ncomp))


def index_codestream(read: Read, size: int) -> CodestreamIndex:
    """Index the JP2 / J2K file of ``size`` bytes that ``read`` reads (see module docstring)."""
    start, end = find_codestream(read, size)
    src = Bytes(read)
    if _u16(src.get(start, 2), 0) != SOC:
        raise RasterError(f"JPEG2000 codestream at byte {start} does not start with SOC")
    segs, first_sot = segments(src, start + 2, (SOT, EOC))
    found = {m for m, _ in segs}
    for needed, name in ((SIZ, "SIZ"), (COD, "COD"), (QCD, "QCD")):
        if needed not in found:
            raise RasterError(f"JPEG2000 main header has no {name} marker")
    siz = _parse_siz(next(b for m, b in segs if m == SIZ))
    style, cod = _parse_cod(next(b for m, b in segs if m == COD))
    cocs = dict(_parse_coc(b, len(siz.precision)) for m, b in segs if m == COC)
    tlm = [e for m, b in segs if m == TLM for e in _parse_tlm(b)] or None
    unfollowed = {_UNFOLLOWED[m] for m in found if m in _UNFOLLOWED}
    index = CodestreamIndex(
        start, end, first_sot, siz, style, _codings(cod, cocs, len(siz.precision)), [],
        has_tlm=tlm is not None, has_plt=False,
    )  # fmt: skip
    _read_tile_parts(index, src, tlm, unfollowed)
    index.has_plt = bool(index.tile_parts) and all(tp.plt for tp in index.tile_parts)
    if unfollowed:
        index.reason = f"the codestream uses {'/'.join(sorted(unfollowed))} markers"
    elif not index.has_plt:
        index.reason = "the file has no PLT (packet length) markers"
    else:
        index.reason = _build_packets(index)
    return index


def _tile_part_offsets(
    index: CodestreamIndex, tlm: list[tuple[int | None, int]]
) -> list[int] | None:
    """SOT offsets from TLM, or None when TLM disagrees with the codestream's end (walk instead)."""
    offsets, off = [], index.header_end
    for _tile, length in tlm:
        offsets.append(off)
        off += length
    return offsets if off in (index.end - 2, index.end) else None


def _read_tile_parts(
    index: CodestreamIndex,
    src: Bytes,
    tlm: list[tuple[int | None, int]] | None,
    unfollowed: set[str],
) -> None:
    """Read every tile-part header (from TLM's offsets, else by walking SOT -> Psot)."""
    offsets = _tile_part_offsets(index, tlm) if tlm else None
    off, i, ncomp = index.header_end, 0, len(index.siz.precision)
    while True:
        if offsets is not None:
            if i == len(offsets):
                return
            off = offsets[i]
        if off >= index.end - 2 or _u16(src.get(off, 2), 0) == EOC:
            return
        head = src.get(off, 12)
        if _u16(head, 0) != SOT:
            raise RasterError(f"JPEG2000: expected a tile-part (SOT) at byte {off}")
        tile, psot, part = _u16(head, 4), _u32(head, 6), head[10]
        if tile >= index.siz.tiles:
            raise RasterError(
                f"JPEG2000 tile-part at byte {off} names tile {tile} of {index.siz.tiles}"
            )
        psot = psot or index.end - 2 - off
        segs, sod = segments(src, off + 12, (SOD,))
        plts = [b for m, b in segs if m == PLT]
        tp = TilePart(
            tile, part, off, psot, sod + 2, [v for b in plts for v in _parse_plt(b)] or None
        )
        if tp.data_offset > tp.end or tp.end > index.end:
            raise RasterError(f"JPEG2000 tile-part at byte {off} has an impossible length {psot}")
        index.tile_parts.append(tp)
        unfollowed.update(_UNFOLLOWED[m] for m, _ in segs if m in _UNFOLLOWED)
        cods = [_parse_cod(b) for m, b in segs if m == COD]
        cocs = dict(_parse_coc(b, ncomp) for m, b in segs if m == COC)
        if cods or cocs:
            style, cod = cods[0] if cods else (index.style, None)
            index.tile_style[tile] = style
            base = None if cod is not None else index.coding
            index.tile_coding[tile] = _codings(cod or index.coding[0], cocs, ncomp, base)
        off, i = tp.end, i + 1


def _build_packets(index: CodestreamIndex) -> str:
    """Fill ``index.packets`` from the PLT lengths; return why not ('' when done)."""
    by_tile: dict[int, list[TilePart]] = {}
    for tp in index.tile_parts:
        by_tile.setdefault(tp.tile, []).append(tp)
    tables = []
    for tile, parts in sorted(by_tile.items()):
        style = index.tile_style.get(tile, index.style)
        order = packet_order(
            style.order, style.layers, index.siz.tile_rect(tile), index.geometry(tile)
        )
        offsets, lengths = [], []
        for tp in sorted(parts, key=lambda p: p.part):
            n = np.asarray(tp.plt or [], dtype=np.int64)
            if int(n.sum()) != tp.end - tp.data_offset:
                return (
                    f"PLT of tile {tile} part {tp.part} sums to {int(n.sum())} bytes, its data is "
                    f"{tp.end - tp.data_offset}"
                )
            offsets.append(tp.data_offset + np.cumsum(n) - n)
            lengths.append(n)
        k = sum(len(n) for n in lengths)
        if k > len(order):
            return f"PLT of tile {tile} lists more packets than its {len(order)}"
        if k != len(order):
            return f"PLT of tile {tile} lists {k} packets, the tile has {len(order)}"
        table = np.zeros(k, dtype=PACKET_DTYPE)
        table["tile"] = tile
        for col, name in enumerate(("layer", "resolution", "component", "precinct")):
            table[name] = order[:, col]
        table["offset"], table["length"] = np.concatenate(offsets), np.concatenate(lengths)
        tables.append(table)
    index.packets = np.concatenate(tables) if tables else np.zeros(0, dtype=PACKET_DTYPE)
    return ""


def index_bytes(data: bytes, size: int | None = None) -> CodestreamIndex:
    """Index a file held in ``data`` (or its first bytes, with ``size`` the whole file's length)."""
    return index_codestream(lambda off, n: data[off : off + n], len(data) if size is None else size)


def index_file(path: str) -> CodestreamIndex:
    """Index a local JP2 / J2K file."""
    with open(path, "rb") as fh:

        def read(off: int, n: int) -> bytes:
            fh.seek(off)
            return fh.read(n)

        fh.seek(0, 2)
        return index_codestream(read, fh.tell())
