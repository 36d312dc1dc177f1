"""Synthetic scenes from a command's ``--synth*`` arguments (``train segmenter``, ``evaluate``).

Use :func:`synthesize_from_args` wherever a verb takes the ``--synth*`` arguments of
:mod:`areoscan.train.seg_data_cli` (or its own copy of them, as ``evaluate segmenter``): the
arguments reach :func:`~areoscan.data.seg_samples.synthesize_scenes` in one place.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from areoscan.data.seg_samples import synthesize_scenes


def synthesize_from_args(args: argparse.Namespace, folder: Path, **extra: Any) -> list[Path]:
    """Generate ``args.synth`` scenes into ``folder`` (existing ones are kept); their paths.

    ``args`` holds ``synth``, ``synth_seed``, ``synth_size``, ``synth_scale``, ``synth_coral``,
    ``synth_families`` and ``synth_layout``; extra: further keywords of
    :func:`~areoscan.data.seg_samples.synthesize_scenes` (fixed sun angles, for example).
    """
    return synthesize_scenes(
        folder,
        args.synth,
        seed=args.synth_seed,
        size=tuple(args.synth_size),
        scale=args.synth_scale,
        coral_fraction=args.synth_coral,
        families=args.synth_families,
        layout=args.synth_layout,
        **extra,
    )
