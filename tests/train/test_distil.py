import argparse

import numpy as np
import pytest
import torch

from areoscan.data.samples import concat, load_source
from areoscan.errors import DataError
from areoscan.models.card import ModelCard
from areoscan.models.registry import build_module, save_model
from areoscan.train import classifier_cli
from areoscan.train.classifier import ClassifierTrainConfig, train_classifier
from areoscan.train.distil import (
    DistilConfig,
    Distiller,
    DistilLoss,
    default_sources,
    distil_kl,
    make_distiller,
    pack_targets,
)
from areoscan.train.loop import FitConfig
from areoscan.train.mining import with_hard_negatives


def _screen_card(**kw):
    base = dict(
        name="teacher",
        task="classification",
        arch="small_cnn",
        classes=["background", "coral"],
        tile_size=32,
        level=2,
        scale_m_per_px=1.0,
        positive_class="coral",
        arch_kwargs={"widths": [8, 16]},
    )
    base.update(kw)
    return ModelCard(**base)


def _samples(class_folders):
    return concat(
        [
            load_source(f"{class_folders / 'blobs'}@background", 32),
            load_source(f"{class_folders / 'stripes'}@coral", 32),
            load_source(f"{class_folders / 'checker'}@background", 32),
        ]
    )


def test_distil_term_is_zero_when_the_student_answers_like_the_teacher():
    z = torch.randn(6, 2)
    for tau in (1.0, 3.0):
        assert torch.allclose(distil_kl(z, z, tau), torch.zeros(6), atol=1e-6)
    assert bool((distil_kl(z + torch.tensor([0.0, 1.0]), z) > 0).all())
    labels = torch.tensor([0, 1, 0, 0, 1, 0])
    rows = torch.tensor([True, False, True, True, False, False])
    loss = DistilLoss(torch.nn.CrossEntropyLoss(), weight=5.0, temperature=2.0)
    packed = pack_targets(labels, z, rows)
    assert packed.shape == (6, 3) and bool(torch.isnan(packed[~rows, 1:]).all())
    assert float(loss(z, packed)) == pytest.approx(float(torch.nn.CrossEntropyLoss()(z, labels)))
    moved = z + 1.5 * torch.tensor([0.0, 1.0])
    extra = float(loss(moved, packed)) - float(torch.nn.CrossEntropyLoss()(moved, labels))
    assert extra == pytest.approx(5.0 * float(distil_kl(moved[rows], z[rows], 2.0).sum()) / 6)
    assert float(loss(z, labels)) == pytest.approx(float(torch.nn.CrossEntropyLoss()(z, labels)))
    assert loss.summary()["steps"] == 2  # bare labels are not counted
    assert loss.summary()["all"]["distil"] > 0


def test_teacher_targets_are_its_calibrated_logits_on_the_distilled_rows(tmp_path):
    torch.manual_seed(0)
    card = _screen_card(calibration={"method": "temperature", "temperature": 0.5})
    teacher = build_module(card).eval()
    save_model(teacher, card, tmp_path)
    x = torch.rand(5, 1, 32, 32)
    rows = torch.tensor([True, False, True, False, True])
    cfg = DistilConfig(str(tmp_path / "teacher.json"))
    labels = torch.zeros(5, dtype=torch.long)
    samples = _two_sources()
    d = make_distiller(cfg, samples, _screen_card(name="student"), 1.0)
    packed = d.targets(x, labels, rows)
    with torch.no_grad():
        z = teacher(x)
    assert torch.allclose(packed[rows, 1:], z[rows] / 0.5, atol=1e-5)
    # a student equal to the teacher (its logits divided by the calibration) has no distil loss
    assert float(distil_kl(z[rows] / 0.5, packed[rows, 1:]).abs().max()) < 1e-5


def _two_sources():
    """A 5-tile SampleSet of two real sources (one background-only) without files."""
    from areoscan.data.sample_set import SampleSet

    return SampleSet(
        np.zeros((5, 32, 32), np.float32),
        np.array([0, 0, 1, 0, 0]),
        ["background", "coral"],
        [f"g{i}" for i in range(5)],
        [f"k{i}" for i in range(5)],
        sources=["landmarks-v3", "landmarks-v3", "coral-tiles", "synth", "coral-tiles"],
    )


def test_sources_default_to_real_background_and_mined_copies_follow(tmp_path):
    samples = _two_sources()
    assert default_sources(samples, "coral") == ["landmarks-v3"]
    assert default_sources(samples, None) == ["coral-tiles", "landmarks-v3"]
    card = _screen_card()
    d = Distiller(build_module(card), card, DistilConfig("t"), ["landmarks-v3"])
    mined = with_hard_negatives(samples, np.array([1, 3]))
    assert d.mask(mined).tolist() == [True, True, False, False, False, True, False]


def test_incompatible_teacher_and_bad_options_are_one_line_errors(tmp_path):
    save_model(build_module(_screen_card(tile_size=64)), _screen_card(tile_size=64), tmp_path)
    samples = _two_sources()
    student = _screen_card(name="student")
    with pytest.raises(DataError, match="tile size 64 differ"):
        make_distiller(DistilConfig(str(tmp_path / "teacher.json")), samples, student, 1.0)
    save_model(build_module(_screen_card()), _screen_card(), tmp_path)
    with pytest.raises(DataError, match="no such source"):
        make_distiller(
            DistilConfig(str(tmp_path / "teacher.json"), sources=("pits",)), samples, student, 1.0
        )
    with pytest.raises(DataError, match="must be > 0"):
        make_distiller(
            DistilConfig(str(tmp_path / "teacher.json"), weight=0.0), samples, student, 1.0
        )
    parser = argparse.ArgumentParser()
    classifier_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        ["classifier", "--data", "x", "--out", str(tmp_path), "--distil-weight", "2"]
    )
    with pytest.raises(DataError, match="need --distil-from"):
        args.func(args)


def test_training_with_distillation_runs_end_to_end_and_is_recorded(class_folders, tmp_path):
    samples = _samples(class_folders)
    common = dict(
        name="teacher",
        arch="small_cnn",
        size=32,
        level=2,
        scale_m_per_px=1.0,
        batch_size=8,
        steps_per_epoch=2,
        seed=1,
        threads=1,
        positive_class="coral",
        fractions=(0.5, 0.25, 0.25),
        arch_kwargs={"widths": [8, 16]},
        fit=FitConfig(epochs=1, progress=False, log=False),
    )
    first = train_classifier(samples, ClassifierTrainConfig(calibrate="temperature", **common))
    save_model(first.module, first.card, tmp_path)
    teacher = str(tmp_path / "teacher.json")
    cfg = ClassifierTrainConfig(
        **{**common, "name": "student"},
        init=teacher,
        distil=DistilConfig(teacher, weight=2.0, temperature=2.0),
        mine_rounds=1,
        mine_epochs=1,
        min_recall=0.5,
    )
    out = train_classifier(samples, cfg)
    rec = out.card.training["distillation"]
    assert rec["teacher"] == "teacher" and rec["sources"] == ["blobs", "checker"]
    assert rec["weight"] == 2.0 and rec["temperature"] == 2.0
    assert rec["teacher_calibration_temperature"] == first.card.calibration["temperature"]
    assert 0 < rec["train_tiles_distilled"] < out.card.training["train"]["n"]
    terms = rec["loss_terms"]
    assert terms["steps"] >= 2 and terms["all"]["distil"] >= 0 and terms["all"]["label"] > 0
    assert out.card.training["config"]["distil"]["model"] == teacher
