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

``--fit-scenes K --write-card CARD.json`` first calibrates the FIRST model afterwards (a card that
has no calibration, e.g. one trained before ``--calibrate`` existed): a temperature fitted on the
pixels of K validation scenes per family (seeds 7600+, disjoint from the test scenes and every
training seed; ``--fit-size``) is written with the moved threshold into CARD.json (its weights
unchanged, so every decision stays); that card is then scored like the others, and
``--check-scans DIR`` scans two scenes with both cards to show the masks do not change.
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
FIT_SEED0 = 7600  # + 100 x family index: validation scenes for --fit-scenes


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


def fit_card(model: str, args: argparse.Namespace) -> Path:
    """Calibrate ``model`` on the fit scenes; write the calibrated card to ``args.write_card``."""
    from areoscan.models.calibration import fit_calibration, move_threshold
    from areoscan.models.segmenters import load_segmenter
    from areoscan.train.seg_calibrate import pixel_sample

    pairs = []
    for fam in args.families:
        seeds = [FIT_SEED0 + 100 * FAMILIES.index(fam) + k for k in range(args.fit_scenes)]
        pairs += family_scenes(args.cache, fam, seeds, tuple(args.fit_size), 0.25, "regions")
    predictor = load_segmenter(model, "torch", threads=args.threads)
    if predictor.card.calibration:
        raise SystemExit(f"{model}: already calibrated; give the raw card")
    zs, ts = zip(*(scene_logits(predictor, i, m) for i, m in pairs), strict=True)
    z, y = pixel_sample(np.concatenate(zs)[:, None], np.concatenate(ts), 400_000)
    seeds_note = ", ".join(f"{f} {FIT_SEED0 + 100 * FAMILIES.index(f)}+" for f in args.families)
    cal = fit_calibration(
        z, y, fitted_on=f"validation scenes ({args.fit_scenes} per family: {seeds_note}), "
        f"{len(y)} pixels",
    )  # fmt: skip
    card = predictor.card
    card.calibration, card.threshold = (
        cal.to_dict(),
        move_threshold(card.threshold or 0.5, cal.temperature),
    )
    card.save(args.write_card)
    print(f"temperature {cal.temperature:.4f}, threshold -> {card.threshold:.4f}, "
          f"validation ECE {cal.ece_before:.4f} -> {cal.ece_after:.4f}: {args.write_card}")  # fmt: skip
    return Path(args.write_card)


def same_decisions(raw: str, calibrated: str, out: Path, threads: int) -> list[dict[str, Any]]:
    """Scan two held-out scenes (seeds 11, 14: 1024 x 1536, 50 % coral, as tests/scan/test_shipped)
    with both cards; IoU against the truth and the pixels whose mask differs."""
    import rasterio

    from areoscan.scan import compare_masks, scan_image
    from areoscan.synth.scene import generate_scene

    rows = []
    for seed in (11, 14):
        info = generate_scene(out / f"s{seed}" / "scene.JP2", size=(1024, 1536), seed=seed,
                              scale=0.25, coral_fraction=0.5, classes=False, threads=threads)  # fmt: skip
        masks, row = {}, {"seed": seed}
        for name, model in (("raw", raw), ("calibrated", calibrated)):
            s = scan_image(info.image, out / f"s{seed}" / name, segment_model=model,
                           threads=threads, progress=False)  # fmt: skip
            path = Path(s.output_dir) / "mask.tif"
            with rasterio.open(path) as ds:
                masks[name] = ds.read(1) == 1
            row[f"iou_{name}"] = compare_masks(path, info.mask)["iou"]
        row["pixels_differing"] = int((masks["raw"] != masks["calibrated"]).sum())
        row["pixels"] = int(masks["raw"].size)
        rows.append(row)
        print(row)
    return rows


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
        ax.set_title("/".join(Path(str(r["model"])).parts[-2:]), fontsize=9)
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
    ap.add_argument("--fit-scenes", type=int, default=0, help="per family; needs --write-card")
    ap.add_argument("--fit-size", type=int, nargs=2, default=(1024, 1536))
    ap.add_argument("--write-card", type=Path, help="calibrated card of the first --model")
    ap.add_argument(
        "--check-scans",
        type=Path,
        metavar="DIR",
        help="with --write-card: scan two scenes with the raw and the calibrated card into DIR",
    )
    ap.add_argument("--png", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    pairs = []
    for fam in args.families:
        seeds = [SEED0 + 100 * FAMILIES.index(fam) + k for k in range(args.scenes)]
        pairs += family_scenes(args.cache, fam, seeds, tuple(args.size), 0.25, "regions")
    models = list(args.model)
    if args.fit_scenes and args.write_card:
        models.append(str(fit_card(models[0], args)))
        if args.check_scans:
            same_decisions(models[0], models[-1], args.check_scans, args.threads)
    results = [score(m, pairs, args.threads) for m in models]
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
