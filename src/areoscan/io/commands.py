"""The ``areoscan info IMAGE`` verb: what an image is and where it lies on Mars.

Use it before a scan to check that an image opens, how big it is, how many resolution levels it has,
its bit depth, map scale, projection, corner and centre coordinates and how much of the frame is
footprint (not nodata). ``--json`` prints the same facts as one JSON object for scripts.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _band(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (bands count from 1), not {value}")
    return value


_band.__name__ = "int"


def add_band_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--band N`` (1-based band of a multi-band image) to a verb that opens images."""
    parser.add_argument(
        "--band",
        type=_band,
        default=None,
        help="band to read from a multi-band image (1-based; e.g. a HiRISE COLOR product or an "
        "RGB mosaic); default: the image must have one band",
    )


def register(subparsers: Any) -> None:
    """Add the ``info`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "info",
        help="describe an image: size, levels, bit depth, scale, projection, corners, footprint",
        description=(
            "Open a HiRISE JP2, GeoTIFF/COG, VRT, PDS3 .IMG (or its .LBL) or ISIS3 .cub, local "
            "path or http(s) URL, and print its size, resolution levels, bit depth, body, map "
            "scale, projection, corner and centre lat/lon "
            "(planetocentric, east longitude) and the fraction of pixels inside the footprint. "
            "Exit 2 with one line if the image or its label cannot be read."
        ),
    )
    parser.add_argument(
        "image", help="path or http(s) URL of the image (.JP2, .tif, .vrt, .IMG, .LBL, .cub, .png)"
    )
    add_band_argument(parser)
    parser.add_argument(
        "--label",
        default=None,
        help="detached PDS3 label (default: the .LBL beside the image, if any)",
    )
    parser.add_argument(
        "--require-label",
        action="store_true",
        help="fail (exit 2) when no label is found instead of reporting no georeference",
    )
    parser.add_argument(
        "--footprint-level",
        type=int,
        default=None,
        help="resolution level used to measure the footprint fraction (default: the coarsest "
        "level that is at least 256 px on its short side)",
    )
    parser.add_argument(
        "--lon-range",
        type=int,
        choices=(360, 180),
        default=360,
        help="print east longitudes in 0..360 (default) or -180..180",
    )
    parser.add_argument(
        "--cache-dir", default=None, help="download folder for URLs (default ~/.cache/areoscan)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run_info)


def run_info(args: argparse.Namespace) -> int:
    """Open the image, gather its facts and print them; return 0."""
    from pathlib import Path

    from areoscan.io.info import describe, format_info
    from areoscan.io.raster import open_raster

    cache_dir = Path(args.cache_dir) if args.cache_dir else None
    with open_raster(
        args.image,
        label=args.label,
        cache_dir=cache_dir,
        require_label=args.require_label,
        band=args.band,
    ) as raster:
        facts = describe(raster, footprint_level=args.footprint_level, lon_range=args.lon_range)
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        print(format_info(facts))
    return 0
