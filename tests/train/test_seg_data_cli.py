"""split_data: split by observation, then the training split's landmark tiles repeated."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from areoscan.data.seg_samples import SegSet
from areoscan.errors import DataError
from areoscan.train.seg_data_cli import add_landmark_repeat_argument, split_data


def _data(n_obs: int = 20) -> SegSet:
    obs = [f"O{i}" for i in range(n_obs) for _ in range(2)]
    srcs = ["landmark:crater" if i % 2 else "scene-L0" for i in range(n_obs) for _ in range(2)]
    n = len(obs)
    return SegSet(np.zeros((n, 2, 2), np.float32), np.zeros((n, 2, 2), np.uint8), obs, srcs)


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_landmark_repeat_argument(p)
    return argparse.Namespace(**vars(p.parse_args(list(argv))), seed=0, landmarks=["v3"])


def test_only_the_training_split_gets_the_extra_landmark_copies() -> None:
    note: dict[str, object] = {}
    once = split_data(_args(), _data(), {})
    thrice = split_data(_args("--landmark-repeat", "3"), _data(), note)
    n_land = once["train"].sources.count("landmark:crater")
    assert n_land > 0
    assert thrice["train"].sources.count("landmark:crater") == 3 * n_land
    assert thrice["train"].sources.count("scene-L0") == once["train"].sources.count("scene-L0")
    for part in ("val", "test"):
        assert thrice[part].names == once[part].names
    assert note == {"landmark_repeat": 3}


def test_repeating_landmarks_needs_landmarks() -> None:
    args = _args("--landmark-repeat", "2")
    args.landmarks = None
    with pytest.raises(DataError, match="needs --landmarks"):
        split_data(args, _data(), {})
