"""Reading remote JP2s by the packet vs downloading them whole, over a throttled local http server.

Goals (issue 25): a negative image screened with <= 10 % of its bytes; a 12-image survey (a third
positive) >= 5x faster than with whole downloads on the same link.

Writes a single-tile 10-bit JP2 with PLT + TLM markers (textured synthetic terrain, lossless 5/3,
64x64 code-blocks, HiRISE-like) in each progression order asked for, once (cached in
~/.cache/areoscan/bench/fetch), serves it from a local http server throttled to --mbps MB/s
shared by all connections (+ --latency-ms per request), and measures with the same calls the scan
makes (``open_raster(URL)``, ``Raster.prefetch``, ``Raster.read_raw``):

* screen: open the image and decode the screen level (--screen-level, 2 = 1 m/px for 0.25 m/px),
  by the packet and after a whole download: bytes over the wire and wall time;
* survey: 12 images (the same file under 12 URLs) one after another; every image is screened, and
  every third one is "positive": it also decodes the level-0 windows segmentation would read over a
  flagged quarter of the image (1024-px windows). Model compute is not included (it is the same on
  both sides and depends on the models); the figures are transfer + decode.

    flock /work/coord/cpu.lock nice -n 10 .venv/bin/python benchmarks/bench_fetch.py \
        [--size 8192 8192] [--orders RPCL LRCP] [--precinct 256] [--mbps 50] [--latency-ms 10]
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

CACHE = (
    Path(os.environ.get("AREOSCAN_BENCH_CACHE", Path.home() / ".cache/areoscan/bench")) / "fetch"
)
NAME = "ESP_012600_1655_RED"


class Link:
    """A shared token bucket: every byte served waits its turn at ``rate`` bytes/s."""

    def __init__(self, rate: float, latency: float) -> None:
        self.rate, self.latency = rate, latency
        self.lock = threading.Lock()
        self.next_free = time.perf_counter()
        self.sent = 0

    def send(self, wfile: Any, data: bytes) -> None:
        for i in range(0, len(data), 1 << 16):
            chunk = data[i : i + (1 << 16)]
            with self.lock:
                start = max(self.next_free, time.perf_counter())
                self.next_free = start + len(chunk) / self.rate
                self.sent += len(chunk)
            delay = start + len(chunk) / self.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            wfile.write(chunk)


def serve(files: dict[str, Path], link: Link) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A threaded http server for ``files`` (url path -> file), with Range, through ``link``."""
    cache: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = files.get(self.path)
            if path is None:
                self.send_error(404, "Not Found")
                return
            if self.path not in cache:
                cache[self.path] = path.read_bytes()
            body = cache[self.path]
            time.sleep(link.latency)
            rng = self.headers.get("Range")
            if rng:
                a, _, b = rng.split("=")[1].partition("-")
                first, last = int(a), min(len(body) - 1, int(b) if b else len(body) - 1)
                part = memoryview(body)[first : last + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(body)}")
            else:
                part = memoryview(body)
                self.send_response(200)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            try:
                link.send(self.wfile, bytes(part))
            except (BrokenPipeError, ConnectionResetError):
                pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def terrain(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """10-bit textured terrain (smooth relief + fine noise), 1..1023, built in strips."""
    rng = np.random.default_rng(seed)
    h, w = shape
    out = np.empty(shape, dtype=np.uint16)
    cols = np.arange(w)
    for r0 in range(0, h, 1024):
        rows = np.arange(r0, min(h, r0 + 1024))[:, None]
        relief = (
            500
            + 180 * np.sin(rows / 53.0) * np.cos(cols / 71.0)
            + 90 * np.sin((rows + cols) / 17.0)
        )
        out[r0 : r0 + len(rows)] = np.clip(relief + rng.normal(0, 25, (len(rows), w)), 1, 1023)
    return out


def make_image(order: str, size: tuple[int, int], precinct: int | None, threads: int = 1) -> Path:
    """The benchmark JP2 in ``order`` (cached), with a HiRISE-like label beside it."""
    from areoscan.io import Jp2Layout, label_centred_on, write_jp2, write_label

    folder = CACHE / f"{order}-{size[0]}x{size[1]}-p{precinct}"
    path = folder / f"{NAME}.JP2"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        layout = Jp2Layout(order, precinct, 1, markers=True)
        write_jp2(path, terrain(size), numres=8, threads=threads, layout=layout)
        print(
            f"  wrote {path} ({path.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.0f} s"
        )
    lbl = path.with_suffix(".LBL")
    if not lbl.exists():
        write_label(lbl, label_centred_on(-14.5, 175.0, *size, map_scale=0.25, product_id=NAME))
    return path


def screen_once(url: str, level: int, partial: bool, link: Link) -> dict[str, float]:
    """Open ``url`` and decode ``level`` whole; bytes over the wire and seconds."""
    from areoscan.io import open_raster

    cache = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    sent0, t0 = link.sent, time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open_raster(url, cache_dir=cache, partial=partial) as r:
                r.prefetch(level)
                r.read_raw(level)
                return {"s": time.perf_counter() - t0, "wire": link.sent - sent0,
                        "file": r.bytes_total}  # fmt: skip
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def survey(
    urls: list[str], level: int, partial: bool, link: Link, tile: int = 1024
) -> dict[str, float]:
    """Screen every image; for every third, also read level-0 windows over a flagged quarter."""
    from areoscan.io import open_raster

    cache = Path(tempfile.mkdtemp(prefix="bench-fetch-survey-"))
    sent0, t0, decode = link.sent, time.perf_counter(), 0.0

    def timed(r: Any, level: int, win: Any = None) -> None:
        nonlocal decode
        t = time.perf_counter()
        r.read_raw(level, win)
        decode += time.perf_counter() - t

    try:
        for i, url in enumerate(urls):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with open_raster(url, cache_dir=cache / str(i), partial=partial) as r:
                    r.prefetch(level)
                    timed(r, level)
                    if i % 3 == 0:
                        h, w = r.shape
                        wins = [(y, x, tile, tile) for y in range(h // 4, h // 4 + h // 2, tile)
                                for x in range(w // 4, w // 4 + w // 2, tile)]  # fmt: skip
                        r.prefetch(0, wins)
                        for win in wins:
                            timed(r, 0, win)
            shutil.rmtree(cache / str(i), ignore_errors=True)  # as the survey deletes downloads
        return {"s": time.perf_counter() - t0, "wire": link.sent - sent0, "decode_s": decode}
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=2, default=(8192, 8192))
    ap.add_argument("--orders", nargs="+", default=["RPCL", "LRCP"])
    ap.add_argument("--precinct", type=int, default=256, help="0: no user precincts")
    ap.add_argument("--mbps", type=float, default=50.0)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    ap.add_argument("--screen-level", type=int, default=2)
    ap.add_argument("--images", type=int, default=12)
    args = ap.parse_args()
    link = Link(args.mbps * 1e6, args.latency_ms / 1000)
    size = (args.size[0], args.size[1])
    precinct = args.precinct or None
    print(f"{size[0]} x {size[1]} px, precincts {precinct}, link {args.mbps} MB/s + "
          f"{args.latency_ms} ms/request, screen level {args.screen_level}")  # fmt: skip
    results: dict[str, Any] = {}
    for order in args.orders:
        path = make_image(order, size, precinct)
        files = {f"/{i}/{NAME}.JP2": path for i in range(args.images)}
        files.update({f"/{i}/{NAME}.LBL": path.with_suffix(".LBL") for i in range(args.images)})
        httpd, base = serve(files, link)
        try:
            url = f"{base}/0/{NAME}.JP2"
            part = screen_once(url, args.screen_level, True, link)
            whole = screen_once(url, args.screen_level, False, link)
            urls = [f"{base}/{i}/{NAME}.JP2" for i in range(args.images)]
            s_part = survey(urls, args.screen_level, True, link)
            s_whole = survey(urls, args.screen_level, False, link)
        finally:
            httpd.shutdown()
            httpd.server_close()
        size_b = part["file"]
        results[order] = {"file_bytes": size_b, "screen_partial": part, "screen_whole": whole,
                          "survey_partial": s_part, "survey_whole": s_whole}  # fmt: skip
        print(f"\n{order}: file {size_b / 2**20:.1f} MiB")
        print(f"  screen, by the packet: {part['wire'] / 2**20:7.2f} MiB ({100 * part['wire'] / size_b:.1f} % "
              f"of the file) in {part['s']:.2f} s")  # fmt: skip
        print(f"  screen, whole file:    {whole['wire'] / 2**20:7.2f} MiB in {whole['s']:.2f} s  "
              f"({whole['s'] / part['s']:.1f}x slower)")  # fmt: skip
        print(f"  survey of {args.images} ({(args.images + 2) // 3} positive): by the packet "
              f"{s_part['wire'] / 2**20:.0f} MiB in {s_part['s']:.1f} s; whole "
              f"{s_whole['wire'] / 2**20:.0f} MiB in {s_whole['s']:.1f} s -> "
              f"{s_whole['s'] / s_part['s']:.1f}x faster")  # fmt: skip
        fetch_p, fetch_w = s_part["s"] - s_part["decode_s"], s_whole["s"] - s_whole["decode_s"]
        print(f"    without the decoding (same pixels both ways; {s_part['decode_s']:.1f} / "
              f"{s_whole['decode_s']:.1f} s): by the packet {fetch_p:.1f} s, whole {fetch_w:.1f} s "
              f"-> {fetch_w / fetch_p:.1f}x faster")  # fmt: skip
    print("\n" + json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
