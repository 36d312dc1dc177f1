import numpy as np
import pytest

from areoscan.data.metrics import (
    ConfusionAccumulator,
    binary_rates,
    collapse_message,
    confusion_matrix,
    format_confusion,
    scores,
)


def test_confusion_matrix_counts_and_ignore():
    t = np.array([0, 0, 1, 1, 2, 255])
    p = np.array([0, 1, 1, 1, 0, 2])
    cm = confusion_matrix(t, p, 3, ignore_index=255)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    with pytest.raises(ValueError):
        confusion_matrix(t, p, 3)  # 255 is out of range without ignore_index


def test_pixel_arrays_and_accumulator():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, (2, 16, 16))
    p = t.copy()
    p[0, :4] = 1 - p[0, :4]
    acc = ConfusionAccumulator(2)
    acc.update(t[0], p[0])
    acc.update(t[1], p[1])
    assert acc.matrix.sum() == t.size
    assert np.array_equal(acc.matrix, confusion_matrix(t, p, 2))
    s = scores(acc.matrix)
    assert s["accuracy"] == pytest.approx(1 - 64 / 512)


def test_scores_hand_worked():
    # true: 0 x8, 1 x2 ; model predicts class 0 for one of the 1s and class 1 for one 0
    cm = np.array([[7, 1], [1, 1]])
    s = scores(cm, ["bg", "coral"])
    assert s["accuracy"] == pytest.approx(0.8)
    assert s["per_class"]["coral"]["precision"] == pytest.approx(0.5)
    assert s["per_class"]["coral"]["recall"] == pytest.approx(0.5)
    assert s["per_class"]["coral"]["iou"] == pytest.approx(1 / 3)
    assert s["per_class"]["bg"]["f1"] == pytest.approx(14 / 16)
    assert s["macro_f1"] == pytest.approx((14 / 16 + 0.5) / 2)
    assert s["majority_class"] == "bg"
    assert s["majority_accuracy"] == pytest.approx(0.8)
    # majority predictor: bg F1 = 2*8/(8+10), coral F1 = 0
    assert s["majority_macro_f1"] == pytest.approx((16 / 18) / 2)
    assert s["collapsed"] is None


def test_collapse_detected_loudly():
    cm = np.array([[80, 0, 0], [10, 0, 0], [9, 0, 1]])
    msg = collapse_message(cm, ["other", "crater", "dune"])
    assert msg and "COLLAPSED" in msg and "'other'" in msg
    assert scores(cm, ["other", "crater", "dune"])["collapsed"] == msg
    # a test set that is itself all one class does not count as collapse
    assert collapse_message(np.array([[99, 0], [0, 1]])) is None


def test_binary_rates():
    cm = np.array([[85, 5], [2, 8]])
    r = binary_rates(cm)
    assert r["tp_pct"] == pytest.approx(8.0)
    assert r["tn_pct"] == pytest.approx(85.0)
    assert r["fp_pct"] == pytest.approx(5.0)
    assert r["fn_pct"] == pytest.approx(2.0)
    assert r["f1"] == pytest.approx(16 / 23)
    assert r["recall"] == pytest.approx(0.8)
    assert r["fpr"] == pytest.approx(5 / 90)


def test_format_confusion_has_every_class():
    text = format_confusion(np.array([[1, 2], [3, 4]]), ["other", "crater"])
    assert "other" in text and "crater" in text and text.count("\n") == 2
