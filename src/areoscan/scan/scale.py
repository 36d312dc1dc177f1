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

Then :func:`align_levels`: a finer image whose pyramid has no level within the scan's
``level_tolerance`` (:class:`~areoscan.scan.config.ScanConfig`, 10 %) of the segmenter's scale
(a 0.18 m/px image for a 0.25 m/px model: levels at 0.18 and 0.36 m/px) is resampled so that one
level lands on it (x1.44: level 1 becomes 0.25 m/px, read from the real level 0), rather than
segmented 28 % finer or 44 % coarser than the model was trained at.
"""

from __future__ import annotations

import dataclasses
import math
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


def alignment_factor(
    image_scale: float | None, levels: int, target: float | None, tolerance: float
) -> float:
    """Upsampling (>= 1) that puts a level of a ``levels``-level pyramid on ``target`` m/px.

    1.0 when the scales are unknown, when the nearest level is within ``tolerance`` (a fraction)
    of ``target``, or when the image is coarser than ``target`` (:func:`decide_scale` handles that).
    """
    if not image_scale or not target or image_scale >= target:
        return 1.0
    nearest = min(max(round(math.log2(target / image_scale)), 0), max(levels - 1, 0))
    if abs(math.log2(image_scale * 2**nearest / target)) <= math.log2(1 + tolerance) + 1e-9:
        return 1.0
    coarser = math.ceil(math.log2(target / image_scale))  # first level coarser than the target
    if coarser > levels - 1:
        return 1.0  # too few levels to reach the target: the nearest level and a note
    return image_scale * 2**coarser / target


def align_levels(
    raster: Raster, card: ModelCard, tolerance: float, decision: ScaleDecision
) -> ScaleDecision:
    """Upsample ``raster`` when no level is within ``tolerance`` of ``card``'s scale (see above).

    Use it after :func:`apply_scale_policy`, with the segmenter's card; returns the decision to
    report (``decision`` itself when nothing was resampled).
    """
    target = card.scale_m_per_px
    factor = alignment_factor(raster.scale, raster.levels, target, tolerance)
    if factor <= 1.0:
        return decision
    image_scale = raster.scale
    raster.upsample(factor)
    note = (
        f"no level of the {image_scale:g} m/px image is within {tolerance:.0%} of model "
        f"{card.name!r} ({target:g} m/px): resampled x{factor:.3g} (bilinear) so that one is"
    )
    return ScaleDecision(decision.image_scale, decision.factor * factor, target, note)


def apply_scale_policy(raster: Raster, cards: Sequence[ModelCard]) -> ScaleDecision:
    """Decide for ``raster`` (an :class:`areoscan.io.Raster`) and upsample it when the rule says so."""
    decision = decide_scale(raster.scale, cards, raster.path)
    if decision.factor > 1.0:
        raster.upsample(decision.factor)
    return decision
