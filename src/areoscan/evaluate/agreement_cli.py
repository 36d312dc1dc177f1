"""``areoscan agreement VIA_DIR``: how far several annotators agree, per class, and their consensus.

Use it on a folder holding one VIA file per rater of the same images (des-ghosts-via's
``common_core``); the work is in :mod:`areoscan.evaluate.agreement`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from areoscan.annotations.commands import add_via_options, via_options


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "agreement",
        help="annotator agreement: rater x rater mask IoU / F1 per class, consensus, heat map",
        description="Read one VIA file per rater from VIA_DIR (same images) and report, per class "
        "and pooled over the images, pixel IoU and F1 for every rater pair and for each rater "
        "against the majority consensus (of all raters, and of the others), instance F1 at IoU "
        "0.5, and write the consensus annotations (COCO JSON) and an IoU heat map (PNG).",
    )
    p.add_argument("via_dir", type=Path, help="folder of VIA JSON files, one per rater")
    p.add_argument("--images", type=Path, default=None, help="folder of the images")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write every figure")
    p.add_argument("--png", type=Path, default=None, help="heat map (default: beside --json)")
    p.add_argument(
        "--consensus", type=Path, default=None, help="write the majority consensus as COCO JSON"
    )
    p.add_argument(
        "--no-instances", action="store_true", help="pixel figures only (skip instance F1)"
    )
    add_via_options(p)
    p.set_defaults(func=run, unlabelled="skip")


def run(args: argparse.Namespace) -> int:
    from areoscan.annotations import write_coco
    from areoscan.evaluate.agreement import agreement, consensus, quiet_read_raters
    from areoscan.evaluate.agreement_report import format_agreement, heat_map_png
    from areoscan.models.card import write_bytes_atomic

    raters, warned = quiet_read_raters(args.via_dir, args.images, via_options(args))
    for line in warned:
        print(f"areoscan: warning: {line}", file=sys.stderr)
    res = agreement(raters, instances=not args.no_instances)
    print(format_agreement(res))
    if args.consensus:
        write_coco(consensus(raters), args.consensus)
        print(f"consensus: {args.consensus}")
    png = args.png or (args.json.with_name(args.json.stem + "_heatmap.png") if args.json else None)
    if png is not None:
        heat_map_png(res, png)
        print(f"heat map: {png}")
    if args.json:
        write_bytes_atomic(args.json, (json.dumps(res, indent=2) + "\n").encode())
    return 0
