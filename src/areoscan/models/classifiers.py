"""Tile classifiers: small CNN, ResNet-18/34, MobileNetV3 small/large; spatial or DCT input.

Use :func:`build_classifier` (or :func:`areoscan.models.load_model` for trained ones). Every model
is a :class:`TileClassifier`: :class:`~areoscan.models.norm.TileNorm` (the first layer) → optional
:class:`~areoscan.models.dct.BlockDCT` (fixed 8×8 block DCT, DCT mode) → a backbone with a 1-channel
(spatial) or 64-channel (DCT) stem → logits (N, n_classes). Input: float32 (N, 1, S, S) scaled to
[0, 1]; S = 128 or 256 (any multiple of 32 works). Weights are always random at build time
(``pretrained=False``: nothing is downloaded).

Choosing: ``mobilenetv3_small`` for the screen and anything shipped (6 MB, ~1,000 tiles/s at
128 px on 2 cores); ``small_cnn`` when data are few; ``resnet18``/``resnet34`` are heavier (45/85 MB)
for experiments. ``TileNorm(kind="tile")`` standardises each tile on its own, so the decision
rests on texture, not on brightness or contrast (the brain-coral screen needs this). With
``arch_kwargs["tta"]`` = 2, 4 or 8 the module averages logits over flips/rotations in eval mode.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from areoscan.models.card import ModelCard
from areoscan.models.dct import BlockDCT
from areoscan.models.norm import CLASSIFIER_MIN_STD, TileNorm
from areoscan.models.registry import register_builder

ARCHS = ("small_cnn", "resnet18", "resnet34", "mobilenetv3_small", "mobilenetv3_large")
_TIMM_NAMES = {
    "resnet18": "resnet18",
    "resnet34": "resnet34",
    "mobilenetv3_small": "mobilenetv3_small_100",
    "mobilenetv3_large": "mobilenetv3_large_100",
}


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th of the 8 flips/rotations of square tiles (k = 0 is the identity)."""
    if k & 4:
        x = x.transpose(-1, -2)
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    return x


class TileClassifier(nn.Module):
    """norm → (DCT → BatchNorm) → backbone; in eval mode logits are averaged over ``tta`` views and
    shifted by ``logit_bias`` (per-class decision offsets tuned on validation data)."""

    logit_bias: torch.Tensor

    def __init__(
        self,
        backbone: nn.Module,
        norm: TileNorm,
        n_classes: int,
        dct: BlockDCT | None = None,
        tta: int = 1,
    ):
        super().__init__()
        if tta not in (1, 2, 4, 8):
            raise ValueError(f"tta must be 1, 2, 4 or 8, got {tta}")
        self.norm = norm
        self.dct = dct
        self.dct_bn = nn.BatchNorm2d(dct.out_channels) if dct is not None else None
        self.backbone = backbone
        self.tta = tta
        # Per-class offsets added to the logits; tuned on validation data after training (zero = off).
        self.register_buffer("logit_bias", torch.zeros(n_classes))

    def forward_single(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of one view (no test-time augmentation)."""
        x = self.norm(x)
        if self.dct is not None and self.dct_bn is not None:
            x = self.dct_bn(self.dct(x))
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return self.forward_single(x)
        if self.tta == 1:
            return self.forward_single(x) + self.logit_bias
        views = [dihedral(x, k) for k in range(self.tta)]
        logits = self.forward_single(torch.cat(views, dim=0))
        return logits.reshape(self.tta, x.shape[0], -1).mean(dim=0) + self.logit_bias


class SmallCNN(nn.Module):
    """Plain stages of conv3x3-BN-ReLU (+ 2x max-pool), global average pool, dropout, linear.

    Default widths (16, 32, 64, 128, 256) with 5 pools: a 128-px tile ends in 4x4x256; about
    0.4 M parameters (1.6 MB), cheap enough to train from scratch on a few thousand tiles.
    """

    def __init__(
        self,
        in_ch: int,
        n_classes: int,
        widths: tuple[int, ...] = (16, 32, 64, 128, 256),
        pools: int = 5,
        drop_rate: float = 0.2,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_ch
        first_pool = len(widths) - pools
        for i, w in enumerate(widths):
            layers += [
                nn.Conv2d(c, w, 3, padding=1, bias=False),
                nn.BatchNorm2d(w),
                nn.ReLU(inplace=True),
            ]
            if i >= first_pool:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop_rate), nn.Linear(c, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _timm_backbone(
    arch: str, mode: str, in_ch: int, n_classes: int, kw: dict[str, Any]
) -> nn.Module:
    import timm

    name = kw.get("timm_name", _TIMM_NAMES[arch])
    stem_in = in_ch * 64 if mode == "dct" else in_ch
    model: Any = timm.create_model(
        name,
        pretrained=False,
        in_chans=stem_in,
        num_classes=n_classes,
        drop_rate=float(kw.get("drop_rate", 0.2)),
    )
    if mode != "dct":
        return model
    # DCT input is already 8x coarser: a 1x1 stride-1 stem, and drop the next 2x reduction, so a
    # 128-px tile still ends in a 2x2 feature map.
    if arch.startswith("resnet"):
        model.conv1 = nn.Conv2d(stem_in, model.conv1.out_channels, 1, bias=False)
        model.maxpool = nn.Identity()
    else:
        model.conv_stem = nn.Conv2d(stem_in, model.conv_stem.out_channels, 1, bias=False)
        for m in model.blocks[0].modules():
            if isinstance(m, nn.Conv2d) and m.stride != (1, 1):
                m.stride = (1, 1)
    return model


def build_classifier(card: ModelCard) -> TileClassifier:
    """Untrained :class:`TileClassifier` for a card (arch, mode, classes, normalisation, arch_kwargs)."""
    kw = dict(card.arch_kwargs)
    if card.arch not in ARCHS:
        raise ValueError(f"unknown classifier arch {card.arch!r}; choose one of {ARCHS}")
    if card.tile_size % 32:
        raise ValueError(f"tile size must be a multiple of 32, got {card.tile_size}")
    norm = TileNorm.from_card(card.normalisation or {}, CLASSIFIER_MIN_STD)
    dct = BlockDCT(card.in_channels) if card.mode == "dct" else None
    if card.arch == "small_cnn":
        widths = tuple(int(w) for w in kw.get("widths", (16, 32, 64, 128, 256)))
        pools = len(widths) - (3 if card.mode == "dct" else 0)
        in_ch = card.in_channels * (64 if card.mode == "dct" else 1)
        backbone: nn.Module = SmallCNN(
            in_ch, card.n_classes, widths, max(pools, 0), float(kw.get("drop_rate", 0.2))
        )
    else:
        backbone = _timm_backbone(card.arch, card.mode, card.in_channels, card.n_classes, kw)
    return TileClassifier(backbone, norm, card.n_classes, dct, tta=int(kw.get("tta", 1)))


for _arch in ARCHS:
    register_builder("classification", _arch)(build_classifier)
