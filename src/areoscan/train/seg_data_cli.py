"""The data arguments of ``areoscan train segmenter`` / ``train compare`` and the tiles they choose.

Use :func:`add_data_arguments` on a parser that trains a segmenter, :func:`load_data` to turn the
parsed arguments into tiles (scenes, synthetic scenes, real landmark and coral tiles, hold-outs)
and :func:`split_data` to split them by observation and weight the real landmark negatives up in
the training split (``--landmark-repeat``, ``train segmenter`` only). The verbs themselves are in
:mod:`areoscan.train.segmenter_cli`; the work is in :mod:`areoscan.data.seg_samples`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from areoscan.data.sources import DEFAULT_SCENE_CACHE
from areoscan.errors import DataError
from areoscan.synth.commands import add_pattern_arguments


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments that choose the training / evaluation tiles (shared with ``evaluate``)."""
    g = p.add_argument_group("data")
    g.add_argument(
        "--scenes",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="folders of labelled scenes: X.JP2 + X_mask.tif (+ X_classes.tif for --target terrain)",
    )
    _add_synth_arguments(g)
    g.add_argument(
        "--levels",
        type=int,
        nargs="+",
        default=[0],
        metavar="L",
        help="resolution levels to cut tiles from (default 0; '0 1' adds half resolution)",
    )
    g.add_argument(
        "--tile", type=int, default=256, help="tile side in pixels at each level (default 256)"
    )
    g.add_argument(
        "--max-tiles-per-scene",
        type=int,
        default=None,
        metavar="N",
        help="random subset of tiles per scene and level (default: all)",
    )
    _add_real_arguments(g)


def _add_synth_arguments(g: Any) -> None:
    """The ``--synth*`` arguments: synthetic scenes generated into the first ``--scenes`` folder."""
    g.add_argument(
        "--synth",
        type=int,
        default=0,
        metavar="N",
        help="first generate N synthetic scenes into the first --scenes folder "
        f"(default folder {DEFAULT_SCENE_CACHE}); existing ones are reused",
    )
    g.add_argument(
        "--synth-seed", type=int, default=0, help="seed of the first synthetic scene (default 0)"
    )
    g.add_argument(
        "--synth-size",
        type=int,
        nargs=2,
        default=(2048, 2048),
        metavar=("H", "W"),
        help="synthetic scene size in pixels (default 2048 2048)",
    )
    g.add_argument(
        "--synth-scale",
        type=float,
        default=0.25,
        help="synthetic scene scale in m/px (default 0.25)",
    )
    g.add_argument(
        "--synth-coral",
        type=float,
        default=0.3,
        help="coral fraction of synthetic scenes (default 0.3)",
    )
    add_pattern_arguments(g)


def _add_real_arguments(g: Any) -> None:
    """Real tiles (landmarks, brain coral), the training target and partial masks."""
    g.add_argument(
        "--landmarks",
        type=Path,
        metavar="DIR",
        action="append",
        help="hirise-landmarks-v3 or -v1 folder (repeatable): real tiles of every class as "
        "all-background targets",
    )
    g.add_argument(
        "--landmark-limit",
        type=int,
        default=None,
        metavar="N",
        help="at most N landmark tiles per class and folder (default: all original tiles)",
    )
    g.add_argument(
        "--landmark-holdout",
        type=float,
        default=0.0,
        metavar="F",
        help="keep a fixed share F of the landmark observations (stratified by class, the same "
        "for every run on the same sets) out of training, so every class has strictly held-out "
        "tiles for `evaluate segmenter --landmarks` (listed in the card; default 0: none)",
    )
    g.add_argument(
        "--holdout-observation",
        action="append",
        default=None,
        metavar="OBS",
        help="also keep this landmark observation (e.g. ESP_026247_1650) out of training, whatever "
        "the split; repeatable. Use it for the evidence of a known failure",
    )
    g.add_argument(
        "--coral-tiles",
        type=Path,
        metavar="DIR",
        help="real brain-coral PNG tiles (wholly coral; upsampled x3, 9 crops each) as all-coral "
        "targets",
    )
    g.add_argument(
        "--coral-exclude",
        metavar="REGEX",
        help="leave coral tiles whose file name matches out of training (held out for evaluation)",
    )
    g.add_argument(
        "--coral-repeat", type=int, default=1, metavar="K", help="list each coral crop K times"
    )
    g.add_argument(
        "--negative-tiles",
        type=Path,
        metavar="DIR",
        action="append",
        help="a flat folder of real images holding no brain coral (e.g. the HiRISE pit crops), "
        "each cut into --negative-cut x --negative-cut all-background tiles at its own "
        "resolution (repeatable; source real-negative)",
    )
    g.add_argument(
        "--negative-cut", type=int, default=2, metavar="K", help="tiles per side of each "
        "--negative-tiles image (default 2)",
    )  # fmt: skip
    g.add_argument(
        "--target",
        choices=("binary", "terrain"),
        default="binary",
        help="binary brain coral (default) or one class per synthetic terrain kind",
    )
    g.add_argument(
        "--partial-masks",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="masks outline only part of the coral: inside positive tiles ignore background",
    )


def load_data(args: argparse.Namespace) -> tuple[list[str], Any, dict[str, Any]]:
    """(class names, SegSet, note for the card) from the data arguments."""
    from areoscan.data.seg_samples import class_setup, concat, real_coral_tiles, scenes_dataset

    if args.holdout_observation and args.landmarks is None:
        raise DataError("--holdout-observation needs --landmarks: it names a landmark observation")
    classes, _, _ = class_setup(args.target)
    folders = list(args.scenes or [])
    note: dict[str, Any] = {"levels": list(args.levels), "tile": args.tile}
    if args.synth:
        folders = folders or [DEFAULT_SCENE_CACHE]
        note["synthetic"] = _synthesize(args, folders[0])
    if not folders:
        raise DataError("no scenes given: pass --scenes DIR and/or --synth N")
    parts = [
        scenes_dataset(
            folders,
            args.levels,
            args.tile,
            args.target,
            max_tiles=args.max_tiles_per_scene,
            seed=args.synth_seed,
            partial_masks=args.partial_masks,
        )
    ]
    if args.landmarks is not None:
        parts.extend(_landmark_parts(args, note))
    if getattr(args, "negative_tiles", None):
        parts.extend(_negative_parts(args, note))
    if getattr(args, "coral_tiles", None) is not None:
        if args.target != "binary":
            raise DataError(
                "--coral-tiles adds all-coral tiles, which only a binary target can use"
            )
        parts.append(
            real_coral_tiles(
                args.coral_tiles, args.tile, exclude=args.coral_exclude, repeat=args.coral_repeat
            )
        )
        note["coral_tiles"] = {
            "folder": str(args.coral_tiles),
            "excluded": args.coral_exclude,
            "repeat": args.coral_repeat,
        }
    return classes, concat(parts), note


def _synthesize(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Generate ``--synth`` scenes into ``folder``; their note for the card."""
    from areoscan.data.synth_args import synthesize_from_args

    synthesize_from_args(args, folder)
    return {
        "scenes": args.synth,
        "first_seed": args.synth_seed,
        "size": list(args.synth_size),
        "scale": args.synth_scale,
        "coral_fraction": args.synth_coral,
        "families": list(args.synth_families),
        "layout": args.synth_layout,
    }


def _landmark_parts(args: argparse.Namespace, note: dict[str, Any]) -> list[Any]:
    """All-background tiles of every ``--landmarks`` folder, minus the held-out observations
    (recorded in ``note``)."""
    from areoscan.data.landmarks import held_out_observations
    from areoscan.data.seg_samples import landmark_background_tiles

    if args.target != "binary":
        raise DataError("--landmarks adds all-background tiles, which only a binary target can use")
    parts = []
    pinned = args.holdout_observation or []
    held = held_out_observations(args.landmarks, args.landmark_holdout, pinned, seed=0)
    if held:
        note["landmark_holdout"] = {
            "fraction": args.landmark_holdout,
            "seed": 0,
            "observations": held,
        }
        if pinned:
            note["landmark_holdout"]["pinned"] = sorted(set(pinned))
    for root in args.landmarks:
        parts.append(
            landmark_background_tiles(
                root,
                args.tile,
                limit_per_class=args.landmark_limit,
                seed=args.synth_seed,
                exclude_observations=held,
            )
        )
    note["landmarks"] = [str(r) for r in args.landmarks]
    return parts


def _negative_parts(args: argparse.Namespace, note: dict[str, Any]) -> list[Any]:
    """All-background tiles of every ``--negative-tiles`` folder (recorded in ``note``)."""
    from areoscan.data.seg_negatives import negative_tiles

    if args.target != "binary":
        raise DataError(
            "--negative-tiles adds all-background tiles, which only a binary target can use"
        )
    if args.negative_cut < 1:
        raise DataError(f"--negative-cut must be at least 1, not {args.negative_cut}")
    note["negative_tiles"] = {"folders": [str(f) for f in args.negative_tiles],
                              "per_side": args.negative_cut}  # fmt: skip
    return [negative_tiles(f, args.tile, args.negative_cut) for f in args.negative_tiles]


def add_landmark_repeat_argument(p: argparse.ArgumentParser) -> None:
    """``--landmark-repeat K`` (``train segmenter``: it weights the training split it splits)."""
    p.add_argument(
        "--landmark-repeat",
        type=int,
        default=1,
        metavar="K",
        help="list every real landmark tile of the training split K times (weights the real "
        "negatives up; validation and test keep one copy; default 1)",
    )


def split_data(args: argparse.Namespace, data: Any, note: dict[str, Any]) -> dict[str, Any]:
    """``data`` split by observation (``--seed``), the training split's landmark tiles listed
    ``--landmark-repeat`` times (recorded in ``note``)."""
    from areoscan.data.seg_repeat import repeat_sources
    from areoscan.train.segmenter import prepare_splits

    repeat = getattr(args, "landmark_repeat", 1)
    if repeat != 1 and args.landmarks is None:
        raise DataError("--landmark-repeat needs --landmarks: it repeats real landmark tiles")
    splits = prepare_splits(data, seed=args.seed)
    splits["train"] = repeat_sources(splits["train"], "landmark:", repeat)
    if repeat != 1:
        note["landmark_repeat"] = repeat
    return splits
