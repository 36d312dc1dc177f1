"""Benchmark ``areoscan scan`` on a gigapixel HiRISE-like scene: time per stage, peak RSS, and what the
screen saves. Every measurement runs in its own subprocess so its peak RSS is honest.

Usage:
    python benchmarks/bench_scan.py                        # 25,000 x 40,000 px, ~5 % brain coral
    python benchmarks/bench_scan.py --size 4096 6144       # quick run on a small scene
    python benchmarks/bench_scan.py --skip-naive --json results.json

Measured (issue 6, item 8):
  scan     ``scan_image`` end to end: wall time per stage, peak RSS, regions, IoU against the truth mask.
  decode   pure decoding of what the scan decodes: the whole screen level plus exactly the
           full-resolution windows the scan read (and, for comparison, full-width strips over the
           same rows). Ratio = scan wall time / this decode time. Goal: <= 1.5.
  naive    the reference's sweep: segment every tile of the footprint at level 0 (what the screen saves).
  clean    the reference's per-component Python loop vs ``clean_mask`` on a crop of the truth mask.
Goals: ratio <= 1.5, peak RSS <= 1.5 GB, clean stage <= 5 s.

The scene (single tile, 10-bit, 10 resolution levels, PDS3 label and exact truth mask) is written
once by ``areoscan.synth.generate_scene`` into ~/.cache/areoscan/bench/scan (or --cache) and reused;
for 1 Gpx that takes several minutes and several GB of RAM for the single-tile JPEG2000 encode.

Models: the shipped ``brain-coral-screen`` and ``brain-coral-unet``. If they are not shipped yet (or
with --stand-in), untrained models of the production architectures (MobileNetV3-small screen at
128 px / 1 m/px, slim U-Net at 512 px / 0.25 m/px) run instead so the timings are real, and their
outputs are replaced by the truth (screen: tile has coral; segmenter: the truth mask) so the flagged
area, mask and regions are realistic. The report says which models ran.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_CACHE = Path.home() / ".cache" / "areoscan" / "bench" / "scan"
SHIPPED = ("brain-coral-screen", "brain-coral-unet")


def _rss_mb() -> float:
    """Peak RSS of this process image in MB (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _child(
    stage: str, args: argparse.Namespace, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run ``stage`` in a fresh interpreter; return the JSON it prints last."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        stage,
        "--child-args",
        json.dumps({**vars(args), **(extra or {})}, default=str),
    ]
    # GDAL's block cache defaults to 5 % of RAM; the stand-in's truth reads would count against
    # the scan's peak RSS, so every child gets a small one (the scan sets its own where it writes).
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "GDAL_CACHEMAX": "64"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"bench_scan: stage {stage!r} failed (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = round(time.perf_counter() - t0, 2)
    return out


# ---------------------------------------------------------------------------------------------------
# children


def child_scene(a: dict[str, Any]) -> dict[str, Any]:
    from areoscan.synth.scene import generate_scene

    info = generate_scene(Path(a["scene"]), size=tuple(a["size"]), seed=a["seed"], scale=0.25,
                          coral_fraction=a["coral"], classes=False)  # fmt: skip
    return {"coral_fraction": info.coral_fraction, "footprint_fraction": info.footprint_fraction,
            "seconds": info.seconds, "peak_rss_mb": _rss_mb()}  # fmt: skip


def _truth_level(mask_path: str, level: int) -> Any:
    """The truth mask at ``level``: True where any pixel of the 2**level block is coral.

    Cached as ``.npy`` beside the mask, so the scan's child only loads a small boolean array.
    """
    import numpy as np
    import rasterio

    cache = Path(mask_path).with_suffix(f".L{level}.npy")
    if cache.is_file():
        return np.load(cache)
    f = 2**level
    with rasterio.open(mask_path) as ds:
        h, w = ds.height, ds.width
        out = np.zeros((-(-h // f), -(-w // f)), dtype=bool)
        step = max(f, 512 - 512 % f)
        for r0 in range(0, h, step):
            r1 = min(h, r0 + step)
            m = ds.read(1, window=((r0, r1), (0, w))) == 1
            m = np.pad(m, ((0, (-(r1 - r0)) % f), (0, (-w) % f)))
            out[r0 // f : r0 // f + m.shape[0] // f] = m.reshape(m.shape[0] // f, f, -1, f).any(
                axis=(1, 3)
            )
    np.save(cache, out)
    return out


def _install_stand_ins(a: dict[str, Any]) -> None:
    """Replace model outputs by the truth (after running the networks, so timings are real)."""
    import numpy as np

    import areoscan.scan.screen as screen_mod
    import areoscan.scan.segment as seg_mod

    coral_l2 = _truth_level(a["mask"], 2)
    orig_screen = screen_mod.screen_image

    def screen_image(raster: Any, screen: Any, level: int, **kw: Any) -> Any:
        result = orig_screen(raster, screen, level, **kw)  # the network runs on every tile
        truth = _truth_level(a["mask"], level) if level != 2 else coral_l2
        result.probs = np.array([float(truth[w.slices].mean() > 0.05) for w in result.windows],
                                dtype=np.float32)  # fmt: skip
        result.threshold = 0.5
        return result

    screen_mod.screen_image = screen_image
    import rasterio

    truth_ds = rasterio.open(a["mask"])
    positions: list[Any] = []
    orig_rel, orig_predict = seg_mod._rel, seg_mod._predict

    def rel(tile: Any, base: Any) -> Any:
        positions.append(tile)
        return orig_rel(tile, base)

    def predict(predictor: Any, tiles: list[Any], scale: Any) -> list[Any]:
        out = orig_predict(predictor, tiles, scale)  # the network runs on every tile
        mine = positions[-len(tiles) :]
        del positions[:]
        for k, t in enumerate(mine):
            m = truth_ds.read(1, window=((t.row, t.row + t.height), (t.col, t.col + t.width)))
            out[k] = np.where(m == 1, 0.9, 0.1).astype(np.float32)
        return out

    seg_mod._rel, seg_mod._predict = rel, predict


def _stand_in_models(cache: Path) -> tuple[str, str]:
    import torch

    from areoscan.models import ModelCard, build_module, save_model
    from areoscan.models.segmenters import segmenter_kwargs

    torch.manual_seed(0)
    cards = [
        ModelCard(name="stand-in-screen", task="classification", arch="mobilenetv3_small",
                  classes=["background", "brain_coral"], tile_size=128, level=2,
                  scale_m_per_px=1.0, threshold=0.5, positive_class="brain_coral",
                  normalisation={"kind": "tile"}),
        ModelCard(name="stand-in-unet", task="segmentation", arch="slim-unet",
                  classes=["background", "brain_coral"], tile_size=512, level=0,
                  scale_m_per_px=0.25, threshold=0.5, positive_class="brain_coral",
                  arch_kwargs=segmenter_kwargs("slim-unet")),
    ]  # fmt: skip
    paths = []
    for card in cards:
        module = build_module(card).eval()
        _, path = save_model(module, card, cache / "stand-in-models" / card.name)
        paths.append(str(path))
    return paths[0], paths[1]


def child_scan(a: dict[str, Any]) -> dict[str, Any]:
    import areoscan.scan.stages as stages_mod  # binds plan_bands: patch it where it is called
    from areoscan.scan import compare_masks, scan_image

    if a["stand_in"]:
        _install_stand_ins(a)
    captured: list[Any] = []
    orig = stages_mod.plan_bands

    def plan_bands(*args: Any, **kw: Any) -> Any:
        bands = orig(*args, **kw)
        captured.extend(bands)
        return bands

    stages_mod.plan_bands = plan_bands
    t0, c0 = time.perf_counter(), _cpu_s()
    s = scan_image(a["scene"], Path(a["out"]), screen_model=a["screen_model"],
                   segment_model=a["segment_model"], threads=a["threads"],
                   memory_mb=a["memory_mb"], backend=a["backend"],
                   segment_overlap=a.get("segment_overlap"), progress=False)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    rss = _rss_mb()  # before the IoU below reads two gigapixel masks
    # the windows the scan decoded (a read reusing rows of the previous band decodes only the rest)
    reads = [[r.decode.row, r.decode.col, r.decode.height, r.decode.width]
             for b in captured for r in b.reads]  # fmt: skip
    iou = None
    if s.status == "done":
        iou = compare_masks(Path(s.output_dir) / "mask.tif", a["mask"])["iou"]
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss, "summary": s.to_dict(),
            "reads": reads, "iou": iou}  # fmt: skip


def child_decode(a: dict[str, Any]) -> dict[str, Any]:
    """Decode only: the screen level, then the scan's windows (or full-width strips of their rows).

    The decoder is reopened every memory_mb/16 decoded megapixels, as the scan does.
    """
    from areoscan.io import open_raster
    from areoscan.scan.screen import read_level_raw

    with open_raster(a["scene"], threads=a["threads"]) as r:
        t0, c0 = time.perf_counter(), _cpu_s()
        read_level_raw(r, a["screen_level"], a["memory_mb"])
        r.close()
        t_screen = time.perf_counter() - t0
        w = r.shape[1]
        if a["full_width"]:  # the union of the reads' rows, as full-width strips
            spans: list[list[int]] = []
            for row, _col, h, _w in sorted(a["reads"]):
                if spans and row <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], row + h)
                else:
                    spans.append([row, row + h])
            step = max(64, int((a["memory_mb"] - r.path.stat().st_size / 2**20) * 2**20 / 37 / w))
            windows = [
                (y, 0, min(step, y1 - y), w) for y0, y1 in spans for y in range(y0, y1, step)
            ]
        else:
            windows = [tuple(x) for x in a["reads"]]
        px = since = 0
        refresh = max(32, a["memory_mb"] // 16) * 1_000_000
        for win in windows:
            if since >= refresh:
                r.close()
                since = 0
            n = r.read(0, win).size
            px += n
            since += n
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {"wall_s": wall, "cpu_s": cpu, "screen_level_s": t_screen, "decoded_px": px,
            "peak_rss_mb": _rss_mb()}  # fmt: skip


def child_naive(a: dict[str, Any]) -> dict[str, Any]:
    """Segment every tile of the footprint at level 0 (no screen), as the reference did."""
    from areoscan.io import open_raster
    from areoscan.scan.backends import load_segment
    from areoscan.scan.screen import read_level_raw
    from areoscan.scan.segment import plan_bands, segment_groups
    from areoscan.scan.store import GroupStore
    from areoscan.scan.windows import plan_segmentation
    from areoscan.tiling import TileGrid

    predictor = load_segment(a["segment_model"], a["backend"], a["threads"])
    with open_raster(a["scene"], threads=a["threads"]) as r:
        t0, c0 = time.perf_counter(), _cpu_s()
        raw = read_level_raw(r, 2, a["memory_mb"])
        fp = raw != r.nodata
        everything = TileGrid(raw.shape, 128).inside(fp, 0.25)
        plan = plan_segmentation(everything, 2, 0, r.shape, predictor.tile_size,
                                 predictor.tile_size // 4, 0)  # fmt: skip
        reserved = r.path.stat().st_size / 2**20
        bands = plan_bands(plan, a["memory_mb"], reserved_mb=reserved)
        store = GroupStore(Path(a["out"]) / ".naive.u8", [g.bbox for g in plan.groups])
        try:
            stats = segment_groups(r, predictor, plan, bands, store, batch=4)
        finally:
            store.close()
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _rss_mb(), **stats.to_dict()}


def child_clean(a: dict[str, Any]) -> dict[str, Any]:
    """The reference's per-component loop vs clean_mask, on a crop of the truth mask."""
    import numpy as np
    import rasterio
    from scipy import ndimage as ndi

    from areoscan.scan.clean import clean_mask, clean_params
    from areoscan.scan.quant import quantise

    n = a["clean_crop"]
    with rasterio.open(a["mask"]) as ds:
        h, w = min(n, ds.height), min(n, ds.width)
        r0, c0 = (ds.height - h) // 2, (ds.width - w) // 2
        truth = ds.read(1, window=((r0, r0 + h), (c0, c0 + w))) == 1
    rng = np.random.default_rng(0)
    noisy = truth ^ (rng.random(truth.shape) < 0.02)  # speckle, as a raw segmenter output has
    q = quantise(np.where(noisy, 0.9, 0.1))
    params = clean_params(0.25, 0.5)
    t0 = time.perf_counter()
    ours = clean_mask(q, params)
    t_ours = time.perf_counter() - t0
    # the reference: threshold, erosion x4, a Python loop over components, dilation x4
    t0 = time.perf_counter()
    m = ndi.binary_erosion(noisy, iterations=4)
    labels, count = ndi.label(m)
    deadline = t0 + a["clean_ref_limit_s"]
    done = 0
    for i in range(1, count + 1):
        comp = labels == i
        if comp.sum() < params.min_area_px:
            m[comp] = False
        done += 1
        if time.perf_counter() > deadline:
            break
    m = ndi.binary_dilation(m, iterations=4)
    t_ref = time.perf_counter() - t0
    return {"crop_px": int(h * w), "components": int(count), "ref_components_done": done,
            "ref_s": t_ref, "ref_s_extrapolated": t_ref * count / max(1, done),
            "clean_mask_s": t_ours, "kept_px": int(ours.sum())}  # fmt: skip


def child_truth(a: dict[str, Any]) -> dict[str, Any]:
    _truth_level(a["mask"], 2)
    return {}


def child_models(a: dict[str, Any]) -> dict[str, Any]:
    screen, segment = _stand_in_models(Path(a["cache"]))
    return {"screen": screen, "segment": segment}


CHILDREN = {"truth": child_truth, "models": child_models, "scene": child_scene, "scan": child_scan, "decode": child_decode,
            "naive": child_naive, "clean": child_clean}  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# driver


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, nargs=2, default=(25000, 40000), metavar=("H", "W"))
    p.add_argument("--coral", type=float, default=0.05, help="coral share of the footprint")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory-mb", type=int, default=1024)
    p.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default="onnx",
        help="the scan default (auto) is onnx where onnxruntime works",
    )
    p.add_argument("--screen-model", default=None)
    p.add_argument("--segment-model", default=None)
    p.add_argument("--segment-overlap", type=int, default=None, metavar="PX",
                   help="scan's segment tile overlap (default: the scan's own)")  # fmt: skip
    p.add_argument("--stand-in", action="store_true", help="untrained production architectures")
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-clean-loop", action="store_true",
                   help="skip the reference's cleaning loop (backend-independent, ~2 min)")  # fmt: skip
    p.add_argument("--clean-crop", type=int, default=4096, help="side of the clean-loop crop")
    p.add_argument("--clean-ref-limit-s", type=float, default=120.0)
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-args", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        result = CHILDREN[args.child](json.loads(args.child_args))
        print(json.dumps(result, default=str))
        return 0

    from areoscan.models.registry import shipped_models

    h, w = args.size
    args.cache.mkdir(parents=True, exist_ok=True)
    tag = f"{h}x{w}_c{args.coral:g}_s{args.seed}"
    scene = args.cache / tag / "SYN_SCAN_BENCH_RED.JP2"
    args.scene = str(scene)
    args.mask = str(scene.with_name(scene.stem + "_mask.tif"))
    args.out = str(args.cache / tag / "out")
    results: dict[str, Any] = {"size": [h, w], "megapixels": h * w / 1e6, "coral": args.coral,
                               "threads": args.threads, "memory_mb": args.memory_mb,
                               "backend": args.backend}  # fmt: skip
    if not scene.is_file() or not Path(args.mask).is_file():
        print(f"bench_scan: writing the {h} x {w} scene to {scene} (once)", file=sys.stderr)
        results["scene"] = _child("scene", args)
    missing = [m for m in SHIPPED if m not in shipped_models()]
    args.stand_in = bool(
        args.stand_in or (missing and not (args.screen_model and args.segment_model))
    )
    if args.stand_in:
        _child("truth", args)
        made = _child("models", args)
        args.screen_model, args.segment_model = made["screen"], made["segment"]
        results["models"] = ("stand-in: untrained MobileNetV3-small screen + slim U-Net (real compute), "
                             "outputs replaced by the truth mask" +
                             (f"; shipped models missing: {missing}" if missing else ""))  # fmt: skip
    else:
        args.screen_model = args.screen_model or SHIPPED[0]
        args.segment_model = args.segment_model or SHIPPED[1]
        results["models"] = f"{args.screen_model} + {args.segment_model}"
    print(f"bench_scan: models: {results['models']}", file=sys.stderr)

    print("bench_scan: scan", file=sys.stderr)
    scan = _child("scan", args)
    summ = scan["summary"]
    results["scan"] = {k: scan[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "iou")}
    results["scan"]["timings"] = summ["timings"]
    results["scan"]["peak_rss_mb_after_stage"] = summ.get("peak_rss_mb")
    results["scan"]["segment"] = {k: summ["segment"].get(k) for k in
                                  ("tiles", "groups", "reads", "decoded_px", "segmented_fraction",
                                   "decode_s", "predict_s", "blend_s")}  # fmt: skip
    results["scan"]["flagged_tiles"] = summ["flagged_tiles"]
    results["scan"]["screened_tiles"] = summ["screened_tiles"]
    results["scan"]["regions"] = summ["regions"]
    results["scan"]["percent_of_footprint"] = summ["percent_of_footprint"]
    screen_level = summ["levels"]["screen"]["level"]

    print("bench_scan: decode only (same windows)", file=sys.stderr)
    extra = {"reads": scan["reads"], "screen_level": screen_level, "full_width": False}
    dec = _child("decode", args, extra)
    results["decode"] = dec
    print("bench_scan: decode only (full-width strips of the same rows)", file=sys.stderr)
    results["decode_full_width"] = _child("decode", args, {**extra, "full_width": True})
    results["ratio_scan_to_decode"] = scan["wall_s"] / dec["wall_s"]
    results["ratio_scan_to_full_width_decode"] = (
        scan["wall_s"] / results["decode_full_width"]["wall_s"]
    )

    if not args.skip_naive:
        print("bench_scan: naive sweep (segment the whole footprint at level 0)", file=sys.stderr)
        try:
            results["naive"] = _child("naive", args)
        except SystemExit as exc:
            results["naive"] = {"error": str(exc)}
    if not args.skip_clean_loop:
        print("bench_scan: clean: reference loop vs clean_mask", file=sys.stderr)
        results["clean"] = _child("clean", args)

    goals = {
        "ratio <= 1.5": results["ratio_scan_to_decode"] <= 1.5,
        "peak RSS <= 1.5 GB": results["scan"]["peak_rss_mb"] <= 1536,
        "clean <= 5 s": summ["timings"].get("clean", 0.0) <= 5.0,
    }
    results["goals"] = goals
    text = json.dumps(results, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
