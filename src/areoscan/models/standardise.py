"""The detectors' per-image standardisation: torchvision's resize transform, own mean and std.

Use it through :class:`areoscan.models.detectors.DetectorSpec` (arch kwarg ``norm="image"``). It
lives in its own module, imported only when a detector is built, because importing torchvision
costs seconds and ``areoscan.models.detectors`` is imported whenever any model is loaded.
"""

from __future__ import annotations

import torch
from torchvision.models.detection.transform import GeneralizedRCNNTransform


class Standardising(GeneralizedRCNNTransform):
    """GeneralizedRCNNTransform with each image standardised by its own mean and std.

    Use it when crops of one dataset differ a lot in brightness and contrast (the pits' crops:
    mean DN 0.3 in one copy, 0.8 in its mirrored copy): the network then sees the same pit however
    the crop was stretched, at training and at every inference path (``detect``, ``scan``,
    ``evaluate``). One module-level class, so every such model's transform is the same type.
    """

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        mean = image.mean(dim=(-2, -1), keepdim=True)
        return (image - mean) / image.std(dim=(-2, -1), keepdim=True).clamp_min(1e-3)
