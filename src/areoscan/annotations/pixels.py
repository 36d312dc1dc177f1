"""The pixels of an annotated image, as the detectors see them: one float32 band in [0, 1].

Use :func:`load_gray` wherever a detector (learnt or classical) reads an :class:`AnnotatedImage`'s
file, so training, evaluation and baselines scale pixels the same way as every other model input
(:func:`areoscan.io.tilefile.read_tile`: the file's declared bit depth, colour to luminance). It adds
the check that the image has the size its annotations say, and reports failures as AnnotationError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from areoscan.errors import AnnotationError, DataError
from areoscan.io.tilefile import read_tile


def load_gray(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """``(H, W)`` float32 in [0, 1]; ``size`` = the annotations' ``(height, width)``, checked."""
    try:
        arr = read_tile(path)
    except DataError as exc:
        raise AnnotationError(str(exc)) from None
    if size is not None and arr.shape != tuple(size):
        raise AnnotationError(
            f"{path}: image is {arr.shape[1]} x {arr.shape[0]} but the annotations say "
            f"{size[1]} x {size[0]}"
        )
    return arr
