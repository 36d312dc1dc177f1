"""Calibrated probabilities: temperature scaling fitted on validation logits, kept in the model card.

Use :func:`fit_calibration` once after training, on the *validation* split (never the test split):
it finds the temperature ``T`` that minimises the negative log-likelihood of ``softmax(logits / T)``
(``sigmoid(logit / T)`` for a one-output segmenter) and returns a :class:`Calibration` whose
:meth:`~Calibration.to_dict` goes into ``card.calibration``. :func:`calibrate_logits` applies it;
:class:`areoscan.models.predictor.Predictor` (the scan's screen and segmenter) and
:func:`areoscan.models.classify.predict_tiles` (classify, evaluate) call it, so a card with a
calibration gives calibrated probabilities everywhere — ``salience.tif`` and region probabilities
mean what they say — and a card without one gives exactly the old bytes.

Why temperature, not isotonic: one parameter cannot over-fit the few hundred real validation tiles,
it keeps the ranking (and so every recall / FP figure at the card's threshold, which is moved with
it), and it is a division of the logits that the ONNX and torch backends share without new code.
Its limit: it cannot undo a prior shift (a screen trained on balanced draws and used where coral
is rare); the reliability diagram of the calibrated model says how far that goes.

:func:`expected_calibration_error` and :func:`reliability` score probabilities against outcomes
(equal-width bins, the usual ECE); ``benchmarks/calibration_report.py`` draws the diagram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from areoscan.errors import ModelError

METHODS = ("temperature",)
_BETA_RANGE = (0.02, 20.0)  # inverse temperatures searched (T from 0.05 to 50)


@dataclass
class Calibration:
    """A fitted calibration, as stored in ``card.calibration``.

    method: ``"temperature"``; temperature: ``T`` (> 0; logits are divided by it); fitted_on: what
    data it was fitted on (e.g. ``"validation split, 1372 tiles"``); n: samples used; ece_before /
    ece_after: expected calibration error of the positive (or predicted) class on those samples,
    before and after (an in-sample figure; held-out ECE belongs in a report).
    """

    method: str
    temperature: float
    fitted_on: str = ""
    n: int = 0
    ece_before: float | None = None
    ece_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict for ``card.calibration``."""
        return {
            "method": self.method,
            "temperature": round(float(self.temperature), 6),
            "fitted_on": self.fitted_on,
            "n": int(self.n),
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "model card") -> Calibration:
        """Read ``card.calibration`` (ModelError on an unknown method or a bad temperature)."""
        method = data.get("method")
        if method not in METHODS:
            raise ModelError(
                f"{where}: calibration method must be one of {METHODS}, got {method!r}"
            )
        try:
            t = float(data["temperature"])
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{where}: calibration needs a numeric temperature") from None
        if not (np.isfinite(t) and t > 0):
            raise ModelError(f"{where}: calibration temperature must be > 0, got {t}")
        return cls(
            str(method),
            t,
            str(data.get("fitted_on", "")),
            int(data.get("n", 0)),
            data.get("ece_before"),
            data.get("ece_after"),
        )


def calibrate_logits(logits: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    """``logits / T`` for a card's ``calibration`` dict; the input unchanged when it is None.

    Use it between the network and the sigmoid / softmax, on logits of any shape ``(N, K, ...)``.
    """
    if not calibration:
        return logits
    t = Calibration.from_dict(calibration).temperature
    return (np.asarray(logits, dtype=np.float32) / np.float32(t)).astype(np.float32)


def _log_probs(logits: np.ndarray, labels: np.ndarray, beta: float) -> float:
    """Mean negative log-likelihood of ``labels`` under ``beta * logits`` (float64)."""
    z = beta * logits
    if z.shape[1] == 1:  # sigmoid: -log sigmoid(+-z), stably
        s = np.where(labels == 1, z[:, 0], -z[:, 0])
        return float(np.mean(np.logaddexp(0.0, -s)))
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(z)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL of ``labels`` (M,) under logits ``(M, K)``.

    K = 1: one sigmoid logit, labels 0/1 (flatten a segmenter's pixels into M rows, subsampled);
    K >= 2: softmax, labels = class index. The NLL is convex in the inverse temperature, so a
    golden-section search over ``1/T`` in [0.02, 20] finds the optimum to ~1e-4.
    """
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64).ravel()
    if x.ndim != 2 or len(x) != len(y) or len(y) == 0:
        raise ModelError(f"calibration needs logits (M, K) and M labels, got {x.shape}, {y.shape}")
    lo, hi = np.log(_BETA_RANGE[0]), np.log(_BETA_RANGE[1])
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = _log_probs(x, y, np.exp(a)), _log_probs(x, y, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = _log_probs(x, y, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = _log_probs(x, y, np.exp(b))
    return float(1.0 / np.exp(0.5 * (lo + hi)))


def confidence_outcome(
    logits: np.ndarray, labels: np.ndarray, positive: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and 0/1 outcomes to score calibration on.

    K = 1 or a ``positive`` class: p(positive) against "is positive" (what a screen's salience
    shows). Otherwise the top-class confidence against "top class is right" (multi-class ECE).
    """
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64).ravel()
    if x.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-x[:, 0])), (y == 1).astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    if positive is not None:
        return p[:, positive], (y == positive).astype(np.float64)
    top = p.argmax(axis=1)
    return p.max(axis=1), (top == y).astype(np.float64)


def reliability(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Equal-width bins of ``p``: per bin its count, mean probability and observed frequency
    (NaN for empty bins) — the points of a reliability diagram."""
    p = np.clip(np.asarray(p, dtype=np.float64).ravel(), 0.0, 1.0)
    o = np.asarray(outcome, dtype=np.float64).ravel()
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(idx, weights=p, minlength=bins) / count
        freq = np.bincount(idx, weights=o, minlength=bins) / count
    return {
        "lower": (np.arange(bins) / bins).tolist(),
        "count": count.tolist(),
        "mean_p": mean_p.tolist(),
        "frequency": freq.tolist(),
    }


def expected_calibration_error(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """ECE: the count-weighted mean of |mean probability - observed frequency| over the bins."""
    r = reliability(p, outcome, bins)
    count = np.asarray(r["count"])
    if count.sum() == 0:
        raise ModelError("expected calibration error of no samples")
    gap = np.abs(np.nan_to_num(np.asarray(r["mean_p"]) - np.asarray(r["frequency"])))
    return float((count * gap).sum() / count.sum())


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    positive: int | None = None,
    fitted_on: str = "validation split",
    bins: int = 10,
) -> Calibration:
    """Fit a temperature on validation ``logits`` (M, K) / ``labels`` (M,); ECE before and after.

    ``positive``: the class whose probability is scored (a screen's positive class); None for K = 1
    or for top-class ECE.
    """
    t = fit_temperature(logits, labels)
    x = np.asarray(logits, dtype=np.float64)
    before = expected_calibration_error(*confidence_outcome(x, labels, positive), bins)
    after = expected_calibration_error(*confidence_outcome(x / t, labels, positive), bins)
    return Calibration("temperature", t, fitted_on, len(x), round(before, 6), round(after, 6))


def move_threshold(threshold: float, temperature: float) -> float:
    """The calibrated probability at which a binary decision made at raw probability
    ``threshold`` now sits: ``sigmoid(logit(threshold) / T)`` (the same tiles pass it).

    Use it when a trained two-class card is calibrated afterwards, so its recall / FP rate at the
    threshold do not change.
    """
    t = min(max(float(threshold), 1e-7), 1.0 - 1e-7)
    return float(1.0 / (1.0 + np.exp(-np.log(t / (1.0 - t)) / temperature)))
