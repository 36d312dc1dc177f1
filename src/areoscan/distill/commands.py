"""The ``areoscan label`` verb: masks from box / point prompts by a promptable teacher.

Use ``areoscan label IMAGES --boxes ANN --format via|coco|yolo --teacher grabcut --out DIR`` to turn
an expert's boxes into instance masks (COCO JSON + class-map PNGs + review overlays) that a decoder
can be trained on. Bad input (missing checkpoint, unreadable image, malformed annotations) exits 2
with one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from areoscan.annotations.commands import add_via_options, read_with_warnings


def register(subparsers: Any) -> None:
    """Add ``label``."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "label",
        help="masks from boxes/points by a promptable teacher (GrabCut or rim offline, or SAM)",
        description="Turn box (and point) annotations into one mask per instance with a promptable "
        "teacher: 'grabcut' (OpenCV, offline, no weights; objects that differ in tone from their "
        "surroundings), 'rim' (offline; a contour along the object's outline inside the box: pits "
        "whose floor looks like the plains), 'ellipse' (the box's inscribed ellipse, the baseline) "
        "or 'sam:CHECKPOINT[:vit_b|vit_l|vit_h]' "
        "(Segment Anything from a checkpoint you supply; nothing is downloaded). Writes "
        "OUT/annotations.json (COCO, masks as RLE), OUT/masks/*.png (class maps: 0 background, "
        "k = category id), OUT/instances/*.png (16-bit instance maps) and OUT/overlays/*.png.",
    )
    p.add_argument(
        "images",
        nargs="+",
        type=Path,
        help="folder holding the annotated images; or 'suggest' then image files or folders",
    )
    p.add_argument("--boxes", type=Path, help="annotation file or folder")
    p.add_argument("--format", choices=("via", "coco", "yolo"), help="annotation format")
    p.add_argument(
        "--teacher",
        default="grabcut",
        help="grabcut | rim | ellipse | sam:CHECKPOINT[:vit_b|vit_l|vit_h] [grabcut]",
    )
    g = p.add_argument_group(
        "label suggest IMAGES --model NAME --k K",
        "rank unlabelled images by the decoder's mean pixel entropy; print the K most uncertain",
    )
    g.add_argument("--model", help="trained decoder (.json, or a folder holding one)")
    g.add_argument("--k", type=int, default=10, help="images to suggest [10]")
    g.add_argument("--embeddings", type=Path, help="embedding cache to read instead of encoding")
    g.add_argument("--labelled", type=Path, help="masks folder: its stems count as labelled")
    p.add_argument("--out", type=Path, help="output folder")
    p.add_argument(
        "--classes", default=None, help="comma-separated class names in order (default: the file's)"
    )
    p.add_argument("--threads", type=int, default=2, help="CPU threads for SAM [2]")
    add_via_options(p)
    p.set_defaults(func=run_label)

    e: argparse.ArgumentParser = subparsers.add_parser(
        "embed",
        help="cache frozen-encoder embeddings of images (one pass per image) for light decoders",
        description="Run a frozen image encoder once per image and cache the embeddings as "
        "memory-mapped .npy files (OUT/<stem>.npy + OUT/cache.json); images already cached with "
        "the same encoder are skipped. Encoders: the shipped brain-coral-unet backbone (default) "
        "or sam:CHECKPOINT[:vit_b|vit_l|vit_h] (SAM's image encoder, the study's setting).",
    )
    e.add_argument("images", nargs="+", type=Path, help="image files or folders (recursive)")
    e.add_argument(
        "--encoder",
        default=None,
        help="shipped slim-unet name or sam:CHECKPOINT[:KIND] [brain-coral-unet]",
    )
    e.add_argument(
        "--input-size",
        type=int,
        default=None,
        help="side (px) images are stretched to for the U-Net encoder [512]; SAM: its own",
    )
    e.add_argument("--out", required=True, type=Path, help="cache folder")
    e.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    e.set_defaults(func=run_embed)


def run_label(args: argparse.Namespace) -> int:
    """Read prompts, build the teacher, write the masks; one summary line; return 0."""
    import torch

    from areoscan.distill.label import label_images
    from areoscan.distill.teachers import make_teacher
    from areoscan.errors import DataError

    torch.set_num_threads(max(1, args.threads))
    if str(args.images[0]) == "suggest" and not args.images[0].exists():
        return run_suggest(args)
    missing = [n for n in ("boxes", "format", "out") if getattr(args, n) is None]
    if missing or len(args.images) != 1:
        raise DataError(
            "usage: areoscan label IMAGES --boxes ANN --format via|coco|yolo --out DIR "
            + (f"(missing --{', --'.join(missing)})" if missing else "(one IMAGES folder)")
        )
    args.images = args.images[0]
    if not args.images.is_dir():
        raise DataError(f"{args.images}: not a folder of images")
    ann = read_with_warnings(args, args.boxes)
    teacher = make_teacher(args.teacher)
    say = (
        (lambda m: print(f"areoscan label: {m}", file=sys.stderr)) if sys.stderr.isatty() else None
    )
    done = label_images(ann, teacher, args.out, progress=say)
    empty = f", {done.empty} empty" if done.empty else ""
    print(f"wrote {done.out}: {done.images} images, {done.masks} masks ({teacher.name}{empty})")
    return 0


def image_files(inputs: list[Path]) -> list[Path]:
    """Image files among ``inputs`` (folders searched recursively), sorted; DataError if none."""
    from areoscan.errors import DataError
    from areoscan.models.classify import IMAGE_SUFFIXES

    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found += sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            found.append(item)
        else:
            raise DataError(f"{item}: no such file or folder")
    if not found:
        raise DataError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {inputs[0]}")
    return found


def run_embed(args: argparse.Namespace) -> int:
    """Embed the images not yet cached; one summary line; return 0."""
    import torch

    from areoscan.distill.cache import build_cache
    from areoscan.distill.encoders import UNET_INPUT, UnetEncoder, make_encoder
    from areoscan.errors import DataError

    torch.set_num_threads(max(1, args.threads))
    files = image_files(args.images)
    spec = args.encoder or ""
    if args.input_size is not None and spec.startswith("sam:"):
        raise DataError(
            "--input-size applies to the U-Net encoder; SAM's is fixed by its checkpoint"
        )
    encoder = (
        make_encoder(spec)
        if spec.startswith("sam:")
        else UnetEncoder(spec or "brain-coral-unet", args.input_size or UNET_INPUT)
    )
    say = (
        (lambda m: print(f"areoscan embed: {m}", file=sys.stderr)) if sys.stderr.isatty() else None
    )
    cache, passes = build_cache(files, encoder, args.out, progress=say)
    print(
        f"wrote {args.out}: {len(cache.images)} embeddings ({encoder.spec}, {cache.channels} x "
        f"{cache.grid} x {cache.grid}), {passes} encoder passes, {len(files) - passes} cached"
    )
    return 0


def run_suggest(args: argparse.Namespace) -> int:
    """``label suggest``: print the K most uncertain unlabelled images (path, score); return 0."""
    from areoscan.distill.suggest import suggest
    from areoscan.errors import DataError

    if args.model is None or len(args.images) < 2 or args.k < 1:
        raise DataError("usage: areoscan label suggest IMAGES --model NAME --k K (K >= 1)")
    files = image_files(args.images[1:])
    labelled = {p.stem for p in args.labelled.glob("*.png")} if args.labelled else set()
    say = (
        (lambda m: print(f"areoscan label suggest: {m}", file=sys.stderr))
        if sys.stderr.isatty()
        else None
    )
    best = suggest(
        args.model, files, args.k, labelled=labelled, embeddings=args.embeddings, progress=say
    )
    for path, score in best:
        print(f"{score:.4f}\t{path}")
    return 0
