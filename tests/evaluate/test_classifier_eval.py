import argparse

import numpy as np
import pytest
import torch
from PIL import Image

from areoscan.data.samples import SampleSet
from areoscan.errors import DataError
from areoscan.evaluate import classifier_cli
from areoscan.evaluate.classifier import evaluate_classifier, held_out, map_labels
from areoscan.evaluate.report import COLUMNS, classifier_report
from areoscan.models.card import ModelCard
from areoscan.models.export import TorchRunner
from areoscan.models.registry import build_module, save_model


def _model(classes, positive=None, bias=None, tmp_path=None):
    torch.manual_seed(0)
    card = ModelCard(
        name="m",
        task="classification",
        arch="small_cnn",
        classes=classes,
        tile_size=32,
        positive_class=positive,
        threshold=0.5 if positive else None,
        arch_kwargs={"widths": [8, 16]},
        training={"train": {"n": 99}, "groups": {"train": ["ESP_000001_1800"], "validation": []}},
    )
    module = build_module(card).eval()
    if bias is not None:
        module.logit_bias.copy_(torch.tensor(bias, dtype=torch.float32))
    if tmp_path is not None:
        save_model(module, card, tmp_path)
    return module, card


def _samples(classes, n=12, groups=None):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % len(classes)
    imgs = rng.random((n, 32, 32)).astype(np.float32) * 0.5 + 0.1 + 0.2 * labels[:, None, None]
    groups = groups or [f"ESP_{i:06d}_1800" for i in range(n)]
    return SampleSet(imgs, labels, classes, groups, [f"t{i}" for i in range(n)])


def test_screen_on_landmark_classes_reports_fp_per_class_and_swap():
    module, card = _model(["background", "brain_coral"], positive="brain_coral")
    data = _samples(["other", "crater", "brain coral"])
    y = map_labels(data, card)
    assert set(y[data.labels == 2]) == {1} and set(y[data.labels != 2]) == {0}
    res = evaluate_classifier(TorchRunner(module, card), card, data, batch_size=5)
    assert set(res["per_data_class"]) == {"other", "crater", "brain coral"}
    assert 0 <= res["per_data_class"]["crater"]["predicted_positive"] <= 1
    assert "recall" in res["swapped_brightness"] and res["is_screen"]
    assert res["speed"]["tiles_per_s"] > 0
    text = classifier_report("m", 99, res)
    assert all(c in text for c in COLUMNS) and "swapped" in text
    assert 0 <= res["ranking"]["auc"] <= 1 and "ROC AUC" in text


def test_screen_ranking_auc_and_fp_rate_at_full_recall():
    from areoscan.evaluate.classifier import screen_ranking

    p = np.array([0.1, 0.2, 0.3, 0.4, 0.35, 0.9])
    is_pos = np.array([False, False, False, False, True, True])
    rk = screen_ranking(p, is_pos)
    # 8 pairs (positive, negative): 0.35 beats 3 negatives, 0.9 beats 4 -> AUC 7 / 8
    assert rk["auc"] == pytest.approx(7 / 8)
    assert rk["fpr_at_full_recall"] == pytest.approx(1 / 4) and rk["lowest_positive"] == 0.35
    tied = screen_ranking(np.array([0.5, 0.5]), np.array([False, True]))
    assert tied["auc"] == pytest.approx(0.5) and tied["fpr_at_full_recall"] == 1.0


def test_multiclass_needs_matching_names_and_flags_collapse():
    module, card = _model(["other", "crater", "dark dune"], bias=[50.0, 0.0, 0.0])
    with pytest.raises(DataError, match="not one of the model's classes"):
        map_labels(_samples(["other", "spider"]), card)
    res = evaluate_classifier(
        TorchRunner(module, card), card, _samples(["other", "crater", "dark_dune"])
    )
    assert res["collapsed"] and "COLLAPSED" in classifier_report("m", 1, res)
    assert "true \\ pred" in classifier_report("m", 1, res)


def test_held_out_drops_training_observations():
    _, card = _model(["a", "b"])
    data = _samples(
        ["a", "b"], n=4, groups=["ESP_000001_1800", "ESP_000002_1800", "ESP_000001_1800", "x"]
    )
    kept, dropped = held_out(data, card)
    assert dropped == 2 and kept.groups == ["ESP_000002_1800", "x"]


def test_cli_prints_table_and_exits_1_on_collapse(tmp_path, capsys):
    _model(["blobs", "stripes"], bias=[50.0, 0.0], tmp_path=tmp_path / "model")
    for c in ("blobs", "stripes"):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((40, 40), 60 + 40 * i, np.uint8)).save(
                tmp_path / "data" / c / f"{c}{i}.png"
            )
    parser = argparse.ArgumentParser()
    classifier_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "classifier",
            "--model",
            str(tmp_path / "model"),
            "--data",
            str(tmp_path / "data"),
            "--json",
            str(tmp_path / "r.json"),
            "--threads",
            "1",
        ]
    )
    assert args.func(args) == 1
    out = capsys.readouterr()
    assert "1K×1K tiles/s" in out.out and "COLLAPSED" in out.err
    assert (tmp_path / "r.json").is_file()
