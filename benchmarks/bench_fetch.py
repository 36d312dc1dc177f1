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
* survey: 12 images (the same file under 12 URLs); every image is screened, and every third one
  is "positive": it also decodes the windows the scan's own planner (plan_segmentation +
  plan_bands, ScanConfig defaults) reads at --segment-level for flagged screen tiles over a centred
  --flagged fraction of the image. --workers images are in flight at once, as the survey's Dask
  workers. Model compute is not included (it is the same on both sides and depends on the
  models); the figures are transfer + decode, wall and CPU seconds.

Whole downloads are today's ``areoscan survey --whole-downloads`` path (open_raster partial=False),
decoded the same way. The 1 Gpx runs split the survey into jobs with --only / --parts (sequential,
one worker: walls add up):

    /work/coord/cpu env AREOSCAN_BENCH_CACHE=/work/coord/cache/25 .venv/bin/python \
        benchmarks/bench_fetch.py [--size 8192 8192] [--orders RPCL LRCP] [--precinct 256] \
        [--mbps 50] [--latency-ms 10] [--threads 1] [--workers 1] [--parts screen partial whole] \
        [--only FIRST END] [--segment-level 0] [--flagged 0.25] [--json OUT]
"""

from __future__ import annotations

import argparse
import copy
import http.server
import json
import math
import mmap
import os
import resource
import shutil
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
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

    def send(self, wfile: Any, data: memoryview) -> None:
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
    """A threaded http server for ``files`` (url path -> file), with Range, through ``link``.

    Each file is mapped once (12 URLs of one 1 Gpx file share one mapping, not 12 copies)."""
    maps: dict[Path, mmap.mmap] = {}
    lock = threading.Lock()

    def body_of(path: Path) -> memoryview:
        with lock:
            if path not in maps:
                with path.open("rb") as fh:
                    maps[path] = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            return memoryview(maps[path])

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = files.get(self.path)
            if path is None:
                self.send_error(404, "Not Found")
                return
            body = body_of(path)
            time.sleep(link.latency)
            rng = self.headers.get("Range")
            if rng:
                a, _, b = rng.split("=")[1].partition("-")
                first, last = int(a), min(len(body) - 1, int(b) if b else len(body) - 1)
                part = body[first : last + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(body)}")
            else:
                part = body
                self.send_response(200)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            try:
                link.send(self.wfile, part)
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


@dataclass
class Settings:
    """What one image's reads are: the screen level, the segment level and the flagged area of a
    positive (a centred rectangle, fraction of the image's area), decoder threads."""

    screen_level: int = 2
    segment_level: int = 0
    flagged: float = 0.25
    threads: int = 1


def segment_reads(r: Any, cfg: Settings) -> list[tuple[int, int, int, int]]:
    """The windows the scan decodes for a positive: 128-px screen tiles over the flagged rectangle,
    planned by the scan's own plan_segmentation + plan_bands (ScanConfig defaults, 512-px U-Net
    tiles, the whole file's size reserved for the decoder, as the scan does)."""
    from areoscan.scan.bands import plan_bands
    from areoscan.scan.config import ScanConfig
    from areoscan.scan.windows import plan_segmentation
    from areoscan.tiling import Window

    sc, card_tile = ScanConfig(), 512
    h, w = r.shape_at(cfg.screen_level)
    f = cfg.flagged**0.5
    rows = range(int(h * (1 - f) / 2) // 128 * 128, int(h * (1 + f) / 2), 128)
    cols = range(int(w * (1 - f) / 2) // 128 * 128, int(w * (1 + f) / 2), 128)
    flagged = [Window(y, x, 128, 128) for y in rows for x in cols]
    scale = r.scale_at(cfg.segment_level) if r.scale is not None else None
    plan = plan_segmentation(flagged, cfg.screen_level, cfg.segment_level,
                             r.shape_at(cfg.segment_level), sc.segment_tile_px(card_tile),
                             sc.segment_overlap_px(card_tile), sc.margin_px(scale, card_tile))  # fmt: skip
    bands = plan_bands(plan, sc.memory_mb, reserved_mb=r.bytes_total / 2**20)
    return [read.decode.as_tuple() for band in bands for read in band.reads]


def one_image(
    url: str, cache: Path, partial: bool, cfg: Settings, positive: bool,
    then: tuple[str, Path] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Open, screen (and for a positive, read the segmentation windows) as the scan does; seconds
    spent decoding, pixels decoded, bytes in the file. The download (or fetch) is deleted after.
    then: (url, folder) of the next image, opened ahead once this one is open (--ahead): its
    screen level's packets, or its whole download, while this one decodes."""
    from areoscan.io import open_raster

    decode, px = 0.0, 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open_raster(url, cache_dir=cache, partial=partial, threads=cfg.threads) as r:
                todo: list[tuple[int, Any]] = [(cfg.screen_level, None)]
                r.prefetch(cfg.screen_level)
                if then is not None:
                    _read_ahead(*then, partial, cfg.screen_level, r.scale)
                for i, (level, win) in enumerate(todo):
                    t = time.perf_counter()
                    data = r.read_raw(level, win)
                    decode += time.perf_counter() - t
                    px += data.size
                    if i == 0 and positive:
                        r.close()  # as screen_stage: the screen level's decoder is freed
                        reads = segment_reads(r, cfg)
                        r.prefetch(cfg.segment_level, reads)
                        todo += [(cfg.segment_level, win) for win in reads]
                return {"decode_s": decode, "decoded_px": px, "file": r.bytes_total}
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # as the survey deletes downloads


def _read_ahead(url: str, folder: Path, partial: bool, level: int, scale: float | None) -> None:
    """Open the next image in the background as a survey worker does (areoscan.io.remote_ahead)."""
    from areoscan.io.remote import open_remote
    from areoscan.io.remote_ahead import read_ahead

    def open_fn() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return open_remote(url, folder, label=True, partial=partial)

    read_ahead(url, folder, open_fn, level, scale)


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def survey(urls: list[str], partial: bool, link: Link, cfg: Settings, workers: int = 1,
           positives: set[int] | None = None, ahead: bool = False) -> dict[str, Any]:  # fmt: skip
    """Every image screened; the ``positives`` (default: every third) also segmented. ``workers``
    images in flight at once, as the survey's Dask workers (one image each). ahead (one worker):
    each image opens the next one ahead (both sides: the next whole download when reading whole)."""
    from concurrent.futures import ThreadPoolExecutor

    positives = set(range(0, len(urls), 3)) if positives is None else positives
    cache = Path(tempfile.mkdtemp(prefix="bench-fetch-survey-"))
    sent0, t0, c0 = link.sent, time.perf_counter(), _cpu()

    def timed(i: int, url: str) -> dict[str, Any]:  # per image: exact with one worker only
        s0, w0, cpu0 = time.perf_counter(), link.sent, _cpu()
        then = (urls[i + 1], cache / str(i + 1)) if ahead and i + 1 < len(urls) else None
        out = one_image(url, cache / str(i), partial, cfg, i in positives, then)
        out.update(s=time.perf_counter() - s0, wire=link.sent - w0, cpu_s=_cpu() - cpu0,
                   positive=i in positives)  # fmt: skip
        return out

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            done = list(pool.map(lambda iu: timed(*iu), enumerate(urls)))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"s": time.perf_counter() - t0, "cpu_s": _cpu() - c0, "wire": link.sent - sent0,
            "decode_s": sum(d["decode_s"] for d in done),
            "decoded_px": sum(d["decoded_px"] for d in done), "file": done[0]["file"],
            "images": len(urls), "per_image": done}  # fmt: skip


def composed(side: dict[str, Any], images: int) -> dict[str, Any] | None:
    """A survey of ``images`` (a third positive) summed from one worker's per-image figures of one
    positive and one negative image (images are independent and run one after another): for 1 Gpx
    runs, where 12 real images would not fit one CPU-slot job. A run of three images (--only 0 3:
    one positive, two negatives, one after another, e.g. opened ahead) is repeated as a block:
    its totals times images / 3 (the block's last image opens nothing ahead: pessimistic)."""
    if side.get("images") == 3 and images % 3 == 0:
        k = images // 3
        out = {key: k * side[key] for key in ("s", "cpu_s", "wire", "decode_s", "decoded_px")}
        return {**out, "file": side["file"], "images": images, "composed": True}
    pos = [d for d in side["per_image"] if d["positive"]]
    neg = [d for d in side["per_image"] if not d["positive"]]
    if not pos or not neg:
        return None
    n_pos = (images + 2) // 3
    out = {k: n_pos * pos[0][k] + (images - n_pos) * neg[0][k]
           for k in ("s", "cpu_s", "wire", "decode_s", "decoded_px")}  # fmt: skip
    return {**out, "file": side["file"], "images": images, "composed": True}


def report(order: str, res: dict[str, Any], rate: float, compose: int = 0) -> None:
    """Print one order's figures (those measured); ``rate``: the link's bytes/s; ``compose``:
    report a survey of that many images composed from per-image figures (see :func:`composed`)."""
    size_b = next(v["file"] for v in res.values() if isinstance(v, dict) and "file" in v)
    print(f"\n{order}: file {size_b / 2**20:.1f} MiB")
    part, whole = res.get("screen_partial"), res.get("screen_whole")
    if part and whole:
        print(f"  screen, by the packet: {part['wire'] / 2**20:8.2f} MiB ({100 * part['wire'] / size_b:.1f} % "
              f"of the file) in {part['s']:.2f} s (decode {part['decode_s']:.2f} s)")  # fmt: skip
        print(f"  screen, whole file:    {whole['wire'] / 2**20:8.2f} MiB in {whole['s']:.2f} s "
              f"(decode {whole['decode_s']:.2f} s) -> {whole['s'] / part['s']:.1f}x slower")  # fmt: skip
    if compose:
        for side in ("survey_partial", "survey_whole"):
            made = composed(res[side], compose) if side in res else None
            if made:
                res[side] = made
        print(f"  (survey of {compose} composed from one positive and one or two negative "
              "images measured one after another: see composed())")  # fmt: skip
    for side in ("survey_partial", "survey_whole"):
        if side in res:
            v = res[side]
            print(f"  survey of {v['images']}, {side.split('_')[1]:7s}: {v['wire'] / 2**20:8.0f} MiB "
                  f"in {v['s']:7.1f} s wall, {v['cpu_s']:7.1f} s CPU, decoding {v['decode_s']:.1f} s "
                  f"({v['decoded_px'] / 1e6:.0f} Mpx)")  # fmt: skip
    sp, sw = res.get("survey_partial"), res.get("survey_whole")
    if sp and sw:
        fp, fw = sp["s"] - sp["decode_s"], sw["s"] - sw["decode_s"]
        print(f"    -> by the packet {sw['s'] / sp['s']:.1f}x faster ({sw['wire'] / sp['wire']:.1f}x "
              f"fewer bytes); without the decoding (same windows both ways; one worker): "
              f"{fp:.1f} s vs {fw:.1f} s -> {fw / fp:.1f}x")  # fmt: skip
        print("    " + projection(sp, sw, rate))


def projection(sp: dict[str, Any], sw: dict[str, Any], rate: float) -> str:
    """What a >= 5x survey would take, from one worker's figures (a model, labelled as one):
    wall = max(bytes / link, compute / N) with N images in flight on N cores, compute = the
    measured wall minus the transfer (decode, parsing, latency)."""
    if sw["wire"] < 5 * sp["wire"]:
        return f"model: no link or core count gives 5x: only {sw['wire'] / sp['wire']:.1f}x fewer bytes"
    compute = sp["s"] - sp["wire"] / rate
    cores = math.ceil(5 * rate * compute / sw["wire"])
    slow = (sw["wire"] - 5 * sp["wire"]) / max(1e-9, 5 * compute - (sw["s"] - sw["wire"] / rate))
    return (f"model: 5x needs >= {cores} images decoding in parallel behind this "
            f"{rate / 1e6:g} MB/s link, or one core behind a link of <= {slow / 1e6:.2f} MB/s")  # fmt: skip


def combine(paths: list[Path], compose: int = 0) -> None:
    """Report runs split with --only / --parts (one worker: walls and bytes add up)."""
    merged: dict[str, dict[str, Any]] = {}
    rate = 0.0
    for path in paths:
        run = json.loads(path.read_text())
        rate = float(run["args"]["mbps"]) * 1e6
        for order, res in run["results"].items():
            into = merged.setdefault(order, {})
            for key, v in res.items():
                if key.startswith("screen") or key not in into:
                    into[key] = dict(v)
                    continue
                for field in ("s", "cpu_s", "wire", "decode_s", "decoded_px", "images"):
                    into[key][field] += v[field]
                into[key]["per_image"] = into[key].get("per_image", []) + v.get("per_image", [])
    for order, res in merged.items():
        report(order, res, rate, compose)


def planned_bytes(path: Path, cfg: Settings) -> dict[str, int]:
    """Bytes a read by the packet takes, from the packet table alone (no network, no decoding):
    the screen level, and a positive's segmentation windows on top of it (headers excluded)."""
    from areoscan.io import open_raster
    from areoscan.io.codestream import index_file
    from areoscan.io.partial import needed_packets

    index = index_file(str(path))
    assert index.packets is not None
    lengths = index.packets["length"]
    screen = needed_packets(index, cfg.screen_level)
    with open_raster(path, threads=cfg.threads) as r:
        reads = segment_reads(r, cfg)
    segment = screen.copy()
    for win in reads:
        segment |= needed_packets(index, cfg.segment_level, win)
    return {"file": path.stat().st_size, "screen": int(lengths[screen].sum()),
            "positive": int(lengths[segment].sum()), "reads": len(reads)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=2, default=(8192, 8192), metavar=("H", "W"))
    ap.add_argument("--orders", nargs="+", default=["RPCL", "LRCP"])
    ap.add_argument("--precinct", type=int, default=256, help="0: no user precincts")
    ap.add_argument("--mbps", type=float, default=50.0)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    ap.add_argument("--screen-level", type=int, default=2)
    ap.add_argument("--segment-level", type=int, default=0)
    ap.add_argument("--flagged", type=float, default=0.25, help="flagged area of a positive")
    ap.add_argument("--images", type=int, default=12, help="every third one positive")
    ap.add_argument(
        "--only",
        type=int,
        nargs=2,
        metavar=("FIRST", "END"),
        help="survey only images FIRST..END-1 (split a long run into jobs; add walls)",
    )
    ap.add_argument(
        "--parts",
        nargs="+",
        default=["screen", "partial", "whole"],
        choices=["screen", "partial", "whole"],
    )
    ap.add_argument("--threads", type=int, default=1, help="OpenJPEG threads per decode")
    ap.add_argument("--workers", type=int, default=1, help="images in flight (survey workers)")
    ap.add_argument("--ahead", action="store_true",
                    help="open the next image while this one decodes (both sides)")  # fmt: skip
    ap.add_argument("--json", type=Path, help="write the figures here too")
    ap.add_argument("--combine", type=Path, nargs="+", help="only report these --json runs")
    ap.add_argument(
        "--plan-only",
        action="store_true",
        help="only the bytes reads by the packet need, from the packet table",
    )
    ap.add_argument(
        "--compose",
        type=int,
        default=0,
        metavar="N",
        help="also report a survey of N images composed from the per-image figures "
        "of a run with one positive and one negative (--only 0 2)",
    )
    args = ap.parse_args()
    if args.combine:
        combine(args.combine, args.compose)
        return
    from areoscan.io import open_raster
    from areoscan.io.codestream import index_file

    link = Link(args.mbps * 1e6, args.latency_ms / 1000)
    cfg = Settings(args.screen_level, args.segment_level, args.flagged, args.threads)
    size, precinct = (args.size[0], args.size[1]), args.precinct or None
    print(f"{size[0]} x {size[1]} px, precincts {precinct}, link {args.mbps} MB/s + "
          f"{args.latency_ms} ms/request, screen level {cfg.screen_level}, segment level "
          f"{cfg.segment_level} over {cfg.flagged:.0%} of each positive, {cfg.threads} decoder "
          f"thread(s), {args.workers} worker(s)")  # fmt: skip
    results: dict[str, Any] = {}
    for order in args.orders:
        path = make_image(order, size, precinct)
        t0 = time.perf_counter()
        packets = index_file(str(path)).packets
        n = 0 if packets is None else len(packets)
        print(f"{order}: packet table of {n} packets in {time.perf_counter() - t0:.2f} s")
        if args.plan_only:
            b = planned_bytes(path, cfg)
            print(f"  by the packet (packet table only): screen {b['screen'] / 2**20:.1f} MiB = "
                  f"{100 * b['screen'] / b['file']:.1f} % of {b['file'] / 2**20:.1f} MiB; a positive "
                  f"{b['positive'] / 2**20:.1f} MiB = {100 * b['positive'] / b['file']:.1f} % "
                  f"({b['reads']} reads)")  # fmt: skip
            continue
        with open_raster(path, threads=cfg.threads) as warm:  # imports, CRS database: not timed
            warm.read_raw(warm.levels - 1)
        files = {f"/{i}/{NAME}.JP2": path for i in range(args.images)}
        files.update({f"/{i}/{NAME}.LBL": path.with_suffix(".LBL") for i in range(args.images)})
        httpd, base = serve(files, link)
        res: dict[str, Any] = {}
        try:
            for partial in (True, False):
                if "screen" in args.parts:
                    res[f"screen_{'partial' if partial else 'whole'}"] = survey(
                        [f"{base}/0/{NAME}.JP2"], partial, link, cfg, positives=set()
                    )
            first, end = args.only or (0, args.images)
            urls = [f"{base}/{i}/{NAME}.JP2" for i in range(first, end)]
            positives = {i - first for i in range(first, end) if i % 3 == 0}
            for side in ("partial", "whole"):
                if side in args.parts:
                    res[f"survey_{side}"] = survey(urls, side == "partial", link, cfg,
                                                   args.workers, positives, args.ahead)  # fmt: skip
        finally:
            httpd.shutdown()
            httpd.server_close()
        results[order] = res
        report(
            order, copy.deepcopy(res), link.rate, args.compose
        )  # (the JSON keeps per-image figures)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "results": results}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
