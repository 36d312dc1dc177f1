"""Adjust a classifier's (train, val, test) split after the group split: forced test samples and
the held-out observations of a warm start.

Use :func:`force_test` to hold out chosen samples (``--test-pattern``) and :func:`keep_init_test`
when a run starts from another model's weights (``--init``) and its test figures must stay about
observations *neither* model saw (``--init-test``): the group split of the new data set differs
from the init model's, so without it the new test split would hold observations the init model
trained on.
"""

from __future__ import annotations

import re

import numpy as np

from areoscan.data.samples import SampleSet
from areoscan.errors import DataError

Parts = tuple[np.ndarray, np.ndarray, np.ndarray]


def force_test(samples: SampleSet, parts: Parts, pattern: str) -> Parts:
    """Move samples whose key matches ``pattern`` — and every sample of their groups — to test."""
    rx = re.compile(pattern)
    groups = {samples.groups[i] for i, k in enumerate(samples.keys) if rx.search(k)}
    if not groups:
        raise DataError(
            f"--test-pattern {pattern!r} matches no sample key (keys look like {samples.keys[0]!r})"
        )
    moved = np.array([g in groups for g in samples.groups])
    tr, va, te = parts
    return tr[~moved[tr]], va[~moved[va]], np.union1d(te, np.flatnonzero(moved))


def keep_init_test(samples: SampleSet, parts: Parts, training: dict) -> Parts:
    """Make the test split the init model's held-out observations: every real (non-synth) group of
    a source the init model trained on that it neither trained nor validated on goes to test, and
    every group it did see leaves test for train. ``training`` is the init card's ``training``
    block (``groups`` and ``all_samples.per_source``); groups of sources it never had (e.g. new pit
    crops) keep the ordinary split."""
    seen_groups = training.get("groups") or {}
    seen = set(seen_groups.get("train", [])) | set(seen_groups.get("validation", []))
    known = set((training.get("all_samples") or {}).get("per_source", {})) - {"synth"}
    if not seen or not known:
        raise DataError(
            "--init-test: the init model's card lists no training observations or sources"
        )
    in_seen = np.array([g in seen for g in samples.groups])
    unseen = np.array(
        [
            src in known and src != "synth" and g not in seen
            for g, src in zip(samples.groups, samples.sources, strict=True)
        ]
    )
    tr, va, te = parts
    to_train = te[in_seen[te]]
    tr = np.union1d(tr[~unseen[tr]], to_train)
    va = va[~unseen[va]]
    te = np.union1d(te[~in_seen[te]], np.flatnonzero(unseen))
    return tr, va, te
