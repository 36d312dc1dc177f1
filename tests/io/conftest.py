"""Fixtures: small HiRISE-like JP2 files and labels written by the tests themselves."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from areoscan.io import write_jp2, write_label
from areoscan.io.georef import label_centred_on


def textured(shape: tuple[int, int], seed: int = 0, border: bool = True) -> np.ndarray:
    """10-bit texture (ramps + noise, values 1..1023) with a slanted nodata (0) border like HiRISE."""
    rng = np.random.default_rng(seed)
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w]
    base = 500 + 200 * np.sin(rows / 7.0) * np.cos(cols / 11.0) + rng.normal(0, 30, shape)
    data = np.clip(base, 1, 1023).astype(np.uint16)
    if border:
        # a parallelogram footprint: left/right edges slanted, as a map-projected HiRISE strip
        left = (cols < 0.15 * w + 0.1 * rows) | (cols > 0.85 * w + 0.1 * rows - 0.1 * h)
        data[left] = 0
    return data


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, object]:
    """(jp2 path, pixels, MapLabel): 320 x 256 px, 10-bit, 4 levels, label beside it."""
    folder = tmp_path_factory.mktemp("scene")
    data = textured((320, 256))
    jp2 = write_jp2(folder / "ESP_012345_1850_RED.JP2", data)
    label = label_centred_on(-35.2, 143.1, 320, 256, 0.25, product_id="ESP_012345_1850_RED")
    write_label(folder / "ESP_012345_1850_RED.LBL", label)
    return jp2, data, label


@pytest.fixture(scope="session")
def bare_jp2(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """(jp2 path, pixels): 200 x 300 px without a label, 10-bit, 3 levels."""
    folder = tmp_path_factory.mktemp("bare")
    data = textured((200, 300), seed=1)
    return write_jp2(folder / "bare.jp2", data, numres=3), data


@pytest.fixture
def texture() -> object:
    """The :func:`textured` helper, for tests that build their own images."""
    return textured


@contextlib.contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free local port in a thread; yields the base URL (no slash)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def serve_http() -> Any:
    """:func:`http_server`, for a test module's own ``server`` fixture (no import of conftest)."""
    return http_server
