import argparse
import json

import numpy as np
import pytest
import torch

from areoscan.data.samples import load_source
from areoscan.errors import DataError
from areoscan.models.registry import load_model
from areoscan.train import classifier_cli
from areoscan.train.classifier import ClassifierTrainConfig, sampling_weights, train_classifier
from areoscan.train.classifier_decision import tune_logit_bias, tune_threshold
from areoscan.train.loop import FitConfig


def _cfg(**kw):
    base = dict(
        name="tiny",
        arch="small_cnn",
        size=32,
        batch_size=16,
        steps_per_epoch=4,
        seed=1,
        threads=1,
        fractions=(0.5, 0.25, 0.25),
        arch_kwargs={"widths": [8, 16, 32]},
        fit=FitConfig(epochs=3, lr=5e-3, progress=False, log=False),
    )
    base.update(kw)
    return ClassifierTrainConfig(**base)


def test_sampling_weights_balance():
    labels = np.array([0] * 90 + [1] * 10)
    natural = sampling_weights(labels, 2, 0.0)
    balanced = sampling_weights(labels, 2, 1.0)
    assert natural[labels == 1].sum() == pytest.approx(0.1)
    assert balanced[labels == 1].sum() == pytest.approx(0.5)


def test_prior_shift_undoes_sampling_with_one_scalar():
    from areoscan.train.classifier_decision import prior_shift

    rng = np.random.default_rng(0)
    labels = np.array([0] * 90 + [1] * 10)
    w = sampling_weights(labels, 2, 1.0)
    shift = prior_shift(labels, w, 2)
    assert shift[0] == pytest.approx(np.log(0.9 / 0.5)) and shift[1] == pytest.approx(
        np.log(0.1 / 0.5)
    )
    y = rng.integers(0, 2, 400)
    logits = (
        np.eye(2)[y] * 1.5 + rng.normal(0, 1, (400, 2)) - shift
    )  # a model over-predicting class 1
    bias, tau = tune_logit_bias(logits, y, shift)
    assert tau > 0
    assert ((logits + bias).argmax(1) == y).mean() > (logits.argmax(1) == y).mean()


def test_bias_sweep_scores_every_tau_and_agrees_with_the_tuned_choice():
    from areoscan.train.classifier_decision import SWEEP_GRID, bias_sweep, prior_shift

    rng = np.random.default_rng(1)
    labels = np.array([0] * 90 + [1] * 10)
    shift = prior_shift(labels, sampling_weights(labels, 2, 1.0), 2)
    y = rng.integers(0, 2, 400)
    logits = np.eye(2)[y] * 1.5 + rng.normal(0, 1, (400, 2)) - shift
    sweep = bias_sweep(logits, y, shift)
    assert [r["tau"] for r in sweep] == list(SWEEP_GRID) and SWEEP_GRID[0] == -1.0
    by_tau = {r["tau"]: r for r in sweep}
    for tau in (-1.0, 0.0, 1.0):
        pred = (logits + tau * shift).argmax(1)
        assert by_tau[tau]["accuracy"] == pytest.approx((pred == y).mean())
    # the model over-predicts class 1: a negative tau (towards uniform) makes that worse
    assert by_tau[1.0]["accuracy"] > by_tau[-1.0]["accuracy"]
    _, tau = tune_logit_bias(logits, y, shift)
    best = max(r["accuracy"] + r["macro_f1"] for r in sweep if r["tau"] >= 0)
    assert by_tau[tau]["accuracy"] + by_tau[tau]["macro_f1"] == pytest.approx(best)


def test_fpr_threshold_flags_at_most_the_budget_of_real_negatives():
    from areoscan.data.samples import SampleSet
    from areoscan.train.classifier_decision import fpr_threshold, screen_threshold

    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    t = fpr_threshold(p, 0.2)  # 2 of 10 may pass
    assert (p >= t).sum() == 2 and 0.7 < t <= 0.8
    assert (p >= fpr_threshold(p, 0.0)).sum() == 0
    assert fpr_threshold(p, 1.0) == 1e-4
    val = SampleSet(
        np.zeros((6, 2, 2), np.float32), np.array([0, 0, 0, 0, 1, 1]), ["bg", "coral"],
        list("abcdef"), list("abcdef"), sources=["synth", "synth", "real", "real", "synth", "real"],
    )  # fmt: skip
    probs = np.array([0.95, 0.9, 0.3, 0.2, 0.6, 0.8])
    # the budget is spent on the real negatives (0.3, 0.2): the synthetic 0.95 and 0.9 do not count
    t = screen_threshold(probs, val, 1, _cfg(max_fpr=0.0))
    assert 0.3 < t < 0.31
    assert screen_threshold(probs, val, 1, _cfg(min_recall=1.0)) == pytest.approx(0.6)
    # with fpr_sources only those sources' negatives set the budget (here one tile: 0.2)
    val.sources[3] = "pits"
    t = screen_threshold(probs, val, 1, _cfg(max_fpr=0.0, fpr_sources=("real",)))
    assert 0.3 < t < 0.31
    t = screen_threshold(probs, val, 1, _cfg(max_fpr=0.0, fpr_sources=("pits",)))
    assert 0.2 < t < 0.21


def test_tune_threshold_min_recall():
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    pos = np.array([False, False, True, False, True, True])
    assert tune_threshold(p, pos, min_recall=1.0) == pytest.approx(0.3)
    assert tune_threshold(p, pos, min_recall=None) in (0.3, 0.7)


@pytest.mark.slow
def test_train_classifier_end_to_end_and_reproducible(class_folders, tmp_path):
    data = load_source(str(class_folders), 32)
    out1 = train_classifier(data, _cfg())
    out2 = train_classifier(data, _cfg())
    for a, b in zip(
        out1.module.state_dict().values(), out2.module.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    card = out1.card
    groups = {k: {data.groups[i] for i in v} for k, v in out1.splits.items()}
    assert not (groups["train"] & groups["test"]) and not (groups["val"] & groups["test"])
    for key in ("accuracy", "macro_f1", "majority_accuracy", "per_class", "confusion"):
        assert key in card.metrics["test"]
    assert card.training["train"]["n"] == len(out1.splits["train"])
    assert len(card.training_manifest_sha256) == 64
    assert out1.fit.best_epoch >= 1
    assert card.calibration is None  # not asked for: raw softmax, as before


def test_multiclass_calibration_is_fitted_after_the_logit_offsets(class_folders):
    data = load_source(str(class_folders), 32)
    out = train_classifier(data, _cfg(calibrate="temperature"))
    cal = out.card.calibration
    assert cal["method"] == "temperature" and cal["n"] == len(out.splits["val"])
    assert cal["ece_after"] <= cal["ece_before"] + 1e-9  # the fit minimises NLL, ECE follows here
    with pytest.raises(DataError, match="--calibrate"):
        train_classifier(data, _cfg(calibrate="isotonic"))


def test_screen_with_hard_negative_mining_records_each_round(class_folders):
    data = load_source(str(class_folders), 32)
    cfg = _cfg(positive_class="stripes", min_recall=0.9, mine_rounds=1, mine_epochs=1)
    out = train_classifier(data, cfg)
    (round1,) = out.card.training["hard_negative_mining"]
    assert 0 < round1["threshold"] < 1 and round1["negatives_scored"] > 0
    per_source = out.card.training["train"]["per_source"]
    assert per_source.get("hard-negatives", 0) == round1["false_positives"]


@pytest.mark.slow
def test_cli_trains_a_screen_and_writes_a_loadable_model(class_folders, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    classifier_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "classifier",
            "--data",
            f"{class_folders / 'blobs'}@background",
            "--data",
            f"{class_folders / 'stripes'}@coral",
            "--out",
            str(tmp_path / "m"),
            "--name",
            "screen",
            "--arch",
            "small_cnn",
            "--mode",
            "dct",
            "--size",
            "32",
            "--epochs",
            "2",
            "--steps-per-epoch",
            "3",
            "--batch-size",
            "8",
            "--positive-class",
            "coral",
            "--min-recall",
            "0.9",
            "--threads",
            "1",
            "--quiet",
            "--fractions",
            "0.5,0.25,0.25",
            "--calibrate",
            "temperature",
            "--scale-tolerance",
            "4",
        ]
    )
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    module, card = load_model(tmp_path / "m")
    assert summary["card"].endswith("screen.json")
    assert card.mode == "dct" and card.classes == ["background", "coral"]
    assert card.positive_class == "coral" and 0 < card.threshold < 1
    assert "binary" in card.metrics["test"]
    assert card.scale_tolerance == 4.0
    cal = card.calibration
    assert cal["method"] == "temperature" and cal["temperature"] > 0 and cal["n"] > 0
    assert 0 <= cal["ece_after"] <= 1 and "validation split" in cal["fitted_on"]
    out = module(torch.rand(2, 1, 32, 32))
    assert out.shape == (2, 2)


def test_cli_rejects_one_class_and_bad_fractions(class_folders, tmp_path):
    parser = argparse.ArgumentParser()
    classifier_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "classifier",
            "--data",
            f"{class_folders / 'blobs'}@x",
            "--out",
            str(tmp_path),
            "--size",
            "32",
        ]
    )
    with pytest.raises(DataError, match="two classes"):
        args.func(args)
    args.fpr_sources = ["landmarks-v3"]  # a typo would silently leave the budget on every source
    with pytest.raises(DataError, match="no such source"):
        args.func(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["classifier", "--data", "x", "--out", "y", "--fractions", "0.5,0.5,0.5"])


def test_source_balance_gives_small_sources_equal_draws():
    labels = np.array([1] * 100 + [1] * 4 + [0] * 50)
    sources = ["synth"] * 100 + ["real"] * 4 + ["landmarks"] * 50
    w = sampling_weights(labels, 2, 1.0, sources)
    assert w[100:104].sum() == pytest.approx(0.25)
    assert w[:100].sum() == pytest.approx(0.25)
    assert w[104:].sum() == pytest.approx(0.5)


def test_force_test_moves_matching_keys_and_their_groups(class_folders):
    from areoscan.data.splits import split_by_group
    from areoscan.train.classifier_splits import force_test

    data = load_source(str(class_folders), 32)
    parts = split_by_group(data, (0.5, 0.25, 0.25), seed=0)
    tr, va, te = force_test(data, parts, r"blobs/ESP_100000_1825_RED-0000")
    moved = [i for i, g in enumerate(data.groups) if g == "ESP_100000_1825"]
    assert set(moved) <= set(te) and not set(moved) & (set(tr) | set(va))
    assert len(tr) + len(va) + len(te) == len(data)
    with pytest.raises(DataError, match="matches no sample"):
        force_test(data, parts, "nothing-like-this")


def test_init_copies_matching_weights_but_not_the_head(tmp_path):
    from areoscan.models.card import ModelCard
    from areoscan.models.registry import build_module, save_model
    from areoscan.train.classifier import init_from

    torch.manual_seed(0)
    src_card = ModelCard(
        name="pre",
        task="classification",
        arch="small_cnn",
        classes=list("abcdefg"),
        tile_size=32,
        arch_kwargs={"widths": [8, 16]},
    )
    src = build_module(src_card)
    save_model(src, src_card, tmp_path)
    dst = build_module(
        ModelCard(
            name="ft",
            task="classification",
            arch="small_cnn",
            classes=["x", "y"],
            tile_size=64,
            arch_kwargs={"widths": [8, 16]},
        )
    )
    info = init_from(dst, str(tmp_path / "pre.json"))
    assert info["tensors_copied"] < info["tensors_total"]
    first = "backbone.features.0.weight"
    assert torch.equal(dst.state_dict()[first], src.state_dict()[first])
    assert dst.state_dict()["backbone.head.3.weight"].shape == (2, 16)
    other = build_module(
        ModelCard(
            name="o",
            task="classification",
            arch="mobilenetv3_small",
            classes=["x", "y"],
            tile_size=32,
        )
    )
    with pytest.raises(DataError, match="no weights fit"):
        init_from(other, str(tmp_path / "pre.json"))


def test_inverse_frequency_weights_and_class_weighted_training(class_folders):
    from areoscan.train.classifier import inverse_frequency

    w = inverse_frequency(np.array([0] * 90 + [1] * 10), 3)
    assert w[2] == 0 and float(w[1] / w[0]) == pytest.approx(9.0)
    assert float(w[:2].mean()) == pytest.approx(1.0)
    for f in sorted((class_folders / "checker").glob("*.png")):
        if not f.stem.endswith("0000"):
            f.unlink()  # checker: 1 tile per observation, the others 4
    samples = load_source(str(class_folders), 32, level=0, scale=1.0, seed=0)
    out = train_classifier(samples, _cfg(balance=0.0, class_weighted_loss=True))
    assert out.card.training["config"]["class_weighted_loss"] is True
    shift = np.array(out.card.training["decision"]["shift"])
    # balance 0 + inverse-frequency loss: the learnt prior is uniform over the present classes
    counts = np.bincount(samples.subset(out.splits["train"]).labels, minlength=len(shift))
    present = counts > 0
    assert present.sum() == 3 and counts.min() < counts.max()
    natural = counts / counts.sum()
    assert np.allclose(shift[present], np.log(natural[present] * present.sum()), atol=1e-4)


def test_warm_start_tests_on_the_init_models_held_out_observations(class_folders, tmp_path):
    from areoscan.models.registry import save_model

    data = load_source(str(class_folders), 32)
    quick = dict(steps_per_epoch=2, fit=FitConfig(epochs=1, progress=False, log=False))
    first = train_classifier(data, _cfg(seed=0, **quick))
    save_model(first.module, first.card, tmp_path)
    seen0 = set(first.card.training["groups"]["train"]) | set(
        first.card.training["groups"]["validation"]
    )
    held0 = {data.groups[i] for i in first.splits["test"]}
    warm = train_classifier(
        data, _cfg(seed=5, init=str(tmp_path / "tiny.json"), init_test=True, **quick)
    )
    test_groups = {data.groups[i] for i in warm.splits["test"]}
    assert test_groups == held0 and not test_groups & seen0
    seen = warm.card.training["groups"]
    assert seen0 <= set(seen["train"]) | set(seen["validation"])
    with pytest.raises(DataError, match="needs --init"):
        train_classifier(data, _cfg(init_test=True))
