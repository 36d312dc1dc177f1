"""Three-phase schedule: what trains in each phase, and the low-resolution phase-1 target."""

from __future__ import annotations

import pytest
import torch

from areoscan.data.seg_samples import IGNORE_INDEX
from areoscan.models.segmenters import build_segmenter
from areoscan.train.losses import make_loss
from areoscan.train.phases import (
    Phase,
    configure,
    downsample_target,
    one_phase,
    parse_schedule,
    phase_logits_and_target,
    three_phase,
)


def _trainable(params: list[torch.nn.Parameter]) -> set[int]:
    return {id(p) for p in params}


@pytest.mark.parametrize("arch", ["slim-unet", "linknet"])
def test_configure_freezes_the_right_parts(arch: str) -> None:
    model = build_segmenter(arch)
    enc = {id(p) for m in model.encoder_modules() for p in m.parameters()}
    dec = {id(p) for m in model.decoder_modules() for p in m.parameters()}
    deep = {id(p) for p in model.deep_head.parameters()}

    p1 = _trainable(configure(model, Phase("encoder", 1, 1e-3)))
    assert p1 == enc | deep
    p2 = _trainable(configure(model, Phase("decoder", 1, 1e-3)))
    assert p2 == dec
    assert all(not m.training for m in model.encoder_modules())  # frozen batch-norm statistics
    assert all(not p.requires_grad for m in model.encoder_modules() for p in m.parameters())
    p3 = _trainable(configure(model, Phase("finetune", 1, 1e-5)))
    assert p3 == enc | dec
    assert all(m.training for m in model.encoder_modules())


def test_decoder_phase_leaves_encoder_and_its_statistics_unchanged() -> None:
    torch.manual_seed(0)
    model = build_segmenter("slim-unet")
    phase = Phase("decoder", 1, 1e-2)
    params = configure(model, phase)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    opt = torch.optim.Adam(params, lr=phase.lr)
    x = torch.rand(2, 1, 64, 64)
    y = (x[:, 0] > 0.5).long()
    logits, target = phase_logits_and_target(model, phase, x, y, 2)
    make_loss("bce")(logits, target).backward()
    opt.step()
    after = model.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_downsample_target_majority_and_ignore() -> None:
    t = torch.zeros(1, 4, 4, dtype=torch.long)
    t[0, :2, :2] = 1  # top-left cell: all ones
    t[0, :2, 2:] = IGNORE_INDEX  # top-right cell: all ignored
    t[0, 2:, 2:] = torch.tensor([[1, 1], [1, 0]])  # bottom-right: 3 of 4 ones
    t[0, 2:, :2] = torch.tensor([[2, 2], [IGNORE_INDEX, 0]])  # bottom-left: 2s win, 3/4 valid
    out = downsample_target(t, (2, 2), 3)
    assert out.tolist() == [[[1, IGNORE_INDEX], [2, 1]]]


def test_encoder_phase_uses_deep_logits_at_one_32nd() -> None:
    model = build_segmenter("slim-unet")
    phase = Phase("encoder", 1, 1e-3)
    configure(model, phase)
    x = torch.rand(2, 1, 128, 128)
    y = torch.zeros(2, 128, 128, dtype=torch.long)
    logits, target = phase_logits_and_target(model, phase, x, y, 2)
    assert logits.shape == (2, 1, 4, 4) and target.shape == (2, 4, 4)


def test_schedules() -> None:
    assert [p.kind for p in three_phase((1, 2, 3))] == ["encoder", "decoder", "finetune"]
    assert three_phase((1, 1, 1), lr=1e-3)[2].lr == pytest.approx(1e-4)
    assert one_phase(5)[0].kind == "all"
    assert [p.epochs for p in parse_schedule("three", 10, 1e-3)] == [3, 4, 3]
    assert sum(p.epochs for p in parse_schedule("one", 10, 1e-3)) == 10
    with pytest.raises(ValueError):
        parse_schedule("two", 4, 1e-3)
    with pytest.raises(ValueError):
        Phase("bogus", 1, 1e-3)
