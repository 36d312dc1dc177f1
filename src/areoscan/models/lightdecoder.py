"""The light decoder trained on frozen image embeddings (issue 22, after the SAM-distillation study).

Use it (arch ``light-decoder``) when a frozen encoder's embeddings are cached and only a small head
is to be learned from a few masks: three transposed-convolution stages each double the resolution
(2x2 kernel, stride 2, batch norm, GELU), then a 1x1 head, so a 1/16 embedding comes out at 1/2 of
the encoder's input. One output channel = binary (sigmoid), C >= 2 = C classes (softmax, background
first). The card's ``arch_kwargs["encoder"]`` names the encoder the embeddings must come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from areoscan.models.registry import register_builder

DEFAULT_WIDTHS = (128, 64, 32)


class LightDecoder(nn.Module):
    """Embedding ``(B, in_channels, g, g)`` -> logits ``(B, classes, 8g, 8g)``.

    Args:
        in_channels: embedding channels (256 for SAM, 624 for the shipped U-Net's backbone).
        classes: output channels (1 binary, C >= 2 multi-class with background as class 0).
        widths: channels after each of the three upsampling stages.
    """

    def __init__(
        self, in_channels: int, classes: int = 1, widths: Sequence[int] = DEFAULT_WIDTHS
    ) -> None:
        super().__init__()
        if len(widths) != 3:
            raise ValueError(f"widths needs three values (one per upsampling stage), got {widths}")
        stages: list[nn.Module] = []
        cin = int(in_channels)
        for cout in widths:
            stages += [
                nn.ConvTranspose2d(cin, int(cout), kernel_size=2, stride=2),
                nn.BatchNorm2d(int(cout)),
                nn.GELU(),
            ]
            cin = int(cout)
        self.up = nn.Sequential(*stages)
        self.head = nn.Conv2d(cin, int(classes), 1)
        self.classes = int(classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(x))


@register_builder("segmentation", "light-decoder")
def _build(card: Any) -> nn.Module:
    kw = card.arch_kwargs
    return LightDecoder(
        int(kw["in_channels"]), int(kw.get("classes", 1)), kw.get("widths", DEFAULT_WIDTHS)
    )
