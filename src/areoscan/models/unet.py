"""A slim U-Net on a timm ``features_only`` encoder: the production brain-coral segmenter.

Use :class:`SlimUNet` when segmenting 512-px tiles at full resolution on a CPU: the encoder is a
MobileNetV3 (small by default) taken from timm with one input channel and no pretrained weights;
the decoder upsamples from the encoder's deepest output (1/32) through skips at 1/16, 1/8, 1/4 and
(with four stages) 1/2 with depthwise-separable blocks of 16–64 channels, predicts at 1/2 (four
stages) or 1/4 (three stages) and upsamples the logits bilinearly to the input size. The default
smp U-Net decoder costs several times the encoder on a CPU; this one costs about as much as the
encoder. The 1/2 stage alone is ~40 % of a four-stage forward pass (memory-bound work on 256²
maps), so three stages run ~1.7× faster (see ``benchmarks/bench_segment.py``).

Every segmenter in :mod:`areoscan.models.segmenters` exposes the same three parts used by the
three-phase training in :mod:`areoscan.train.phases`: ``encoder_modules()``,
``decoder_modules()`` and ``deep_logits(x)`` (a 1×1 head on the deepest encoder feature).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from areoscan.models.norm import SEGMENTER_MIN_STD, TileNorm


class SepConv(nn.Sequential):
    """Depthwise 3×3 then pointwise 1×1 convolution, each with batch norm and ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
            nn.BatchNorm2d(cin),
            nn.ReLU(inplace=True),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class UpStage(nn.Module):
    """Upsample ×2 (nearest), concatenate the skip, fuse with one :class:`SepConv`."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.fuse = SepConv(cin + cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
        return self.fuse(torch.cat([x, skip], dim=1))


class AddStage(nn.Module):
    """Upsample ×2 and *add* the skip, each through a 1×1 convolution: a light last stage.

    Use it for the 1/2-resolution stage, where :class:`UpStage`'s concatenation and depthwise
    convolution on 256² maps are ~40 % of the forward pass while adding little: the projection of
    the coarse path runs before the upsampling, and nothing wider than ``cout`` channels is ever
    written at 1/2 resolution.
    """

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Sequential(nn.Conv2d(cskip, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.up(x), size=skip.shape[-2:], mode="nearest")
        return F.relu(x + self.skip(skip))


def slim_encoder(encoder: str, in_channels: int = 1, norm: str = "tile") -> tuple[TileNorm, Any]:
    """(input normalisation, timm feature encoder at strides 2..32) of a :class:`SlimUNet`.

    Use it wherever a module must see tiles exactly as the U-Net's encoder does (the distilled
    decoder's :class:`~areoscan.models.lightdecoder.DistilledUNet` reuses a trained one).
    """
    import timm

    features = timm.create_model(
        encoder,
        features_only=True,
        pretrained=False,
        in_chans=in_channels,
        out_indices=(0, 1, 2, 3, 4),
    )
    return TileNorm(norm, min_std=SEGMENTER_MIN_STD), features


class SlimUNet(nn.Module):
    """U-Net with a timm MobileNetV3 encoder and a slim depthwise-separable decoder.

    Args:
        encoder: timm model name with ``features_only`` support (``mobilenetv3_small_100`` is
            the production choice; ``mobilenetv3_small_050`` is faster, ``_large_100`` richer).
        decoder_channels: output channels of the decoder stages from 1/16 up: four values end at
            1/2, three values end at 1/4 (faster; the mask is then resolved at 4 px).
        classes: output channels (1 for a binary mask scored with a sigmoid, C ≥ 2 for C classes
            scored with a softmax).
        in_channels: input channels (1: HiRISE RED is grayscale).
        norm: ``"tile"`` (per-tile standardisation, see :class:`~areoscan.models.norm.TileNorm`) or ``"fixed"``.
        half_stage: the 1/2-resolution stage (four stages only): ``"sepconv"`` (an
            :class:`UpStage` like the others) or ``"add"`` (an :class:`AddStage`, ~1.2× faster
            forward pass, see ``benchmarks/bench_segment.py``).
    """

    def __init__(
        self,
        encoder: str = "mobilenetv3_small_100",
        decoder_channels: Sequence[int] = (64, 32, 24, 16),
        classes: int = 1,
        in_channels: int = 1,
        norm: str = "tile",
        half_stage: str = "sepconv",
    ) -> None:
        super().__init__()
        if half_stage not in ("sepconv", "add"):
            raise ValueError(f"half_stage must be 'sepconv' or 'add', got {half_stage!r}")

        if len(decoder_channels) not in (3, 4):
            raise ValueError(
                "decoder_channels needs 4 values (1/16 to 1/2) or 3 (1/16 to 1/4), "
                f"got {decoder_channels}"
            )
        if half_stage == "add" and len(decoder_channels) != 4:
            raise ValueError("half_stage='add' needs the 1/2 stage: give 4 decoder_channels")
        self.norm, self.encoder = slim_encoder(encoder, in_channels, norm)
        info: Any = self.encoder.feature_info
        reductions = list(info.reduction())
        if reductions != [2, 4, 8, 16, 32]:
            raise ValueError(f"encoder {encoder} has feature strides {reductions}, need 2..32")
        ch = list(info.channels())
        skips = ch[:4][::-1][: len(decoder_channels)]  # 1/16, 1/8, 1/4 (, 1/2)
        stages = []
        cin = ch[4]
        for k, (cskip, cout) in enumerate(zip(skips, decoder_channels, strict=True)):
            light = k == 3 and half_stage == "add"
            stages.append((AddStage if light else UpStage)(cin, cskip, int(cout)))
            cin = int(cout)
        self.decoder = nn.ModuleList(stages)
        self.head = nn.Conv2d(cin, classes, 1)
        self.deep_head = nn.Conv2d(ch[4], classes, 1)
        self.classes = classes

    def encoder_modules(self) -> list[nn.Module]:
        """Modules trained in phase 1 (with :attr:`deep_head`) and frozen in phase 2."""
        return [self.encoder]

    def decoder_modules(self) -> list[nn.Module]:
        """Modules trained in phase 2."""
        return [self.decoder, self.head]

    def deep_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at the encoder's output resolution (1/32), for phase-1 training."""
        return self.deep_head(self.encoder(self.norm(x))[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(self.norm(x))
        y = feats[4]
        skips = feats[3::-1][: len(self.decoder)]  # 1/16, 1/8, 1/4 (, 1/2)
        for stage, skip in zip(self.decoder, skips, strict=True):
            y = stage(y, skip)
        y = self.head(y)
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
