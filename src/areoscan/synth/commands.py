"""``areoscan synth scene|tiles|instances``: synthetic HiRISE-like scenes, labelled tile sets and
crops with labelled object instances."""

from __future__ import annotations

import argparse
import json
from typing import Any

from areoscan.synth.params import FAMILIES, LAYOUTS


def add_pattern_arguments(group: Any) -> None:
    """``--synth-families`` / ``--synth-layout``: the coral pattern of scenes a verb generates
    (``train segmenter`` and ``evaluate segmenter`` share them)."""
    group.add_argument(
        "--synth-families",
        nargs="+",
        choices=FAMILIES,
        default=[FAMILIES[0]],
        help="coral pattern families of synthetic scenes, taken in turn (default bandpass;"
        " docs/synth.md)",
    )
    group.add_argument(
        "--synth-layout",
        choices=LAYOUTS,
        default=LAYOUTS[0],
        help="coral layout of synthetic scenes: patches (default) or regions",
    )


def _scene(args: argparse.Namespace) -> int:
    from areoscan.synth.scene import generate_scene

    info = generate_scene(
        args.out,
        (args.size[0], args.size[1]),
        seed=args.seed,
        scale=args.scale,
        coral_fraction=args.coral,
        sun_azimuth=args.sun_azimuth,
        incidence=args.incidence,
        latitude=args.lat,
        longitude=args.lon,
        classes=not args.no_classes,
        strip_rows=args.strip_rows,
        threads=args.threads,
        kinds=args.kinds,
        family=args.family,
        layout=args.layout,
    )
    summary = {
        "image": str(info.image),
        "observation_id": info.observation_id,
        "coral_fraction": round(info.coral_fraction, 4),
        "seconds": {k: round(v, 2) for k, v in info.seconds.items()},
    }
    print(
        json.dumps(summary)
        if args.json
        else f"{info.image}: {args.size[0]} x {args.size[1]} px at {args.scale} m/px, "
        f"coral {info.coral_fraction:.1%}, {info.seconds['total']:.1f} s "
        f"(mask {info.mask.name}, label {info.label.name}, description {info.description.name})"
    )
    return 0


def _tiles(args: argparse.Namespace) -> int:
    from areoscan.synth.tiles import make_tiles

    manifest = make_tiles(
        args.out_dir,
        args.n,
        size=args.size,
        scale=args.scale,
        seed=args.seed,
        kinds=args.kinds,
        masks=not args.no_masks,
        level=args.level,
        bits=args.bits,
        threads=args.threads,
    )
    print(f"{args.n} tiles of {args.size} px in {args.out_dir} (manifest {manifest.name})")
    return 0


def _instances(args: argparse.Namespace) -> int:
    from areoscan.synth.instance_config import InstanceConfig
    from areoscan.synth.instances import make_instance_set

    cfg = InstanceConfig(
        size=args.size,
        scale=args.scale,
        classes=tuple(args.classes),
        image_format=args.image_format,
    )
    ann = make_instance_set(args.out_dir, args.n, cfg, args.seed)
    counts = ", ".join(f"{k} {v}" for k, v in ann.counts().items())
    print(
        f"{args.n} crops of {args.size} px in {args.out_dir} ({counts}; "
        f"annotations.json, scenes.csv)"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add ``synth`` with its ``scene`` and ``tiles`` sub-verbs."""
    text = (
        "Generate synthetic HiRISE-like scenes (JP2 + label + exact masks), labelled tiles, or"
        " crops with labelled object instances (COCO)."
    )
    parser = subparsers.add_parser("synth", help=text, description=text)
    nested = parser.add_subparsers(dest="synth_what", metavar="WHAT")
    nested.required = True
    _add_scene(nested)
    _add_tiles(nested)
    _add_instances(nested)


def _add_scene(nested: Any) -> None:
    sc = nested.add_parser(
        "scene",
        help="write OUT.JP2 + OUT.LBL + OUT_mask.tif + OUT_classes.tif + OUT.json",
        description="Render a synthetic scene (deterministic per seed) and write it like a HiRISE RDR.",
    )
    sc.add_argument("out", metavar="OUT.JP2", help="image to write; the other files go beside it")
    sc.add_argument(
        "--size", type=int, nargs=2, metavar=("H", "W"), required=True, help="rows cols"
    )
    sc.add_argument("--seed", type=int, required=True, help="random seed (same seed, same scene)")
    sc.add_argument("--scale", type=float, default=0.25, help="metres per pixel (default 0.25)")
    sc.add_argument(
        "--coral", type=float, default=0.2, help="brain coral share of the footprint (default 0.2)"
    )
    sc.add_argument(
        "--sun-azimuth",
        type=float,
        default=None,
        help="degrees clockwise from north, towards the sun (default: from the seed, 200-300)",
    )
    sc.add_argument(
        "--incidence",
        type=float,
        default=None,
        help="solar incidence, degrees from zenith (default: from the seed, 40-65)",
    )
    sc.add_argument(
        "--lat", type=float, default=None, help="centre latitude N (default: from the seed, 30-50)"
    )
    sc.add_argument(
        "--lon", type=float, default=None, help="centre east longitude (default: from the seed)"
    )
    sc.add_argument(
        "--kinds",
        nargs="+",
        default=None,
        help="background kinds allowed (default: mantle rough craters dunes polygons boulders;"
        " tars, transverse aeolian ridges, only when named)",
    )
    sc.add_argument(
        "--family",
        choices=FAMILIES,
        default=FAMILIES[0],
        help="brain coral pattern: bandpass (thresholded band-pass labyrinth, the default),"
        " turing (Swift-Hohenberg reaction-diffusion), cells (ridges on Voronoi cell walls)",
    )
    sc.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=LAYOUTS[0],
        help="where the coral is: patches (many patches, the default) or regions"
        " (a few large contiguous regions, like real observations)",
    )
    sc.add_argument("--no-classes", action="store_true", help="skip OUT_classes.tif")
    sc.add_argument(
        "--strip-rows",
        type=int,
        default=None,
        help="rows per strip (rounded up to 2048; does not change the pixels)",
    )
    sc.add_argument("--threads", type=int, default=2, help="render and encoder threads (default 2)")
    sc.add_argument("--json", action="store_true", help="print a JSON summary")
    sc.set_defaults(func=_scene)


def _add_tiles(nested: Any) -> None:
    tl = nested.add_parser(
        "tiles",
        help="write a labelled tile set (class folders, masks, manifest.csv)",
        description="Render tiles of each terrain kind into class folders, for classifier training.",
    )
    tl.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if missing)")
    tl.add_argument(
        "--n", type=int, required=True, help="number of tiles, spread evenly over the kinds"
    )
    tl.add_argument("--size", type=int, default=256, help="tile size in pixels (default 256)")
    tl.add_argument(
        "--scale", type=float, default=1.0, help="metres per pixel rendered (default 1.0)"
    )
    tl.add_argument("--seed", type=int, required=True, help="random seed of the set")
    tl.add_argument(
        "--kinds",
        nargs="+",
        default=None,
        help="terrain kinds and/or 'mixed' (default: brain coral and the six default backgrounds;"
        " name tars to add them)",
    )
    tl.add_argument(
        "--level",
        type=int,
        default=0,
        help="render size*2^level px and decode JP2 level LEVEL, as the screen reads (default 0)",
    )
    tl.add_argument(
        "--bits",
        type=int,
        default=16,
        choices=(8, 16),
        help="PNG bit depth (default 16: 10-bit DN)",
    )
    tl.add_argument("--no-masks", action="store_true", help="do not write per-tile label masks")
    tl.add_argument(
        "--threads", type=int, default=2, help="encoder threads for --level (default 2)"
    )
    tl.set_defaults(func=_tiles)


def _add_instances(nested: Any) -> None:
    from areoscan.synth.instance_config import IMAGE_FORMATS, INSTANCE_CLASSES, InstanceConfig

    default = InstanceConfig()
    ins = nested.add_parser(
        "instances",
        help="write crops with labelled craters / pits / boulders (COCO JSON, exact masks)",
        description="Render HiRISE-like crops whose objects (craters, pits and skylights, boulders)"
        " are labelled as instances (class, exact mask, box) in OUT_DIR/annotations.json (COCO,"
        " RLE), images in OUT_DIR/images, sun and counts in OUT_DIR/scenes.csv: a pretraining set"
        " for 'train detector --format coco'.",
    )
    ins.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if missing)")
    ins.add_argument("--n", type=int, required=True, help="number of crops")
    ins.add_argument(
        "--size", type=int, default=default.size, help=f"crop side in px (default {default.size})"
    )
    ins.add_argument("--seed", type=int, required=True, help="random seed of the set")
    ins.add_argument(
        "--classes",
        nargs="+",
        choices=INSTANCE_CLASSES,
        default=list(default.classes),
        help="object classes drawn and labelled, in category order (default all three)",
    )
    ins.add_argument(
        "--scale",
        type=float,
        default=default.scale,
        help=f"metres per pixel of the relief (default {default.scale})",
    )
    ins.add_argument(
        "--image-format",
        choices=IMAGE_FORMATS,
        default=default.image_format,
        help="png (default) or jp2 (8-bit lossless)",
    )
    ins.set_defaults(func=_instances)
