"""``areoscan detect IMAGES_OR_DIRS --model NAME --out DIR``: run a detector on image crops.

Use it to see what a trained detector finds in crops (JPG / PNG / TIFF, or PDS3 / ISIS3 / VRT / JP2
crops through areoscan.io): it writes one COCO JSON of
every detection (masks as RLE for Mask R-CNN) and an overlay PNG per image (boxes, class, score).
Whole JP2 scenes go through ``areoscan scan`` instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".img", ".cub", ".vrt", ".jp2")
#: map-projected products read through areoscan.io (bit depth from the label, any body)
RASTER_ONLY = (".img", ".cub", ".vrt", ".jp2", ".lbl")
MAX_CROP_PX = 64_000_000  # a crop, not a scene: scenes go through 'areoscan scan'
COLOURS = ((255, 64, 64), (64, 200, 255), (255, 200, 0), (120, 255, 120), (255, 120, 255))


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "detect",
        help="run an object detector on image crops: COCO JSON + overlay PNGs",
        description="Run a trained detector on image files (or every image in folders) and write "
        "detections.json (COCO) and one overlay PNG per image into --out.",
    )
    p.add_argument("inputs", nargs="+", type=Path, help="image files or folders")
    p.add_argument("--model", required=True, help="detector: shipped name, folder or .json")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--min-score", type=float, default=0.5, help="draw detections at least this sure [0.5]"
    )
    p.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    p.set_defaults(func=run)


def _images(inputs: list[Path]) -> list[Path]:
    from areoscan.errors import AnnotationError

    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found += sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            found.append(item)
        else:
            raise AnnotationError(f"{item}: no such file or folder")
    if not found:
        raise AnnotationError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {inputs[0]}")
    return found


def load_pixels(path: Path) -> Any:
    """(H, W) float32 in [0, 1] of a crop: PDS3 / ISIS3 / VRT / JP2 through areoscan.io (the same
    [0, 1] scaling as a scan), other files through the annotation tools' reader."""
    from areoscan.annotations.pixels import load_gray

    if path.suffix.lower() not in RASTER_ONLY:
        return load_gray(path)
    from areoscan.errors import AnnotationError
    from areoscan.io import open_raster

    with open_raster(path) as raster:
        h, w = raster.shape
        if h * w > MAX_CROP_PX:
            raise AnnotationError(
                f"{path}: {h} x {w} px is a scene, not a crop; run 'areoscan scan' on it"
            )
        return raster.read(0)


def _overlay(pixels: Any, instances: list[Any], classes: list[str], path: Path) -> None:
    import numpy as np
    from PIL import Image, ImageDraw

    from areoscan.io.atomic import atomic_output

    im = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(im)
    for inst in instances:
        colour = COLOURS[classes.index(inst.label) % len(COLOURS)]
        draw.rectangle(inst.box, outline=colour, width=2)
        draw.text((inst.box[0] + 2, inst.box[1] + 1), f"{inst.label} {inst.score:.2f}", fill=colour)
    with atomic_output(path) as tmp:
        im.save(tmp, format="PNG")


def run(args: argparse.Namespace) -> int:
    from areoscan.annotations import AnnotatedImage, AnnotationSet, default_group, write_coco
    from areoscan.models.detectors import load_detector

    if not 0.0 <= args.min_score <= 1.0:
        print("areoscan: error: --min-score must be in [0, 1]", file=sys.stderr)
        return 2
    paths = _images(args.inputs)
    detector = load_detector(args.model, threads=args.threads)
    out: list[AnnotatedImage] = []
    shown = 0
    for path in paths:
        pixels = load_pixels(path)
        found = detector.detect(pixels)
        sure = [i for i in found if (i.score or 0.0) >= args.min_score]
        shown += len(sure)
        _overlay(pixels, sure, detector.classes, args.out / f"{path.stem}_detections.png")
        height, width = pixels.shape
        out.append(AnnotatedImage(path, height, width, found, default_group(path.name)))
    write_coco(AnnotationSet(list(detector.classes), out), args.out / "detections.json")
    total = sum(len(im.instances) for im in out)
    print(
        f"{len(paths)} images: {total} detections ({shown} at score >= {args.min_score}); "
        f"wrote {args.out / 'detections.json'} and overlays"
    )
    return 0
