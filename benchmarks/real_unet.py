"""U-Nets side by side on real HiRISE tiles: coral recall, the real TAR field, held-out landmarks.

Benchmark (not a unit test) for the issue 19 report (point 6). For each ``--model``:

* real brain-coral tiles (``brain-coral-tiles``, upsampled x3 to 0.25 m/px as training does):
  the share of each tile marked coral, for the 4 tiles no recipe trains on (``r0c4 r0c5 r1c4
  r1c5``) and for all 12;
* the real TAR field ESP_026247_1650 (21 bright-dune tiles of ``hirise-landmarks-v1``, pinned
  out of every training run): the mean share marked coral and the tiles over 50 %;
* real landmark tiles of observations NONE of the models saw in training or validation (the
  intersection of what each card leaves out, so every model is scored on the same tiles): the
  mean share marked coral per dataset (v1, v3) and the share of tiles with >= 10 % marked.

    python benchmarks/real_unet.py --model brain-coral-unet --model NEW.json \
        [--data ../shared/data] [--no-landmarks] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.data.landmarks import landmark_rows, seen_landmark_observations
from areoscan.evaluate.segmenter import coral_tile_shares, positive_share
from areoscan.io.tilefile import read_tile
from areoscan.models.segmenters import load_segmenter

TAR_FIELD = "ESP_026247_1650"
HELD_CORAL = ("r0c4", "r0c5", "r1c4", "r1c5")


def landmark_scores(predictor: Any, rows: list[tuple[Path, str, str]]) -> dict[str, float]:
    """Mean share marked coral over these landmark tiles, and the share of tiles >= 10 % marked."""
    shares = np.array(
        [positive_share(predictor, np.clip(read_tile(p), 1e-3, 1.0)) for p, _, _ in rows]
    )
    if not len(shares):
        return {"tiles": 0, "mean_share": float("nan"), "tiles_ge_10pct": float("nan")}
    return {
        "tiles": len(shares),
        "mean_share": float(shares.mean()),
        "tiles_ge_10pct": float((shares >= 0.10).mean()),
        "tiles_ge_50pct": int((shares >= 0.5).sum()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, help="repeatable")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--no-landmarks",
        action="store_true",
        help="coral tiles and the TAR field only (seconds instead of minutes)",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    preds = [load_segmenter(m, "torch", threads=args.threads) for m in args.model]
    seen = set().union(*(seen_landmark_observations(p.card) for p in preds))
    results: dict[str, Any] = {"left_out_observations": len(seen)}
    sets = {v: landmark_rows(args.data / f"hirise-landmarks-{v}") for v in ("v1", "v3")}
    for name, pred in zip(args.model, preds, strict=True):
        coral = coral_tile_shares(pred, args.data / "brain-coral-tiles")
        held = [v for k, v in coral.items() if any(h in k for h in HELD_CORAL)]
        r: dict[str, Any] = {
            "coral_all_mean": float(np.mean(list(coral.values()))),
            "coral_held_mean": float(np.mean(held)),
            "coral_tiles": coral,
            "tar_field": landmark_scores(pred, [r for r in sets["v1"] if r[2] == TAR_FIELD]),
        }
        for v, rows in sets.items():
            if args.no_landmarks:
                r[f"landmarks_{v}"] = landmark_scores(pred, [])
                continue
            keep = [row for row in rows if row[2] not in seen and row[2] != TAR_FIELD]
            r[f"landmarks_{v}"] = landmark_scores(pred, keep)
        results[name] = r
    print("| model | coral tiles (4 held out) | coral tiles (all 12) | TAR field mean (tiles > 50 %) "
          "| v1 held-out landmarks mean / >= 10 % | v3 held-out landmarks mean / >= 10 % |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.model:
        r = results[name]
        t, v1, v3 = r["tar_field"], r["landmarks_v1"], r["landmarks_v3"]
        print(
            f"| {name} | {r['coral_held_mean']:.3f} | {r['coral_all_mean']:.3f} | "
            f"{t['mean_share']:.3f} ({t['tiles_ge_50pct']} of {t['tiles']}) | "
            f"{v1['mean_share']:.4f} / {v1['tiles_ge_10pct']:.3f} ({v1['tiles']} tiles) | "
            f"{v3['mean_share']:.4f} / {v3['tiles_ge_10pct']:.3f} ({v3['tiles']} tiles) |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
