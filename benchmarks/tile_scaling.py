"""Effect of the one tile-scaling rule on the shipped classifiers (issue 20, item 3).

Run: ``OMP_NUM_THREADS=2 PYTHONPATH=src .venv/bin/python benchmarks/tile_scaling.py [--n 300]``

Takes ``--n`` original landmark-v3 tiles (8-bit JPG, ../shared/data/hirise-landmarks-v3), turns each
into 10-bit DN (value x 4, like a HiRISE RED), and classifies the same pixels four ways with each
shipped classifier: the 8-bit file (reference), the old ``read_tile`` rule for a 16-bit file (/1023
because every value fits in 10 bits), the new rule for a 16-bit PNG without sBIT (/65535) and the
new rule for a 16-bit PNG declaring sBIT=10 (:func:`areoscan.io.tilefile.write_tile_png`). Prints
the share of tiles whose predicted class matches the reference. The real data in ../shared/data
are all 8-bit, where old and new rules agree exactly.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hirise-landmarks-v3"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    if not (args.data / "manifest.csv").is_file():
        sys.exit(f"{args.data}: landmark set not found (needs ../shared/data)")
    from PIL import Image

    from areoscan.io.tilefile import read_tile, write_tile_png
    from areoscan.models.classify import decide, predict_tiles, resize_tile
    from areoscan.models.export import make_runner

    with open(args.data / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["variant"] == "orig"][: args.n]
    files = [args.data / "images" / r["file"] for r in rows]
    ways: dict[str, list[np.ndarray]] = {
        "8-bit": [],
        "old /1023": [],
        "new, no sBIT": [],
        "new, sBIT=10": [],
    }
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i, f in enumerate(files):
            x8 = read_tile(f)
            dn = np.asarray(Image.open(f).convert("L"), np.uint16) * 4
            Image.fromarray(dn).save(Path(tmp) / f"{i}.png")
            write_tile_png(Path(tmp) / f"{i}s.png", dn, bits=10)
            ways["8-bit"].append(x8)
            ways["old /1023"].append(dn.astype(np.float32) / 1023.0)
            ways["new, no sBIT"].append(read_tile(Path(tmp) / f"{i}.png"))
            ways["new, sBIT=10"].append(read_tile(Path(tmp) / f"{i}s.png"))
    print(f"{len(files)} landmark tiles; share of predictions equal to the 8-bit file's\n")
    print("| model | " + " | ".join(list(ways)[1:]) + " |")
    print("|---|" + "---|" * (len(ways) - 1))
    for name in ("brain-coral-screen", "hirise-landmarks"):
        runner, card = make_runner(name)
        pred = {}
        for way, tiles in ways.items():
            x = np.stack([resize_tile(t, card.tile_size, card.resize) for t in tiles])
            pred[way] = decide(predict_tiles(runner, x, calibration=card.calibration), card)
        same = [float((pred[w] == pred["8-bit"]).mean()) for w in list(ways)[1:]]
        print(f"| {name} | " + " | ".join(f"{s:.3f}" for s in same) + " |")


if __name__ == "__main__":
    main()
