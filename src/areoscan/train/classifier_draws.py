"""The training draws of a classifier: weighted sampling by class and source, augmented batches.

Use :func:`sampling_weights` for the per-tile draw probabilities (the class-imbalance rule of
:mod:`areoscan.train.classifier`), :func:`inverse_frequency` for the optional class-weighted loss,
and :func:`draws` for the ``batches(epoch)`` function that :func:`areoscan.train.loop.fit` consumes
(with a :class:`~areoscan.train.distil.Distiller`, each batch's targets also carry the teacher's
logits on the same augmented tiles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch

from areoscan.data.augment import Augment
from areoscan.data.samples import SampleSet

if TYPE_CHECKING:
    from areoscan.train.classifier import ClassifierTrainConfig
    from areoscan.train.distil import Distiller

Batches = Callable[[int], Iterator[tuple[torch.Tensor, torch.Tensor]]]


def sampling_weights(
    labels: np.ndarray,
    n_classes: int,
    balance: float,
    sources: list[str] | None = None,
    source_balance: float = 1.0,
) -> np.ndarray:
    """Per-sample draw probabilities (sum to 1).

    Class c gets a total share ∝ count(c)^(1 - balance) (balance 0: natural frequencies, 1: equal
    shares). With ``sources``, a class's share is split between the sources it comes from, each
    ∝ count(source)^(1 - source_balance): 1 (default) equal shares (e.g. 12 real brain-coral tiles
    get as many draws as 1,500 synthetic ones), 0.5 square-root shares (the 12 tiles get ~8 %).
    """
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    share = np.where(counts > 0, np.maximum(counts, 1) ** (1.0 - balance), 0.0)
    w = np.zeros(len(labels))
    for c in np.flatnonzero(counts):
        idx = np.flatnonzero(labels == c)
        if sources is None:
            w[idx] = share[c] / len(idx)
            continue
        src = np.array([sources[i] for i in idx])
        names = np.unique(src)
        n_src = np.array([(src == name).sum() for name in names], dtype=np.float64)
        part = n_src ** (1.0 - source_balance)
        for name, frac in zip(names, part / part.sum(), strict=True):
            sel = idx[src == name]
            w[sel] = share[c] * frac / len(sel)
    return w / w.sum()


def inverse_frequency(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Loss weights ∝ 1 / class count, mean 1 over the classes present (absent classes get 0)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, 1.0 / np.maximum(counts, 1.0), 0.0)
    return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)


def draws(
    train: SampleSet,
    cfg: ClassifierTrainConfig,
    n_cls: int,
    gen: torch.Generator,
    aug: Augment,
    distil: Distiller | None = None,
) -> tuple[Batches, torch.Tensor, int]:
    """One epoch's batches of ``train`` drawn by class (and source) weight, augmented; the draw
    weights; the steps per epoch. With ``distil``, a batch's targets are the labels packed with the
    teacher's logits (:meth:`~areoscan.train.distil.Distiller.targets`), not the bare labels."""
    weights = torch.from_numpy(
        sampling_weights(
            train.labels,
            n_cls,
            cfg.balance,
            train.sources if cfg.balance_sources else None,
            cfg.source_balance,
        )
    )
    steps = cfg.steps_per_epoch or max(1, int(np.ceil(len(train) / cfg.batch_size)))
    images_t = torch.from_numpy(train.images)
    labels_t = torch.from_numpy(train.labels)
    mask_t = torch.from_numpy(distil.mask(train)) if distil is not None else None

    def batches(epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        idx = torch.multinomial(weights, steps * cfg.batch_size, replacement=True, generator=gen)
        for s in range(steps):
            b = idx[s * cfg.batch_size : (s + 1) * cfg.batch_size]
            x = aug(images_t[b][:, None])
            if distil is None or mask_t is None:
                yield x, labels_t[b]
            else:  # the teacher sees the same augmented tiles as the student
                yield x, distil.targets(x, labels_t[b], mask_t[b])

    return batches, weights, steps
