"""A trained detector as the scan's tile model (:class:`~areoscan.models.predictor.InstanceModel`).

Use :func:`load_tile_detector` for the scan's detect stage; importing this module registers the
``detection`` tile loader (:data:`~areoscan.models.predictor.TILE_TASK_MODULES`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from areoscan.models.card import ModelCard
from areoscan.models.detectors import load_detector
from areoscan.models.predictor import Instances, register_tile_loader


class TileDetector:
    """A trained detector as the scan's :class:`~areoscan.models.predictor.InstanceModel`.

    Use it for tile batches (``areoscan scan --detector``, or ``--segment-model`` through
    :class:`~areoscan.models.predictor.InstancePixels`); use :class:`TorchDetector` for single
    images of any size (metrics, ``areoscan detect``). ``detect(tiles)`` takes float32
    ``(N, 1, H, W)`` in [0, 1] already at the model's scale (the scan resamples them to
    ``tile_size``) and returns one :class:`~areoscan.models.predictor.Instances` per tile in tile
    pixels, labels indexing :attr:`classes` (0 = background, as for a segmenter).

    min_score: the network's own score threshold is raised to this (default: :attr:`threshold`),
    so Mask R-CNN pastes full-tile masks only for detections that will be published (each is
    4 bytes per tile pixel while pasted: 100 detections on a 1024-px tile would be 400 MB).
    """

    def __init__(self, module: nn.Module, card: ModelCard, min_score: float | None = None) -> None:
        self.module = module.eval()
        self.card = card
        heads = getattr(self.module, "roi_heads", None)
        if heads is not None and hasattr(heads, "score_thresh"):
            floor = self.threshold if min_score is None else float(min_score)
            heads.score_thresh = max(float(heads.score_thresh), floor)

    @property
    def tile_size(self) -> int:
        """Side the network was trained at (its ``min_size`` / ``max_size``)."""
        return int(self.card.tile_size)

    @property
    def threshold(self) -> float:
        """Score threshold of a published detection: the card's, else 0.5."""
        return 0.5 if self.card.threshold is None else float(self.card.threshold)

    @property
    def classes(self) -> list[str]:
        """``background`` then the card's object classes (index = torchvision label)."""
        return ["background", *self.card.classes]

    @torch.inference_mode()
    def detect(self, tiles: np.ndarray) -> list[Instances]:
        """Instances of each tile of a float32 ``(N, 1, H, W)`` (or ``(N, H, W)``) batch."""
        x = torch.from_numpy(np.ascontiguousarray(tiles, np.float32))
        if x.ndim == 3:
            x = x[:, None]
        outs = self.module(list(x))
        found = []
        for out in outs:
            masks = out["masks"][:, 0].numpy() >= 0.5 if "masks" in out else None
            found.append(
                Instances(
                    out["boxes"].numpy().astype(np.float32),
                    out["scores"].numpy().astype(np.float32),
                    out["labels"].numpy().astype(np.int64),
                    masks,
                )
            )
        return found


def load_tile_detector(
    model: Any, threads: int = 2, min_score: float | None = None
) -> TileDetector:
    """A trained detector for tile batches (torch; no ONNX path yet).

    min_score: smallest score the caller keeps (see :class:`TileDetector`).
    """
    detector = load_detector(str(model), threads=threads)
    return TileDetector(detector.module, detector.card, min_score)


@register_tile_loader("detection")
def _tile_loader(model: Any, backend: str, threads: int) -> TileDetector:
    """The registry's loader (``--segment-model`` with a detector): the card's threshold."""
    return load_tile_detector(model, threads)
