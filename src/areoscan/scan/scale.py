"""Scale guard: may these models scan an image of this ground scale, and at what resampling?

Use :func:`apply_scale_policy` right after opening the image, before choosing levels. A model sees
landforms at the scale it was trained on (card ``scale_m_per_px``); finer images are read at a
coarser resolution level (:mod:`areoscan.scan.levels`), but a coarser image cannot show what the
model looks for. The rule, for each model with a scale:

* image within 10 % of the training scale or finer: read as is (levels do the rest);
* image coarser by up to the card's ``scale_tolerance`` (default :data:`DEFAULT_TOLERANCE`, 2x: a
  0.5 m/px HiRISE bin-2 product for a 0.25 m/px segmenter): the image is resampled (bilinear) to
  the finest model's training scale, and the summary says so;
* coarser still (6 m/px CTX for that segmenter): :class:`~areoscan.errors.ScaleError`, one line
  naming both scales.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from areoscan.errors import ScaleError
from areoscan.models.card import ModelCard

if TYPE_CHECKING:
    from areoscan.io.raster import Raster

DEFAULT_TOLERANCE = 2.0
#: within this ratio of the training scale the image is used as is (choose_level's tolerance)
AS_IS = 1.1


@dataclasses.dataclass(frozen=True)
class ScaleDecision:
    """image_scale: m/px of the file (None: unknown). factor: upsampling applied (1: none).
    model_scale: the scale resampled to (None: not resampled). note: what was done, or None."""

    image_scale: float | None
    factor: float = 1.0
    model_scale: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (for summary.json)."""
        return {
            "image_m_per_px": self.image_scale,
            "resampled_to_m_per_px": self.model_scale,
            "upsample_factor": self.factor,
            "note": self.note,
        }


def decide_scale(
    image_scale: float | None, cards: Sequence[ModelCard], where: Any = "image"
) -> ScaleDecision:
    """The decision for an image of ``image_scale`` m/px and these models (ScaleError if too coarse)."""
    scaled = sorted((c for c in cards if c.scale_m_per_px), key=lambda c: c.scale_m_per_px or 0)
    if image_scale is None or not scaled:
        return ScaleDecision(image_scale)
    for card in scaled:  # the finest model first: the one the message should name
        target = float(card.scale_m_per_px)  # type: ignore[arg-type]
        tolerance = float(card.scale_tolerance or DEFAULT_TOLERANCE)
        if image_scale > target * tolerance * (1 + 1e-9):
            raise ScaleError(
                f"{where}: image is {image_scale:g} m/px, far coarser than model {card.name!r} "
                f"(trained at {target:g} m/px, usable down to {target * tolerance:g} m/px); "
                "use a finer product or a model trained at this scale"
            )
    finest = scaled[0]
    target = float(finest.scale_m_per_px)  # type: ignore[arg-type]
    ratio = image_scale / target
    if ratio <= AS_IS:
        return ScaleDecision(image_scale)
    note = (
        f"image is {image_scale:g} m/px, coarser than model {finest.name!r} ({target:g} m/px): "
        f"resampled x{ratio:.3g} (bilinear) to {target:g} m/px"
    )
    return ScaleDecision(image_scale, ratio, target, note)


def apply_scale_policy(raster: Raster, cards: Sequence[ModelCard]) -> ScaleDecision:
    """Decide for ``raster`` (an :class:`areoscan.io.Raster`) and upsample it when the rule says so."""
    decision = decide_scale(raster.scale, cards, raster.path)
    if decision.factor > 1.0:
        raster.upsample(decision.factor)
    return decision
