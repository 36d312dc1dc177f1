"""Benchmark areoscan.io on a HiRISE-sized JPEG2000: level-4 read, full-resolution strip pass, and
glymur's whole-image decode for comparison, each in its own subprocess so peak RSS is honest.

Usage:
    python benchmarks/bench_io.py                      # 25,000 x 20,000 px, strips at 900 MB budget
    python benchmarks/bench_io.py --memory-mb 700 --json results.json

The test image (single tile, 10 resolution levels, 10-bit, 64x64 code blocks, lossless 5/3, textured,
nodata border shaped like a map-projected HiRISE strip) and its PDS3 label are written once to
~/.cache/areoscan/bench (or --cache) and reused. Writing it takes several minutes and ~7 GB of RAM.
Goal (issue 2): strip pass <= 1.3x the whole-image decode time, with peak RSS <= 1 GB.

    python benchmarks/bench_io.py --formats --height 10000 --width 8000

compares the read paths instead (issue 23): the same scene as the HiRISE-like JP2 (OpenJPEG) and as
a tiled, deflate-compressed 16-bit GeoTIFF with overviews (GDAL), both read with the same label
beside them, plus the GeoTIFF without overviews and a raw PDS3 .IMG (GDAL's PDS driver); time per
megapixel of the full-resolution strip pass and of the level-4 read, per path. Goal: the GDAL
path within 1.5x the JP2 path's time per megapixel (strip pass).
Run it when nothing else needs the CPU: wall times on a shared 2-core machine are noisy; CPU times
(user + sys) are reported as well.
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

DEFAULT_CACHE = Path.home() / ".cache" / "areoscan" / "bench"


def make_texture(height: int, width: int, seed: int = 7, block: int = 1000) -> object:
    """uint16 (height, width) 10-bit terrain-like texture with a slanted nodata (0) border.

    Labyrinthine ridges (a few-metre wavelength warped by a smooth phase field, like brain-coral
    terrain), smooth albedo variations and 6-DN sensor noise; the footprint is a parallelogram
    covering ~75 % of the frame, as in a map-projected HiRISE strip.
    """
    import numpy as np
    from scipy.ndimage import map_coordinates

    rng = np.random.default_rng(seed)
    coarse = 200  # px per cell of the smooth fields
    gh, gw = height // coarse + 3, width // coarse + 3
    albedo = rng.normal(0.0, 1.0, (gh, gw))
    phase = rng.normal(0.0, 6.0, (gh, gw))
    out = np.empty((height, width), dtype=np.uint16)
    cols = np.arange(width, dtype=np.float32)
    for r0 in range(0, height, block):
        r1 = min(height, r0 + block)
        rows = np.arange(r0, r1, dtype=np.float32)
        rr, cc = np.meshgrid(rows / coarse, cols / coarse, indexing="ij")
        a = map_coordinates(albedo, [rr, cc], order=1).astype(np.float32)
        p = map_coordinates(phase, [rr, cc], order=1).astype(np.float32)
        del rr, cc
        ridges = np.sin(cols[None, :] / 9.0 + np.sin(rows[:, None] / 23.0) * 3.0 + p)
        img = (
            480.0
            + 90.0 * a
            + 110.0 * ridges
            + rng.normal(0.0, 6.0, ridges.shape).astype(np.float32)
        )
        np.clip(img, 1, 1023, out=img)
        band = img.astype(np.uint16)
        # parallelogram footprint: left and right edges slanted by 10 % of the height
        shift = (0.1 * width * (rows - height / 2) / height)[:, None]
        left = cols[None, :] < 0.12 * width + shift
        right = cols[None, :] > 0.88 * width + shift
        band[left | right] = 0
        out[r0:r1] = band
    return out


def ensure_image(cache: Path, height: int, width: int, threads: int) -> Path:
    """Write the benchmark JP2 + label once; return the JP2 path."""
    import numpy as np

    from areoscan.io import write_jp2, write_label
    from areoscan.io.georef import label_centred_on

    name = f"ESP_000000_{height // 1000:02d}{width // 1000:02d}_RED"
    jp2 = cache / f"{name}.JP2"
    lbl = cache / f"{name}.LBL"
    if jp2.exists() and lbl.exists():
        return jp2
    cache.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    data = make_texture(height, width)
    print(f"texture {height} x {width}: {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    write_jp2(jp2, data, bit_depth=10, numres=10, threads=threads)
    print(
        f"write_jp2 (10 levels, lossless): {time.perf_counter() - t:.1f} s, "
        f"{jp2.stat().st_size / 2**20:.0f} MiB",
        flush=True,
    )
    footprint = float(np.count_nonzero(data)) / data.size
    del data
    write_label(lbl, label_centred_on(40.0, 110.0, height, width, 0.25, product_id=name))
    print(f"footprint fraction {footprint:.3f}", flush=True)
    return jp2


def ensure_formats(jp2: Path, height: int, width: int) -> dict[str, Path]:
    """The same scene as ``jp2`` as a tiled deflate GeoTIFF with overviews (label shared: X.tif
    beside X.LBL), the same without overviews (levels are decimated reads of the full image) and a
    raw PDS3 .IMG with its label attached (10-bit mask); written once, reused."""
    from areoscan.io import Georef, read_label, write_geotiff
    from areoscan.io.pdswriters import MapSpec, write_pds3

    paths = {
        "geotiff": jp2.with_suffix(".tif"),
        "geotiff_flat": jp2.with_name(jp2.stem + "_flat.tif"),
        "pds3": jp2.with_name(jp2.stem + "_pds3.IMG"),
    }
    if all(p.exists() for p in paths.values()):
        return paths
    data = make_texture(height, width)  # same seed: the same pixels as the JP2
    label = read_label(jp2.with_suffix(".LBL"))
    georef = Georef.from_label(label)
    for name, path in paths.items():
        t = time.perf_counter()
        if name == "pds3":
            spec = MapSpec(label.projection, "MARS", label.a_axis_radius, label.center_latitude,
                           label.center_longitude, label.map_scale, georef.transform.c,
                           georef.transform.f)  # fmt: skip
            write_pds3(path, data, spec, bits=10)
        else:
            write_geotiff(path, data, crs=georef.crs, transform=georef.transform, nodata=0,
                          overviews=name == "geotiff")  # fmt: skip
        print(f"{name}: written in {time.perf_counter() - t:.1f} s, "
              f"{path.stat().st_size / 2**20:.0f} MiB", flush=True)  # fmt: skip
    return paths


def compare_formats(args: argparse.Namespace) -> int:
    """Strip pass and level-4 read per megapixel, JP2 (OpenJPEG) against GeoTIFF (GDAL)."""
    jp2 = ensure_image(args.cache, args.height, args.width, args.threads)
    paths = {"jp2": jp2, **ensure_formats(jp2, args.height, args.width)}
    mpx = args.height * args.width / 1e6
    print(f"scene {args.height} x {args.width} ({mpx:.0f} Mpx), threads {args.threads}, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    results: dict[str, dict[str, object]] = {}
    for name, path in paths.items():
        for kind in ("strips", "level4"):
            runs = [run_child(kind, path, args.threads, args.memory_mb) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: float(r["wall_s"]))  # type: ignore[arg-type]
            best.update(all_wall_s=[r["wall_s"] for r in runs], file_mb=path.stat().st_size / 2**20)
            best["s_per_mpx"] = round(float(best["wall_s"]) / mpx, 4)  # type: ignore[arg-type]
            best["cpu_s_per_mpx"] = round(float(best["cpu_s"]) / mpx, 4)  # type: ignore[arg-type]
            results[f"{name}_{kind}"] = best
            print(json.dumps({"path": name, **best}), flush=True)
    print(f"\n{'path':<14}{'read':<10}{'s/Mpx':>9}{'cpu s/Mpx':>11}{'peak RSS MB':>13}")
    for key, r in results.items():
        name, kind = key.rsplit("_", 1)
        print(
            f"{name:<14}{kind:<10}{r['s_per_mpx']:>9}{r['cpu_s_per_mpx']:>11}{r['peak_rss_mb']:>13}"
        )
    ratio = float(results["geotiff_strips"]["s_per_mpx"]) / float(
        results["jp2_strips"]["s_per_mpx"]
    )  # type: ignore[arg-type]
    ok = ratio <= 1.5
    print(
        f"GeoTIFF / JP2 strip pass per Mpx: {ratio:.2f}x -> goal (<= 1.5x) {'met' if ok else 'NOT met'}"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"results": results, "ratio": ratio, "goal_met": ok}, indent=2)
        )
    return 0 if ok else 1


# ------------------------------------------------------------------------------------------------
# children: one measurement each


def _rss_mb() -> float:
    """Peak RSS of this process in MiB: VmHWM (fresh after exec, unlike ru_maxrss which Linux
    carries over from the forking parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child(kind: str, path: Path, threads: int, memory_mb: float) -> dict[str, object]:
    """Run one measurement in this (fresh) process; return timings and peak RSS."""
    import numpy as np

    if kind == "glymur_whole":
        import glymur

        glymur.set_option("lib.num_threads", threads)
        jp2 = glymur.Jp2kr(str(path))
        base = _rss_mb()
        t, c = time.perf_counter(), time.process_time()
        data = jp2[:]
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        result: dict[str, object] = {"shape": list(data.shape), "mean_dn": float(data.mean())}
    else:
        from areoscan.io import open_raster

        raster = open_raster(path, threads=threads)
        base = _rss_mb()
        t, c = time.perf_counter(), time.process_time()
        if kind == "level4":
            data = raster.read(4)
            result = {"shape": list(data.shape), "mean": float(data.mean())}
        elif kind == "strips":
            n, total, rows = 0, 0.0, 0
            for strip in raster.strips(0, memory_mb=memory_mb):
                core = strip.core
                total += float(core.sum(dtype=np.float64))
                rows += core.shape[0]
                n += 1
            result = {"strips": n, "rows": rows, "mean_dn": total / (rows * raster.shape[1]) * 1023}
        else:
            raise SystemExit(f"unknown measurement {kind}")
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        raster.close()
    result.update(
        kind=kind,
        wall_s=round(wall, 2),
        cpu_s=round(cpu, 2),
        rss_before_mb=round(base, 1),
        peak_rss_mb=round(_rss_mb(), 1),
    )
    return result


def run_child(kind: str, path: Path, threads: int, memory_mb: float) -> dict[str, object]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--image",
        str(path),
        "--threads",
        str(threads),
        "--memory-mb",
        str(memory_mb),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="where the test image lives"
    )
    parser.add_argument("--height", type=int, default=25_000)
    parser.add_argument("--width", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2, help="OpenJPEG threads (default 2)")
    parser.add_argument(
        "--memory-mb", type=float, default=900, help="strip budget incl. compressed tile"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each measurement (best wall kept)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--formats", action="store_true", help="compare the JP2 and GeoTIFF read paths (issue 23)"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--image", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(child(args.child, args.image, args.threads, args.memory_mb)))
        return 0
    if args.formats:
        return compare_formats(args)

    path = ensure_image(args.cache, args.height, args.width, args.threads)
    print(
        f"image {path} ({path.stat().st_size / 2**20:.0f} MiB), threads {args.threads}, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results: dict[str, dict[str, object]] = {}
    for kind in ("level4", "glymur_whole", "strips"):
        runs = [run_child(kind, path, args.threads, args.memory_mb) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: float(r["wall_s"]))  # type: ignore[arg-type]
        best["all_wall_s"] = [r["wall_s"] for r in runs]
        results[kind] = best
        print(json.dumps(best), flush=True)
    whole, strips = results["glymur_whole"], results["strips"]
    ratio = float(strips["wall_s"]) / float(whole["wall_s"])  # type: ignore[arg-type]
    cpu_ratio = float(strips["cpu_s"]) / float(whole["cpu_s"])  # type: ignore[arg-type]
    print()
    print(f"{'measurement':<28}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>13}")
    for kind, label in (
        ("level4", "whole image at level 4"),
        ("glymur_whole", "glymur whole decode"),
        ("strips", f"strip pass ({strips['strips']} strips)"),
    ):
        r = results[kind]
        print(f"{label:<28}{r['wall_s']:>9}{r['cpu_s']:>9}{r['peak_rss_mb']:>13}")
    ok = ratio <= 1.3 and float(strips["peak_rss_mb"]) <= 1024  # type: ignore[arg-type]
    print(
        f"strip pass / whole decode: wall {ratio:.2f}x, cpu {cpu_ratio:.2f}x; "
        f"strip peak RSS {strips['peak_rss_mb']} MB -> goal {'met' if ok else 'NOT met'}"
    )
    if args.json:
        summary = {
            "image": str(path),
            "threads": args.threads,
            "memory_mb": args.memory_mb,
            "results": results,
            "wall_ratio": ratio,
            "cpu_ratio": cpu_ratio,
            "goal_met": ok,
        }
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
