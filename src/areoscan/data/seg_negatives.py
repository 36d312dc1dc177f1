"""Real coral-free images cut into segmentation tiles with all-background targets.

Use :func:`negative_tiles` (``areoscan train segmenter --negative-tiles DIR``) to add real HiRISE
terrain that holds no brain coral but is not a landmark tile, e.g. the 900 px pit crops of
``../shared/data/hirise-pits-boxes/{train,valid}/images``: each image is cut into ``per_side`` x
``per_side`` tiles at its own resolution, not resized (the pit crops' ground scale is not stated:
they are cut from reduced HiRISE "print" images, see docs/annotations.md, so they teach texture
to reject, not a scale), pixels that are 0 (no data) ignored. Source ``real-negative`` (mined by
:mod:`areoscan.train.seg_mining` with the landmark tiles), observation = the HiRISE observation in
the file name (else the file), so flips and neighbouring crops of one strip share a split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from areoscan.data.samples import cut_tiles
from areoscan.data.seg_samples import IGNORE_INDEX, SegSet
from areoscan.errors import DataError
from areoscan.io.obsid import find_observation_id
from areoscan.io.tilefile import IMAGE_SUFFIXES, read_tile

NEGATIVE_SOURCE = "real-negative"


def negative_tiles(folder: str | Path, tile: int, per_side: int = 2) -> SegSet:
    """Every image of ``folder`` (flat) as ``per_side`` x ``per_side`` all-background tiles of
    ``tile`` px (an image smaller than a tile is resized to it). DataError if it holds none."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder of negative images")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) to use as negatives")
    images, obs, names = [], [], []
    for f in files:
        for where, img in cut_tiles(read_tile(f), tile, per_side).items():
            images.append(img)
            obs.append(find_observation_id(f.name) or f"{root.name}/{f.stem}")
            names.append(f"{f.name}{where}")
    stack = np.stack(images).astype(np.float32)
    targets = np.where(stack > 0, 0, IGNORE_INDEX).astype(np.uint8)
    return SegSet(stack, targets, obs, [NEGATIVE_SOURCE] * len(images), names)
