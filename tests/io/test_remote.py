"""open_raster(URL) by the packet: Range requests against a local http.server, with faults."""

from __future__ import annotations

import http.server
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import glymur
import numpy as np
import pytest

from areoscan.errors import FetchError
from areoscan.io import Jp2Layout, open_raster, remote_ahead, write_jp2, write_label
from areoscan.io.georef import label_centred_on
from areoscan.io.ranges import RangeFile, RangeUnsupported, merge, subtract
from areoscan.io.remote import RemoteJp2, open_remote

H, W, NUMRES = 256, 320, 5
NAME = "ESP_000200_1800_RED"


@dataclass
class RangeServer:
    """Serves ``files`` with Range support; ``fault`` changes every answer:
    "no-range" (200, whole body), "shifted" (Content-Range off by one), "drop-once" (the first
    ranged answer stops half-way), "short" (every ranged answer stops half-way)."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    fault: str | None = None
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    dropped: bool = False

    def ranged(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


def _handler(state: RangeServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            etag = f'"{zlib.crc32(body):08x}"'
            if rng and self.headers.get("If-Range") not in (None, etag):
                rng = None  # changed since: the whole new file, as RFC 9110 says
            if not rng or state.fault == "no-range":
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            first_s, _, last_s = rng.split("=")[1].partition("-")
            first = int(first_s)
            last = min(len(body) - 1, int(last_s)) if last_s else len(body) - 1
            part = body[first : last + 1]
            shown = first + 1 if state.fault == "shifted" else first
            self.send_response(206)
            self.send_header("ETag", etag)
            self.send_header("Content-Range", f"bytes {shown}-{last}/{len(body)}")
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            cut = state.fault == "short" or (state.fault == "drop-once" and not state.dropped)
            if cut:
                state.dropped = True
                self.wfile.write(part[: len(part) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(part)

    return Handler


@pytest.fixture(autouse=True)
def small_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests scaled to these small files (64 KiB would be most of one)."""
    monkeypatch.setattr("areoscan.io.ranges.PREFIX", 2048)
    monkeypatch.setattr("areoscan.io.ranges.GAP", 256)
    monkeypatch.setattr("areoscan.io.codestream.HEADER_BLOCK", 1024)
    monkeypatch.setattr("areoscan.io.remote.BACKOFF", 0.01)


@pytest.fixture
def server(serve_http: Any) -> Iterator[RangeServer]:
    state = RangeServer()
    with serve_http(_handler(state)) as base:
        state.base = base
        yield state


def _pixels() -> np.ndarray:
    rng = np.random.default_rng(11)
    rows, cols = np.mgrid[0:H, 0:W]
    base = 500 + 300 * np.sin(rows / 9.0) * np.cos(cols / 13.0) + rng.normal(0, 40, (H, W))
    return np.clip(base, 1, 1023).astype(np.uint16)


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """JP2 bytes by layout name, and the label."""
    folder = tmp_path_factory.mktemp("remote-products")
    out = {}
    layouts = {
        "rpcl": Jp2Layout("RPCL", None, 1, markers=True),
        "lrcp-precincts-layers": Jp2Layout("LRCP", 32, 3, markers=True),
        "no-markers": Jp2Layout("RPCL", 32, 1, markers=False),
        "tiles": Jp2Layout("RPCL", 32, 1, markers=True, tile=128),
    }
    for name, layout in layouts.items():
        out[name] = write_jp2(
            folder / f"{name}.jp2", _pixels(), numres=NUMRES, layout=layout
        ).read_bytes()
    label = label_centred_on(0.5, 10.0, H, W, product_id=f"{NAME}")
    out["label"] = write_label(folder / "x.LBL", label).read_bytes()
    return out


def _publish(server: RangeServer, products: dict[str, bytes], which: str) -> str:
    server.files[f"/rdr/{NAME}.JP2"] = products[which]
    server.files[f"/rdr/{NAME}.LBL"] = products["label"]
    return f"{server.base}/rdr/{NAME}.JP2"


def _local(tmp_path: Path, products: dict[str, bytes], which: str) -> Path:
    path = tmp_path / "whole" / f"{NAME}.JP2"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(products[which])
    return path


@pytest.mark.parametrize("which", ["rpcl", "lrcp-precincts-layers"])
def test_level_read_fetches_only_its_packets(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path, which: str
) -> None:
    url = _publish(server, products, which)
    whole = _local(tmp_path, products, which)
    cache = tmp_path / "cache"
    with open_raster(whole) as ref, open_raster(url, cache_dir=cache) as r:
        assert r.shape == ref.shape and r.levels == NUMRES and r.label is not None
        assert r.observation_id == "ESP_000200_1800"
        assert r.bytes_total == len(products[which])
        fetched = [r.bytes_fetched]
        for level in (4, 3, 2):
            assert np.array_equal(r.read_raw(level), ref.read_raw(level))
            fetched.append(r.bytes_fetched)
        assert fetched == sorted(fetched) and fetched[-1] < r.bytes_total / 2
        if which.startswith("lrcp"):  # precincts: a level-0 window takes a small part of the file
            before = r.bytes_fetched
            window = (40, 60, 32, 48)
            assert np.array_equal(r.read_raw(0, window), ref.read_raw(0, window))
            assert r.bytes_fetched - before < (r.bytes_total - before) / 2
        assert np.array_equal(r.read_raw(0), ref.read_raw(0))
        assert np.array_equal(r.read(1), ref.read(1))
    assert not (cache / f"{NAME}.JP2").exists()  # never downloaded whole
    # a second run resumes from the sparse copy: nothing more is fetched for what is held
    n = len(server.requests)
    with open_raster(url, cache_dir=cache) as r:
        assert np.array_equal(r.read_raw(2), open_raster(whole).read_raw(2))
    assert [
        q for _p, q in server.requests[n:] if q is not None and not q.startswith("bytes=0-")
    ] == []


def test_dropped_range_resumes(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    url = _publish(server, products, "rpcl")
    server.fault = "drop-once"
    with (
        open_raster(url, cache_dir=tmp_path) as r,
        open_raster(_local(tmp_path, products, "rpcl")) as ref,
    ):
        assert np.array_equal(r.read_raw(1), ref.read_raw(1))
    assert server.dropped


def test_prefetch_windows_at_once(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prefetch queues the windows' packets in two steps on the image's fetch thread: the first
    window decodes while the rest is still being fetched, and the reads fetch nothing themselves."""
    steps: list[int] = []
    release = threading.Event()
    fetch = RemoteJp2._fetch

    def gated(self: RemoteJp2, need: np.ndarray) -> None:
        steps.append(int(need.sum()))
        if len(steps) == 2:  # the rest waits until the first window has been read
            release.wait(20)
        fetch(self, need)

    url = _publish(server, products, "lrcp-precincts-layers")
    with (
        open_raster(url, cache_dir=tmp_path) as r,
        open_raster(_local(tmp_path, products, "lrcp-precincts-layers")) as ref,
    ):
        monkeypatch.setattr(RemoteJp2, "_fetch", gated)
        windows = [(0, 0, 40, 40), (200, 260, 56, 60)]
        r.prefetch(0, windows)
        assert np.array_equal(r.read_raw(0, windows[0]), ref.read_raw(0, windows[0]))
        assert len(steps) == 2 and not release.is_set()  # read while the rest was in flight
        release.set()
        assert np.array_equal(r.read_raw(0, windows[1]), ref.read_raw(0, windows[1]))
        assert len(steps) == 2 and steps[0] < steps[1]  # the reads queued no fetch of their own


def test_multi_tile_windows_by_the_packet(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    url = _publish(server, products, "tiles")
    jp2 = glymur.Jp2k(str(_local(tmp_path, products, "tiles")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "JPEG2000 has 9 tiles"
        with open_raster(url, cache_dir=tmp_path / "cache") as r:
            for level in (1, 0):  # several windows, across tile edges, on each level
                full = jp2[:: 2**level, :: 2**level] if level else jp2[:]
                for r0, c0, h, w in [(5, 7, 40, 50), (50, 50, 60, 70), (0, 0, 16, 16)]:
                    win = (r0 >> level, c0 >> level, h, w) if level else (r0, c0, h, w)
                    want = full[win[0] : win[0] + h, win[1] : win[1] + w]
                    assert np.array_equal(r.read_raw(level, win), want)
            assert r.bytes_fetched < r.bytes_total


@pytest.mark.parametrize("fault", ["no-range", "shifted"])
def test_untrustworthy_range_server_falls_back_to_whole_download(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path, fault: str
) -> None:
    url = _publish(server, products, "rpcl")
    server.fault = fault
    with pytest.warns(UserWarning, match="downloading the whole file"):
        r = open_raster(url, cache_dir=tmp_path)
    with r, open_raster(_local(tmp_path, products, "rpcl")) as ref:
        assert r.path == tmp_path / f"{NAME}.JP2"
        assert r.bytes_fetched == r.bytes_total == len(products["rpcl"])
        assert np.array_equal(r.read_raw(2), ref.read_raw(2))


def test_file_without_plt_is_downloaded_whole(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    url = _publish(server, products, "no-markers")
    with pytest.warns(UserWarning, match="no PLT"):
        r = open_raster(url, cache_dir=tmp_path)
    with r:
        assert r.bytes_fetched == r.bytes_total
        assert r.read_raw(3).shape == r.shape_at(3)


def test_packets_cut_short_fail_in_one_line(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    url = _publish(server, products, "rpcl")
    server.fault = "short"
    with pytest.raises(FetchError, match="gave up after 2 attempts") as info:
        RangeFile.open(url, tmp_path / "x.sparse", retries=1, backoff=0.01)
    assert "\n" not in str(info.value)
    server.fault = None
    rf = RangeFile.open(url, tmp_path / "x.sparse", retries=1, backoff=0.01)
    server.fault = "short"
    with pytest.raises(FetchError, match="gave up"):
        rf.ensure([(3000, 9000)])
    held = rf.held
    assert held[0] == (0, 2048) and all(a >= 3000 for a, _b in held[1:])  # only real bytes held
    data = products["rpcl"]
    for a, b in held:
        assert rf.read_held(a, b - a) == data[a:b]


def test_max_bytes_bounds_reads_by_the_packet(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    url = _publish(server, products, "lrcp-precincts-layers")
    size = len(products["lrcp-precincts-layers"])
    with (
        open_raster(url, cache_dir=tmp_path / "c", max_bytes=size // 2) as r,
        open_raster(_local(tmp_path, products, "lrcp-precincts-layers")) as ref,
    ):
        assert np.array_equal(r.read_raw(3), ref.read_raw(3))  # a low level fits
        held, n = r.bytes_fetched, len(server.requests)
        with pytest.raises(FetchError, match=f"more than max_bytes={size // 2}") as info:
            r.read_raw(0)
        assert "\n" not in str(info.value)
        assert len(server.requests) == n and r.bytes_fetched == held  # refused before asking
        assert np.array_equal(r.read_raw(2), ref.read_raw(2))  # the image stays readable
    with (
        open_raster(url, cache_dir=tmp_path / "d", max_bytes=size) as r,
        open_raster(_local(tmp_path, products, "lrcp-precincts-layers")) as ref,
    ):
        assert np.array_equal(r.read_raw(0), ref.read_raw(0))  # the whole file is allowed


def test_range_arithmetic() -> None:
    assert merge([(10, 20), (0, 5), (22, 30), (50, 50)], gap=2) == [(0, 5), (10, 30)]
    assert subtract([(0, 100)], [(10, 20), (30, 40)]) == [(0, 10), (20, 30), (40, 100)]
    assert subtract([(0, 10)], [(0, 10)]) == []
    assert issubclass(RangeUnsupported, FetchError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert subtract([(5, 8)], []) == [(5, 8)]


def test_failed_fetch_never_leaves_a_wrong_pixel(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    url = _publish(server, products, "rpcl")
    with (
        open_raster(url, cache_dir=tmp_path) as r,
        open_raster(_local(tmp_path, products, "rpcl")) as ref,
    ):
        server.fault = "short"
        with pytest.raises(FetchError, match="gave up"):
            r.read_raw(0)
        with pytest.raises(FetchError, match="gave up"):  # still needs its packets: no stale decode
            r.read_raw(0)
        server.fault = None
        assert np.array_equal(r.read_raw(0), ref.read_raw(0))


def test_plt_disagreeing_with_data_downloads_whole(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    data = bytearray(products["rpcl"])
    plt = data.find(b"\xff\x58")
    data[plt + 5] ^= 0x01  # the first packet's length off by one
    products = {**products, "bad-plt": bytes(data)}
    url = _publish(server, products, "bad-plt")
    with pytest.warns(UserWarning, match="PLT .* downloading the whole file"):
        r = open_raster(url, cache_dir=tmp_path)
    with r, open_raster(_local(tmp_path, products, "rpcl")) as ref:
        assert r.bytes_fetched == r.bytes_total
        assert np.array_equal(r.read_raw(2), ref.read_raw(2))


def _plt_encode(v: int) -> bytes:
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(out))


def _shift_plt_boundary(data: bytes, k: int) -> bytes:
    """The file with PLT's packets k and k+1 one byte longer / shorter: same count, same total."""
    out = bytearray(data)
    plt = out.find(b"\xff\x58")
    n = int.from_bytes(out[plt + 2 : plt + 4], "big")
    values, v = [], 0
    for byte in out[plt + 5 : plt + 2 + n]:
        v = (v << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(v)
            v = 0
    values[k] += 1
    values[k + 1] -= 1
    body = b"".join(_plt_encode(x) for x in values)
    assert len(body) == n - 3, "the shifted lengths must keep their encoded size"
    out[plt + 5 : plt + 2 + n] = body
    return bytes(out)


def test_plt_boundary_shifted_is_caught_by_the_packet_headers(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    """Count and total right, one boundary wrong: at open (level 4) -> whole download; later
    (level 2 after level 4) -> that read fails in one line. Never a wrong pixel."""
    ref_path = _local(tmp_path, products, "rpcl")
    early = {**products, "early": _shift_plt_boundary(products["rpcl"], 0)}
    url = _publish(server, early, "early")
    with pytest.warns(UserWarning, match="cannot be trusted; downloading the whole file"):
        r = open_raster(url, cache_dir=tmp_path / "a")
    with r, open_raster(ref_path) as ref:
        assert np.array_equal(r.read_raw(2), ref.read_raw(2))
    late = {**products, "late": _shift_plt_boundary(products["rpcl"], 2)}
    url = _publish(server, late, "late")
    with open_raster(url, cache_dir=tmp_path / "b") as r, open_raster(ref_path) as ref:
        assert np.array_equal(r.read_raw(4), ref.read_raw(4))
        with pytest.raises(FetchError, match="PLT says the packet of .* cannot be trusted") as info:
            r.read_raw(2)
        assert "\n" not in str(info.value)


def test_file_changed_on_the_server(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    """Same size, new content: a new run starts its sparse copy afresh; a run in progress fails."""
    changed = bytearray(products["rpcl"])
    changed[-10] ^= 0xFF  # inside the last packet's data: same size, other ETag
    both = {**products, "changed": bytes(changed)}
    url = _publish(server, both, "rpcl")
    with open_raster(url, cache_dir=tmp_path) as r:
        r.read_raw(3)
        url = _publish(server, both, "changed")  # replaced while this image is being read
        with pytest.raises(FetchError, match="changed on the server"):
            r.read_raw(0)
    new = _local(tmp_path, both, "changed")
    with open_raster(url, cache_dir=tmp_path) as r, open_raster(new) as ref:  # a later run
        assert np.array_equal(r.read_raw(0), ref.read_raw(0))
        held = r.bytes_fetched
    sparse = (tmp_path / "partial" / f"{NAME}.JP2.sparse").read_bytes()
    assert held >= len(changed) - 2 and sparse[:held] == bytes(changed)[:held]  # all but EOC


def test_an_image_is_opened_once_and_can_be_opened_ahead(
    server: RangeServer, products: dict[str, bytes], tmp_path: Path
) -> None:
    """A second open of an image (the survey's, then the scan's) fetches nothing again; an image
    opened ahead has its headers, label and screen level's packets before the scan opens it."""
    url = _publish(server, products, "rpcl")
    whole = _local(tmp_path, products, "rpcl")
    with open_raster(url, cache_dir=tmp_path / "c") as r:
        r.read_raw(3)
    n = len(server.requests)
    with open_raster(url, cache_dir=tmp_path / "c") as r, open_raster(whole) as ref:
        assert np.array_equal(r.read_raw(3), ref.read_raw(3)) and r.scale is not None
        scale, want = r.scale, ref.read_raw(2)
    assert len(server.requests) == n  # no header, label or packet fetched again
    server.files[f"/next/{NAME}.JP2"] = products["rpcl"]
    server.files[f"/next/{NAME}.LBL"] = products["label"]
    nxt, folder = f"{server.base}/next/{NAME}.JP2", tmp_path / "next"
    remote_ahead.read_ahead(nxt, folder, lambda: open_remote(nxt, folder, label=True), 1, scale * 2)
    opened = remote_ahead.opened(nxt, folder)  # waits for the open ahead
    assert opened is not None and opened[1] is not None
    for _mask, future in list(opened[1]._queued):  # and for the packets it queued
        future.result()
    n = len(server.requests)
    with open_raster(nxt, cache_dir=folder) as r:  # level 1 at twice the scale: this one's level 2
        assert r.label is not None and np.array_equal(r.read_raw(2), want)
        assert r.bytes_fetched < r.bytes_total / 2
    assert len(server.requests) == n
