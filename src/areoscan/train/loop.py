"""A small, generic, reproducible training loop with early stopping on a validation score.

Use :func:`fit` for any torch model (classifiers and segmenters): you give it a function that yields
the training batches of one epoch, a loss, and a ``validate(model) -> (score, metrics)`` function
(higher score is better, e.g. macro-F1 or IoU); it runs AdamW with linear warm-up then cosine decay,
keeps the best weights, stops after ``patience`` epochs without improvement or when the time
budget runs out, and shows tqdm progress. Call :func:`seed_everything` first for reproducibility
(same seed + same thread count = same weights on the same machine).
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class FitConfig:
    """Optimisation settings.

    epochs: maximum number of epochs. lr: peak AdamW learning rate. weight_decay: AdamW decay.
    warmup_epochs: linear warm-up length. patience: epochs without a better validation score
    before stopping (0 = never stop early). max_minutes: wall-clock budget (None = none); the best
    weights so far are kept when it runs out. grad_clip: max gradient norm (None = off).
    min_delta: improvement smaller than this does not count. progress: tqdm bars. log: one line
    per epoch on stderr. keep: ``"best"`` returns the weights of the best validated epoch;
    ``"last"`` trains every epoch (no early stopping) and returns the final weights after the
    cosine decay — use it when the validation set is too small for its score to pick an epoch
    (a few tiles of a rare class decide macro-F1).
    """

    epochs: int = 30
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    patience: int = 8
    max_minutes: float | None = None
    grad_clip: float | None = 5.0
    min_delta: float = 1e-4
    progress: bool = True
    log: bool = True
    keep: str = "best"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FitResult:
    """Outcome of :func:`fit`: the kept weights (already loaded into the model: the best epoch's,
    or the last epoch's with ``keep="last"``) and the history."""

    best_score: float
    best_epoch: int
    best_metrics: dict[str, Any]
    epochs_run: int
    stopped: str
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    kept_epoch: int = -1


def seed_everything(seed: int, threads: int | None = 2) -> None:
    """Seed Python, numpy and torch, and cap torch's CPU threads (the machine is shared)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(int(threads))


def _lr_lambda(total: int, warmup: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        t = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t))) * 0.98 + 0.02

    return f


def fit(
    model: nn.Module,
    batches: Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor]]],
    steps_per_epoch: int,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    validate: Callable[[nn.Module], tuple[float, dict[str, Any]]],
    config: FitConfig | None = None,
    params: Iterable[nn.Parameter] | None = None,
) -> FitResult:
    """Train ``model`` in place; on return it holds the weights of the best validated epoch.

    ``batches(epoch)`` yields (input, target) pairs, ``steps_per_epoch`` of them (used for the
    schedule). ``params`` restricts what is optimised (default: every parameter that requires grad).
    """
    cfg = config or FitConfig()
    if cfg.keep not in ("best", "last"):
        raise ValueError(f"keep must be 'best' or 'last', got {cfg.keep!r}")
    keep_last = cfg.keep == "last"
    trainable = [
        p for p in (params if params is not None else model.parameters()) if p.requires_grad
    ]
    opt = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = max(1, cfg.epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _lr_lambda(total, int(cfg.warmup_epochs * steps_per_epoch))
    )
    start = time.monotonic()
    best_score, best_epoch, best_metrics = -math.inf, -1, {}
    best_state = model.state_dict() if keep_last else copy.deepcopy(model.state_dict())
    history: list[dict[str, Any]] = []
    stopped, epoch = "max epochs", 0
    for epoch in range(cfg.epochs):
        model.train()
        losses = []
        for x, y in _progress(
            batches(epoch), steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress
        ):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training loss became {float(loss)} at epoch {epoch + 1}; lower --lr"
                )
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
            opt.step()
            sched.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            score, metrics = validate(model)
        elapsed = time.monotonic() - start
        history.append(
            {
                "epoch": epoch + 1,
                "loss": float(np.mean(losses)) if losses else float("nan"),
                "score": score,
                "seconds": round(elapsed, 1),
            }
        )
        if cfg.log:
            print(
                f"epoch {epoch + 1}: loss {history[-1]['loss']:.4f}  val score {score:.4f}  ({elapsed / 60:.1f} min)",
                file=sys.stderr,
                flush=True,
            )
        if score > best_score + cfg.min_delta:
            best_score, best_epoch, best_metrics = score, epoch + 1, metrics
            if not keep_last:  # the last weights are kept anyway: no copy needed
                best_state = copy.deepcopy(model.state_dict())
        elif cfg.patience and not keep_last and epoch + 1 - best_epoch >= cfg.patience:
            stopped = f"no improvement for {cfg.patience} epochs"
            break
        if cfg.max_minutes is not None and elapsed / 60 >= cfg.max_minutes:
            stopped = f"time budget of {cfg.max_minutes} min"
            break
    if not keep_last:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(
        best_score,
        best_epoch,
        best_metrics,
        epoch + 1,
        stopped,
        time.monotonic() - start,
        history,
        kept_epoch=epoch + 1 if keep_last else best_epoch,
    )


def _progress(it: Iterable[Any], total: int, desc: str, on: bool) -> Iterator[Any]:
    from areoscan.progress import progress_bar

    yield from progress_bar(it, total=total, desc=desc, unit="batch", enabled=on)
