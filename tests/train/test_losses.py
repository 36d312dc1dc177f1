"""Segmentation losses: ignored pixels never count, perfect predictions cost ~nothing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from areoscan.data.seg_samples import IGNORE_INDEX
from areoscan.train.losses import LOSSES, bce_loss, dice_loss, focal_loss, make_loss


def _binary_case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 1, 8, 8, generator=g)
    target = (torch.rand(2, 8, 8, generator=g) > 0.5).long()
    target[:, :3] = IGNORE_INDEX
    return logits, target


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("classes", [1, 3])
def test_ignored_pixels_do_not_change_the_loss(name: str, classes: int) -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, classes, 8, 8, generator=g)
    target = torch.randint(0, max(classes, 2), (2, 8, 8), generator=g)
    target[:, :, :4] = IGNORE_INDEX
    fn = make_loss(name)
    base = fn(logits, target)
    other = logits.clone()
    other[:, :, :, :4] = torch.randn(2, classes, 8, 4, generator=g) * 10
    assert torch.allclose(fn(other, target), base, atol=1e-6)
    # ...but counting those pixels as background would change it
    as_background = torch.where(target == IGNORE_INDEX, torch.zeros_like(target), target)
    assert not torch.allclose(fn(other, as_background), base, atol=1e-4)


def test_binary_bce_is_mean_over_valid_pixels() -> None:
    logits, target = _binary_case()
    valid = target != IGNORE_INDEX
    expected = F.binary_cross_entropy_with_logits(logits[:, 0][valid], target[valid].float())
    assert torch.allclose(bce_loss(logits, target), expected, atol=1e-6)


def test_multiclass_bce_is_cross_entropy() -> None:
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 4, 6, 6, generator=g)
    target = torch.randint(0, 4, (2, 6, 6), generator=g)
    target[0, 0] = IGNORE_INDEX
    expected = F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX)
    assert torch.allclose(bce_loss(logits, target), expected, atol=1e-6)


@pytest.mark.parametrize("classes", [1, 3])
def test_perfect_prediction_costs_almost_nothing(classes: int) -> None:
    target = torch.randint(
        0, max(classes, 2), (2, 8, 8), generator=torch.Generator().manual_seed(3)
    )
    if classes == 1:
        logits = (target.float() * 2 - 1).unsqueeze(1) * 20
    else:
        logits = F.one_hot(target, classes).permute(0, 3, 1, 2).float() * 40 - 20
    for name in LOSSES:
        assert float(make_loss(name)(logits, target)) < 1e-3, name


def test_focal_is_below_bce_and_dice_in_unit_range() -> None:
    logits, target = _binary_case(4)
    assert float(focal_loss(logits, target)) < float(bce_loss(logits, target))
    assert 0.0 <= float(dice_loss(logits, target)) <= 1.0


@pytest.mark.parametrize("name", LOSSES)
def test_all_ignored_gives_finite_zero_gradient(name: str) -> None:
    logits = torch.randn(1, 1, 4, 4, requires_grad=True)
    target = torch.full((1, 4, 4), IGNORE_INDEX)
    loss = make_loss(name)(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.count_nonzero(logits.grad) == 0


def test_unknown_loss_name() -> None:
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("hinge")
