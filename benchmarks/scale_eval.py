"""Scene IoU of a scan at 0.25, 0.5, 0.75 and 1.0 m/px, per coral family (issue 19, point 3).

Benchmark (not a unit test). For each family it takes the scenes ``family_eval.py`` scores
(``family_scenes.py``: layout ``regions``, 12-48 % coral, 0.25 m/px, seeds 7000+) and makes
coarser products of the SAME ground by binning (mean of the valid pixels of each b x b block,
like a HiRISE bin-2 product; b = scale / 0.25: 2, 3, 4): the truth mask is binned with the
majority of the valid pixels. The same coral at every scale, so the columns compare the scale
only. Each product is scanned with :func:`areoscan.scan.scan_image` (default options unless
``--screen-model`` / ``--segment-model`` say otherwise: the scan's own scale policy decides the
levels and resampling) and scored with ``family_eval.scan_one`` (pooled pixel IoU, screen
recall and FP rate).

Prints a Markdown table (family x scale) and writes it with the per-scene rows to ``--out``.

    python benchmarks/scale_eval.py [--scenes 2] [--size 2048 3072] [--scales 0.25 0.5 0.75 1.0]
        [--segment-model DIR|JSON] [--screen-model ...] [--screen-threshold 0]
        [--out ~/.cache/areoscan/scale_eval]

``--screen-threshold 0`` flags every screen tile, so the columns score the segmenter alone (the
whole scene segmented): use it to compare segmenters without the screen's recall in the way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.synth.params import FAMILIES
from family_eval import (  # beside this script (on sys.path when run)
    SEED0,
    scan_one,
    summarise,
    write_results,
)
from family_scenes import family_scenes

BASE_SCALE = 0.25
NODATA = 255


def bin_mean(dn: np.ndarray, b: int) -> np.ndarray:
    """Mean of the valid (non-zero) pixels of each b x b block; 0 where a block has none."""
    h, w = dn.shape[0] // b * b, dn.shape[1] // b * b
    blocks = dn[:h, :w].reshape(h // b, b, w // b, b).astype(np.float64)
    valid = blocks > 0
    n = valid.sum((1, 3))
    s = np.where(valid, blocks, 0).sum((1, 3))
    return np.where(n > 0, np.rint(s / np.maximum(n, 1)), 0).astype(dn.dtype)


def bin_mask(mask: np.ndarray, b: int) -> np.ndarray:
    """Majority label of the valid pixels of each b x b block (255 where none is valid)."""
    h, w = mask.shape[0] // b * b, mask.shape[1] // b * b
    blocks = mask[:h, :w].reshape(h // b, b, w // b, b)
    valid = (blocks != NODATA).sum((1, 3))
    coral = (blocks == 1).sum((1, 3))
    out = (2 * coral >= np.maximum(valid, 1)).astype(np.uint8)
    out[valid == 0] = NODATA
    return out


def binned_scene(img: Path, mask: Path, b: int, folder: Path) -> tuple[Path, Path]:
    """Write the b x b binned product of a scene (JP2 + PDS3 label + truth mask) into ``folder``."""
    import rasterio

    from areoscan.io import Georef, read_label, write_geotiff, write_jp2, write_label

    folder.mkdir(parents=True, exist_ok=True)
    out_img = folder / f"{img.stem}_BIN{b}.JP2"
    out_mask = folder / f"{img.stem}_BIN{b}_mask.tif"
    if out_img.is_file() and out_mask.is_file():
        return out_img, out_mask
    with rasterio.open(img) as ds:
        dn = ds.read(1)
    with rasterio.open(mask) as ds:
        m = ds.read(1)
    lab = read_label(img.with_suffix(".LBL"))
    dn_b, m_b = bin_mean(dn, b), bin_mask(m, b)
    label = dataclasses.replace(
        lab,
        map_scale=lab.map_scale * b,
        lines=dn_b.shape[0],
        line_samples=dn_b.shape[1],
        line_projection_offset=lab.line_projection_offset / b,
        sample_projection_offset=lab.sample_projection_offset / b,
        compressed_file=out_img.name,
    )
    write_label(out_img.with_suffix(".LBL"), label)
    geo = Georef.from_label(label)
    write_geotiff(out_mask, m_b, crs=geo.crs, transform=geo.transform, nodata=NODATA)
    write_jp2(out_img, dn_b, bit_depth=10, lossless=True, threads=1)
    return out_img, out_mask


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=2, help="scenes per family")
    ap.add_argument("--size", type=int, nargs=2, default=(2048, 3072), help="at 0.25 m/px")
    ap.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--positive", type=float, default=0.25, help="coral share of a positive tile")
    ap.add_argument("--screen-model", default=None, help="default: the shipped screen")
    ap.add_argument("--segment-model", default=None, help="default: the shipped U-Net")
    ap.add_argument(
        "--screen-threshold",
        type=float,
        default=None,
        help="0 flags every screen tile: the segmenter alone (default: the card's threshold)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/areoscan/families")
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache/areoscan/scale_eval")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    given = (
        ("screen_model", args.screen_model),
        ("segment_model", args.segment_model),
        ("screen_threshold", args.screen_threshold),
    )
    options = {k: v for k, v in given if v is not None}
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    head = "| family | " + " | ".join(f"{s:g} m/px" for s in args.scales) + " |"
    lines = [head, "|" + " --- |" * (len(args.scales) + 1)]
    for fam in args.families:
        seeds = [SEED0 + 100 * FAMILIES.index(fam) + k for k in range(args.scenes)]
        pairs = family_scenes(args.cache, fam, seeds, tuple(args.size), BASE_SCALE, "regions")
        cells = []
        for scale in args.scales:
            b = int(round(scale / BASE_SCALE))
            scenes = [
                p
                if b == 1
                else binned_scene(*p, b, p[0].parent.with_name(p[0].parent.name + "-bin"))
                for p in pairs
            ]
            out = args.out / "scans" / f"{fam}-{b}"
            rows = [scan_one(img, m, out, args.threads, **options) for img, m in scenes]
            s = summarise(rows, args.positive)
            results.setdefault(fam, {})[f"{scale:g}"] = {"summary": s, "scenes": rows}
            cells.append(f"{s['iou_pooled']:.3f} (recall {s['screen_recall']:.2f})")
            print(fam, scale, json.dumps(s), [r["wall_s"] for r in rows], flush=True)
        lines.append(f"| {fam} | " + " | ".join(cells) + " |")
    write_results(args.out, "scale_eval", "\n".join(lines), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
