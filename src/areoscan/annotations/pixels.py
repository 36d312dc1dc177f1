"""The pixels of an annotated image, as the detectors see them: one float32 band in [0, 1].

Use :func:`load_gray` wherever a detector (learnt or classical) reads an :class:`AnnotatedImage`'s
file, so training, evaluation and baselines scale pixels the same way: 8-bit / 255, 16-bit / 65535,
colour converted to luminance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from areoscan.errors import AnnotationError


def load_gray(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """``(H, W)`` float32 in [0, 1]; ``size`` = the annotations' ``(height, width)``, checked."""
    try:
        with Image.open(path) as im:
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float32) / 65535.0
            elif im.mode == "F":
                arr = np.asarray(im, dtype=np.float32)
            else:
                arr = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except (OSError, ValueError) as exc:
        raise AnnotationError(f"{path}: cannot read the image ({exc})") from exc
    if size is not None and arr.shape != tuple(size):
        raise AnnotationError(
            f"{path}: image is {arr.shape[1]} x {arr.shape[0]} but the annotations say "
            f"{size[1]} x {size[0]}"
        )
    return np.clip(arr, 0.0, 1.0)
