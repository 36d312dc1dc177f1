"""How close is synthetic brain coral to real brain coral, and how far from real backgrounds?

Evaluation script (not a unit test). Reads ../shared/data (or --data) when present:
  brain-coral-tiles/       12 real brain coral tiles (~0.75 m/px, ~174 x 175 px)
  hirise-landmarks-v3/     HiRISE landmark tiles of 8 classes (227 x 227, browse scale)
and renders synthetic coral and every synthetic background kind the way the real tiles were made
(0.25 m/px, averaged 3 x 3 to 0.75 m/px, 175 px). Every tile is contrast-stretched the same way (1-99 percentiles), then
described by its radially averaged power spectrum (slope, dominant wavelength, peakedness,
anisotropy) and grey-level co-occurrence statistics (skimage graycomatrix: contrast,
dissimilarity, homogeneity, ASM, correlation at 1, 2, 4, 8 px). Reports, in the feature space
standardised over all real tiles:
  * distances between group centroids (synthetic coral vs real coral vs each landmark class);
  * which real centroid each synthetic coral tile is nearest to;
  * a balanced logistic regression trained on real coral vs real landmarks (leave-one-out on
    the real coral), applied to synthetic coral and synthetic backgrounds;
  * sim-to-real: the same classifier trained on synthetic tiles only (coral vs backgrounds, the
    backgrounds also at the landmarks' browse-like 3 m/px), applied to every real tile.
Writes a PNG mosaic (real tiles beside synthetic coral and backgrounds, same scale and contrast)
and a JSON of the numbers.

    python benchmarks/synth_realism.py [--data ../shared/data] [--out ~/.cache/areoscan/realism]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage.feature import graycomatrix, graycoprops

from areoscan.synth import BACKGROUNDS, Terrain, render_patch

CROP = 160
DISTANCES = (1, 2, 4, 8)
PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "correlation")
NATIVE_SCALE = 0.25  # HiRISE m/px; the real coral tiles are 0.25 m/px data averaged ~3x


def stretch(a: np.ndarray) -> np.ndarray:
    """Same contrast for every tile: 1-99 percentile stretch to [0, 1]."""
    a = a.astype(np.float64)
    lo, hi = np.percentile(a, [1, 99])
    return np.clip((a - lo) / max(hi - lo, 1e-9), 0, 1)


def centre_crop(a: np.ndarray, n: int = CROP) -> np.ndarray:
    r0, c0 = (a.shape[0] - n) // 2, (a.shape[1] - n) // 2
    return a[r0 : r0 + n, c0 : c0 + n]


def spectrum_features(a: np.ndarray) -> list[float]:
    """Slope of the radial power spectrum, dominant wavelength (px), peakedness, anisotropy."""
    n = a.shape[0]
    win = np.outer(np.hanning(n), np.hanning(n))
    p = np.abs(np.fft.fftshift(np.fft.fft2((a - a.mean()) * win))) ** 2
    fy, fx = np.meshgrid(
        np.fft.fftshift(np.fft.fftfreq(n)), np.fft.fftshift(np.fft.fftfreq(n)), indexing="ij"
    )
    f = np.hypot(fy, fx)
    edges = np.geomspace(1 / 64, 1 / 2.5, 25)
    mids = np.sqrt(edges[1:] * edges[:-1])
    radial = np.array(
        [p[(f >= lo) & (f < hi)].mean() for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    )
    fit = (mids >= 1 / 40) & (mids <= 1 / 4)
    slope = np.polyfit(np.log(mids[fit]), np.log(radial[fit]), 1)[0]
    energy = mids**2 * radial  # power per log-frequency in 2-D
    k = int(np.argmax(energy))
    peak_wl = 1 / mids[k]
    peaked = np.log(energy[k] / np.median(energy))
    band = (f > 1 / 40) & (f < 1 / 4)
    ang = np.mod(np.arctan2(fy, fx), np.pi)[band]
    hist = np.bincount((ang / np.pi * 12).astype(int) % 12, weights=p[band], minlength=12)
    aniso = np.log(hist.max() / max(hist.min(), 1e-12))
    return [slope, np.log2(peak_wl), peaked, aniso]


def glcm_features(a: np.ndarray) -> list[float]:
    q = np.clip((a * 32).astype(np.uint8), 0, 31)
    g = graycomatrix(
        q,
        DISTANCES,
        [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4],
        levels=32,
        symmetric=True,
        normed=True,
    )
    out = []
    for prop in PROPS:
        v = graycoprops(g, prop).mean(axis=1)  # average over angles, one per distance
        if prop in ("contrast", "dissimilarity", "ASM"):
            v = np.log(v + 1e-9)
        out.extend(v.tolist())
    return out


FEATURE_NAMES = ["spec_slope", "log2_peak_wavelength_px", "spec_peakedness", "spec_anisotropy"] + [
    f"glcm_{p}_d{d}" for p in PROPS for d in DISTANCES
]


def features(tile: np.ndarray) -> np.ndarray:
    a = centre_crop(stretch(tile))
    return np.array(spectrum_features(a) + glcm_features(a))


def load_real(data: Path, per_class: int, rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    groups: dict[str, list[np.ndarray]] = {}
    coral_dir = data / "brain-coral-tiles"
    groups["real brain coral"] = [
        np.array(Image.open(p).convert("L")) for p in sorted(coral_dir.glob("*.png"))
    ]
    lm = data / "hirise-landmarks-v3"
    by: dict[str, list[str]] = defaultdict(list)
    with open(lm / "manifest.csv") as fh:
        for row in csv.DictReader(fh):
            if row["variant"] == "orig":
                by[row["class_name"]].append(row["file"])
    for cls, files in sorted(by.items()):
        pick = rng.choice(len(files), min(per_class, len(files)), replace=False)
        tiles = []
        for i in pick:
            a = np.array(Image.open(lm / "images" / files[i]).convert("L"))
            if (a == 0).mean() > 0.02:  # tiles cut by the image footprint
                continue
            tiles.append(a)
        groups[f"landmark {cls}"] = tiles
    return groups


def like_real(kind: Terrain, seed: int) -> np.ndarray:
    """A 175-px tile made like the real ones: rendered at 0.25 m/px, averaged 3 x 3 to 0.75 m/px."""
    img, _ = render_patch(kind, 3 * 175, NATIVE_SCALE, seed)
    return img.reshape(175, 3, 175, 3).mean(axis=(1, 3))


def synthetic(n: int, seed0: int) -> dict[str, list[np.ndarray]]:
    groups = {
        "synthetic brain coral": [like_real(Terrain.BRAIN_CORAL, seed0 + i) for i in range(n)]
    }
    for k in BACKGROUNDS:
        groups[f"synthetic {k.slug}"] = [
            like_real(k, seed0 + 1000 + i) for i in range(max(4, n // 2))
        ]
    return groups


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 3000) -> np.ndarray:
    """Class-balanced L2 logistic regression by gradient descent; returns weights (bias last)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    sw = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (sw * (p - y)) + l2 * np.r_[w[:-1], 0] / len(x)
        w -= 0.5 * grad
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))


def mosaic(
    groups: dict[str, list[np.ndarray]], rows: list[tuple[str, list[str], int]], path: Path
) -> None:
    """Sections of tiles (same scale, same contrast stretch), 6 per row, with a caption each."""
    t, gap, per_row, cap = 175, 4, 6, 18
    height = sum(cap + -(-n // per_row) * (t + gap) for _, _, n in rows)
    canvas = Image.new("L", (per_row * (t + gap), height), 0)
    draw = ImageDraw.Draw(canvas)
    y = 0
    for caption, names, n in rows:
        draw.text((4, y + 3), caption, fill=255)
        y += cap
        tiles = [tile for name in names for tile in groups[name]][:n]
        for i, tile in enumerate(tiles):
            a = (stretch(tile[:t, :t]) * 255).astype(np.uint8)
            canvas.paste(
                Image.fromarray(a), ((i % per_row) * (t + gap), y + (i // per_row) * (t + gap))
            )
        y += -(-n // per_row) * (t + gap)
    canvas.save(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache" / "areoscan" / "realism")
    ap.add_argument(
        "--n-synth", type=int, default=24, help="synthetic coral tiles (backgrounds: half each)"
    )
    ap.add_argument("--per-class", type=int, default=60, help="landmark tiles per class at most")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if (
        not (args.data / "brain-coral-tiles").is_dir()
        or not (args.data / "hirise-landmarks-v3").is_dir()
    ):
        print(
            f"synth_realism: real data not found under {args.data} (brain-coral-tiles, hirise-landmarks-v3); "
            "nothing to compare against, skipped",
            file=sys.stderr,
        )
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    groups = load_real(args.data, args.per_class, rng)
    groups.update(synthetic(args.n_synth, 10_000 + args.seed))
    print(f"rendered and loaded tiles in {time.perf_counter() - t0:.1f} s")
    feats = {g: np.array([features(t) for t in tiles]) for g, tiles in groups.items() if tiles}
    real = [g for g in feats if not g.startswith("synthetic")]
    allreal = np.vstack([feats[g] for g in real])
    mu, sd = allreal.mean(0), allreal.std(0) + 1e-9
    z = {g: (f - mu) / sd for g, f in feats.items()}
    cent = {g: v.mean(0) for g, v in z.items()}

    print(f"\ncentroid distances (standardised {len(FEATURE_NAMES)}-feature space):")
    width = max(len(g) for g in z)
    print(" " * width + "".join(f"{g.replace('landmark ', '')[:12]:>13}" for g in real))
    dist = {}
    for g in z:
        row = {r: float(np.linalg.norm(cent[g] - cent[r])) for r in real}
        dist[g] = row
        print(f"{g:<{width}}" + "".join(f"{row[r]:13.2f}" for r in real))

    synth_groups = [g for g in z if g.startswith("synthetic")]
    to_coral = sorted(
        (float(np.linalg.norm(cent[g] - cent["real brain coral"])), g) for g in synth_groups
    )
    print(
        "\nsynthetic groups by distance to the real coral centroid: "
        + ", ".join(f"{g.replace('synthetic ', '')} {d:.2f}" for d, g in to_coral)
    )
    syn = z["synthetic brain coral"]
    nearest = [real[int(np.argmin([np.linalg.norm(v - cent[r]) for r in real]))] for v in syn]
    share_nearest = nearest.count("real brain coral") / len(nearest)
    print(
        f"\nsynthetic coral tiles whose nearest real centroid is real brain coral: {share_nearest:.0%}"
        f"  (others: { {k: nearest.count(k) for k in set(nearest) if k != 'real brain coral'} })"
    )
    # the real coral tiles themselves, leave-one-out centroid
    rc = z["real brain coral"]
    loo_near = 0
    for i in range(len(rc)):
        c = np.delete(rc, i, 0).mean(0)
        d_coral = np.linalg.norm(rc[i] - c)
        d_other = min(np.linalg.norm(rc[i] - cent[r]) for r in real if r != "real brain coral")
        loo_near += d_coral < d_other
    print(
        f"real coral tiles (leave-one-out) nearest to the real coral centroid: {loo_near}/{len(rc)}"
    )
    spread = float(
        np.mean([np.linalg.norm(rc[i] - np.delete(rc, i, 0).mean(0)) for i in range(len(rc))])
    )
    syn_spread = float(np.mean([np.linalg.norm(v - cent["real brain coral"]) for v in syn]))
    print(
        f"typical distance of one real coral tile to the other real tiles' centroid: {spread:.2f}; "
        f"of one synthetic coral tile to the real coral centroid: {syn_spread:.2f}"
    )
    bg_near = {}
    for g in synth_groups:
        if g == "synthetic brain coral":
            continue
        near = [real[int(np.argmin([np.linalg.norm(v - cent[r]) for r in real]))] for v in z[g]]
        bg_near[g] = near.count("real brain coral") / len(near)
    print(
        "synthetic background tiles nearest to the real coral centroid: "
        + ", ".join(f"{g.replace('synthetic ', '')} {v:.0%}" for g, v in bg_near.items())
    )

    # classifier: real coral vs real landmarks
    neg = np.vstack([z[g] for g in real if g != "real brain coral"])
    x = np.vstack([rc, neg])
    y = np.r_[np.ones(len(rc)), np.zeros(len(neg))]
    loo_hits = 0
    for i in range(len(rc)):
        keep = np.ones(len(x), bool)
        keep[i] = False
        loo_hits += predict(logistic(x[keep], y[keep]), rc[i : i + 1])[0] > 0.5
    w = logistic(x, y)
    clf = {g: float((predict(w, v) > 0.5).mean()) for g, v in z.items()}
    print("\nlogistic regression trained on real coral vs real landmarks:")
    print(f"  held-out real coral called coral (leave-one-out): {loo_hits}/{len(rc)}")
    for g in z:
        if g.startswith("synthetic") or g == "real brain coral":
            print(f"  {g:<{width}} called coral: {clf[g]:.0%}")
    neg_rate = float((predict(w, neg) > 0.5).mean())
    print(f"  real landmark tiles called coral (training data): {neg_rate:.1%}")

    # sim-to-real: trained on synthetic tiles only (backgrounds also at a browse-like 3 m/px,
    # the landmarks' scale), applied to the real ones
    coarse = np.array(
        [features(render_patch(k, 175, 3.0, 20_000 + i)[0]) for k in BACKGROUNDS for i in range(6)]
    )
    syn_neg = np.vstack(
        [z[g] for g in synth_groups if g != "synthetic brain coral"] + [(coarse - mu) / sd]
    )
    ws = logistic(np.vstack([syn, syn_neg]), np.r_[np.ones(len(syn)), np.zeros(len(syn_neg))])
    sim2real = {g: float((predict(ws, z[g]) > 0.5).mean()) for g in real}
    print("logistic regression trained on synthetic coral vs synthetic backgrounds only:")
    print(f"  real brain coral called coral: {sim2real['real brain coral']:.0%}")
    lm_rate = float((predict(ws, neg) > 0.5).mean())
    print(
        f"  real landmark tiles called coral: {lm_rate:.1%} "
        "("
        + ", ".join(
            f"{g.replace('landmark ', '')} {v:.0%}"
            for g, v in sim2real.items()
            if g != "real brain coral"
        )
        + ")"
    )

    mosaic(
        groups,
        [
            ("REAL brain coral (12 tiles, ~0.75 m/px)", ["real brain coral"], 12),
            ("SYNTHETIC brain coral (0.75 m/px)", ["synthetic brain coral"], 12),
            (
                "SYNTHETIC backgrounds: mantle, rough, craters, dunes, polygons, boulders (0.75 m/px)",
                [f"synthetic {k.slug}" for k in BACKGROUNDS],
                0,
            ),
        ]
        + [(f"synthetic {k.slug}", [f"synthetic {k.slug}"], 6) for k in BACKGROUNDS],
        args.out / "realism_mosaic.png",
    )
    result = {
        "features": FEATURE_NAMES,
        "n_tiles": {g: len(v) for g, v in z.items()},
        "centroid_distance": dist,
        "synthetic_coral_nearest_real_coral": share_nearest,
        "synthetic_groups_by_distance_to_real_coral": [[g, d] for d, g in to_coral],
        "real_coral_loo_nearest_centroid": f"{loo_near}/{len(rc)}",
        "real_coral_tile_spread": spread,
        "synthetic_coral_tile_to_real_centroid": syn_spread,
        "synthetic_backgrounds_nearest_real_coral": bg_near,
        "classifier_real_coral_loo": f"{loo_hits}/{len(rc)}",
        "classifier_called_coral": clf,
        "classifier_landmarks_called_coral": neg_rate,
        "sim_to_real_called_coral": sim2real,
        "sim_to_real_landmarks_called_coral": lm_rate,
        "feature_means": {
            g: dict(zip(FEATURE_NAMES, np.round(feats[g].mean(0), 3).tolist(), strict=True))
            for g in feats
        },
    }
    (args.out / "realism.json").write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out / 'realism_mosaic.png'} and {args.out / 'realism.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
