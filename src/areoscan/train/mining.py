"""Hard-negative mining for screens: score the training negatives, add the false positives, go on.

Use it through ``areoscan train classifier --mine-rounds R`` (``ClassifierTrainConfig.mine_rounds``):
after the first fit, :func:`false_positives` finds the training negatives — real landmark tiles, pit
crops, synthetic hard-negative kinds — that the screen flags at the threshold tuned on validation
(the operating point the scan will use), :func:`with_hard_negatives` adds them again as a source
of their own (``hard-negatives``: with ``--balance-sources`` they get an equal share of the
background draws, so a few hundred false positives are seen in most batches), and training goes on
for a few epochs at half the learning rate (:func:`mining_fit`). Only the training split is mined:
validation and test observations stay unseen, so held-out figures stay honest.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from areoscan.data.samples import SampleSet, concat
from areoscan.train.loop import FitConfig

HARD_SOURCE = "hard-negatives"
LR_FACTOR = 0.5  # a mining round goes on at this share of the learning rate


@dataclass
class HardNegatives:
    """Indices of the mined training negatives and what they were (for the model card)."""

    indices: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)


def false_positives(
    train: SampleSet, p_positive: np.ndarray, positive: int, threshold: float
) -> HardNegatives:
    """Training negatives whose positive probability ``p_positive`` is >= ``threshold``.

    Copies mined in an earlier round are not mined again (their originals are)."""
    is_neg = (train.labels != positive) & (np.asarray(train.sources) != HARD_SOURCE)
    return flagged(p_positive, is_neg, train.sources, threshold)


def flagged(
    scores: np.ndarray, eligible: np.ndarray, sources: Sequence[str], threshold: float
) -> HardNegatives:
    """The ``eligible`` samples whose score is >= ``threshold``, with a summary for the card.

    Use it to pick hard negatives from any score: a screen's positive probability
    (:func:`false_positives`) or the share of a tile a segmenter marks
    (:mod:`areoscan.train.seg_mining`)."""
    eligible = np.asarray(eligible, bool)
    idx = np.flatnonzero(eligible & (np.asarray(scores) >= threshold))
    summary = {
        "threshold": round(float(threshold), 6),
        "negatives_scored": int(eligible.sum()),
        "false_positives": len(idx),
        "per_source": dict(Counter(sources[int(i)] for i in idx)),
    }
    return HardNegatives(idx, summary)


def with_hard_negatives(train: SampleSet, indices: np.ndarray) -> SampleSet:
    """``train`` plus a copy of the samples at ``indices`` as source ``hard-negatives`` (same
    groups, so they never cross a split)."""
    hard = train.subset(indices)
    hard.sources = [HARD_SOURCE] * len(hard)
    hard.keys = [f"{k}#hard" for k in hard.keys]
    return concat([train, hard])


def mining_fit(base: FitConfig, epochs: int) -> FitConfig:
    """The optimisation of a mining round: ``epochs`` more at half the learning rate, short
    warm-up (the network is already trained)."""
    return dataclasses.replace(
        base, epochs=max(1, int(epochs)), lr=base.lr * LR_FACTOR, warmup_epochs=0.5
    )
