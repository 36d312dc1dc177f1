"""A scan of an http(s) JP2 reads it by the packet: the screen's level, then what segmentation needs."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from areoscan.io import Jp2Layout, label_centred_on, write_jp2, write_label
from areoscan.scan import scan_image

from .conftest import background


def _handler(root: Path) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # files under root, with "bytes=a-b" ranges
            path = root / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404, "Not Found")
                return
            body = path.read_bytes()
            rng = self.headers.get("Range")
            if rng:
                a, _, b = rng.split("=")[1].partition("-")
                first, last = int(a), min(len(body) - 1, int(b) if b else len(body) - 1)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(body)}")
                body = body[first : last + 1]
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def www(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(folder served, its base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(root))
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _publish(root: Path, name: str, img: np.ndarray) -> Path:
    path = write_jp2(root / f"{name}_RED.JP2", img, layout=Jp2Layout("RPCL", 256, markers=True))
    label = label_centred_on(40.0, 120.0, *img.shape, map_scale=0.25, product_id=f"{name}_RED")
    write_label(path.with_suffix(".LBL"), label)
    return path


def _mask(out: Path) -> np.ndarray:
    with rasterio.open(out / "mask.tif") as ds:
        return ds.read(1)


def test_scan_over_http_matches_the_local_scan(
    www: tuple[Path, str], test_models: tuple[Path, Path], tmp_path: Path
) -> None:
    root, base = www
    screen, seg = test_models
    img = background((1024, 1536))
    img[301:601, 653:913] = 900
    path = _publish(root, "ESP_012345_1234", img)
    kw: dict[str, Any] = {
        "screen_model": screen,
        "segment_model": seg,
        "fast": True,
        "progress": False,
    }
    local = scan_image(path, tmp_path / "local", **kw)
    remote = scan_image(base + path.name, tmp_path / "remote", cache_dir=tmp_path / "cache", **kw)
    assert remote.status == local.status == "done" and remote.regions == local.regions == 1
    assert np.array_equal(_mask(Path(remote.output_dir)), _mask(Path(local.output_dir)))
    image = remote.image
    assert image["bytes_in_file"] == path.stat().st_size == local.image["bytes_fetched"]
    assert image["bytes_fetched"] < 0.8 * image["bytes_in_file"]  # only the patch's precincts
    assert not (tmp_path / "cache" / path.name).exists()  # never downloaded whole


def test_empty_image_over_http_fetches_a_fraction(
    www: tuple[Path, str], test_models: tuple[Path, Path], tmp_path: Path
) -> None:
    root, base = www
    screen, seg = test_models
    path = _publish(root, "ESP_000001_1111", background((1024, 1536), seed=4))
    s = scan_image(base + path.name, tmp_path / "out", screen_model=screen, segment_model=seg,
                   progress=False, cache_dir=tmp_path / "cache")  # fmt: skip
    assert s.status == "empty"
    # the screen reads level 2: about a sixteenth of the pixels, plus headers
    assert s.image["bytes_fetched"] < 0.25 * s.image["bytes_in_file"]
