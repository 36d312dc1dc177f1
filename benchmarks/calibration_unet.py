"""Reliability diagram and expected calibration error of U-Nets, raw vs calibrated, on held-out scenes.

Use it to check that a segmenter's probabilities (what ``salience.tif`` and the region
probabilities show) mean what they say (issue 19, point 5). Every pixel of the held-out scenes
``family_eval.py`` scores (``family_scenes.py``: each coral family, layout ``regions``, seeds
7000+, never a training seed) is predicted whole-scene in 512-px tiles at level 0 (no screen);
p(coral) is taken from the raw sigmoid and from the card's calibration (a temperature fitted on the
model's validation pixels, :mod:`areoscan.models.calibration`); no-data pixels are left out. The
table gives the ECE (10 equal-width bins) per model, raw and calibrated, and ``--png`` draws the
reliability diagrams side by side.

    python benchmarks/calibration_unet.py --model brain-coral-unet --model NEW.json \
        [--scenes 2] [--size 2048 3072] [--png docs/img/unet-reliability.png] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.synth.params import FAMILIES
from family_eval import SEED0  # beside this script (on sys.path when run)
from family_scenes import family_scenes

TILE = 512
BINS = 10


def scene_logits(predictor: Any, img: Path, mask: Path) -> tuple[np.ndarray, np.ndarray]:
    """Logits and truth (0/1, 255 = no data) of every whole 512-px tile of a scene."""
    import rasterio

    with rasterio.open(img) as ds:
        x = ds.read(1).astype(np.float32) / 1023.0
    with rasterio.open(mask) as ds:
        m = ds.read(1)
    h, w = (x.shape[0] // TILE) * TILE, (x.shape[1] // TILE) * TILE
    tiles = x[:h, :w].reshape(h // TILE, TILE, w // TILE, TILE).transpose(0, 2, 1, 3)
    truth = m[:h, :w].reshape(h // TILE, TILE, w // TILE, TILE).transpose(0, 2, 1, 3)
    tiles, truth = tiles.reshape(-1, TILE, TILE), truth.reshape(-1, TILE, TILE)
    z = np.concatenate([predictor.logits(tiles[i : i + 2]) for i in range(0, len(tiles), 2)])
    return z[:, 0], truth


def score(model: str, pairs: list[tuple[Path, Path]], threads: int) -> dict[str, Any]:
    """ECE and reliability points of one model, raw and calibrated, pooled over the scenes."""
    from areoscan.models.calibration import (
        calibrate_logits,
        expected_calibration_error,
        reliability,
    )
    from areoscan.models.segmenters import load_segmenter

    predictor = load_segmenter(model, "torch", threads=threads)
    zs, ts = zip(*(scene_logits(predictor, i, m) for i, m in pairs), strict=True)
    z, t = np.concatenate([a.ravel() for a in zs]), np.concatenate([a.ravel() for a in ts])
    keep = t != 255
    z, outcome = z[keep], (t[keep] == 1).astype(np.float64)
    cal = predictor.card.calibration
    out: dict[str, Any] = {"model": model, "pixels": int(keep.sum()), "calibration": cal}
    for name, logits in (("raw", z), ("calibrated", calibrate_logits(z, cal) if cal else None)):
        if logits is None:
            continue
        p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        out[name] = {
            "ece": expected_calibration_error(p, outcome, BINS),
            "reliability": reliability(p, outcome, BINS),
        }
    return out


def plot(results: list[dict[str, Any]], png: Path) -> None:
    """One panel per model: observed coral share against mean probability, raw and calibrated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.2), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect")
        for name, style in (("raw", "o-"), ("calibrated", "s-")):
            if name not in r:
                continue
            rel = r[name]["reliability"]
            ok = np.asarray(rel["count"]) > 0
            ax.plot(np.asarray(rel["mean_p"])[ok], np.asarray(rel["frequency"])[ok], style,
                    label=f"{name}: ECE {r[name]['ece']:.3f}")  # fmt: skip
        ax.set_title(Path(str(r["model"])).stem if "/" in str(r["model"]) else str(r["model"]))
        ax.set_xlabel("mean predicted p(coral) in bin")
        ax.set_ylabel("observed coral share")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, help="repeatable")
    ap.add_argument("--scenes", type=int, default=2, help="per family")
    ap.add_argument("--size", type=int, nargs=2, default=(2048, 3072))
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/areoscan/families")
    ap.add_argument("--png", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    pairs = []
    for fam in args.families:
        seeds = [SEED0 + 100 * FAMILIES.index(fam) + k for k in range(args.scenes)]
        pairs += family_scenes(args.cache, fam, seeds, tuple(args.size), 0.25, "regions")
    results = [score(m, pairs, args.threads) for m in args.model]
    print("| model | pixels | temperature | ECE raw | ECE calibrated |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        t = (r["calibration"] or {}).get("temperature", "–")
        cal = f"{r['calibrated']['ece']:.4f}" if "calibrated" in r else "–"
        print(f"| {r['model']} | {r['pixels']} | {t} | {r['raw']['ece']:.4f} | {cal} |")
    if args.png:
        plot(results, args.png)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
