"""Hard-negative mining for segmenters: which tiles are mined, and that only training tiles are."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from areoscan.data.seg_samples import IGNORE_INDEX, SegSet
from areoscan.train.seg_mining import marked_shares, mine, mined_tiles, real_negatives
from areoscan.train.segmenter import PhaseRunner, SegTrainConfig


class Bright(nn.Module):
    """Marks every pixel brighter than 0.5 (a stand-in for a trained U-Net)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 0.5) * 50 * self.w


def _set(bright: list[bool], sources: list[str], names: list[str]) -> SegSet:
    images = np.stack([np.full((8, 8), 0.9 if b else 0.1, np.float32) for b in bright])
    targets = np.zeros(images.shape, np.uint8)
    return SegSet(images, targets, [f"O{n}" for n in names], sources, names)


def _train() -> SegSet:
    # 0 synthetic (bright, a scene), 1-2 landmark bright / dark, 3 = 1 listed again
    # (--landmark-repeat), 4-5 real-negative bright / dark
    src = ["scene-L0", "landmark:crater", "landmark:other", "landmark:crater"]
    src += ["real-negative", "real-negative"]
    return _set([True, True, False, True, True, False], src, ["s", "a", "b", "a", "p", "q"])


def test_real_negatives_are_landmark_and_negative_tiles_each_once() -> None:
    assert real_negatives(_train()).tolist() == [False, True, True, False, True, True]


def test_marked_share_counts_valid_pixels_only() -> None:
    data = _set([True, False], ["landmark:x", "landmark:x"], ["a", "b"])
    data.images[0, :, :4] = 0.1  # half the tile dark
    data.targets[0, :2] = IGNORE_INDEX  # two ignored rows: 2 of 8 rows, all half bright
    shares = marked_shares(Bright(), data, np.array([0, 1]), 0.5, batch=1)
    assert shares.tolist() == [0.5, 0.0]


def test_mined_tiles_are_real_negatives_at_or_above_the_share() -> None:
    hard = mined_tiles(Bright(), _train(), 0.5, 0.1)
    assert hard.indices.tolist() == [1, 4]  # never the synthetic 0, nor the copy 3
    assert hard.summary["negatives_scored"] == 4 and hard.summary["false_positives"] == 2
    assert hard.summary["per_source"] == {"landmark:crater": 1, "real-negative": 1}
    assert hard.summary["pixel_threshold"] == 0.5


class SpyRunner(PhaseRunner):
    """A PhaseRunner that records what it would train on instead of training."""

    pools: list[np.ndarray]

    def __call__(self, phases: Any, pool: np.ndarray) -> list[dict[str, Any]]:
        self.pools.append(pool.copy())
        self.phases = phases
        return [{"phase": "all", "epoch": 1, "val_iou": 0.5}]


def test_mining_draws_only_training_tiles_and_leaves_validation_alone() -> None:
    train = _train()
    val = _set([True, False, True], ["landmark:crater", "landmark:x", "scene-L0"], ["v", "w", "z"])
    val.targets[2] = 1  # a coral scene tile, so the threshold can be tuned
    val_before = (val.images.copy(), val.targets.copy(), list(val.names))
    cfg = SegTrainConfig(mine_rounds=2, mine_epochs=3, mine_copies=3, lr=1e-3)
    run = SpyRunner(Bright(), train, val, cfg, progress=False, log=False)
    run.pools = []
    threshold, _, records = mine(run, 0.5, 1.0)
    assert len(records) == 2 and len(run.pools) == 2
    first = run.pools[0]
    assert first.max() < len(train)  # indices into the training split only
    assert np.bincount(first, minlength=len(train)).tolist() == [1, 4, 1, 1, 4, 1]
    assert len(run.pools[1]) == len(first) + 2 * 3  # the same two mined again, 3 more each
    assert records[0]["false_positives"] == 2 and records[0]["draws_per_epoch"] == 12
    assert records[0]["val_flagged_before"] == "1 of 2"  # counted, never drawn
    assert run.phases[0].epochs == 3 and run.phases[0].lr == pytest.approx(5e-4)
    assert np.array_equal(val.images, val_before[0]) and np.array_equal(val.targets, val_before[1])
    assert val.names == val_before[2] and 0.2 <= threshold <= 0.8


def test_mining_stops_when_nothing_is_marked() -> None:
    train = _set([False, False], ["landmark:a", "real-negative"], ["a", "b"])
    run = SpyRunner(Bright(), train, train.subset([0]), SegTrainConfig(mine_rounds=3), False, False)
    run.pools = []
    threshold, iou, records = mine(run, 0.45, 0.7)
    assert (threshold, iou) == (0.45, 0.7) and run.pools == []
    assert len(records) == 1 and records[0]["false_positives"] == 0
