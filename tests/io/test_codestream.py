"""The codestream index against files OpenJPEG wrote: every order, precincts, layers, tiles."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from areoscan.errors import RasterError
from areoscan.io import Jp2Layout, write_jp2
from areoscan.io.codestream import (
    PACKET_DTYPE,
    CodestreamIndex,
    find_codestream,
    index_bytes,
    index_file,
)
from areoscan.io.progression import ORDERS

SHAPE = (200, 300)
NUMRES = 4


def _pixels(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    base = 500 + 300 * np.sin(rows / 9.0) * np.cos(cols / 13.0) + rng.normal(0, 40, SHAPE)
    return np.clip(base, 0, 1023).astype(np.uint16)


def _write(folder: Path, layout: Jp2Layout, raw: bool = False) -> Path:
    name = "{}_{}_{}_{}{}".format(
        layout.progression, layout.precinct, layout.layers, layout.tile, ".j2k" if raw else ".jp2"
    )
    return write_jp2(folder / name, _pixels(), numres=NUMRES, layout=layout)


def _expected_packets(ix: CodestreamIndex) -> int:
    """layers x (precincts over every resolution and component), tile by tile."""
    total = 0
    for t in range(ix.siz.tiles):
        geometry = ix.geometry(t)
        rect = ix.siz.tile_rect(t)
        precincts = sum(
            pw * ph
            for g in geometry
            for pw, ph in (g.precinct_grid(rect, r) for r in range(g.levels + 1))
        )
        total += ix.style.layers * precincts
    return total


def _check_against_file(ix: CodestreamIndex, data: bytes, sop: bool) -> None:
    p = ix.packets
    assert p is not None and p.dtype == PACKET_DTYPE
    assert len(p) == _expected_packets(ix)
    for tp in ix.tile_parts:
        mine = p[(p["offset"] >= tp.data_offset) & (p["offset"] < tp.end)]
        assert (mine["tile"] == tp.tile).all()
        assert int(mine["length"].sum()) == tp.end - tp.data_offset  # the lengths cover the data
        assert (mine["offset"] + mine["length"] <= tp.end).all()
    assert int(p["length"].sum()) == sum(tp.end - tp.data_offset for tp in ix.tile_parts)
    # no (tile, layer, resolution, component, precinct) twice
    keys = {tuple(int(v) for v in row)[:5] for row in p}
    assert len(keys) == len(p)
    if sop:  # OpenJPEG starts packet n of a tile with an SOP marker numbered n
        for t in range(ix.siz.tiles):
            offsets = p["offset"][p["tile"] == t]
            assert all(data[o : o + 2] == b"\xff\x91" for o in offsets)
            numbers = [int.from_bytes(data[o + 4 : o + 6], "big") for o in offsets]
            assert numbers == list(range(len(offsets)))


@pytest.mark.parametrize(
    ("order", "precinct", "layers", "tile"),
    [
        (o, p, lay, t)
        for o, (p, lay, t) in itertools.product(
            ORDERS, [(None, 1, None), (32, 3, None), (None, 2, 128), (16, 2, 96)]
        )
    ],
)
def test_packet_table_matches_file(
    tmp_path: Path, order: str, precinct: int | None, layers: int, tile: int | None
) -> None:
    layout = Jp2Layout(order, precinct, layers, markers=True, tile=tile, sop=True)
    path = _write(tmp_path, layout)
    ix = index_file(str(path))
    assert ix.has_plt and ix.has_tlm and ix.reason == ""
    assert ix.style.order == order and ix.style.layers == layers
    assert ix.levels == NUMRES - 1
    if precinct is not None:
        assert ix.coding[0].precincts[-1] == (precinct.bit_length() - 1,) * 2
    else:
        assert ix.coding[0].precincts == ((15, 15),) * NUMRES
    expected_tiles = 1 if tile is None else -(-SHAPE[0] // tile) * -(-SHAPE[1] // tile)
    assert ix.siz.tiles == expected_tiles == len({tp.tile for tp in ix.tile_parts})
    _check_against_file(ix, path.read_bytes(), sop=True)


def test_without_sop_markers_and_raw_codestream(tmp_path: Path) -> None:
    path = _write(tmp_path, Jp2Layout("RPCL", 32, 2, markers=True), raw=True)
    data = path.read_bytes()
    assert data[:2] == b"\xff\x4f"
    ix = index_file(str(path))
    assert ix.start == 0 and ix.end == len(data)
    _check_against_file(ix, data, sop=False)


def test_prefix_up_to_first_sod_is_enough(tmp_path: Path) -> None:
    path = _write(tmp_path, Jp2Layout("RLCP", 32, 2, markers=True))
    data = path.read_bytes()
    whole = index_file(str(path))
    prefix = data[: whole.tile_parts[0].data_offset]
    part = index_bytes(prefix, size=len(data))
    assert part.packets is not None and whole.packets is not None
    assert (part.packets == whole.packets).all()
    with pytest.raises(RasterError, match="headers end early"):
        index_bytes(prefix[:-40], size=len(data))


def test_without_markers_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path, Jp2Layout("LRCP", 32, 2, markers=False))
    ix = index_file(str(path))
    assert ix.packets is None and not ix.has_plt and not ix.has_tlm
    assert "no PLT" in ix.reason
    # whole tile-parts are still known: they cover the codestream
    assert ix.tile_parts[0].offset == ix.header_end
    assert ix.tile_parts[-1].end + 2 == ix.end


def test_many_tiles_without_tlm_walk_the_sot_chain(tmp_path: Path) -> None:
    path = _write(tmp_path, Jp2Layout("PCRL", None, 1, markers=False, tile=64))
    ix = index_file(str(path))
    assert [tp.tile for tp in ix.tile_parts] == list(range(ix.siz.tiles))
    for a, b in itertools.pairwise(ix.tile_parts):
        assert a.end == b.offset


def test_plt_disagreeing_with_data_falls_back(tmp_path: Path) -> None:
    path = _write(tmp_path, Jp2Layout("RLCP", None, 1, markers=True))
    data = bytearray(path.read_bytes())
    ix = index_file(str(path))
    tp = ix.tile_parts[0]
    sod = tp.data_offset - 2
    plt = data.rfind(b"\xff\x58", tp.offset, sod)
    data[plt + 6] ^= 0x01  # one packet length off by one: the lengths no longer cover the data
    bad = index_bytes(bytes(data))
    assert bad.packets is None and "PLT" in bad.reason


def test_not_jpeg2000(tmp_path: Path) -> None:
    with pytest.raises(RasterError, match="not a JPEG2000"):
        index_bytes(b"GIF89a" + bytes(64))
    with pytest.raises(RasterError, match="no codestream"):
        index_bytes(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00\x00\x00\x08free")
    jp2 = _write(tmp_path, Jp2Layout())
    assert find_codestream(lambda o, n: jp2.read_bytes()[o : o + n], jp2.stat().st_size)[0] > 0
