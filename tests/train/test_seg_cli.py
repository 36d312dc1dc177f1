"""`areoscan train segmenter` end to end on tiny scenes written by the test itself."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from areoscan.errors import DataError
from areoscan.train import segmenter_cli


def _scene(folder: Path, name: str, seed: int) -> None:
    from areoscan.io import write_geotiff, write_jp2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:192, 0:192]
    mask = ((yy // 64 + xx // 64 + seed) % 2).astype(np.uint8)
    dn = (
        500
        + rng.normal(0, 5, (192, 192))
        + np.where(mask == 1, 120 * np.sin((xx + yy) * np.pi / 4), 0)
    )
    write_jp2(folder / f"{name}.JP2", np.clip(dn, 1, 1023).astype(np.uint16), numres=3)
    write_geotiff(folder / f"{name}_mask.tif", mask, nodata=255, overviews=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    segmenter_cli.register(parser.add_subparsers())
    return parser


@pytest.mark.slow
def test_train_segmenter_writes_model_and_card(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    for i in range(5):
        _scene(scenes, f"S{i}", i)
    args = _parser().parse_args(
        [
            "segmenter",
            "--scenes",
            str(scenes),
            "--levels",
            "0",
            "1",
            "--tile",
            "64",
            "--epochs",
            "3",
            "--encoder",
            "mobilenetv3_small_050",
            "--name",
            "toy",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--infer-tile",
            "128",
            "--speed-size",
            "64",
            "--scale",
            "0.25",
            "--scale-tolerance",
            "4",
        ]
    )
    assert args.func(args) == 0
    card = json.loads((tmp_path / "out" / "toy.json").read_text())
    # scene folders carry no scale the trainer trusts: --scale tells the scan what to resample to
    assert card["scale_m_per_px"] == 0.25 and card["scale_tolerance"] == 4.0
    assert (
        card["task"] == "segmentation" and card["arch"] == "slim-unet" and card["tile_size"] == 128
    )
    assert card["arch_kwargs"]["encoder"] == "mobilenetv3_small_050"
    assert [r["phase"] for r in card["training"]["history"]["epochs"]] == [
        "encoder",
        "decoder",
        "finetune",
    ]
    assert card["training"]["command"].startswith("areoscan ")
    assert card["metrics"]["test"]["tiles"] > 0 and "iou" in card["metrics"]["test"]
    data = card["training"]["data"]
    assert (
        data["train"]["observations"] + data["val"]["observations"] + data["test"]["observations"]
        == 5
    )
    out = capsys.readouterr().out
    assert "| model | train n | test n | IoU |" in out


def test_train_segmenter_without_data_is_one_clear_error(tmp_path: Path) -> None:
    args = _parser().parse_args(["segmenter", "--out", str(tmp_path)])
    with pytest.raises(DataError, match="no scenes given"):
        args.func(args)
    args = _parser().parse_args(
        ["segmenter", "--scenes", str(tmp_path / "none"), "--out", str(tmp_path)]
    )
    with pytest.raises(DataError, match="scene folder not found"):
        args.func(args)


def test_a_pinned_holdout_observation_needs_landmarks(tmp_path: Path) -> None:
    args = _parser().parse_args(
        ["segmenter", "--scenes", str(tmp_path), "--holdout-observation", "ESP_026247_1650",
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    with pytest.raises(DataError, match="--holdout-observation needs --landmarks"):
        args.func(args)


def test_mining_options_that_cannot_work_are_one_clear_error(tmp_path: Path) -> None:
    base = ["segmenter", "--scenes", str(tmp_path), "--out", str(tmp_path)]
    args = _parser().parse_args([*base, "--mine-rounds", "1"])
    with pytest.raises(DataError, match="needs real negatives"):
        args.func(args)
    args = _parser().parse_args([*base, "--mine-rounds", "1", "--mine-min-share", "0"])
    with pytest.raises(DataError, match="--mine-min-share"):
        args.func(args)


@pytest.mark.slow
def test_train_segmenter_mines_real_negative_tiles(tmp_path: Path) -> None:
    from PIL import Image

    scenes, negatives = tmp_path / "scenes", tmp_path / "negatives"
    scenes.mkdir()
    negatives.mkdir()
    for i in range(5):
        _scene(scenes, f"S{i}", i)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:128, 0:128]
    for i in range(6):  # coral-like stripes on real-looking negatives: the toy model marks them
        img = 120 + 60 * np.sin((xx + yy) * np.pi / 4) + rng.normal(0, 3, (128, 128))
        Image.fromarray(np.clip(img, 1, 255).astype(np.uint8)).save(negatives / f"n{i}.png")
    args = _parser().parse_args(
        [
            "segmenter",
            "--scenes",
            str(scenes),
            "--tile",
            "64",
            "--epochs",
            "1",
            "--schedule",
            "one",
            "--encoder",
            "mobilenetv3_small_050",
            "--name",
            "toy",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--infer-tile",
            "64",
            "--speed-size",
            "64",
            "--negative-tiles",
            str(negatives),
            "--mine-rounds",
            "1",
            "--mine-epochs",
            "1",
            "--mine-min-share",
            "0.01",
        ]  # fmt: skip
    )
    assert args.func(args) == 0
    card = json.loads((tmp_path / "out" / "toy.json").read_text())
    training = card["training"]
    assert training["negative_tiles"] == {"folders": [str(negatives)], "per_side": 2}
    assert training["config"]["mine_rounds"] == 1
    (record,) = training["history"]["mining"]
    n_train = training["data"]["train"]["tiles_per_source"]["real-negative"]
    assert record["round"] == 1 and record["negatives_scored"] == n_train
    assert record["per_source"] in ({}, {"real-negative": record["false_positives"]})
