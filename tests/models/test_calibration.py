import numpy as np
import pytest

from areoscan.errors import ModelError
from areoscan.models.calibration import (
    Calibration,
    calibrate_logits,
    confidence_outcome,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    move_threshold,
    reliability,
)
from areoscan.models.card import ModelCard
from areoscan.models.classify import predict_tiles
from areoscan.models.predictor import Predictor


def _overconfident_binary(temperature: float, n: int = 20000, seed: int = 0):
    """Logits that are ``temperature`` times too large: labels drawn from sigmoid(z / T)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 4.0, n)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z / temperature))).astype(np.int64)
    return z[:, None], y


def test_fit_temperature_recovers_the_temperature_of_a_sigmoid():
    logits, labels = _overconfident_binary(2.5)
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.08)


def test_fit_temperature_softmax_three_classes():
    rng = np.random.default_rng(1)
    logits = rng.normal(0.0, 3.0, (20000, 3))
    p = np.exp(logits / 0.5)
    p /= p.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in p])
    assert fit_temperature(logits, labels) == pytest.approx(0.5, rel=0.08)


def test_calibration_lowers_the_ece_and_records_it():
    logits, labels = _overconfident_binary(3.0)
    cal = fit_calibration(logits, labels, fitted_on="test data")
    assert cal.method == "temperature" and cal.n == len(labels)
    assert cal.ece_after < 0.02 < cal.ece_before
    again = Calibration.from_dict(cal.to_dict())
    assert again.temperature == pytest.approx(cal.temperature, abs=1e-5)


def test_ece_and_reliability_of_hand_made_bins():
    p = np.array([0.05, 0.05, 0.95, 0.95])
    o = np.array([0.0, 1.0, 1.0, 1.0])
    r = reliability(p, o, bins=10)
    assert r["count"][0] == 2 and r["count"][9] == 2 and sum(r["count"]) == 4
    assert r["frequency"][0] == 0.5 and r["frequency"][9] == 1.0
    assert np.isnan(r["mean_p"][5])
    # bin 0: |0.05 - 0.5| = 0.45, bin 9: |0.95 - 1| = 0.05, each half the samples
    assert expected_calibration_error(p, o, bins=10) == pytest.approx(0.25)


def test_confidence_outcome_positive_class_and_top_class():
    logits = np.array([[0.0, 2.0], [3.0, 0.0]])
    p, o = confidence_outcome(logits, np.array([1, 1]), positive=1)
    assert p[0] > 0.5 > p[1] and o.tolist() == [1.0, 1.0]
    p, o = confidence_outcome(logits, np.array([1, 1]))
    assert o.tolist() == [1.0, 0.0] and (p > 0.5).all()


def test_calibrate_logits_divides_and_none_is_identity():
    x = np.array([[1.0, -2.0]], np.float32)
    assert calibrate_logits(x, None) is x
    out = calibrate_logits(x, {"method": "temperature", "temperature": 2.0})
    assert out.tolist() == [[0.5, -1.0]]


@pytest.mark.parametrize(
    "bad", [{"method": "isotonic", "temperature": 1.0}, {"method": "temperature"},
            {"method": "temperature", "temperature": -1.0}],
)  # fmt: skip
def test_bad_calibration_is_refused_by_the_card(bad):
    with pytest.raises(ModelError, match="calibration"):
        ModelCard(name="m", task="classification", arch="a", classes=["a", "b"], tile_size=32,
                  calibration=bad)  # fmt: skip


def test_move_threshold_keeps_the_same_tiles():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, (500, 2)).astype(np.float32)
    raw = predict_tiles(lambda x: x, logits, 64)[:, 1]
    cal = {"method": "temperature", "temperature": 2.7}
    calibrated = predict_tiles(lambda x: x, logits, 64, calibration=cal)[:, 1]
    t = 0.3
    moved = move_threshold(t, 2.7)
    assert ((raw >= t) == (calibrated >= moved)).all()
    assert not np.allclose(raw, calibrated)


def test_predictor_applies_the_card_calibration():
    card = ModelCard(name="m", task="classification", arch="a", classes=["bg", "coral"],
                     tile_size=8, calibration={"method": "temperature", "temperature": 4.0})  # fmt: skip
    fixed = np.array([[0.0, 4.0]], np.float32)
    pred = Predictor(lambda x: np.repeat(fixed, len(x), axis=0), card, "torch", pad_multiple=1)
    p = pred(np.zeros((2, 8, 8), np.float32))
    assert p.shape == (2, 2)
    assert p[0, 1] == pytest.approx(1.0 / (1.0 + np.exp(-1.0)), abs=1e-6)
    card.calibration = None
    assert pred(np.zeros((1, 8, 8), np.float32))[0, 1] == pytest.approx(1 / (1 + np.exp(-4.0)))
