"""Input normalisation: the first layer of every model (classifiers and segmenters).

Use :class:`TileNorm` as a model's first layer. ``kind="tile"`` standardises each tile to zero mean
and unit standard deviation over its valid pixels, so a model judges texture rather than brightness
(synthetic and real HiRISE tiles differ in mean and contrast; the brain-coral screen needs this).
Pixels equal to 0 are no data (HiRISE ``CORE_NULL``): they are left out of the statistics and stay
0. ``kind="fixed"`` applies ``(x - mean) / std`` with constants instead.

``min_std`` floors the standard deviation (``sqrt(var + min_std**2)``) so that flat tiles are not
blown up into noise. The shipped models were trained with different floors and keep them, so their
outputs do not change: classifiers :data:`CLASSIFIER_MIN_STD` (0.005, recorded in their cards),
segmenters :data:`SEGMENTER_MIN_STD` (0.001).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

KINDS = ("tile", "fixed")
#: Standard-deviation floor of the classifiers (brain-coral-screen, hirise-landmarks).
CLASSIFIER_MIN_STD = 0.005
#: Standard-deviation floor of the segmenters (brain-coral-unet).
SEGMENTER_MIN_STD = 1e-3


class TileNorm(nn.Module):
    """Per-tile standardisation over valid pixels (``kind="tile"``) or fixed ``(x - mean) / std``.

    Args:
        kind: ``"tile"`` or ``"fixed"``.
        mean: subtracted in ``fixed`` mode (inputs are in [0, 1]; 0.5 = mid-grey).
        std: divisor in ``fixed`` mode.
        min_std: floor of the per-tile standard deviation in ``tile`` mode (see the module doc).
    """

    def __init__(
        self,
        kind: str = "tile",
        mean: float = 0.5,
        std: float = 0.25,
        min_std: float = CLASSIFIER_MIN_STD,
    ) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"normalisation kind must be 'tile' or 'fixed', got {kind!r}")
        self.kind, self.mean, self.std, self.min_std = kind, float(mean), float(std), float(min_std)

    @classmethod
    def from_card(cls, normalisation: Mapping[str, Any], min_std: float) -> TileNorm:
        """The layer a card's ``normalisation`` dict describes; ``min_std`` when it names none."""
        return cls(
            kind=str(normalisation.get("kind", "tile")),
            mean=float(normalisation.get("mean", 0.5)),
            std=float(normalisation.get("std", 0.25)),
            min_std=float(normalisation.get("min_std", min_std)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "fixed":
            return (x - self.mean) / self.std
        valid = (x > 0).to(x.dtype)
        n = valid.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1.0)
        mean = (x * valid).sum(dim=(1, 2, 3), keepdim=True) / n
        var = (((x - mean) * valid) ** 2).sum(dim=(1, 2, 3), keepdim=True) / n
        return (x - mean) / torch.sqrt(var + self.min_std**2) * valid

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, mean={self.mean}, std={self.std}, min_std={self.min_std}"
