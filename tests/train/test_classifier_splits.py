"""The split adjustments of classifier training: forced test samples and a warm start's test split."""

import numpy as np
import pytest

from areoscan.data.samples import SampleSet
from areoscan.errors import DataError
from areoscan.train.classifier_splits import keep_init_test


def _samples(groups: list[str], sources: list[str]) -> SampleSet:
    n = len(groups)
    return SampleSet(
        images=np.zeros((n, 8, 8), np.float32),
        labels=np.zeros(n, np.int64),
        classes=["background", "brain_coral"],
        keys=[f"k{i}" for i in range(n)],
        groups=groups,
        sources=sources,
    )


def test_keep_init_test_holds_out_what_the_init_model_never_saw():
    s = _samples(
        ["A", "A", "B", "C", "synth/1", "D", "P1", "coral/x"],
        ["v3", "v3", "v3", "v1", "synth", "v1", "pits", "coral"],
    )
    training = {
        "groups": {"train": ["A"], "validation": ["C"]},
        "all_samples": {"per_source": {"v3": 3, "v1": 2, "synth": 1, "coral": 1}},
    }
    parts = (np.array([0, 1, 4]), np.array([2, 6]), np.array([3, 5, 7]))
    tr, va, te = keep_init_test(s, parts, training)
    # B (unseen, was validation) joins test, C (seen, was test) leaves it for train; the pit crop
    # (a source the init model never had) and the synthetic tile keep their parts
    assert te.tolist() == [2, 5, 7]
    assert tr.tolist() == [0, 1, 3, 4] and va.tolist() == [6]
    assert sorted(np.r_[tr, va, te].tolist()) == list(range(len(s)))
    with pytest.raises(DataError, match="no training observations"):
        keep_init_test(s, parts, {})


def test_screen_curve_reports_recall_and_fp_per_source():
    from areoscan.train.classifier_decision import screen_curve

    s = _samples(["a", "b", "c", "d", "e", "f"], ["synth", "synth", "v3", "v3", "pits", "coral"])
    s.labels[:] = [1, 0, 0, 0, 0, 1]
    p = np.array([0.9, 0.6, 0.7, 0.1, 0.2, 0.4])
    curve = screen_curve(p, s, 1, chosen=0.65)
    assert curve["n"] == {
        "recall_synth": 1, "recall_real": 1, "fpr_real": 3,
        "fpr_pits": 1, "fpr_synth": 1, "fpr_v3": 2,
    }  # fmt: skip
    at = {r["threshold"]: r for r in curve["rows"]}
    assert at[0.65] == {
        "threshold": 0.65, "recall_synth": 1.0, "recall_real": 0.0, "fpr_real": round(1 / 3, 4),
        "fpr_pits": 0.0, "fpr_synth": 0.0, "fpr_v3": 0.5,
    }  # fmt: skip
    assert at[0.35]["recall_real"] == 1.0 and at[0.35]["fpr_synth"] == 1.0


def test_source_balance_half_gives_square_root_shares():
    from areoscan.train.classifier import sampling_weights

    labels = np.array([1] * 100 + [1] * 4 + [0] * 50)
    sources = ["synth"] * 100 + ["real"] * 4 + ["landmarks"] * 50
    equal = sampling_weights(labels, 2, 1.0, sources)
    assert equal[100:104].sum() == pytest.approx(equal[:100].sum())  # the default: equal shares
    w = sampling_weights(labels, 2, 1.0, sources, source_balance=0.5)
    assert w[100:104].sum() / w[:100].sum() == pytest.approx(2 / 10)  # sqrt(4) : sqrt(100)
    assert w[:104].sum() == pytest.approx(0.5) and w[104:].sum() == pytest.approx(0.5)
    natural = sampling_weights(labels, 2, 1.0, sources, source_balance=0.0)
    assert np.allclose(natural[:104], natural[0])
