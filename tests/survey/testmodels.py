"""Tiny, transparent scan models for the survey's end-to-end tests (built via the public card API).

Shipped models are not needed: the screen flags a tile when its brightest pixel exceeds
``SCREEN_AT``, and the segmenter's probability is a steep sigmoid of each pixel's own value (0.5
at ``SEGMENT_AT``). A dark, featureless image is therefore ``empty`` and a synthetic HiRISE-like
scene is ``done`` with regions on its bright slopes — deterministic, whatever the terrain model.

Dask workers load this file as a *preload* (``distributed.worker.preload``) so that the builders
are registered in every worker process, including workers a nanny restarts.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from areoscan.models import ModelCard, register_builder, save_model

SCREEN_AT = 0.3
SEGMENT_AT = 0.40


class MaxScreen(nn.Module):
    """Logits (N, 2): class 1 grows with the tile's brightest pixel (0.5 at SCREEN_AT)."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(40.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos = self.gain * (x.amax(dim=(1, 2, 3)) - SCREEN_AT)
        return torch.stack([torch.zeros_like(pos), pos], dim=1)


class PixelSegmenter(nn.Module):
    """Logits (N, 1, H, W) = gain * (x - SEGMENT_AT)."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(30.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * (x - SEGMENT_AT)


register_builder("classification", "survey-test-max")(lambda card: MaxScreen())
register_builder("segmentation", "survey-test-pixel")(lambda card: PixelSegmenter())


def make_models(folder: Path) -> tuple[Path, Path]:
    """Save both models under ``folder``; return (screen card, segmenter card) paths."""
    common = {"classes": ["background", "brain_coral"], "threshold": 0.5,
              "positive_class": "brain_coral"}  # fmt: skip
    screen = ModelCard(name="survey-test-screen", task="classification", arch="survey-test-max",
                       tile_size=32, level=2, scale_m_per_px=1.0, **common)  # fmt: skip
    seg = ModelCard(name="survey-test-seg", task="segmentation", arch="survey-test-pixel",
                    tile_size=128, level=0, scale_m_per_px=0.25, **common)  # fmt: skip
    _, screen_path = save_model(MaxScreen(), screen, folder / "screen")
    _, seg_path = save_model(PixelSegmenter(), seg, folder / "seg")
    return screen_path, seg_path


def dask_setup(worker: object) -> None:
    """Preload hook: importing this file already registered the builders."""
