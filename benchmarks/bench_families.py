"""Cost of each coral family: a 4096 x 4096 scene at 0.25 m/px, rendered in memory.

Benchmark (not a unit test). For every family, renders the same seed's scene (layout
``regions``, 30 % coral) with :func:`areoscan.synth.render_array` and prints wall and CPU seconds
of the layout (for ``turing`` this includes growing the Swift-Hohenberg grid) and of the render.
The machine may be shared: CPU seconds are the steadier figure.

    python benchmarks/bench_families.py [--size 4096 4096] [--seed 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from areoscan.synth.blocks import render_into
from areoscan.synth.layout import Layout
from areoscan.synth.params import FAMILIES, SceneParams


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=2, default=(4096, 4096))
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    print("| family | spacing (m) | layout wall / CPU s | render wall / CPU s | coral |")
    print("| --- | --- | --- | --- | --- |")
    for fam in FAMILIES:
        p = SceneParams.from_seed(
            tuple(args.size), args.seed, args.scale, 0.3, family=fam, layout="regions"
        )
        t0, c0 = time.perf_counter(), time.process_time()
        lay = Layout.build(p)
        t1, c1 = time.perf_counter(), time.process_time()
        dn = np.empty((p.height, p.width), np.uint16)
        lab = np.empty((p.height, p.width), np.uint8)
        render_into(lay, dn, lab, threads=args.threads)
        t2, c2 = time.perf_counter(), time.process_time()
        lam = p.family.wavelength if p.family else 0.5 * sum(p.coral_wavelength)
        inside = lab != 255
        print(
            f"| {fam} | {lam:.1f} | {t1 - t0:.1f} / {c1 - c0:.1f} | {t2 - t1:.1f} / {c2 - c1:.1f} "
            f"| {(lab[inside] == 1).mean():.1%} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
