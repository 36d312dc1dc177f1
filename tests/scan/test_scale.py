"""Scale guard: as is, resampled within the card's tolerance, refused beyond it."""

from __future__ import annotations

import pytest

from areoscan.errors import ModelError, ScaleError
from areoscan.models.card import ModelCard
from areoscan.scan.scale import decide_scale


def _card(name: str, scale: float | None, tolerance: float | None = None) -> ModelCard:
    return ModelCard(name=name, task="segmentation", arch="x", classes=["a", "b"], tile_size=64,
                     scale_m_per_px=scale, scale_tolerance=tolerance)  # fmt: skip


SEG, SCREEN = _card("seg", 0.25), _card("screen", 1.0)


def test_as_is_when_within_ten_percent_or_finer() -> None:
    for image in (0.25, 0.27, 0.1):
        d = decide_scale(image, [SCREEN, SEG])
        assert d.factor == 1.0 and d.note is None and d.model_scale is None
    assert decide_scale(None, [SEG]).factor == 1.0  # no map scale: levels decide
    assert decide_scale(50.0, [_card("n", None)]).factor == 1.0  # card without scale


def test_resampled_to_the_finest_model_within_tolerance() -> None:
    d = decide_scale(0.5, [SCREEN, SEG])
    assert d.factor == 2.0 and d.model_scale == 0.25
    assert d.note is not None and "0.5 m/px" in d.note and "resampled x2" in d.note
    assert d.to_dict()["upsample_factor"] == 2.0
    assert decide_scale(0.9, [_card("loose", 0.25, tolerance=4.0)]).factor == pytest.approx(3.6)


def test_refused_beyond_tolerance_naming_both_scales() -> None:
    with pytest.raises(ScaleError) as err:
        decide_scale(6.0, [SCREEN, SEG], "P_CTX.IMG")
    text = str(err.value)
    assert text.startswith("P_CTX.IMG: image is 6 m/px") and "0.25 m/px" in text
    assert "\n" not in text
    with pytest.raises(ScaleError, match="model 'screen'"):
        decide_scale(2.5, [SCREEN])


def test_card_tolerance_must_be_at_least_one() -> None:
    with pytest.raises(ModelError, match="scale_tolerance must be >= 1"):
        _card("bad", 0.25, tolerance=0.5)


def test_shipped_brain_coral_models_tolerate_four_times() -> None:
    """HiRISE RDRs at 0.5, 0.75 and 1 m/px are upsampled to 0.25 m/px; 2.9 m/px browse is refused."""
    from areoscan.models.registry import load_card

    cards = [load_card("brain-coral-screen"), load_card("brain-coral-unet")]
    assert [c.scale_tolerance for c in cards] == [4.0, 4.0]
    for image, factor in ((0.5, 2.0), (0.75, 3.0), (1.0, 4.0)):
        assert decide_scale(image, cards).factor == pytest.approx(factor)
    with pytest.raises(ScaleError, match="usable down to 1 m/px"):
        decide_scale(2.9, cards)


def test_alignment_puts_a_level_on_the_model_scale_only_when_none_is_near() -> None:
    from areoscan.scan.scale import alignment_factor

    assert alignment_factor(0.18, 6, 0.25, 0.1) == pytest.approx(0.36 / 0.25)  # level 1 -> 0.25
    assert alignment_factor(0.3, 6, 1.0, 0.1) == pytest.approx(1.2)  # level 2 (1.2) -> 1.0
    assert alignment_factor(0.26, 6, 0.25, 0.1) == 1.0  # within 10 %
    assert alignment_factor(0.125, 6, 0.25, 0.1) == 1.0  # level 1 is exact
    assert alignment_factor(0.18, 6, 0.25, 0.5) == 1.0  # a looser tolerance accepts level 0
    assert alignment_factor(0.5, 6, 0.25, 0.1) == 1.0  # coarser: decide_scale's business
    assert alignment_factor(0.18, 1, 0.25, 0.1) == 1.0  # no level 1 to land on
    assert alignment_factor(None, 6, 0.25, 0.1) == alignment_factor(0.18, 6, None, 0.1) == 1.0
