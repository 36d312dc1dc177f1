"""The SHIPPED models on scenes of each coral family: pixel IoU and screen recall per family.

Benchmark (not a unit test): the honest out-of-family figure for the shipped screen + U-Net,
which were trained on the ``bandpass`` family only. For each family it writes N synthetic scenes
(``family_scenes.py``: JP2 + masks, layout ``regions``, 12-48 % coral, 0.25 m/px by default,
seeds disjoint from every training seed), scans each with :func:`areoscan.scan.scan_image`
(default options, the shipped models) and scores:

* pixel IoU of the published ``mask.tif`` against the truth mask (pooled over the family's
  scenes: sum of TP / sum of TP + FP + FN), and the mean of the per-scene IoUs;
* screen recall: of the screen tiles whose truth coral share is >= ``--positive`` (0.25), the
  share flagged; and the screen's false-positive rate on tiles with no coral.

Prints a Markdown table and writes it, with the per-scene numbers, to ``--out`` (JSON + .md).

    python benchmarks/family_eval.py [--scenes 3] [--size 2048 3072] [--scale 0.25]
        [--cache ~/.cache/areoscan/families] [--out ~/.cache/areoscan/family_eval]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.synth.params import FAMILIES
from family_scenes import family_scenes  # beside this script (on sys.path when run)

SEED0 = 7000  # + 100 x family index: disjoint from the training seeds (100-663) and tests


def screen_truth(mask_path: Path, screen: Any) -> np.ndarray:
    """Truth coral share of each screen window (mask decimated to the screen level)."""
    import rasterio

    with rasterio.open(mask_path) as ds:
        m = ds.read(1)
    f = 2**screen.level
    shares = []
    for w in screen.windows:
        sub = m[w.row * f : (w.row + w.height) * f, w.col * f : (w.col + w.width) * f]
        valid = sub != 255
        shares.append(float((sub[valid] == 1).mean()) if valid.any() else 0.0)
    return np.asarray(shares)


def scan_one(img: Path, mask: Path, out: Path, threads: int, **options: Any) -> dict[str, Any]:
    """Scan one scene (the shipped models unless ``options`` name others); IoU and screen tiles."""
    import areoscan.scan.stages as stages
    from areoscan.scan import compare_masks, scan_image

    captured: list[Any] = []
    orig = stages.screen_image

    def spy(*args: Any, **kw: Any) -> Any:
        scr = orig(*args, **kw)
        captured.append(scr)
        return scr

    stages.screen_image = spy  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        s = scan_image(img, out, threads=threads, progress=False, **options)
        wall = time.perf_counter() - t0
    finally:
        stages.screen_image = orig  # type: ignore[assignment]
    scr = captured[0]
    if s.status == "done":
        cmp = compare_masks(Path(s.output_dir) / "mask.tif", mask)
        n = cmp["n"]
        tp, fp, fn = (cmp[k] * n / 100.0 for k in ("tp_pct", "fp_pct", "fn_pct"))
    else:  # nothing flagged: every coral pixel is missed
        import rasterio

        with rasterio.open(mask) as ds:
            m = ds.read(1)
        tp, fp, fn = 0.0, 0.0, float((m == 1).sum())
    return {
        "scene": img.name,
        "status": s.status,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "iou": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
        "screen_share": screen_truth(mask, scr).tolist(),
        "screen_flags": scr.flags.astype(bool).tolist(),
        "wall_s": round(wall, 1),
    }


def screen_one(img: Path, mask: Path, model: str, threads: int) -> dict[str, Any]:
    """Only the screen of one scene (no segmentation): its tiles' flags and truth coral shares.

    Use it to compare screens cheaply (``--screen-only``); the level is the one the scan would
    read, the scene's pyramid level nearest the model's scale."""
    import math

    import torch

    from areoscan.io import open_raster
    from areoscan.scan.config import ScanConfig
    from areoscan.scan.screen import TileScreen, screen_image

    torch.set_num_threads(threads)
    scr_model = TileScreen(model)
    with open_raster(img, threads=threads) as r:
        scale = r.scale or 0.25
        level = max(0, round(math.log2((scr_model.card.scale_m_per_px or 1.0) / scale)))
        cfg = ScanConfig()  # the scan's screen settings (overlap, minimum valid share)
        scr = screen_image(r, scr_model, level, overlap=cfg.screen_overlap,
                           min_valid=cfg.screen_min_valid)  # fmt: skip
    return {
        "scene": img.name, "tp": 0.0, "fp": 0.0, "fn": 0.0, "iou": float("nan"),
        "screen_share": screen_truth(mask, scr).tolist(),
        "screen_flags": scr.flags.astype(bool).tolist(),
        "screen_probs": scr.probs.round(4).tolist(),
    }  # fmt: skip


def summarise(rows: list[dict[str, Any]], positive: float) -> dict[str, float]:
    """Pooled and mean IoU, screen recall and false-positive rate of one family."""
    tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
    share = np.concatenate([r["screen_share"] for r in rows])
    flags = np.concatenate([r["screen_flags"] for r in rows]).astype(bool)
    pos, neg = share >= positive, share == 0
    return {
        "iou_pooled": tp / max(tp + fp + fn, 1.0),
        "iou_mean": float(np.mean([r["iou"] for r in rows])),
        "screen_recall": float(flags[pos].mean()) if pos.any() else float("nan"),
        "screen_fpr": float(flags[neg].mean()) if neg.any() else float("nan"),
        "positive_tiles": int(pos.sum()),
        "negative_tiles": int(neg.sum()),
    }


def write_results(out: Path, name: str, table: str, results: dict[str, Any]) -> None:
    """Write ``name``.md (the table) and ``name``.json (every number) into ``out``; print the table."""
    (out / f"{name}.md").write_text(table + "\n")
    (out / f"{name}.json").write_text(json.dumps(results, indent=1))
    print(table)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=3, help="scenes per family")
    ap.add_argument("--size", type=int, nargs=2, default=(2048, 3072))
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--layout", default="regions")
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--positive", type=float, default=0.25, help="coral share of a positive tile")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/areoscan/families")
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache/areoscan/family_eval")
    ap.add_argument("--screen-model", default=None, help="another screen than the shipped one")
    ap.add_argument(
        "--screen-only", action="store_true", help="run only the screen (recall / FP rate)"
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    lines = [
        "| family | scenes | pixel IoU (pooled) | mean scene IoU | screen recall | screen FP rate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for fam in args.families:
        i = FAMILIES.index(fam)
        seeds = [SEED0 + 100 * i + k for k in range(args.scenes)]
        pairs = family_scenes(args.cache, fam, seeds, tuple(args.size), args.scale, args.layout)
        if args.screen_only:
            model = args.screen_model or "brain-coral-screen"
            rows = [screen_one(img, m, model, args.threads) for img, m in pairs]
        else:
            opts = {"screen_model": args.screen_model} if args.screen_model else {}
            rows = [
                scan_one(img, m, args.out / "scans" / fam, args.threads, **opts) for img, m in pairs
            ]
        s = summarise(rows, args.positive)
        results[fam] = {"summary": s, "scenes": rows}
        iou = "- | -" if args.screen_only else f"{s['iou_pooled']:.3f} | {s['iou_mean']:.3f}"
        lines.append(
            f"| {fam} | {len(rows)} | {iou} | "
            f"{s['screen_recall']:.3f} ({s['positive_tiles']} tiles) | "
            f"{s['screen_fpr']:.3f} ({s['negative_tiles']} tiles) |"
        )
        print(lines[-1], flush=True)
    write_results(args.out, "family_eval", "\n".join(lines), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
