"""Partial codestreams decode to the whole file's pixels: every order, precincts, layers, tiles."""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest

from areoscan.errors import RasterError
from areoscan.io import Jp2Layout, write_jp2
from areoscan.io.codestream import index_file
from areoscan.io.jp2decoder import Jp2Decoder
from areoscan.io.packethdr import check_packets
from areoscan.io.partial import build_partial, kept_ranges, needed_packets
from areoscan.io.progression import ORDERS

H, W, NUMRES = 200, 300, 4
LAYOUTS = {  # name: (precinct, layers, tile, lossless)
    "plain": (None, 1, None, True),
    "precincts+layers": (16, 3, None, True),
    "small-precincts-9/7": (8, 1, None, False),
    "tiles+precincts-9/7": (32, 2, 96, False),
}


def _pixels() -> np.ndarray:
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:H, 0:W]
    base = 500 + 300 * np.sin(rows / 9.0) * np.cos(cols / 13.0) + rng.normal(0, 40, (H, W))
    return np.clip(base, 0, 1023).astype(np.uint16)


def decode(path: Path, level: int, window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A fresh OpenJPEG decode of ``window`` (level pixels) at ``level``."""
    s = 2**level
    r0, c0, h, w = window if window is not None else (0, 0, H, W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec = Jp2Decoder(path, level, threads=1)
    try:
        return dec.decode(c0 * s, r0 * s, min(W, (c0 + w) * s), min(H, (r0 + h) * s))
    finally:
        dec.close()


def _write(folder: Path, order: str, layout: str) -> Path:
    precinct, layers, tile, lossless = LAYOUTS[layout]
    return write_jp2(
        folder / f"{order}_{layout.replace('/', '')}.jp2",
        _pixels(),
        numres=NUMRES,
        lossless=lossless,
        cratio=4,
        layout=Jp2Layout(order, precinct, layers, markers=True, tile=tile),
    )


@pytest.mark.parametrize(
    ("order", "layout"),
    [
        pytest.param(o, lay, marks=[pytest.mark.slow] if lay.startswith("small") else [])
        for o, lay in itertools.product(ORDERS, LAYOUTS)
    ],
)
def test_partial_decodes_like_the_whole_file(tmp_path: Path, order: str, layout: str) -> None:
    whole = _write(tmp_path, order, layout)
    data = whole.read_bytes()
    ix = index_file(str(whole))
    assert ix.packets is not None

    def read(off: int, n: int) -> bytes:
        return data[off : off + n]

    everything = np.ones(len(ix.packets), dtype=bool)
    assert check_packets(ix, read, everything, edges=False) == ""  # every header agrees with PLT
    part = tmp_path / "part.jp2"
    sizes = []
    for level in range(NUMRES):
        keep = needed_packets(ix, level)
        sizes.append(build_partial(ix, read, keep, part))
        assert np.array_equal(decode(part, level), decode(whole, level))
        assert int(ix.packets["length"][keep].sum()) == sum(b - a for a, b in kept_ranges(ix, keep))
        if level > 0 and ix.packets["length"][~keep].max() > 1:  # what was left out mattered
            assert not np.array_equal(decode(part, level - 1), decode(whole, level - 1))
        for window in [(7 >> level, 19 >> level, 30 >> level, 41 >> level), (0, 0, 9, 11)]:
            keep_w = needed_packets(ix, level, window)
            assert not (keep_w & ~keep).any()
            build_partial(ix, read, keep_w, part)
            assert np.array_equal(decode(part, level, window), decode(whole, level, window))
            if LAYOUTS[layout][0] is not None:  # precincts: a window takes less than its level
                assert keep_w.sum() < keep.sum()
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0] < len(data)


def test_level_beyond_the_file(tmp_path: Path) -> None:
    ix = index_file(str(_write(tmp_path, "RPCL", "plain")))
    with pytest.raises(RasterError, match="exceeds"):
        needed_packets(ix, NUMRES)


@pytest.mark.parametrize("order", ORDERS)
def test_packet_headers_catch_a_shifted_boundary(tmp_path: Path, order: str) -> None:
    whole = _write(tmp_path, order, "precincts+layers")
    data = whole.read_bytes()
    ix = index_file(str(whole))
    assert ix.packets is not None
    p = ix.packets
    k = int(np.flatnonzero(p["length"][:-1] > 4)[-1])  # a boundary between two real packets
    p["length"][k] -= 1
    p["offset"][k + 1] -= 1
    p["length"][k + 1] += 1
    keep = np.ones(len(p), dtype=bool)
    reason = check_packets(ix, lambda off, n: data[off : off + n], keep, edges=False)
    assert "PLT says the packet of" in reason
    # the same boundary at the edge of a kept run is found by the edge check alone
    keep[k + 1 :] = False
    assert "PLT says the packet of" in check_packets(ix, lambda off, n: data[off : off + n], keep)


@pytest.mark.parametrize(
    ("order", "modes"), [("LRCP", 1), ("RPCL", 4), ("PCRL", 5), ("CPRL", 1 | 8 | 32)]
)
def test_bypass_and_termall_packets_are_checked(tmp_path: Path, order: str, modes: int) -> None:
    """Code-blocks cut into several code-word segments (bypass, termall): every header is read,
    agrees with PLT, the partial file decodes like the whole one, and a shifted boundary is caught.
    (9/7: OpenJPEG 2.5's encoder overflows its buffer on lossless termall code-blocks this small.)"""
    whole = write_jp2(tmp_path / "modes.jp2", _pixels(), numres=NUMRES, lossless=False, cratio=4,
                      layout=Jp2Layout(order, 16, 3, markers=True, modes=modes))  # fmt: skip
    data = whole.read_bytes()
    ix = index_file(str(whole))
    assert ix.packets is not None and ix.coding[0].style & modes == modes

    def read(off: int, n: int) -> bytes:
        return data[off : off + n]

    p = ix.packets
    assert check_packets(ix, read, np.ones(len(p), dtype=bool), edges=False) == ""
    keep = needed_packets(ix, 1, (10, 20, 40, 50))
    build_partial(ix, read, keep, tmp_path / "part.jp2")
    window = (10, 20, 40, 50)
    assert np.array_equal(decode(tmp_path / "part.jp2", 1, window), decode(whole, 1, window))
    k = int(np.flatnonzero(p["length"][:-1] > 4)[-1])
    p["length"][k] -= 1
    p["offset"][k + 1] -= 1
    p["length"][k + 1] += 1
    reason = check_packets(ix, read, np.ones(len(p), dtype=bool), edges=False)
    assert "PLT says the packet of" in reason


def test_high_throughput_code_blocks_are_refused(tmp_path: Path) -> None:
    """HTJ2K code-blocks (not written by our encoder: the style bit is set on the index) cannot be
    checked: check_packets names them, so the image is read whole instead."""
    whole = _write(tmp_path, "RPCL", "plain")
    data = whole.read_bytes()
    ix = index_file(str(whole))
    assert ix.packets is not None
    ix.coding = (dataclasses.replace(ix.coding[0], style=ix.coding[0].style | 0x40),)
    reason = check_packets(ix, lambda off, n: data[off : off + n], np.ones(len(ix.packets), bool))
    assert "high-throughput" in reason
