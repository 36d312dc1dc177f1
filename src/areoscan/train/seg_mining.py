"""Hard-negative mining for segmenters: find the real negative tiles a U-Net marks, weight them up.

Use it through ``areoscan train segmenter --mine-rounds R`` (``SegTrainConfig.mine_rounds``), when
a segmenter marks real coral-free terrain (textured mantle, TAR fields) that the synthetic
negatives do not teach it to reject. After the first fit, :func:`mined_tiles` scores every real
negative tile of the **training** split (HiRISE landmark tiles, source ``landmark:<class>``, and
``--negative-tiles`` crops, source ``real-negative``) by the share of its valid pixels marked at
the threshold tuned on validation; the tiles with at least ``mine_min_share`` marked are drawn
``mine_copies`` more times per epoch and training goes on for ``mine_epochs`` at half the learning
rate (:data:`areoscan.train.mining.LR_FACTOR`), the best validation state of the round kept.
Validation and test tiles are never mined nor drawn; the validation ones are only counted
(``val_flagged``) so the card says whether a round carried over to unseen observations. The
selection is the screen's (:func:`areoscan.train.mining.flagged`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from areoscan.data.seg_negatives import NEGATIVE_SOURCE
from areoscan.data.seg_samples import IGNORE_INDEX, SegSet
from areoscan.train.mining import LR_FACTOR, HardNegatives, flagged
from areoscan.train.phases import Phase, one_phase
from areoscan.train.seg_predict import predict_probs

if TYPE_CHECKING:  # no import cycle: segmenter imports this module lazily
    from areoscan.train.segmenter import PhaseRunner, SegTrainConfig

REAL_NEGATIVE_PREFIXES = ("landmark:", NEGATIVE_SOURCE)


def real_negatives(data: SegSet) -> np.ndarray:
    """Boolean mask of the real negative tiles of ``data``, each tile once: a tile listed several
    times (``--landmark-repeat``) counts at its first index only."""
    seen: set[tuple[str, str, str]] = set()
    out = np.zeros(len(data), bool)
    for i, src in enumerate(data.sources):
        key = (src, data.observations[i], data.names[i] if data.names else str(i))
        if src.startswith(REAL_NEGATIVE_PREFIXES) and key not in seen:
            seen.add(key)
            out[i] = True
    return out


def marked_shares(
    model: Any, data: SegSet, idx: np.ndarray, threshold: float, batch: int = 32
) -> np.ndarray:
    """For each tile at ``idx``: the share of its valid pixels (target not ignored) whose coral
    probability is >= ``threshold``. Predicts ``batch`` tiles at a time (bounded memory)."""
    shares = np.zeros(len(idx), np.float64)
    for s in range(0, len(idx), batch):
        part = np.asarray(idx[s : s + batch])
        probs = predict_probs(model, data.images[part])[:, 0]
        valid = data.targets[part] != IGNORE_INDEX
        marked = ((probs >= threshold) & valid).sum((1, 2))
        shares[s : s + len(part)] = marked / np.maximum(valid.sum((1, 2)), 1)
    return shares


def mined_tiles(model: Any, data: SegSet, threshold: float, min_share: float) -> HardNegatives:
    """The real negative tiles of ``data`` with at least ``min_share`` of their pixels marked at
    ``threshold`` (indices into ``data``; summary for the card)."""
    eligible = real_negatives(data)
    idx = np.flatnonzero(eligible)
    scores = np.zeros(len(data), np.float64)
    scores[idx] = marked_shares(model, data, idx, threshold)
    hard = flagged(scores, eligible, data.sources, min_share)
    hard.summary["pixel_threshold"] = round(float(threshold), 6)
    return hard


def mining_phases(config: SegTrainConfig) -> list[Phase]:
    """The schedule of one mining round: ``mine_epochs`` of plain training at half the lr."""
    return one_phase(max(1, config.mine_epochs), config.lr * LR_FACTOR)


def _val_flagged(run: PhaseRunner, threshold: float) -> str:
    """'k of n': validation real negative tiles at or above the mining share (counted only)."""
    s = mined_tiles(run.model, run.val, threshold, run.config.mine_min_share).summary
    return f"{s['false_positives']} of {s['negatives_scored']}"


def mine(
    run: PhaseRunner, threshold: float, best_iou: float
) -> tuple[float, float, list[dict[str, Any]]]:
    """``run.config.mine_rounds`` rounds of mining on ``run``'s training split, starting from the
    tuned ``threshold`` and its validation IoU; return the final (threshold, validation IoU, one
    record per round)."""
    cfg = run.config
    pool = np.arange(len(run.train), dtype=np.int64)
    records: list[dict[str, Any]] = []
    for r in range(cfg.mine_rounds):
        hard = mined_tiles(run.model, run.train, threshold, cfg.mine_min_share)
        record: dict[str, Any] = {"round": r + 1, **hard.summary}
        record["val_flagged_before"] = _val_flagged(run, threshold)
        records.append(record)
        if not len(hard.indices) or run.stopped:
            break
        pool = np.concatenate([pool] + [hard.indices] * cfg.mine_copies)
        rows = run(mining_phases(cfg), pool)
        threshold, best_iou = run.finish()
        record.update(
            copies=cfg.mine_copies,
            draws_per_epoch=len(pool),
            val_iou=[row.get("val_iou") for row in rows],
            threshold_after=threshold,
            val_flagged_after=_val_flagged(run, threshold),
        )
        if run.log:
            print(f"mining round {r + 1}: {record}", flush=True)
    return threshold, best_iou, records
