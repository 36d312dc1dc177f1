"""Freeze the early stages of a classifier's backbone: fine-tune only the later ones.

Use it through ``areoscan train classifier --freeze-stages N`` (``ClassifierTrainConfig.freeze_stages``),
usually with ``--init``: the stem and the first N stages keep the init model's weights *and*
batch-norm statistics (they run in eval mode during training too), so the low-level features a
shipped model ranks real tiles with stay exactly its own while the later stages learn the new data.
Stages are ``backbone.blocks[i]`` (timm MobileNetV3 / EfficientNet) or ``backbone.layer{i+1}``
(ResNet); the stem is ``conv_stem`` + ``bn1`` or ``conv1`` + ``bn1``.
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle

from areoscan.errors import DataError


def early_modules(backbone: nn.Module, n: int) -> list[nn.Module]:
    """The stem and the first ``n`` stages of ``backbone`` (DataError if it has fewer or no stages)."""
    blocks = getattr(backbone, "blocks", None)
    if isinstance(blocks, nn.Sequential):
        stem, stages = ["conv_stem", "bn1"], list(blocks)
    elif hasattr(backbone, "layer1"):
        stem = ["conv1", "bn1"]
        stages = [
            getattr(backbone, f"layer{i}") for i in range(1, 5) if hasattr(backbone, f"layer{i}")
        ]
    else:
        raise DataError(f"--freeze-stages: {type(backbone).__name__} has no stages to freeze")
    if not 0 < n <= len(stages):
        raise DataError(f"--freeze-stages must be 1..{len(stages)} for this backbone, got {n}")
    return [getattr(backbone, name) for name in stem] + stages[:n]


def freeze_stages(module: Any, n: int) -> tuple[dict[str, Any], RemovableHandle]:
    """Freeze the stem and first ``n`` stages of ``module.backbone``; the card's record and the
    hook keeping them in eval mode (remove it after training)."""
    frozen = early_modules(module.backbone, n)
    for m in frozen:
        for p in m.parameters():
            p.requires_grad_(False)

    def keep_eval(_mod: nn.Module, _inp: Any) -> None:
        for m in frozen:
            m.eval()

    handle = module.register_forward_pre_hook(keep_eval)
    n_frozen = sum(p.numel() for m in frozen for p in m.parameters())
    n_all = sum(p.numel() for p in module.parameters())
    return {"stages": n, "parameters_frozen": n_frozen, "parameters_total": n_all}, handle
