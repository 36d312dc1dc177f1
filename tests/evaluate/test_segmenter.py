"""Segmenter evaluation: pixel metrics, coral shares on real-like tiles, tables, the comparison."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from areoscan.data.landmarks import seen_landmark_observations
from areoscan.data.seg_metrics import (
    TABLE_COLUMNS,
    evaluate_tiles,
    markdown_table,
    metrics_from_confusion,
    per_class_table,
    table_row,
    tiles_per_second,
)
from areoscan.data.seg_samples import IGNORE_INDEX, SegSet
from areoscan.evaluate.segmenter import coral_tile_shares, landmark_shares
from areoscan.models.card import ModelCard
from areoscan.models.segmenters import SegmentPredictor


def toy_set(n: int, seed: int, size: int = 64) -> SegSet:
    """Striped squares ('coral') on smooth noisy ground."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.empty((n, size, size), np.float32)
    targets = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        r0, c0 = rng.integers(0, size // 2, 2)
        box = (yy >= r0) & (yy < r0 + size // 3) & (xx >= c0) & (xx < c0 + size // 3)
        base = 0.5 + rng.normal(0, 0.01, (size, size))
        images[i] = np.clip(base + np.where(box, 0.15 * np.sin((xx + yy) * np.pi / 3), 0), 0.01, 1)
        targets[i] = box
    return SegSet(images, targets, [f"o{i % 6}" for i in range(n)], ["toy"] * n)


class BrightIsCoral:
    """A fake runner: logit = (x - 0.5) * 50, so pixels brighter than 0.5 are 'coral'."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - 0.5) * 50.0


def _predictor() -> SegmentPredictor:
    card = ModelCard(
        name="fake",
        task="segmentation",
        arch="slim-unet",
        classes=["background", "brain_coral"],
        tile_size=32,
        threshold=0.5,
        positive_class="brain_coral",
    )
    return SegmentPredictor(BrightIsCoral(), card, "torch")


def test_evaluate_tiles_counts_pixels_and_ignores_255() -> None:
    img = np.full((2, 4, 4), 0.2, np.float32)
    img[0, :, :2] = 0.9  # predicted coral: left half of tile 0
    tgt = np.zeros((2, 4, 4), np.uint8)
    tgt[0, :, :3] = 1  # true coral: 3 columns -> 4 FN pixels
    tgt[1, 0] = IGNORE_INDEX
    m = evaluate_tiles(_predictor(), SegSet(img, tgt, ["a", "b"], ["scene-L0", "landmark:crater"]))
    assert m["pixels"] == 28 and m["tiles"] == 2
    assert m["iou"] == pytest.approx(8 / 12)
    assert m["precision"] == 1.0 and m["recall"] == pytest.approx(8 / 12)
    assert m["fn_pct"] == pytest.approx(100 * 4 / 28)
    assert m["by_source"]["landmark:crater"]["fpr"] == 0.0
    # accuracy and the majority-class baseline for a binary model too (24 of 28 pixels right;
    # the majority class is background: 16 of 28 pixels)
    assert m["accuracy"] == pytest.approx(24 / 28) and m["majority_class"] == "background"
    assert m["majority_accuracy"] == pytest.approx(16 / 28)
    assert m["majority_macro_f1"] == pytest.approx((2 * 16 / (16 + 28)) / 2)
    row = table_row("fake", 10, m, 3.0)
    assert len(row) == len(TABLE_COLUMNS) and row[3] == "0.667"
    assert "| brain_coral | 0.667 |" in per_class_table(m)


def test_multiclass_metrics_are_macro_means() -> None:
    cm = np.array([[5, 1, 0], [0, 4, 0], [0, 0, 0]])
    m = metrics_from_confusion(cm, ["a", "b", "c"])
    assert m["iou"] == pytest.approx(np.mean([5 / 6, 4 / 5]))
    assert "tp_pct" not in m and m["accuracy"] == pytest.approx(0.9)


def test_coral_and_landmark_shares(tmp_path: Path) -> None:
    from PIL import Image

    coral = tmp_path / "coral"
    coral.mkdir()
    Image.fromarray(np.full((10, 12), 230, np.uint8)).save(coral / "a.png")
    Image.fromarray(np.full((10, 12), 40, np.uint8)).save(coral / "b.png")
    shares = coral_tile_shares(_predictor(), coral, upsample=3)
    assert shares == {"a.png": 1.0, "b.png": 0.0}
    lm = tmp_path / "lm"
    (lm / "images").mkdir(parents=True)
    Image.fromarray(np.full((9, 9), 200, np.uint8)).save(lm / "images" / "x.jpg")
    Image.fromarray(np.full((9, 9), 20, np.uint8)).save(lm / "images" / "y.jpg")
    (lm / "manifest.csv").write_text(
        "file,landmark_id,variant,class_id,class_name,source_image\n"
        "x.jpg,x,orig,1,crater,A\ny.jpg,y,orig,0,other,B\ny.jpg,y,r90,0,other,B\n"
    )
    out = landmark_shares(_predictor(), lm)
    assert out["crater"]["mean_share"] == 1.0 and out["other"] == {
        "tiles": 1,
        "mean_share": 0.0,
        "max_share": 0.0,
    }
    # held-out evaluation: observations the card lists as trained on are left out
    assert list(landmark_shares(_predictor(), lm, exclude={"A"})) == ["other"]
    assert list(landmark_shares(_predictor(), lm, observations={"A"})) == ["crater"]
    card = ModelCard(name="m", task="segmentation", arch="x", classes=["background", "brain_coral"],
                     tile_size=64,
                     training={"data": {"train": {"landmark_observations": ["A"]},
                                        "val": {"landmark_observations": ["C"]},
                                        "test": {"landmark_observations": ["B"]}}})  # fmt: skip
    assert seen_landmark_observations(card) == {"A", "C"}
    card.training["init_landmark_observations"] = ["D"]  # a fine-tune: its start model saw D
    assert seen_landmark_observations(card) == {"A", "C", "D"}


def test_tiles_per_second_and_markdown() -> None:
    assert tiles_per_second(_predictor(), size=64, batch=2, repeats=1) > 0
    md = markdown_table(["a", "b"], [["1", "2"]])
    assert md.splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |"]


@pytest.mark.slow
def test_compare_writes_table_and_png(tmp_path: Path) -> None:
    from areoscan.train.compare_segmenters import compare
    from areoscan.train.segmenter import SegTrainConfig

    torch.set_num_threads(2)
    data = toy_set(24, 0)
    cfgs = [
        SegTrainConfig(arch=a, arch_kwargs={"encoder": e}, schedule=s, epochs=3, batch_size=8)
        for a, e, s in [
            ("slim-unet", "mobilenetv3_small_050", "three"),
            ("linknet", "tu-mobilenetv3_small_050", "one"),
        ]
    ]
    md = compare(cfgs, data, tmp_path, progress=False, infer_tile=64, speed_size=64)
    text = md.read_text()
    assert "slim-unet/three/dice+focal" in text and "linknet/one/dice+focal" in text
    assert "| model | background | brain_coral |" in text
    assert (tmp_path / "compare.png").stat().st_size > 1000
    assert (tmp_path / "models" / "linknet_one_dicefocal_tu-mobilenetv3_small_050.json").is_file()


def test_cli_registers_and_rejects_empty_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from areoscan.errors import DataError
    from areoscan.evaluate import segmenter_cli
    from areoscan.models.registry import save_model
    from areoscan.models.segmenters import build_segmenter, segmenter_kwargs

    parser = argparse.ArgumentParser()
    segmenter_cli.register(parser.add_subparsers())
    card = ModelCard(
        name="m",
        task="segmentation",
        arch="slim-unet",
        classes=["background", "brain_coral"],
        tile_size=64,
        threshold=0.5,
        positive_class="brain_coral",
        arch_kwargs=segmenter_kwargs("slim-unet", encoder="mobilenetv3_small_050"),
    )
    save_model(build_segmenter("slim-unet", **card.arch_kwargs).eval(), card, tmp_path)
    args = parser.parse_args(["segmenter", "--model", str(tmp_path / "m.json")])
    with pytest.raises(DataError, match="nothing to evaluate"):
        args.func(args)
    from PIL import Image

    (tmp_path / "coral").mkdir()
    Image.fromarray(np.full((20, 20), 120, np.uint8)).save(tmp_path / "coral" / "t.png")
    args = parser.parse_args(
        [
            "segmenter",
            "--model",
            str(tmp_path / "m.json"),
            "--coral-tiles",
            str(tmp_path / "coral"),
            "--speed-size",
            "64",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "real brain-coral tiles (x3)" in out and "| t.png |" in out
    assert (tmp_path / "r.json").is_file()
