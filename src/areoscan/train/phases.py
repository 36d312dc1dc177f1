"""Training schedules for segmenters: the reference's three phases, or one plain phase.

Use :func:`three_phase` to reproduce the JPL reference schedule and :func:`one_phase` as the
control it is compared against (same total epochs):

1. ``encoder``: the encoder plus a 1×1 head (``deep_logits``) learns masks downsampled to the
   encoder's output resolution (1/32 for a 512-px tile: 16×16);
2. ``decoder``: the encoder is frozen (weights and batch-norm statistics) and the decoder learns
   full-resolution masks;
3. ``finetune``: everything is unfrozen at a low learning rate.

:func:`configure` switches a segmenter (any module with ``encoder_modules()``,
``decoder_modules()`` and ``deep_logits``, see :mod:`areoscan.models.segmenters`) into a phase
and returns the parameters to optimise; :func:`phase_logits_and_target` gives the logits and the
matching target for one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from areoscan.data.seg_samples import IGNORE_INDEX

PHASE_KINDS = ("encoder", "decoder", "finetune", "all")


@dataclass(frozen=True)
class Phase:
    """One stage of a schedule: what trains, for how many epochs, at which learning rate."""

    kind: str
    epochs: int
    lr: float

    def __post_init__(self) -> None:
        if self.kind not in PHASE_KINDS:
            raise ValueError(f"phase kind must be one of {PHASE_KINDS}, got {self.kind!r}")
        if self.epochs < 0 or self.lr <= 0:
            raise ValueError(f"phase {self.kind}: epochs >= 0 and lr > 0 required")


def three_phase(
    epochs: tuple[int, int, int], lr: float = 1e-3, finetune_lr: float | None = None
) -> list[Phase]:
    """The reference schedule: encoder at 1/32, decoder with the encoder frozen, all at a low lr."""
    e1, e2, e3 = epochs
    return [
        Phase("encoder", e1, lr),
        Phase("decoder", e2, lr),
        Phase("finetune", e3, finetune_lr if finetune_lr is not None else lr / 10),
    ]


def one_phase(epochs: int, lr: float = 1e-3) -> list[Phase]:
    """Plain end-to-end training, the control for :func:`three_phase`."""
    return [Phase("all", epochs, lr)]


def parse_schedule(text: str, epochs: int, lr: float) -> list[Phase]:
    """``"one"`` or ``"three"`` (epochs split 1:1:1, remainder to the decoder) into phases."""
    if text == "one":
        return one_phase(epochs, lr)
    if text == "three":
        base = epochs // 3
        e2 = epochs - 2 * base
        return three_phase((base, e2, base), lr)
    raise ValueError(f"schedule must be 'one' or 'three', got {text!r}")


def _modules_params(modules: list[nn.Module]) -> list[nn.Parameter]:
    return [p for m in modules for p in m.parameters()]


def configure(model: nn.Module, phase: Phase) -> list[nn.Parameter]:
    """Put ``model`` in training mode for ``phase``; return the parameters to optimise.

    Frozen parts get ``requires_grad=False`` and eval mode (their batch-norm statistics stay put).
    """
    encoder = model.encoder_modules()  # type: ignore[operator]
    decoder = model.decoder_modules()  # type: ignore[operator]
    deep = [model.deep_head]  # type: ignore[list-item]
    model.train()
    for p in model.parameters():
        p.requires_grad_(False)
    if phase.kind == "encoder":
        train = encoder + deep
    elif phase.kind == "decoder":
        train = decoder
        for m in encoder:
            m.eval()
    else:
        train = encoder + decoder
    params = _modules_params(train)
    for p in params:
        p.requires_grad_(True)
    return params


def downsample_target(target: torch.Tensor, size: tuple[int, int], n_classes: int) -> torch.Tensor:
    """Majority label per cell of a ``size`` grid; cells less than half valid become ignored (255).

    ``target`` is ``(N, H, W)`` with class ids ``0..n_classes-1`` (2 for a binary mask) and 255.
    """
    valid = target != IGNORE_INDEX
    safe = torch.where(valid, target, torch.zeros_like(target)).long()
    onehot = F.one_hot(safe, n_classes).permute(0, 3, 1, 2).float() * valid.unsqueeze(1)
    votes = F.adaptive_avg_pool2d(onehot, size)
    frac_valid = votes.sum(1)
    label = votes.argmax(1)
    return torch.where(frac_valid >= 0.5, label, torch.full_like(label, IGNORE_INDEX))


def phase_logits_and_target(
    model: nn.Module, phase: Phase, x: torch.Tensor, target: torch.Tensor, n_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and target for one batch: deep (low-resolution) in the encoder phase, full otherwise.

    ``n_classes`` counts background, so it is 2 for a binary model with one output channel.
    """
    if phase.kind == "encoder":
        logits = model.deep_logits(x)  # type: ignore[operator]
        return logits, downsample_target(target, tuple(logits.shape[-2:]), n_classes)
    return model(x), target
