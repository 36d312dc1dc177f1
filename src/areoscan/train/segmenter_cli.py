"""``areoscan train segmenter`` and ``areoscan train compare``: train one or every segmenter.

Only argument parsing lives here (the data arguments in :mod:`areoscan.train.seg_data_cli`); the
work is in :mod:`areoscan.train.segmenter`, :mod:`areoscan.data.seg_samples` and
:mod:`areoscan.train.compare_segmenters`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from areoscan.errors import DataError
from areoscan.train.seg_data_cli import (
    add_data_arguments,
    add_landmark_repeat_argument,
    load_data,
    split_data,
)


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """Architecture and optimisation arguments."""
    g = p.add_argument_group("model and training")
    g.add_argument(
        "--encoder",
        default=None,
        help="encoder (timm name for slim-unet, 'tu-<timm name>' for smp)",
    )
    g.add_argument(
        "--decoder-channels",
        type=int,
        nargs="+",
        default=None,
        metavar="C",
        help="decoder channels (slim-unet: 4 values, 1/16 to 1/2, or 3, 1/16 to 1/4 (~1.7x faster); smp unet: 5 values)",
    )
    g.add_argument(
        "--half-stage",
        choices=("sepconv", "add"),
        default=None,
        help="slim-unet's 1/2-resolution decoder stage: concatenate + separable conv (default) "
        "or add two 1x1 projections (~1.2x faster forward pass)",
    )
    g.add_argument("--loss", choices=("bce", "dice", "focal", "dice+focal"), default="dice+focal")
    g.add_argument(
        "--schedule",
        choices=("three", "one"),
        default="three",
        help="three phases (encoder at 1/32, decoder, fine-tune; default) or one plain phase",
    )
    g.add_argument(
        "--epochs", type=int, default=12, help="total epochs over all phases (default 12)"
    )
    g.add_argument("--lr", type=float, default=2e-3, help="learning rate (fine-tune phase: lr/10)")
    g.add_argument("--batch", type=int, default=8, help="tiles per step (default 8)")
    g.add_argument(
        "--seed", type=int, default=0, help="seed for the split, sampling and initial weights"
    )
    g.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    g.add_argument(
        "--max-minutes", type=float, default=None, help="stop after the epoch that passes this time"
    )
    g.add_argument(
        "--infer-tile",
        type=int,
        default=512,
        help="tile size written to the card for the scan (default 512)",
    )
    g.add_argument(
        "--speed-size",
        type=int,
        default=1024,
        help="tile side for the tiles/s figure in the card (default 1024: the 1K×1K column)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    g.add_argument(
        "--coarsen",
        type=float,
        default=0.0,
        metavar="P",
        help="share of training tiles shown as a 1.5-4x coarser product resampled back to the "
        "model's scale (scale robustness; default 0)",
    )
    g.add_argument(
        "--calibrate",
        choices=("temperature",),
        default=None,
        help="fit a temperature on the validation pixels after training and store it in the card "
        "(calibrated probabilities, same decisions; default: raw)",
    )
    g.add_argument("--init", metavar="MODEL",
                   help="start from MODEL's weights where names and shapes match (fine-tuning)")  # fmt: skip


def add_mining_arguments(p: argparse.ArgumentParser) -> None:
    """Hard-negative mining of the training split's real negatives (``train segmenter`` only)."""
    g = p.add_argument_group("hard-negative mining (areoscan.train.seg_mining)")
    g.add_argument(
        "--mine-rounds", type=int, default=0, metavar="R", help="after training, R rounds of: mark "
        "the training split's real negative tiles (--landmarks, --negative-tiles), draw those with "
        ">= --mine-min-share of their pixels marked --mine-copies more times, train on (default 0)",
    )  # fmt: skip
    g.add_argument("--mine-epochs", type=int, default=2, metavar="E",
                   help="epochs per mining round, at half the lr (default 2)")  # fmt: skip
    g.add_argument("--mine-min-share", type=float, default=0.1, metavar="S",
                   help="share of a tile's pixels marked that makes it a hard negative "
                   "(default 0.1, the held-out landmark guard's)")  # fmt: skip
    g.add_argument("--mine-copies", type=int, default=2, metavar="K",
                   help="extra draws per epoch of each mined tile (default 2)")  # fmt: skip


def check_mining(args: argparse.Namespace) -> None:
    """DataError (one line, exit 2) for mining options that cannot work."""
    if getattr(args, "mine_rounds", 0) == 0:
        return
    if args.mine_rounds < 0 or args.mine_epochs < 1 or args.mine_copies < 1:
        raise DataError("--mine-rounds >= 0, --mine-epochs >= 1 and --mine-copies >= 1 please")
    if not 0 < args.mine_min_share <= 1:
        raise DataError(f"--mine-min-share must be in (0, 1], not {args.mine_min_share}")
    if args.landmarks is None and not getattr(args, "negative_tiles", None):
        raise DataError(
            "--mine-rounds needs real negatives to mine: --landmarks or --negative-tiles"
        )


def config_from_args(args: argparse.Namespace, arch: str, classes: list[str]) -> Any:
    """SegTrainConfig for ``arch`` from the parsed arguments."""
    from areoscan.train.segmenter import SegTrainConfig

    kwargs: dict[str, Any] = {}
    if args.encoder:
        kwargs["encoder"] = args.encoder
    if args.decoder_channels and arch in ("slim-unet", "unet"):
        kwargs["decoder_channels"] = list(args.decoder_channels)
    if args.half_stage is not None and arch == "slim-unet":
        kwargs["half_stage"] = args.half_stage
    return SegTrainConfig(
        arch=arch,
        arch_kwargs=kwargs,
        classes=classes,
        loss=args.loss,
        schedule=args.schedule,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch,
        seed=args.seed,
        threads=args.threads,
        max_minutes=args.max_minutes,
        init=getattr(args, "init", None),
        coarsen=getattr(args, "coarsen", 0.0),
        calibrate=getattr(args, "calibrate", None),
        mine_rounds=getattr(args, "mine_rounds", 0),
        mine_epochs=getattr(args, "mine_epochs", 2),
        mine_min_share=getattr(args, "mine_min_share", 0.1),
        mine_copies=getattr(args, "mine_copies", 2),
    )


def _add_scale_arguments(p: argparse.ArgumentParser) -> None:
    """The scale the card records (``train segmenter`` only: ``compare`` writes no card)."""
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="M",
        help="ground scale of the level-0 tiles in m/px, recorded in the card so the scan resamples "
        "other scales to it (default: --synth-scale with --synth, else unknown: give it whenever "
        "--scenes are all at one scale)",
    )
    p.add_argument(
        "--scale-tolerance",
        type=float,
        default=None,
        metavar="X",
        help="recorded in the card: how many times coarser than --scale an image may be and still "
        "be scanned, upsampled to it (default: the scan's)",
    )


def register(subparsers: Any) -> None:
    """Add ``segmenter`` and ``compare`` to ``areoscan train``."""
    p = subparsers.add_parser(
        "segmenter",
        help="train a segmenter (slim U-Net or smp FPN/LinkNet/PSPNet/U-Net) on labelled scenes",
        description="Train a segmenter on tiles of labelled scenes (split by scene, never by tile) and "
        "write NAME.safetensors + NAME.json (card with held-out test metrics) to --out.",
    )
    add_data_arguments(p)
    add_model_arguments(p)
    _add_scale_arguments(p)
    add_landmark_repeat_argument(p)
    add_mining_arguments(p)
    p.add_argument(
        "--arch", choices=("slim-unet", "unet", "fpn", "linknet", "pspnet"), default="slim-unet"
    )
    p.add_argument(
        "--name", default="segmenter", help="model name (file stem; default 'segmenter')"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=run_train)

    c = subparsers.add_parser(
        "compare",
        help="train every segmenter architecture on the same split; write a markdown table + PNG",
        description="Train slim-unet (three-phase and one-phase) and the smp peers on one split by "
        "observation; write compare.md (IoU, F1, P, R, TP/TN/FP/FN %, per-class IoU, tiles/s) "
        "and compare.png (example predictions) to --out.",
    )
    add_data_arguments(c)
    add_model_arguments(c)
    c.add_argument(
        "--archs",
        nargs="+",
        default=["slim-unet", "unet", "fpn", "linknet", "pspnet"],
        help="architectures to train (default: all five)",
    )
    c.add_argument(
        "--both-schedules",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also train every architecture with the other schedule (default: on)",
    )
    c.add_argument("--out", type=Path, required=True, help="output folder")
    c.set_defaults(func=run_compare)


def _command_line() -> str:
    return "areoscan " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def run_train(args: argparse.Namespace) -> int:
    """Entry point of ``areoscan train segmenter``."""
    from areoscan.data.seg_metrics import (
        TABLE_COLUMNS,
        markdown_table,
        per_class_table,
        table_row,
    )
    from areoscan.train.segmenter import fit_and_save

    check_mining(args)
    classes, data, note = load_data(args)
    splits = split_data(args, data, note)
    del data  # the splits hold copies: free the joined tiles before training
    config = config_from_args(args, args.arch, classes)
    print(
        f"tiles: train {len(splits['train'])}, val {len(splits['val'])}, test {len(splits['test'])}",
        flush=True,
    )
    card, metrics = fit_and_save(
        config,
        splits,
        args.out,
        args.name,
        tile_size=args.infer_tile,
        level=0,
        scale_m_per_px=args.scale
        if args.scale is not None
        else (args.synth_scale if args.synth else None),
        scale_tolerance=args.scale_tolerance,
        command=_command_line(),
        data_note=note,
        progress=not args.quiet,
        speed_size=args.speed_size,
    )
    print(f"wrote {args.out / (args.name + '.safetensors')} and {args.out / (args.name + '.json')}")
    if metrics.get("tiles"):
        print(
            markdown_table(
                TABLE_COLUMNS,
                [table_row(card.name, len(splits["train"]), metrics, metrics["tiles_per_s_1k"])],
            )
        )
        print(per_class_table(metrics))
        if metrics.get("collapsed"):
            print(f"WARNING: {metrics['collapsed']}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Entry point of ``areoscan train compare``."""
    from areoscan.train.compare_segmenters import compare

    classes, data, note = load_data(args)
    configs = []
    schedules = ["three", "one"] if args.both_schedules else [args.schedule]
    for arch in args.archs:
        for sched in schedules:
            ns = argparse.Namespace(**{**vars(args), "schedule": sched})
            configs.append(config_from_args(ns, arch, classes))
    report = compare(
        configs,
        data,
        args.out,
        seed=args.seed,
        command=_command_line(),
        infer_tile=args.infer_tile,
        progress=not args.quiet,
        speed_size=args.speed_size,
        data_note=note,
    )
    print(report.read_text())
    return 0
