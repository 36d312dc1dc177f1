"""Where the coral lies: real layout masks against synthetic ``patches`` and ``regions`` layouts.

Benchmark (not a unit test). Reads ``brain-coral-layouts/`` in ../shared/data (or --data): the
JPL survey's masks of five real observations, reduced 16x. For each, and for synthetic layouts of
the same size, scale and coral fraction (the layout's coarse coral field only: no rendering), it
reports the coral fraction, the number of connected coral regions, how many cover >= 1 % of the
image, and the share of the coral in the largest and the three largest regions. Prints a
Markdown table.

    python benchmarks/layout_stats.py [--data ../shared/data] [--seeds 3]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from areoscan.synth.layout import Layout
from areoscan.synth.params import SceneParams


def stats(mask: np.ndarray, valid: np.ndarray | None = None) -> dict[str, float]:
    """Layout statistics of a boolean coral mask (``valid``: pixels that count as image)."""
    area = mask.size if valid is None else int(valid.sum())
    lab, n = ndimage.label(mask)
    sizes = np.sort(np.bincount(lab.ravel())[1:])[::-1] if n else np.zeros(1)
    tot = max(float(mask.sum()), 1.0)
    return {
        "fraction": float(mask.sum() / max(area, 1)),
        "regions": float(n),
        "regions_1pct": float((sizes >= 0.01 * area).sum()),
        "largest": float(sizes[0] / tot),
        "top3": float(sizes[:3].sum() / tot),
    }


def synthetic(h: int, w: int, scale: float, frac: float, seed: int, layout: str) -> dict:
    """Statistics of a synthetic layout's coarse coral mask (inside the footprint)."""
    p = SceneParams.from_seed((h, w), seed, scale, frac, layout=layout)
    lay = Layout.build(p)
    inside = lay._coarse_footprint(*lay.fields["coral"].shape)
    return stats((lay.fields["coral"] > 0) & inside, inside)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--seeds", type=int, default=3, help="synthetic layouts per real one")
    args = ap.parse_args()
    folder = Path(args.data) / "brain-coral-layouts"
    if not folder.is_dir():
        print(f"{folder}: not found (use --data)", file=sys.stderr)
        return 2
    cols = ["fraction", "regions", "regions_1pct", "largest", "top3"]
    print("| observation | source | " + " | ".join(cols) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in cols) + " |")
    with open(folder / "layouts.csv") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        obs = r["observation"]
        mask = np.array(Image.open(folder / f"{obs}_mask16.png")) > 0
        out = {"real": stats(mask)}
        # synthetic scenes 4x smaller per side than the real product (layout cost), same shape
        h, w = int(r["full_height"]) // 4, int(r["full_width"]) // 4
        scale = 4 * float(r["map_scale_m"])
        frac = float(r["coral_fraction_of_image"])
        for layout in ("patches", "regions"):
            runs = [synthetic(h, w, scale, frac, s, layout) for s in range(args.seeds)]
            out[layout] = {k: float(np.mean([x[k] for x in runs])) for k in cols}
        for src, st in out.items():
            vals = " | ".join(f"{st[k]:.2f}" if k != "regions" else f"{st[k]:.0f}" for k in cols)
            print(f"| {obs} | {src} | {vals} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
