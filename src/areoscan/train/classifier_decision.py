"""The decision rule of a trained classifier, tuned on its validation split: a screen's threshold
(max F1, a recall floor or a false-positive budget on the real negatives), a multi-class model's
logit offsets (one scalar ``tau`` times the prior shift of weighted sampling), and the card's
probability calibration.

Use :func:`tune_decision` after training (what :func:`areoscan.train.classifier.train_classifier`
does); :func:`bias_sweep` / :func:`choose_tau` and :func:`screen_threshold` to compare decision
rules after the fact (benchmarks/cv_classifier.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from areoscan.data.metrics import confusion_matrix, scores
from areoscan.data.sample_set import SampleSet
from areoscan.errors import DataError
from areoscan.models.calibration import METHODS, calibrate_logits, fit_calibration
from areoscan.models.card import ModelCard
from areoscan.models.classify import softmax
from areoscan.models.export import TorchRunner

if TYPE_CHECKING:
    from areoscan.train.classifier import ClassifierTrainConfig


def prior_shift(train_labels: np.ndarray, draw_weights: np.ndarray, n_classes: int) -> np.ndarray:
    """log(natural class frequency / learnt class frequency): the logit offset that undoes
    weighted sampling (logit adjustment, Menon et al. 2021). ``draw_weights`` is each sample's
    weight in training: its draw probability, times its loss weight if the loss is weighted."""
    natural = np.bincount(train_labels, minlength=n_classes) / max(1, len(train_labels))
    sampled = np.bincount(train_labels, weights=draw_weights, minlength=n_classes)
    sampled = sampled / max(sampled.sum(), 1e-12)
    return np.log(np.maximum(natural, 1e-6) / np.maximum(sampled, 1e-6))


def tune_logit_bias(
    logits: np.ndarray,
    labels: np.ndarray,
    shift: np.ndarray,
    grid: Sequence[float] = (0, 0.25, 0.5, 0.75, 1.0),
) -> tuple[np.ndarray, float]:
    """Offsets ``tau * shift`` with the one scalar ``tau`` that maximises the mean of validation
    accuracy and macro-F1; returns (offsets, tau).

    One parameter, not one per class: with 2–8 validation tiles in the rarest classes, per-class
    offsets fit the validation set and hurt on new observations (measured: test accuracy 0.64 with
    per-class offsets vs 0.72–0.75 with a scalar).
    """
    tau = choose_tau(bias_sweep(logits, labels, shift, grid))
    return tau * shift, tau


def choose_tau(
    sweep: list[dict[str, float]], objective: str = "mean", lowest: float = 0.0
) -> float:
    """The ``tau`` >= ``lowest`` of a :func:`bias_sweep` that maximises ``objective`` ("mean" of
    accuracy and macro-F1, the training rule, or "macro_f1"); ties go to the lowest tau."""
    best_tau, best = 0.0, -1.0
    for row in sweep:
        if row["tau"] < lowest - 1e-9:
            continue
        value = (
            row["macro_f1"]
            if objective == "macro_f1"
            else 0.5 * (row["accuracy"] + row["macro_f1"])
        )
        if value > best + 1e-9:
            best_tau, best = row["tau"], value
    return best_tau


SWEEP_GRID = tuple(np.round(np.arange(-1.0, 1.01, 0.25), 2).tolist())


def bias_sweep(
    logits: np.ndarray, labels: np.ndarray, shift: np.ndarray, grid: Sequence[float] = SWEEP_GRID
) -> list[dict[str, float]]:
    """Accuracy and macro-F1 of ``argmax(logits + tau * shift)`` for each ``tau`` in ``grid``.

    Use it to compare decision rules after training: the card keeps the validation sweep
    (``training.decision.validation_sweep``) so a rule can be re-chosen without retraining
    (``benchmarks/cv_classifier.py --tau-report``). tau = 0 keeps the sampled prior, 1 the natural one
    and -1 (with square-root sampling) a uniform prior.
    """
    n_classes = logits.shape[1]
    rows = []
    for tau in grid:
        sc = scores(confusion_matrix(labels, (logits + tau * shift).argmax(axis=1), n_classes))
        rows.append({"tau": float(tau), "accuracy": sc["accuracy"], "macro_f1": sc["macro_f1"]})
    return rows


def tune_threshold(p_pos: np.ndarray, is_pos: np.ndarray, min_recall: float | None) -> float:
    """Screen threshold on validation data: max F1, or the highest keeping recall >= min_recall."""
    cands = np.unique(np.clip(np.r_[p_pos, 0.5], 1e-4, 0.9999))
    best_t, best_s = 0.5, -1.0
    for t in cands:
        pred = p_pos >= t
        tp = float((pred & is_pos).sum())
        rec = tp / max(1, is_pos.sum())
        f1 = 2 * tp / max(1, pred.sum() + is_pos.sum())
        s = (t if rec >= min_recall else -1.0) if min_recall is not None else f1
        if s > best_s:
            best_t, best_s = float(t), s
    return best_t


def fpr_threshold(p_neg: np.ndarray, max_fpr: float) -> float:
    """The lowest threshold at which at most ``max_fpr`` of the negatives ``p_neg`` are flagged."""
    p = np.sort(np.asarray(p_neg, dtype=np.float64))[::-1]
    k = int(np.floor(max_fpr * len(p) + 1e-9))  # negatives allowed at or above the threshold
    if k >= len(p):
        return 1e-4
    return float(min(np.nextafter(p[k], 1.0), 0.9999))


def screen_threshold(
    p_pos: np.ndarray, val: SampleSet, pos: int, cfg: ClassifierTrainConfig
) -> float:
    """A screen's threshold on validation probabilities: with ``max_fpr``, the lowest one flagging
    at most that share of the *real* validation negatives (every source but ``synth``, or only
    ``cfg.fpr_sources``; all negatives when none is left); else :func:`tune_threshold`
    (``min_recall`` or max F1)."""
    is_pos = val.labels == pos
    if cfg.max_fpr is None:
        return tune_threshold(p_pos, is_pos, cfg.min_recall)
    budget = set(cfg.fpr_sources) if cfg.fpr_sources else None
    real = np.array([src != "synth" and (budget is None or src in budget) for src in val.sources])
    neg = ~is_pos & real if (~is_pos & real).any() else ~is_pos
    return fpr_threshold(p_pos[neg], cfg.max_fpr)


CURVE_GRID = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2).tolist())


def screen_curve(
    p_pos: np.ndarray, val: SampleSet, pos: int, chosen: float | None = None
) -> dict[str, Any]:
    """A screen's validation trade-off at each threshold of :data:`CURVE_GRID` (and ``chosen``):
    recall of the synthetic and of the real positives, false-positive rate of every source's
    negatives and of the real ones pooled (``rows``; ``n``: tiles behind each rate). The card keeps it
    (``training.decision.validation_curve``) so a threshold can be re-chosen by another rule
    without retraining or rebuilding the validation split."""
    is_pos = val.labels == pos
    sources = np.array(val.sources)
    real = sources != "synth"
    groups: dict[str, np.ndarray] = {
        "recall_synth": is_pos & ~real,
        "recall_real": is_pos & real,
        "fpr_real": ~is_pos & real,
    }
    groups.update({f"fpr_{src}": ~is_pos & (sources == src) for src in sorted(set(val.sources))})
    grid = sorted({*CURVE_GRID, *([round(float(chosen), 6)] if chosen is not None else [])})
    rows = []
    for t in grid:
        flagged = p_pos >= t
        row: dict[str, Any] = {"threshold": t}
        for name, sel in groups.items():
            if sel.any():
                row[name] = round(float(flagged[sel].mean()), 4)
        rows.append(row)
    counts = {name: int(sel.sum()) for name, sel in groups.items() if sel.any()}
    return {"n": counts, "rows": rows}


def tune_decision(
    module: Any, card: ModelCard, val: SampleSet, cfg: ClassifierTrainConfig, shift: np.ndarray
) -> dict[str, Any]:
    """Tune the decision on validation (a screen's threshold, else the logit offsets ``tau *
    shift`` in the module) and fit the card's calibration when asked; returns the decision notes."""
    val_logits = raw_logits(module, card, val.images)
    decision: dict[str, Any] = {"rule": "argmax"}
    if cfg.positive_class is not None:
        if cfg.calibrate:
            card.calibration = fit_card_calibration(card, val_logits, val, cfg)
        if cfg.tune:
            pos = card.classes.index(cfg.positive_class)
            p_val = softmax(calibrate_logits(val_logits, card.calibration))[:, pos]
            card.threshold = screen_threshold(p_val, val, pos, cfg)
            decision = {
                "rule": f"p({cfg.positive_class}) >= threshold",
                "min_recall": cfg.min_recall,
                "max_fpr": cfg.max_fpr,
                "validation_curve": screen_curve(p_val, val, pos, card.threshold),
            }
        return decision
    tau = 0.0
    if cfg.tune:
        sweep = bias_sweep(val_logits, val.labels, shift)
        tau = choose_tau(sweep)  # = tune_logit_bias: tau in 0..1 by mean(accuracy, macro-F1)
        module.logit_bias.copy_(torch.as_tensor(tau * shift, dtype=torch.float32))
        decision = {
            "rule": "logits + tau * log(natural / sampled class frequency)",
            "tau": tau,
            "shift": [round(float(v), 6) for v in shift],
            "validation_sweep": sweep,
        }
    if cfg.calibrate:
        card.calibration = fit_card_calibration(card, val_logits + tau * shift, val, cfg)
    return decision


def fit_card_calibration(
    card: ModelCard, logits: np.ndarray, val: SampleSet, cfg: ClassifierTrainConfig
) -> dict[str, Any]:
    """The card's calibration fitted on the validation logits (after any logit offsets)."""
    if cfg.calibrate not in METHODS:
        raise DataError(f"--calibrate must be one of {METHODS}, got {cfg.calibrate!r}")
    pos = card.classes.index(cfg.positive_class) if cfg.positive_class else None
    where = f"validation split, {len(val)} tiles of {len(set(val.groups))} groups"
    return fit_calibration(logits, val.labels, pos, where).to_dict()


def raw_logits(module: Any, card: ModelCard, images: np.ndarray) -> np.ndarray:
    """Raw logits without the stored bias (so tuning starts from zero)."""
    runner = TorchRunner(module, card, channels_last=False)
    saved = module.logit_bias.clone()
    module.logit_bias.zero_()
    try:
        return np.concatenate([runner(images[i : i + 128]) for i in range(0, len(images), 128)])
    finally:
        module.logit_bias.copy_(saved)
