"""Splits by observation: train / val / test and K folds, whole groups only.

Use :func:`assign_groups` for any split of labelled items into parts by group (K-fold
cross-validation by observation, a fixed hold-out list), :func:`split_by_group` for a classifier's
(train, val, test) and :func:`split_by_observation` for segmentation tiles (no class per tile: one
class). Every split of the package goes through :func:`assign_groups`, so no observation ever spans
two parts and the same seed gives the same parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

TEST_OK_VARIANTS = ("orig", "r90", "r180", "r270", "fh", "fv")


class Grouped(Protocol):
    """What :func:`split_by_group` needs of a sample set (:class:`~areoscan.data.samples.SampleSet`)."""

    labels: np.ndarray
    groups: list[str]
    variants: list[str]


def assign_groups(
    groups: Sequence[str], labels: np.ndarray, fractions: Sequence[float], seed: int = 0
) -> np.ndarray:
    """Part index (0 .. len(fractions) - 1) of every item; whole groups go to one part,
    stratified by class (``labels``: class index per item). Use it for K-fold cross-validation by
    observation (K equal fractions); :func:`split_by_group` is the three-part (train, val, test) case.

    Groups are visited rarest-class first, biggest first (seeded shuffle among equals), and each
    goes to the part with the most room left for the group's classes, so rare classes reach every
    part when they span enough groups.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels, dtype=np.int64)
    n_cls = int(labels.max(initial=0)) + 1
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    names = list(by_group)
    rng.shuffle(names)
    totals = np.bincount(labels, minlength=n_cls).astype(np.float64)
    comp = {g: np.bincount(labels[by_group[g]], minlength=n_cls) for g in names}
    rare = {g: min(np.flatnonzero(comp[g]), key=lambda c: totals[c]) for g in names}
    # rarest class first; within it, biggest groups first (bin packing: big pieces first)
    names.sort(key=lambda g: (totals[rare[g]], -comp[g][rare[g]]))
    frac = np.asarray(fractions, dtype=np.float64)
    target = frac[:, None] * totals[None, :]
    have = np.zeros_like(target)
    assign: dict[str, int] = {}
    for g in names:
        # unfilled share of each part's target, averaged over this group's classes
        room = ((target - have) / np.maximum(target, 1e-9) * (comp[g] > 0)).sum(axis=1)
        part = int(np.argmax(room + 1e-9 * frac))
        assign[g] = part
        have[part] += comp[g]
    return np.array([assign[g] for g in groups], dtype=np.int64)


def split_by_group(
    samples: Grouped,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    test_variants: Sequence[str] | None = TEST_OK_VARIANTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) index arrays from :func:`assign_groups`. Test keeps only
    ``test_variants`` (brightness-augmented copies are training material, not test material);
    dropped test tiles are not reused.
    """
    split = assign_groups(samples.groups, samples.labels, fractions, seed)
    idx = [np.flatnonzero(split == s) for s in range(3)]
    if test_variants is not None:
        keep = np.array([samples.variants[i] in test_variants for i in idx[2]], dtype=bool)
        idx[2] = idx[2][keep]
    return idx[0], idx[1], idx[2]


def split_by_observation(
    observations: Sequence[str],
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Indices for ``train`` / ``val`` / ``test`` such that no observation spans two splits.

    The one-class case of :func:`assign_groups`: observations go biggest first to the split with
    the most room left, so each split with a positive fraction gets an observation when there are
    enough of them.
    """
    part = assign_groups(observations, np.zeros(len(observations), np.int64), fractions, seed)
    return {
        s: np.flatnonzero(part == k).astype(np.int64)
        for k, s in enumerate(("train", "val", "test"))
    }
