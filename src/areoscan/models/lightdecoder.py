"""The light decoder trained on frozen image embeddings (issue 22, after the SAM-distillation study).

Use it (arch ``light-decoder``) when a frozen encoder's embeddings are cached and only a small head
is to be learned from a few masks: three transposed-convolution stages each double the resolution
(2x2 kernel, stride 2, batch norm, GELU), then a 1x1 head, so a 1/16 embedding comes out at 1/2 of
the encoder's input. One output channel = binary (sigmoid), C >= 2 = C classes (softmax, background
first).

Two cards carry it. ``embedding-segmentation`` / ``light-decoder``: the decoder alone, fed cached
embeddings (any encoder, SAM's included; ``arch_kwargs["encoder"]`` names it). ``segmentation`` /
``distilled-unet``: :class:`DistilledUNet`, the shipped U-Net's frozen encoder and the decoder in one
module taking image tiles, so the scan, ONNX export and ``evaluate`` run it like any segmenter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
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


def unet_embedding(feats: list[torch.Tensor]) -> torch.Tensor:
    """The embedding a slim U-Net encoder's features give: its 1/16 features and its 1/32 ones
    (nearest-upsampled), concatenated (624 channels for MobileNetV3-small)."""
    deep = F.interpolate(feats[4], size=feats[3].shape[-2:], mode="nearest")
    return torch.cat([feats[3], deep], dim=1)


class DistilledUNet(nn.Module):
    """Tiles ``(B, 1, H, W)`` -> logits ``(B, classes, H, W)``: tile norm, a frozen slim-U-Net
    encoder, :func:`unet_embedding`, a :class:`LightDecoder`, bilinear upsampling by 2.

    Args:
        encoder: timm name of the U-Net's encoder (``mobilenetv3_small_100`` for brain-coral-unet).
        norm: the U-Net's input normalisation (``"tile"``).
        embed_channels, classes, widths: the decoder's (see :class:`LightDecoder`).
    """

    def __init__(
        self,
        encoder: str,
        embed_channels: int,
        classes: int = 1,
        widths: Sequence[int] = DEFAULT_WIDTHS,
        norm: str = "tile",
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        from areoscan.models.unet import slim_encoder

        self.norm, self.encoder = slim_encoder(encoder, in_channels, norm)
        self.decoder = LightDecoder(embed_channels, classes, widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb = unet_embedding(self.encoder(self.norm(x)))
        logits = self.decoder(emb)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


@register_builder("embedding-segmentation", "light-decoder")
def _build(card: Any) -> nn.Module:
    kw = card.arch_kwargs
    return LightDecoder(
        int(kw["in_channels"]), int(kw.get("classes", 1)), kw.get("widths", DEFAULT_WIDTHS)
    )


@register_builder("segmentation", "distilled-unet")
def _build_full(card: Any) -> nn.Module:
    kw = card.arch_kwargs
    return DistilledUNet(
        str(kw["timm_encoder"]),
        int(kw["in_channels"]),
        int(kw.get("classes", 1)),
        kw.get("widths", DEFAULT_WIDTHS),
        str(kw.get("norm", "tile")),
        int(card.in_channels),
    )
