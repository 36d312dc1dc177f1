"""Weight a kind of segmentation tile up by listing it several times in the training split.

Use :func:`repeat_sources` after the split by observation (never before: a repeated tile must
not reach validation or test more often than once) to make the loss see, e.g., every real
HiRISE landmark tile (source ``landmark:<class>``) K times per epoch: real negatives are a few
hundred tiles among thousands of synthetic ones, and a U-Net fine-tuned on new synthetic families
marked more held-out real landmark tiles than the shipped one (docs/generalisation.md).
"""

from __future__ import annotations

import numpy as np

from areoscan.data.seg_samples import SegSet
from areoscan.errors import DataError


def repeat_sources(data: SegSet, prefix: str, times: int) -> SegSet:
    """``data`` with every tile whose source starts with ``prefix`` listed ``times`` times.

    The other tiles keep their order; the extra copies follow them, so ``times`` = 1 returns the
    set unchanged (the same object). Raises :class:`DataError` for ``times`` < 1.
    """
    if times < 1:
        raise DataError(f"a tile can be listed at least once, not {times} times")
    if times == 1:
        return data
    chosen = np.array([i for i, s in enumerate(data.sources) if s.startswith(prefix)], np.int64)
    if chosen.size == 0:
        return data
    idx = np.concatenate([np.arange(len(data), dtype=np.int64)] + [chosen] * (times - 1))
    return data.subset(idx)
