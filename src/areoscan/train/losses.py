"""Segmentation losses that skip ignored pixels (target 255): BCE, dice, focal and dice+focal.

Use :func:`make_loss` to get one by name. Every loss takes logits ``(N, C, H, W)`` and an integer
target ``(N, H, W)``; ``C == 1`` is a binary model (target 0/1, sigmoid), ``C >= 2`` a multi-class
model (target 0..C-1, softmax; "bce" is then cross-entropy). Pixels whose target equals
``ignore_index`` (255: no data, or outside a partial mask inside a positive tile) contribute
nothing — they are neither foreground nor background.

When to use which: BCE is the plain baseline; dice fights class imbalance (a little coral in a lot
of background) but is noisy on tiles without foreground; focal down-weights easy pixels;
dice+focal is the usual default for thin, imbalanced structures.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from areoscan.data.seg_samples import IGNORE_INDEX

LOSSES = ("bce", "dice", "focal", "dice+focal")

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _valid(target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    return (target != ignore_index).to(torch.float32)


def _probs_onehot(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class probabilities, one-hot targets and the valid-pixel weight, all ``(N, C', H, W)``."""
    valid = _valid(target, ignore_index).unsqueeze(1)
    safe = torch.where(target == ignore_index, torch.zeros_like(target), target).long()
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits)
        t = safe.unsqueeze(1).to(p.dtype)
        return torch.cat([1 - p, p], 1), torch.cat([1 - t, t], 1), valid
    p = torch.softmax(logits, dim=1)
    t = F.one_hot(safe, logits.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
    return p, t, valid


def bce_loss(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX
) -> torch.Tensor:
    """Binary cross-entropy (C = 1) or cross-entropy (C >= 2), mean over valid pixels."""
    if logits.shape[1] >= 2:
        if not bool((target != ignore_index).any()):
            return logits.sum() * 0.0
        return F.cross_entropy(logits, target.long(), ignore_index=ignore_index)
    valid = _valid(target, ignore_index)
    t = torch.where(target == ignore_index, torch.zeros_like(target), target).to(logits.dtype)
    per = F.binary_cross_entropy_with_logits(logits[:, 0], t, reduction="none")
    return (per * valid).sum() / valid.sum().clamp_min(1.0)


def dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = IGNORE_INDEX,
    smooth: float = 1.0,
) -> torch.Tensor:
    """1 − soft dice, over the batch, averaged over classes (foreground only when binary)."""
    p, t, valid = _probs_onehot(logits, target, ignore_index)
    p, t = p * valid, t * valid
    dims = (0, 2, 3)
    inter = (p * t).sum(dims)
    denom = p.sum(dims) + t.sum(dims)
    dice = (2 * inter + smooth) / (denom + smooth)
    if logits.shape[1] == 1:
        return 1 - dice[1]
    return 1 - dice.mean()


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = IGNORE_INDEX,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Focal loss (Lin et al. 2017) without class weighting, mean over valid pixels."""
    valid = _valid(target, ignore_index)
    safe = torch.where(target == ignore_index, torch.zeros_like(target), target).long()
    if logits.shape[1] == 1:
        t = safe.to(logits.dtype)
        ce = F.binary_cross_entropy_with_logits(logits[:, 0], t, reduction="none")
        p = torch.sigmoid(logits[:, 0])
        pt = p * t + (1 - p) * (1 - t)
    else:
        logp = torch.log_softmax(logits, dim=1)
        logpt = logp.gather(1, safe.unsqueeze(1))[:, 0]
        ce = -logpt
        pt = logpt.exp()
    per = (1 - pt) ** gamma * ce
    return (per * valid).sum() / valid.sum().clamp_min(1.0)


def make_loss(name: str, ignore_index: int = IGNORE_INDEX) -> LossFn:
    """The loss called ``name`` (one of ``LOSSES``) as ``fn(logits, target) -> scalar``."""
    if name == "bce":
        return lambda x, y: bce_loss(x, y, ignore_index)
    if name == "dice":
        return lambda x, y: dice_loss(x, y, ignore_index)
    if name == "focal":
        return lambda x, y: focal_loss(x, y, ignore_index)
    if name == "dice+focal":
        return lambda x, y: dice_loss(x, y, ignore_index) + focal_loss(x, y, ignore_index)
    raise ValueError(f"unknown loss {name!r}; choose from {LOSSES}")
