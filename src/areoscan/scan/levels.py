"""Which resolution level each model reads: from its card's training scale and the image's scale.

Use :func:`choose_level` for the screen and the segmenter alike. A model trained at 1 m/px screens
level 2 of a 0.25 m/px image and level 1 of a 0.5 m/px one; when no level matches the training
scale within 10 % (a 0.75 m/px or 1 m/px image for a 0.25 m/px segmenter) the nearest level is used
and the returned note says so, for the scan summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from areoscan.models.card import ModelCard
from areoscan.tiling import level_for_scale


@dataclass(frozen=True)
class LevelChoice:
    """level: resolution level to read; scale: its m/px (None if unknown); note: why, if unusual."""

    level: int
    scale: float | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return {"level": self.level, "scale_m_per_px": self.scale, "note": self.note}


def choose_level(
    image_scale: float | None, levels: int, card: ModelCard, role: str, tolerance: float = 0.1
) -> LevelChoice:
    """The level whose scale is nearest the card's ``scale_m_per_px`` (log scale), with a note.

    Falls back to the card's ``level`` when the image or the card has no scale.
    """
    if image_scale is None or card.scale_m_per_px is None:
        level = min(max(int(card.level), 0), levels - 1)
        why = "the image has no map scale" if image_scale is None else "the model card has no scale"
        scale = None if image_scale is None else image_scale * 2**level
        return LevelChoice(level, scale, f"{role}: {why}; reading the card's level {level}")
    target = float(card.scale_m_per_px)
    level, got = level_for_scale(image_scale, target, levels)
    note = None
    if abs(math.log2(got / target)) > math.log2(1 + tolerance):
        note = (
            f"{role}: image is {image_scale:g} m/px; model {card.name!r} was trained at {target:g} m/px; "
            f"reading the nearest level {level} ({got:g} m/px, {got / target:.2f}x the training scale)"
        )
    return LevelChoice(level, got, note)
