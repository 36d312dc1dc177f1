"""``areoscan train classifier``: build samples from ``--data`` specs, train, write weights + card."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from areoscan.data.sources import DATA_HELP
from areoscan.errors import DataError
from areoscan.synth.classes import EXTRA_KINDS
from areoscan.synth.commands import add_pattern_arguments
from areoscan.train.classifier_options import add_warm_start_arguments, distil_config


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected three numbers like 0.7,0.15,0.15, got {text!r}"
        ) from None
    if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1) > 1e-6:
        raise argparse.ArgumentTypeError(f"expected three shares summing to 1, got {text!r}")
    return parts  # type: ignore[return-value]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "classifier",
        help="train a tile classifier (safetensors weights + JSON model card)",
        description="Train a tile classifier. Splits are by observation id; class imbalance is handled "
        "by weighted sampling plus decision offsets tuned on validation data; early stopping on "
        "validation macro-F1; seeded and reproducible (same seed and --threads).",
    )
    p.add_argument("--data", action="append", required=True, metavar="SPEC", help=DATA_HELP)
    p.add_argument(
        "--out", required=True, type=Path, help="output folder for NAME.safetensors + NAME.json"
    )
    p.add_argument("--name", default="classifier", help="model name (file stem) [classifier]")
    p.add_argument(
        "--arch",
        default="mobilenetv3_small",
        choices=["small_cnn", "resnet18", "resnet34", "mobilenetv3_small", "mobilenetv3_large"],
    )
    p.add_argument(
        "--mode", default="spatial", choices=["spatial", "dct"], help="input mode [spatial]"
    )
    p.add_argument("--size", type=int, default=128, help="tile size in px (multiple of 32) [128]")
    p.add_argument(
        "--level",
        type=int,
        default=2,
        help="resolution level of JP2 tiles (and recorded in the card) [2]",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        help="ground scale of the tiles in m/px (recorded; synth tiles are rendered at it, default 1.0)",
    )
    p.add_argument(
        "--scale-tolerance",
        type=float,
        default=None,
        help="recorded in the card: how many times coarser than --scale an image may be and still "
        "be scanned, upsampled to it (default: the scan's)",
    )
    p.add_argument(
        "--classes", default=None, help="comma-separated class order (default: order of appearance)"
    )
    p.add_argument(
        "--norm",
        default="tile",
        choices=["tile", "fixed"],
        help="first layer: per-tile standardisation or fixed [tile]",
    )
    _add_recipe_arguments(p)
    _add_decision_arguments(p)
    _add_synth_arguments(p)
    add_warm_start_arguments(p)
    p.add_argument(
        "--fractions",
        type=_fractions,
        default=(0.7, 0.15, 0.15),
        help="train,val,test shares [0.7,0.15,0.15]",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads [2]")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _add_synth_arguments(p: argparse.ArgumentParser) -> None:
    """What ``synth:N`` tiles are made of (coral families, layout, hard-negative kinds) and the
    hard-negative mining of a screen."""
    g = p.add_argument_group("synthetic tiles (synth:N) and hard negatives")
    add_pattern_arguments(g)
    g.add_argument(
        "--synth-negatives",
        nargs="+",
        choices=[t.slug for t in EXTRA_KINDS],
        default=[],
        metavar="KIND",
        help="hard-negative terrain kinds added to the synthetic backgrounds: "
        + ", ".join(t.slug for t in EXTRA_KINDS)
        + " [none]",
    )
    g.add_argument(
        "--mine-rounds",
        type=int,
        default=0,
        help="screens: rounds of hard-negative mining (score the training negatives, add the ones "
        "flagged at the validation threshold as a source of their own, train on) [0]",
    )
    g.add_argument(
        "--mine-epochs", type=int, default=6, help="epochs per mining round, at half the lr [6]"
    )


def _add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    """The training recipe: epochs, optimiser, early stopping, class balance, loss, init."""
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="batches per epoch (default: train size / batch size)",
    )
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument(
        "--patience", type=int, default=8, help="early stopping patience in epochs (0 = off) [8]"
    )
    p.add_argument(
        "--keep",
        choices=["best", "last"],
        default="best",
        help="weights to keep: the best validated epoch (early stopping with --patience) or the "
        "last epoch (no early stopping; for validation sets too small to pick an epoch) [best]",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall-clock budget; best weights so far are kept",
    )
    p.add_argument(
        "--balance",
        type=float,
        default=0.5,
        help="sampling exponent: 0 natural, 1 fully class-balanced [0.5]",
    )
    p.add_argument(
        "--balance-sources",
        action="store_true",
        help="within a class, give every --data source an equal share of draws",
    )
    p.add_argument(
        "--source-balance",
        type=float,
        default=1.0,
        metavar="EXP",
        help="with --balance-sources: a source's share within its class is proportional to its "
        "size^(1 - EXP): 1 equal shares, 0.5 square-root shares, 0 natural [1]",
    )
    p.add_argument(
        "--test-pattern",
        default=None,
        metavar="REGEX",
        help="force samples whose key matches (and their observations) into the test split",
    )
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument(
        "--class-weighted-loss",
        action="store_true",
        help="weight the loss by inverse class frequency (use with --balance 0 to reproduce the "
        "common class-weighted baseline)",
    )
    p.add_argument(
        "--tta",
        type=int,
        default=1,
        choices=[1, 2, 4, 8],
        help="test-time flips/rotations inside the model [1]",
    )


def _add_decision_arguments(p: argparse.ArgumentParser) -> None:
    """How the decision is tuned on validation: a screen's positive class and threshold rule, the
    probability calibration."""
    p.add_argument(
        "--positive-class",
        default=None,
        help="binary screen: class whose probability is thresholded",
    )
    p.add_argument(
        "--min-recall",
        type=float,
        default=None,
        help="screen: highest threshold keeping validation recall >= this",
    )
    p.add_argument(
        "--max-fpr",
        type=float,
        default=None,
        help="screen: lowest threshold flagging at most this share of the real (non-synth) "
        "validation negatives; overrides --min-recall",
    )
    p.add_argument(
        "--fpr-sources",
        nargs="+",
        default=[],
        metavar="SOURCE",
        help="with --max-fpr: only these sources' validation negatives set the budget (source = "
        "landmarks-v3, landmarks-v1, or a folder's name, e.g. 'images' for the pit crops) [all real]",
    )
    p.add_argument(
        "--no-tune",
        dest="tune",
        action="store_false",
        help="do not tune logit offsets / threshold on validation",
    )
    p.add_argument(
        "--calibrate",
        default=None,
        metavar="METHOD",
        help="'temperature': fit a calibration of the probabilities on the validation split and store it in the "
        "card (a screen's threshold is then on the calibrated probability) [off]",
    )


def run(args: argparse.Namespace) -> int:
    from areoscan.data.samples import SynthMix, concat, load_source
    from areoscan.models.registry import save_model
    from areoscan.train.classifier import ClassifierTrainConfig, train_classifier
    from areoscan.train.loop import FitConfig, seed_everything

    if args.size % 32:
        raise DataError(f"--size must be a multiple of 32, got {args.size}")
    distil = distil_config(args)  # option errors before minutes of tile loading
    seed_everything(args.seed, args.threads)
    scale = args.scale if args.scale is not None else 1.0
    mix = SynthMix(tuple(args.synth_families), args.synth_layout, tuple(args.synth_negatives))
    sets = []
    for i, spec in enumerate(args.data):
        s = load_source(
            spec, args.size, level=args.level, scale=scale, seed=args.seed + 1000 * i, mix=mix
        )
        print(f"{spec}: {len(s)} tiles {s.counts()}", file=sys.stderr)
        sets.append(s)
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    samples = concat(sets, classes)
    unknown = sorted(set(args.fpr_sources) - set(samples.sources))
    if unknown:
        raise DataError(
            f"--fpr-sources {unknown}: no such source (have {sorted(set(samples.sources))})"
        )
    if len(samples.classes) < 2:
        raise DataError(
            f"need at least two classes, got {samples.classes}; use DIR@CLASS to label folders"
        )
    cfg = ClassifierTrainConfig(
        name=args.name,
        arch=args.arch,
        mode=args.mode,
        size=args.size,
        level=args.level,
        scale_m_per_px=args.scale,
        scale_tolerance=args.scale_tolerance,
        norm=args.norm,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        balance=args.balance,
        balance_sources=args.balance_sources,
        source_balance=args.source_balance,
        test_pattern=args.test_pattern,
        label_smoothing=args.label_smoothing,
        class_weighted_loss=args.class_weighted_loss,
        tta=args.tta,
        fractions=args.fractions,
        seed=args.seed,
        threads=args.threads,
        positive_class=args.positive_class,
        min_recall=args.min_recall,
        max_fpr=args.max_fpr,
        fpr_sources=tuple(args.fpr_sources),
        tune=args.tune,
        init=args.init,
        init_test=args.init_test,
        calibrate=args.calibrate,
        mine_rounds=args.mine_rounds,
        mine_epochs=args.mine_epochs,
        freeze_stages=args.freeze_stages,
        distil=distil,
        fit=FitConfig(
            epochs=args.epochs,
            lr=args.lr,
            weight_decay=args.weight_decay,
            patience=args.patience,
            max_minutes=args.max_minutes,
            progress=not args.quiet,
            keep=args.keep,
        ),
    )
    command = (
        "areoscan train classifier " + " ".join(shlex.quote(a) for a in sys.argv[3:])
        if sys.argv[1:3] == ["train", "classifier"]
        else ""
    )
    outcome = train_classifier(samples, cfg, command=command)
    weights, card_path = save_model(outcome.module, outcome.card, args.out)
    test = outcome.card.metrics.get("test", {})
    summary = {
        "weights": str(weights),
        "card": str(card_path),
        "best_epoch": outcome.fit.best_epoch,
        "kept_epoch": outcome.fit.kept_epoch,
        "stopped": outcome.fit.stopped,
        "val_macro_f1": round(outcome.fit.history[outcome.fit.kept_epoch - 1]["score"], 4),
        "test_accuracy": round(test.get("accuracy", float("nan")), 4),
        "test_macro_f1": round(test.get("macro_f1", float("nan")), 4),
        "test_majority_accuracy": round(test.get("majority_accuracy", float("nan")), 4),
    }
    print(json.dumps(summary, indent=2))
    if test.get("collapsed"):
        print(f"WARNING: {test['collapsed']}", file=sys.stderr)
    return 0
