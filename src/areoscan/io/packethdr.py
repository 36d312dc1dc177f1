"""Check PLT packet lengths against the packets themselves, by reading their headers (T.800 B.10).

Use :func:`check_packets` on the packets a partial read keeps (see :mod:`areoscan.io.remote`)
before building a partial file from them. A PLT marker that lists the right number of packets and
the right total but puts one boundary in the wrong place would make the partial file cut a packet
where no packet ends; OpenJPEG would then decode the wrong bytes without a word. Reading each
kept packet's header (inclusion and zero-bit-plane tag trees, pass counts, code-word lengths) gives
its true length, which must equal PLT's. Precincts keep all their layers, so every header is read
with the tag-tree state of the layers before it. Code-block styles that split a code-block's passes
into several code-word segments (selective arithmetic-coding bypass, termination on every pass)
are followed as OpenJPEG follows them (one length per segment, each segment's pass count as
T.800 Table D.9 allows). High-throughput (HTJ2K) code-blocks are not: their packets cannot be
checked, and :func:`check_packets` says so, which sends the image to a whole download.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from areoscan.io.codestream import CodestreamIndex, Read
from areoscan.io.progression import ComponentGeometry, ceildiv

_INF = 1 << 30


class _Bits:
    """MSB-first bit reader with JPEG2000 bit stuffing (7 bits after an 0xFF byte)."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos, self.byte, self.left = data, pos, 0, 0

    def bit(self) -> int:
        if self.left == 0:
            stuffed = self.byte == 0xFF
            if self.pos >= len(self.data):
                raise ValueError("packet header runs past the packet's bytes")
            self.byte = self.data[self.pos]
            self.pos += 1
            self.left = 7 if stuffed else 8
        self.left -= 1
        return (self.byte >> self.left) & 1

    def bits(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def align(self) -> int:
        """End of the header: skip a stuffing byte after 0xFF; the offset reached."""
        if self.byte == 0xFF:
            self.pos += 1
        self.left = 0
        return self.pos


class _TagTree:
    """A tag tree over w x h leaves (B.10.2), decoded incrementally across layers."""

    def __init__(self, w: int, h: int) -> None:
        self.parent: list[int] = []
        self.leaves = w * h
        level_w, level_h, first = w, h, 0
        sizes = []
        while True:
            sizes.append((level_w, level_h, first))
            n = level_w * level_h
            if n <= 1:
                break
            first += n
            level_w, level_h = ceildiv(level_w, 2), ceildiv(level_h, 2)
        total = sum(lw * lh for lw, lh, _ in sizes)
        self.parent = [-1] * total
        for k in range(len(sizes) - 1):
            lw, lh, f = sizes[k]
            pw, _ph, pf = sizes[k + 1]
            for j in range(lh):
                for i in range(lw):
                    self.parent[f + j * lw + i] = pf + (j // 2) * pw + i // 2
        self.value = [_INF] * total
        self.low = [0] * total

    def decode(self, bits: _Bits, leaf: int, threshold: int) -> bool:
        path = []
        node = leaf
        while node != -1:
            path.append(node)
            node = self.parent[node]
        low = 0
        for node in reversed(path):
            if low > self.low[node]:
                self.low[node] = low
            else:
                low = self.low[node]
            while low < threshold and low < self.value[node]:
                if bits.bit():
                    self.value[node] = low
                else:
                    low += 1
            self.low[node] = low
        return self.value[leaf] < threshold


BYPASS, TERMALL, HT = 0x01, 0x04, 0x40  # code-block style bits (COD/COC SPcod)


@dataclass
class _Band:
    """One subband of a precinct: its code-blocks' state across layers (tag trees, Lblock, and the
    code-word segment being filled: its most passes and the passes it holds, 0 = none yet)."""

    cw: int
    ch: int
    incl: _TagTree
    zero: _TagTree
    included: list[bool]
    lblock: list[int]
    seg_max: list[int]
    seg_passes: list[int]

    @classmethod
    def empty(cls, cw: int, ch: int) -> _Band:
        n = cw * ch
        return cls(cw, ch, _TagTree(cw, ch), _TagTree(cw, ch), [False] * n, [3] * n, [0] * n,
                   [0] * n)  # fmt: skip


def _segment_passes(style: int, previous: int) -> int:
    """Most passes of a code-block's next code-word segment (``previous``: the last segment's, 0 =
    first), as OpenJPEG's opj_t2_init_seg: 1 with termall, 10 then 2, 1, 2, ... with bypass."""
    if style & TERMALL:
        return 1
    if style & BYPASS:
        return 10 if previous == 0 else (2 if previous in (1, 10) else 1)
    return 109


def _lengths_bits(bits: _Bits, band: _Band, k: int, n: int, style: int) -> int:
    """Read the code-word lengths of ``n`` new passes of code-block ``k``: their sum in bytes."""
    if band.seg_max[k] == 0 or band.seg_passes[k] == band.seg_max[k]:
        band.seg_max[k], band.seg_passes[k] = _segment_passes(style, band.seg_max[k]), 0
    body = 0
    while True:
        take = min(band.seg_max[k] - band.seg_passes[k], n)
        body += bits.bits(band.lblock[k] + take.bit_length() - 1)
        band.seg_passes[k] += take
        n -= take
        if n == 0:
            return body
        band.seg_max[k], band.seg_passes[k] = _segment_passes(style, band.seg_max[k]), 0


def _band_blocks(
    g: ComponentGeometry, rect: tuple[int, int, int, int], r: int, prec: int, cblk: tuple[int, int]
) -> list[tuple[int, int]]:
    """(cw, ch) code-blocks of precinct ``prec`` of resolution ``r``, per subband (as OpenJPEG)."""
    x0, y0, x1, y1 = rect
    tcx0, tcy0, tcx1, tcy1 = (
        ceildiv(x0, g.dx),
        ceildiv(y0, g.dy),
        ceildiv(x1, g.dx),
        ceildiv(y1, g.dy),
    )
    pw, _ph = g.precinct_grid(rect, r)
    rx0, ry0, _, _ = g.resolution_bounds(rect, r)
    ppx, ppy = g.precincts[r]
    cx, cy = (ppx, ppy) if r == 0 else (ppx - 1, ppy - 1)
    sx = (rx0 >> ppx) << ppx
    sy = (ry0 >> ppy) << ppy
    if r > 0:
        sx, sy = ceildiv(sx, 2), ceildiv(sy, 2)
    bx, by = min(cblk[0], cx), min(cblk[1], cy)
    px = sx + (prec % pw) * (1 << cx)
    py = sy + (prec // pw) * (1 << cy)
    bands = [(0, 0, g.levels)] if r == 0 else [(1, 0, g.levels - r + 1), (0, 1, g.levels - r + 1),
                                              (1, 1, g.levels - r + 1)]  # fmt: skip
    out = []
    for xob, yob, nb in bands:
        bx0 = ceildiv(tcx0 - (xob << nb >> 1), 1 << nb)
        bx1 = ceildiv(tcx1 - (xob << nb >> 1), 1 << nb)
        by0 = ceildiv(tcy0 - (yob << nb >> 1), 1 << nb)
        by1 = ceildiv(tcy1 - (yob << nb >> 1), 1 << nb)
        if bx0 >= bx1 or by0 >= by1:
            out.append((0, 0))
            continue
        qx0, qx1 = max(px, bx0), min(px + (1 << cx), bx1)
        qy0, qy1 = max(py, by0), min(py + (1 << cy), by1)
        cw = max(0, (ceildiv(qx1, 1 << bx) - (qx0 >> bx))) if qx1 > qx0 else 0
        ch = max(0, (ceildiv(qy1, 1 << by) - (qy0 >> by))) if qy1 > qy0 else 0
        out.append((cw, ch) if cw and ch else (0, 0))
    return out


def _passes(bits: _Bits) -> int:
    if not bits.bit():
        return 1
    if not bits.bit():
        return 2
    n = bits.bits(2)
    if n != 3:
        return 3 + n
    n = bits.bits(5)
    if n != 31:
        return 6 + n
    return 37 + bits.bits(7)


def _packet_length(
    data: bytes, pos: int, layer: int, bands: list[_Band], sop: bool, eph: bool, style: int = 0
) -> int:
    """Bytes of the packet at ``pos`` (SOP, header, EPH and body), updating the precinct's state."""
    start = pos
    if sop and data[pos : pos + 2] == b"\xff\x91":
        pos += 6
    bits = _Bits(data, pos)
    body = 0
    if bits.bit():
        for band in bands:
            for k in range(band.cw * band.ch):
                if band.included[k]:
                    inc = bits.bit()
                else:
                    inc = int(band.incl.decode(bits, k, layer + 1))
                if not inc:
                    continue
                if not band.included[k]:
                    i = 0
                    while not band.zero.decode(bits, k, i):
                        i += 1
                    band.included[k] = True
                n = _passes(bits)
                while bits.bit():
                    band.lblock[k] += 1
                body += _lengths_bits(bits, band, k, n, style)
    pos = bits.align()
    if eph and data[pos : pos + 2] == b"\xff\x92":
        pos += 2
    return pos - start + body


def _edges(p: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept packets at either end of a run of kept packets contiguous in the file."""
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(p["offset"][rows], kind="stable")]
    ends = p["offset"][rows] + p["length"][rows]
    joined = ends[:-1] == p["offset"][rows[1:]]
    first = np.concatenate([[True], ~joined])
    last = np.concatenate([~joined, [True]])
    return rows[first | last]  # type: ignore[no-any-return]


def check_packets(index: CodestreamIndex, read: Read, keep: np.ndarray, edges: bool = True) -> str:
    """'' when the kept packets' headers agree with their PLT lengths, else the first disagreement.

    edges: check only the packets at the ends of each contiguous run of kept packets (and the
    earlier layers of their precincts, which their headers depend on). A partial file copies a run
    verbatim, so only where a run starts and ends matters: a wrong PLT boundary inside a run
    changes nothing OpenJPEG reads, one at a run's edge makes the header read there disagree.
    High-throughput (HT) code-blocks cannot be checked: their first such precinct is named instead.
    """
    p = index.packets
    if p is None:
        return "no packet table"
    checked = keep
    if edges and keep.any():
        key = p["tile"].astype(np.int64) << 40
        key |= (p["component"].astype(np.int64) << 32) | (p["resolution"].astype(np.int64) << 26)
        key |= p["precinct"].astype(np.int64)
        ends = _edges(p, keep)
        checked = keep & np.isin(key, key[ends])
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    for k in np.flatnonzero(checked).tolist():
        groups.setdefault((int(p["tile"][k]), int(p["component"][k]), int(p["resolution"][k]),
                           int(p["precinct"][k])), []).append(k)  # fmt: skip
    for (tile, comp, r, prec), rows in groups.items():
        coding = index.tile_coding.get(tile, index.coding)[comp]
        if coding.style & HT:
            return (f"tile {tile} component {comp} uses high-throughput (HTJ2K) code-blocks, whose "
                    "packet headers are not checked")  # fmt: skip
        style = index.tile_style.get(tile, index.style)
        g = index.geometry(tile)[comp]
        blocks = _band_blocks(g, index.siz.tile_rect(tile), r, prec, coding.codeblock)
        bands = [_Band.empty(cw, ch) for cw, ch in blocks]
        for k in sorted(rows, key=lambda k: int(p["layer"][k])):
            off, length = int(p["offset"][k]), int(p["length"][k])
            data = read(off, length)
            try:
                true = _packet_length(data, 0, int(p["layer"][k]), bands, style.sop, style.eph,
                                      coding.style)  # fmt: skip
            except ValueError as exc:
                true = -1
                why = str(exc)
            if true != length:
                where = f"tile {tile} component {comp} resolution {r} precinct {prec} layer {p['layer'][k]}"
                return (f"PLT says the packet of {where} at byte {off} is {length} bytes, its header "
                        f"{'says ' + str(true) if true >= 0 else why}")  # fmt: skip
    return ""
