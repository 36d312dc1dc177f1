"""fetch against a local http.server with injected faults: dropped connection, 503, 404, timeout."""

from __future__ import annotations

import http.server
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from areoscan.errors import FetchError
from areoscan.io import fetch, open_raster, write_jp2, write_label
from areoscan.io.fetch import label_url
from areoscan.io.georef import label_centred_on


@dataclass
class FaultyServer:
    """Serves ``files``; ``faults[path]`` is a list consumed one per request: "drop", "503", "slow"."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    honour_range: bool = True


def _handler(state: FaultyServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            queue = state.faults.get(self.path) or []
            fault = queue.pop(0) if queue else None
            if fault == "503":
                self.send_response(503, "Service Unavailable")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if fault == "slow":
                time.sleep(1.0)
            start = 0
            if rng and state.honour_range:
                start = int(rng.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            part = body[start:]
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            if fault == "drop":  # half the body, then the connection dies
                self.wfile.write(part[: len(part) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(part)

    return Handler


@pytest.fixture
def server(serve_http: Any) -> Iterator[FaultyServer]:
    state = FaultyServer()
    with serve_http(_handler(state)) as base:
        state.base = base
        yield state


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """(JP2 bytes, LBL bytes) of a small HiRISE-like product."""
    folder = tmp_path_factory.mktemp("remote")
    rng = np.random.default_rng(5)
    data = rng.integers(1, 1024, (96, 80)).astype(np.uint16)
    jp2 = write_jp2(folder / "ESP_000100_1800_RED.JP2", data)
    lbl = write_label(folder / "ESP_000100_1800_RED.LBL", label_centred_on(0.5, 10.0, 96, 80))
    return jp2.read_bytes(), lbl.read_bytes()


def _publish(server: FaultyServer, product: tuple[bytes, bytes], label: bool = True) -> str:
    server.files["/rdr/ESP_000100_1800_RED.JP2"] = product[0]
    if label:
        server.files["/rdr/ESP_000100_1800_RED.LBL"] = product[1]
    return server.base + "/rdr/ESP_000100_1800_RED.JP2"


def test_fetch_image_and_label(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    url = _publish(server, product)
    path = fetch(url, tmp_path, backoff=0.01)
    assert path == tmp_path / "ESP_000100_1800_RED.JP2"
    assert path.read_bytes() == product[0]
    assert (tmp_path / "ESP_000100_1800_RED.LBL").read_bytes() == product[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ESP_000100_1800_RED.JP2",
        "ESP_000100_1800_RED.LBL",
    ]
    n = len(server.requests)
    assert fetch(url, tmp_path) == path  # cached: no new request
    assert len(server.requests) == n


def test_dropped_connection_resumes_with_range(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    url = _publish(server, product)
    server.faults["/rdr/ESP_000100_1800_RED.JP2"] = ["drop"]
    path = fetch(url, tmp_path, backoff=0.01)
    assert path.read_bytes() == product[0]
    jp2_requests = [r for r in server.requests if r[0].endswith(".JP2")]
    half = len(product[0]) // 2
    assert jp2_requests == [
        ("/rdr/ESP_000100_1800_RED.JP2", None),
        ("/rdr/ESP_000100_1800_RED.JP2", f"bytes={half}-"),
    ]


def test_503_then_success(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    url = _publish(server, product)
    server.faults["/rdr/ESP_000100_1800_RED.JP2"] = ["503", "drop", "503"]
    assert fetch(url, tmp_path, backoff=0.01).read_bytes() == product[0]


def test_server_ignoring_range_restarts_cleanly(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    server.honour_range = False
    url = _publish(server, product)
    server.faults["/rdr/ESP_000100_1800_RED.JP2"] = ["drop"]
    assert fetch(url, tmp_path, backoff=0.01).read_bytes() == product[0]


def test_timeout_is_retried(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    url = _publish(server, product)
    server.faults["/rdr/ESP_000100_1800_RED.JP2"] = ["slow"]
    assert fetch(url, tmp_path, timeout=0.3, backoff=0.01).read_bytes() == product[0]


def test_gives_up_after_retries(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    url = _publish(server, product)
    server.faults["/rdr/ESP_000100_1800_RED.JP2"] = ["503"] * 10
    with pytest.raises(FetchError, match="gave up after 3 attempts .*HTTP 503"):
        fetch(url, tmp_path, retries=2, backoff=0.01)
    assert not (tmp_path / "ESP_000100_1800_RED.JP2").exists()


def test_404_is_immediate(server: FaultyServer, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(server.base + "/nothing/X_RED.JP2", tmp_path, backoff=0.01)
    assert len(server.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_label_only_warns(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    url = _publish(server, product, label=False)
    with pytest.warns(UserWarning, match="no label"):
        path = fetch(url, tmp_path, backoff=0.01)
    assert path.exists()


def test_max_bytes(server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path) -> None:
    url = _publish(server, product)
    with pytest.raises(FetchError, match="max_bytes"):
        fetch(url, tmp_path, max_bytes=100, backoff=0.01)


def test_bad_urls(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="only http"):
        fetch("ftp://example.org/a.JP2", tmp_path)
    with pytest.raises(FetchError, match="file name"):
        fetch("http://127.0.0.1:9/", tmp_path)
    assert label_url("https://h/p/X_RED.JP2") == "https://h/p/X_RED.LBL"
    assert label_url("https://h/p/x_red.jp2?a=1") == "https://h/p/x_red.lbl?a=1"
    assert label_url("https://h/p/x.tif") is None


def test_open_raster_from_url(
    server: FaultyServer, product: tuple[bytes, bytes], tmp_path: Path
) -> None:
    url = _publish(server, product)
    server.faults["/rdr/ESP_000100_1800_RED.JP2"] = ["drop"]
    with pytest.warns(UserWarning, match="no PLT"):  # cannot be read by the packet: whole file
        r = open_raster(url, cache_dir=tmp_path)
    with r:
        assert r.shape == (96, 80)
        assert r.label is not None and r.observation_id == "ESP_000100_1800"
        assert r.path.parent == tmp_path
