"""The warm-start options of ``areoscan train classifier``: start from, freeze or distil a model.

Use :func:`add_warm_start_arguments` on the command's parser and :func:`distil_config` to turn the
parsed ``--distil-*`` options into a :class:`~areoscan.train.distil.DistilConfig` (light: torch is
imported only by the training itself).
"""

from __future__ import annotations

import argparse
from typing import Any

from areoscan.errors import DataError


def add_warm_start_arguments(p: argparse.ArgumentParser) -> None:
    """``--init``/``--init-test``, ``--freeze-stages`` and the ``--distil-*`` options."""
    g = p.add_argument_group("warm start (start from, freeze or distil a trained model)")
    g.add_argument(
        "--init",
        default=None,
        metavar="MODEL",
        help="start from this model's weights where names and shapes match (fine-tuning)",
    )
    g.add_argument(
        "--init-test",
        action="store_true",
        help="with --init: test on the init model's held-out observations (those of its sources "
        "it never trained or validated on), so a warm start's test figures stay unseen by both",
    )
    g.add_argument(
        "--freeze-stages",
        type=int,
        default=0,
        metavar="N",
        help="keep the stem and the first N backbone stages fixed (weights and batch-norm "
        "statistics; with --init: the init model's) [0]",
    )
    g.add_argument(
        "--distil-from",
        default=None,
        metavar="MODEL",
        help="teacher model (name or card): on the tiles of --distil-sources the student's "
        "probabilities are pulled toward the teacher's calibrated ones on the same augmented tile "
        "(same classes, tile size, level and scale required) [off]",
    )
    g.add_argument(
        "--distil-weight",
        type=float,
        default=None,
        metavar="W",
        help="weight of the distillation term (its sum over the distilled tiles / batch size) "
        "against the label loss [1]",
    )
    g.add_argument(
        "--distil-temperature",
        type=float,
        default=None,
        metavar="TAU",
        help="softmax temperature of both sides (1: the teacher's calibrated probabilities; "
        "larger: closer to matching logits) [1]",
    )
    g.add_argument(
        "--distil-sources",
        nargs="+",
        default=[],
        metavar="SOURCE",
        help="sources whose tiles are distilled (e.g. landmarks-v3 landmarks-v1 images) "
        "[every real source without a positive tile]",
    )


def distil_config(args: argparse.Namespace) -> Any:
    """The :class:`~areoscan.train.distil.DistilConfig` of ``--distil-*`` (None without
    ``--distil-from``; DataError if another ``--distil-*`` option comes without it)."""
    from areoscan.train.distil import DistilConfig

    others = (args.distil_weight, args.distil_temperature, args.distil_sources or None)
    if args.distil_from is None:
        if any(v is not None for v in others):
            raise DataError(
                "--distil-weight/--distil-temperature/--distil-sources need --distil-from MODEL"
            )
        return None
    return DistilConfig(
        args.distil_from,
        1.0 if args.distil_weight is None else args.distil_weight,
        1.0 if args.distil_temperature is None else args.distil_temperature,
        tuple(args.distil_sources),
    )
