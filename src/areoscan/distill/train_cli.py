"""``areoscan train decoder``: the N-shot curve of light decoders on cached embeddings, and the
final decoder trained on every image outside the held-out groups.

Only argument parsing lives here; the work is in :mod:`areoscan.distill.curve`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any


def parse_ns(text: str) -> list[int]:
    """``5,10,15`` -> [5, 10, 15]; DataError for anything else."""
    from areoscan.errors import DataError

    try:
        ns = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise DataError(f"--n {text!r}: expected comma-separated counts such as 5,10,20") from None
    if not ns or ns[0] < 1:
        raise DataError(f"--n {text!r}: counts must be positive")
    return ns


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "decoder",
        help="light decoder on cached embeddings: N-shot curve + final model",
        description="Train light decoders (three transposed-convolution stages) on frozen embeddings "
        "from 'areoscan embed' and class-map masks from 'areoscan label': for each N in --n, --draws "
        "decoders on N random images, scored on held-out observations (mIoU, micro-F1, accuracy, "
        "micro P/R, macro-F1) -> OUT/nshot.md, nshot.png, nshot.json; then one decoder on every "
        "image outside the held-out groups -> OUT/NAME.json + NAME.safetensors.",
    )
    p.add_argument("--embeddings", required=True, type=Path, help="embedding cache folder")
    p.add_argument(
        "--masks", required=True, type=Path, help="folder of class-map PNGs (<stem>.png)"
    )
    p.add_argument("--n", required=True, help="labelled-image counts, e.g. 5,10,15,20,25,50")
    p.add_argument("--draws", type=int, default=3, help="random draws per N [3]")
    p.add_argument("--epochs", type=int, default=100, help="epochs per decoder [100, the study's]")
    p.add_argument(
        "--test-fraction", type=float, default=0.3, help="groups held out for scoring [0.3]"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split [0]")
    p.add_argument(
        "--classes", default=None, help="foreground class names (default: annotations.json)"
    )
    p.add_argument(
        "--merge-classes",
        default=None,
        metavar="NAME",
        help="train a binary decoder: every foreground class becomes NAME",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--name", default="distilled-decoder", help="final model's name")
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="M_PER_PX",
        help="ground scale of the images; the card records it times the images' stretch to the "
        "encoder's input side, so a scan reads tiles at that scale [unknown]",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads [1: the decoders are small; more threads mostly add overhead]",
    )
    p.set_defaults(func=run_decoder)


def run_decoder(args: argparse.Namespace) -> int:
    import torch

    from areoscan.distill.cache import open_cache
    from areoscan.distill.curve import evaluate, nshot_curve, split_by_group, write_curve
    from areoscan.distill.decoder_card import save_decoder
    from areoscan.distill.fewshot import fit_decoder, load_examples
    from areoscan.errors import DataError

    torch.set_num_threads(max(1, args.threads))
    ns = parse_ns(args.n)
    if args.draws < 1 or args.epochs < 1 or not 0 < args.test_fraction < 1:
        raise DataError("--draws and --epochs must be >= 1 and --test-fraction in (0, 1)")
    cache = open_cache(args.embeddings)
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    data = load_examples(cache, args.masks, classes, args.merge_classes)
    pool, test = split_by_group(data, args.test_fraction, args.seed)
    say = (
        (lambda m: print(f"areoscan train decoder: {m}", file=sys.stderr))
        if sys.stderr.isatty()
        else None
    )
    rows = nshot_curve(data, ns, args.draws, pool, test, epochs=args.epochs, progress=say)
    command = "areoscan " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    header = (
        f"# N-shot curve ({cache.encoder} embeddings, {args.epochs} epochs, {args.draws} draws)\n\n"
        f"{len(pool)} training-pool images, {len(test)} held-out images "
        f"({len(set(data.groups[i] for i in test))} groups). Pixel scores at "
        f"{cache.grid * 8} px; background counts in mIoU and accuracy only.\n"
    )
    md, png = write_curve(rows, args.out, header)
    net = fit_decoder(data.subset(pool), epochs=args.epochs, seed=0)
    held = evaluate(net, data.subset(test))
    save_decoder(
        net,
        data.subset(pool),
        cache,
        args.name,
        args.out,
        metrics={"test": held, "nshot": str(md.name)},
        training={
            "images": len(pool),
            "epochs": args.epochs,
            "command": command,
            "stems": [data.stems[i] for i in pool],
        },
        split_rule=f"by observation group, {args.test_fraction:g} of groups held out (seed {args.seed})",
        scale_m_per_px=_input_scale(args.scale, cache),
    )
    print(
        f"wrote {md}, {png} and {args.out / args.name}.json: held-out mIoU {held['miou']:.3f}, "
        f"macro-F1 {held['macro_f1']:.3f} with {len(pool)} images"
    )
    return 0


def _input_scale(scale: float | None, cache: Any) -> float | None:
    """m/px of the encoder's input: the images' scale times their mean stretch to its side."""
    if scale is None:
        return None
    stretch = [
        max(int(v["width"]), int(v["height"])) / cache.input_size for v in cache.images.values()
    ]
    return round(scale * sum(stretch) / len(stretch), 4)
