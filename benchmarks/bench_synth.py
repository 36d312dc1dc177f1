"""Speed of synthetic scene generation: the 20,000 x 25,000 goal scene and the small fixtures.

Writes outside the repository (default ~/.cache/areoscan/bench/synth) and reports, per stage,
wall time and peak RSS of the process (each measurement runs in its own subprocess so RSS is
honest). Goal (issue 3): a 20,000 x 25,000 scene at 0.25 m/px -- generation + JP2 encode +
masks -- in <= 3 minutes on 2 cores. The machine may be shared: the load average before and
after each run is printed; numbers taken under load are slower than the code is.

    python benchmarks/bench_synth.py [--size 20000 25000] [--threads 2] [--skip-big]
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


def _child(kind: str, out: str, size: list[int], threads: int) -> None:
    """Run one measurement in this (fresh) process and print a JSON line."""
    from areoscan.synth import generate_scene, render_array, render_patch

    t0 = time.perf_counter()
    extra: dict[str, object] = {}
    if kind == "scene":
        info = generate_scene(
            Path(out) / "SYN_BENCH_RED.JP2", (size[0], size[1]), seed=1, threads=threads
        )
        extra = {
            "seconds": info.seconds,
            "coral_fraction": info.coral_fraction,
            "jp2_bytes": info.image.stat().st_size,
        }
    elif kind == "array":
        render_array((size[0], size[1]), seed=1, scale=0.25, threads=threads)
    elif kind == "patch":
        for i in range(10):
            render_patch("brain_coral", 256, 1.0, seed=i)
        extra = {"per_patch": (time.perf_counter() - t0) / 10}
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(json.dumps({"kind": kind, "size": size, "wall_s": wall, "peak_rss_mb": rss, **extra}))


def run(kind: str, out: Path, size: list[int], threads: int) -> dict:
    load0 = os.getloadavg()[0]
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--out",
        str(out),
        "--threads",
        str(threads),
        "--size",
        str(size[0]),
        str(size[1]),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench_synth: {kind} failed:\n{proc.stderr[-2000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["load_before"], res["load_after"] = load0, os.getloadavg()[0]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=2, default=[20000, 25000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--out", type=Path, default=Path.home() / ".cache" / "areoscan" / "bench" / "synth"
    )
    ap.add_argument("--skip-big", action="store_true", help="only the small fixtures")
    ap.add_argument("--child", choices=["scene", "array", "patch"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, str(args.out), args.size, args.threads)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}, threads: {args.threads}, output: {args.out}")
    small = run("array", args.out, [1024, 1536], args.threads)
    print(
        f"1024 x 1536 scene in memory (scan-test fixture): {small['wall_s']:.2f} s "
        f"(load {small['load_before']:.1f}) incl. imports"
    )
    patch = run("patch", args.out, [256, 256], args.threads)
    print(f"256 px brain coral patch at 1 m/px: {patch['per_patch'] * 1000:.0f} ms each")
    if not args.skip_big:
        big = run("scene", args.out, args.size, args.threads)
        s = big["seconds"]
        mpx = args.size[0] * args.size[1] / 1e6
        print(
            f"{args.size[0]} x {args.size[1]} scene ({mpx:.0f} Mpx) written: {s['total']:.1f} s total "
            f"= layout {s['layout']:.1f} + render {s['render']:.1f} + masks {s['masks']:.1f} "
            f"+ JP2 encode {s['jp2']:.1f}; peak RSS {big['peak_rss_mb'] / 1024:.2f} GB; "
            f"JP2 {big['jp2_bytes'] / 1e6:.0f} MB; load average {big['load_before']:.1f} -> "
            f"{big['load_after']:.1f}; goal <= 180 s: {'met' if s['total'] <= 180 else 'NOT met'}"
        )
        cpu = {k: s[f"cpu_{k}"] for k in ("layout", "render", "masks", "jp2")}
        ideal = cpu["layout"] + sum(v / args.threads for k, v in cpu.items() if k != "layout")
        print(
            "CPU seconds (all threads; independent of other load): "
            + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            + f", total {s['cpu_total']:.1f}; on {args.threads} idle cores between {ideal:.0f} s "
            f"(perfect scaling) and {s['cpu_total'] + 1:.0f} s (none) wall"
        )
        (args.out / "bench_synth.json").write_text(
            json.dumps({"small": small, "patch": patch, "big": big}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
