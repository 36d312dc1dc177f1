"""repeat_sources: a kind of tile listed K times, the rest untouched."""

from __future__ import annotations

import numpy as np
import pytest

from areoscan.data.seg_repeat import repeat_sources
from areoscan.data.seg_samples import SegSet
from areoscan.errors import DataError


def _set() -> SegSet:
    n = 4
    images = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    return SegSet(
        images,
        np.zeros((n, 2, 2), np.uint8),
        ["S0", "L1", "S2", "L3"],
        ["scene-L0", "landmark:crater", "scene-L1", "landmark:other"],
        ["a", "b", "c", "d"],
    )


def test_every_matching_tile_is_listed_k_times_after_the_others() -> None:
    out = repeat_sources(_set(), "landmark:", 3)
    assert out.names == ["a", "b", "c", "d", "b", "d", "b", "d"]
    assert out.images[:, 0, 0].tolist() == [0, 1, 2, 3, 1, 3, 1, 3]
    assert out.observations.count("L1") == 3 and out.observations.count("S0") == 1


def test_once_or_no_match_returns_the_same_set() -> None:
    data = _set()
    assert repeat_sources(data, "landmark:", 1) is data
    assert repeat_sources(data, "real-coral", 4) is data


def test_fewer_than_one_copy_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="at least once"):
        repeat_sources(_set(), "landmark:", 0)
