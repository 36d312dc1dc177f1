"""Detector training: split by group, augmentation, anchors, and a tiny end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.annotations import (
    AnnotatedImage,
    AnnotationSet,
    box_ellipse,
    box_of_mask,
    read_annotations,
)
from areoscan.cli import main
from areoscan.errors import AnnotationError
from areoscan.models.detectors import anchor_sizes, build_detector, load_detector
from areoscan.train.detector import DetectorConfig, _augment, _card, _sample, split_by_group


def test_split_keeps_groups_whole():
    images = [AnnotatedImage(Path(f"{g}_{k}.png"), 8, 8, [], g) for g in "abcde" for k in range(3)]
    ann = AnnotationSet(["x"], images)
    train, val = split_by_group(ann, 0.2, seed=1)
    assert {im.group for im in train.images}.isdisjoint({im.group for im in val.images})
    assert len(val.images) == 3 and len(train.images) == 12
    assert split_by_group(ann, 0.2, seed=1)[1].images == val.images  # seeded
    with pytest.raises(AnnotationError, match="--val"):
        split_by_group(AnnotationSet(["x"], images[:3]), 0.2, seed=1)


def test_augmentation_moves_boxes_with_masks():
    rng = np.random.default_rng(3)
    mask = np.zeros((20, 30), bool)
    mask[2:7, 20:28] = True
    pixels = mask.astype(np.float32)
    box = np.array([box_of_mask(mask)], np.float32)
    for _ in range(12):
        px, boxes, masks = _augment(pixels, box, mask[None].astype(np.uint8), rng)
        assert boxes[0].tolist() == list(box_of_mask(masks[0].astype(bool)))
        assert px.dtype == np.float32 and px.shape in ((20, 30), (30, 20))


def test_anchor_sizes_span_the_boxes():
    sides = np.geomspace(10, 200, 50)
    sizes = anchor_sizes(sides, "resnet18", scale=0.5)
    assert len(sizes) == 5 and sizes == sorted(set(sizes))
    assert 5 <= sizes[0] <= 8 + 1 and 90 <= sizes[-1] <= 110
    assert len(anchor_sizes(sides, "mobilenet_v3_large")) == 3
    three = anchor_sizes(sides, "mobilenet_v3_large", per_level=3)
    assert len(three) == 9 and three == sorted(set(three))
    assert three[0] == anchor_sizes(sides, "mobilenet_v3_large")[0]  # the same span, finer steps
    assert 90 <= three[-1] <= 200  # 3 per level: steps of 2 ** (1 / 3), not forced to 1.5


def test_several_anchor_sizes_per_level_build_a_matching_rpn():
    model = build_detector("fasterrcnn", 2, anchors=[8, 12, 20, 30, 50, 80], channels=16, head=32)
    assert model.rpn.anchor_generator.num_anchors_per_location() == [6, 6, 6]
    assert model.rpn.head.cls_logits.out_channels == 6  # 2 sizes x 3 aspect ratios
    with pytest.raises(ValueError, match="multiple of 3"):
        build_detector("fasterrcnn", 2, anchors=[8, 12, 20, 30])


def _strides(model, side: int = 384) -> list[int]:
    """Input side / feature-map side of every pyramid level the RPN sees."""
    import torch

    with torch.no_grad():
        feats = model.eval().backbone(torch.zeros(1, 1, side, side))
    return [side // f.shape[-1] for f in feats.values()]


def test_trained_mobilenet_detectors_have_strides_16_32_64():
    # the first level must be finer than the second: at stride 32 a 384-px image has a 12 x 12
    # anchor grid and pits of 12-30 px fall between anchors (the session-12 hirise-pits bug)
    card = _card("new", ["a"], DetectorConfig(channels=16, head=32), [16, 32, 64])
    assert _strides(build_detector("fasterrcnn", 1, **card.arch_kwargs)) == [16, 32, 64]


def test_cards_without_mobilenet_layers_keep_the_legacy_pyramid(tmp_path):
    from areoscan.models.card import ModelCard
    from areoscan.models.detectors import _from_card

    kwargs = {"backbone": "mobilenet_v3_large", "anchors": [16, 32, 64], "channels": 16, "head": 32}
    card = ModelCard(name="old", task="detection", arch="fasterrcnn", classes=["a"],
                     tile_size=384, in_channels=1, level=0, arch_kwargs=kwargs)  # fmt: skip
    # what old weights (and models built by hand without the key) were made with
    assert _strides(_from_card(card)) == _strides(build_detector("fasterrcnn", 1, **kwargs))
    assert _strides(_from_card(card)) == [32, 32, 64]
    card.arch_kwargs["mobilenet_layers"] = [12, 16]
    assert _strides(_from_card(card)) == [16, 32, 64]


def test_card_format_2_defaults_to_the_fixed_pyramid_and_newer_formats_are_refused():
    from areoscan.models.card import ModelCard
    from areoscan.models.detectors import DETECTOR_FORMAT, _from_card

    kwargs = {"backbone": "mobilenet_v3_large", "anchors": [16, 32, 64], "channels": 16, "head": 32}
    card = ModelCard(name="v2", task="detection", arch="fasterrcnn", classes=["a"], tile_size=384,
                     arch_kwargs={**kwargs, "format_version": 2})  # fmt: skip
    assert _strides(_from_card(card)) == [16, 32, 64]  # no mobilenet_layers: format 2's default
    new = _card("new", ["a"], DetectorConfig(channels=16, head=32), [16, 32, 64])
    assert new.arch_kwargs["format_version"] == DETECTOR_FORMAT == 2
    card.arch_kwargs["format_version"] = 3
    with pytest.raises(ValueError, match="format 3 is newer"):
        _from_card(card)


def test_min_stride_8_adds_a_level_and_rpn_fg_iou_reaches_the_matcher():
    cfg = DetectorConfig(channels=16, head=32, min_stride=8, rpn_fg_iou=0.5, anchors_per_level=3)
    sides = np.geomspace(12, 165, 40)
    anchors = anchor_sizes(sides, cfg.backbone, 1.0, 3, cfg.mobilenet_layers)
    assert len(anchors) == 12 and anchors[-1] <= 170  # 4 levels x 3, spanning the boxes only
    card = _card("fine", ["a"], cfg, anchors)
    assert card.arch_kwargs["mobilenet_layers"] == [6, 12, 16]
    model = build_detector("fasterrcnn", 1, **card.arch_kwargs)
    assert _strides(model) == [8, 16, 32, 64]
    assert model.rpn.proposal_matcher.high_threshold == 0.5
    with pytest.raises(AnnotationError, match="min stride"):
        _ = DetectorConfig(min_stride=4).mobilenet_layers


def test_image_norm_is_one_module_level_class_that_standardises_each_image():
    import torch

    from areoscan.models.standardise import Standardising

    a = build_detector("fasterrcnn", 1, channels=16, head=32, norm="image")
    b = build_detector("fasterrcnn", 1, channels=16, head=32, norm="image")
    assert type(a.transform) is type(b.transform) is Standardising
    x = torch.rand(1, 20, 30) * 0.2 + 0.7
    y = a.transform.normalize(x)
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.std()) - 1) < 1e-4


def _scenes(root: Path, n: int = 4) -> Path:
    """VIA project of 64 x 64 images with a dark disc ('pit') and a bright square ('boulder')."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    entries = []
    for k in range(n):
        img = 0.6 + 0.02 * rng.standard_normal((64, 64))
        cy, cx = (int(v) for v in rng.integers(16, 48, 2))
        yy, xx = np.mgrid[:64, :64]
        img[(yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2 <= 64] = 0.1
        bx, by = (int(v) for v in rng.integers(2, 10, 2))
        img[by : by + 6, bx : bx + 6] = 0.95
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(root / f"obs{k}.png")
        regions = [
            {"shape_attributes": {"name": "circle", "cx": cx, "cy": cy, "r": 8}, "region_attributes": {"class": "pit"}},
            {"shape_attributes": {"name": "rect", "x": bx, "y": by, "width": 6, "height": 6}, "region_attributes": {"class": "boulder"}},
        ]  # fmt: skip
        entries.append({"filename": f"obs{k}.png", "regions": regions})
    (root / "via.json").write_text(json.dumps(entries))
    return root / "via.json"


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["fasterrcnn", "maskrcnn"])
def test_tiny_detector_trains_saves_loads_and_evaluates(tmp_path, arch, capsys):
    data = _scenes(tmp_path / "d")
    out = tmp_path / "m"
    argv = ["train", "detector", "--arch", arch, "--data", str(data), "--format", "via"]
    small = ["--size", "64", "--channels", "16", "--head", "32", "--batch-size", "1"]
    run = ["--epochs", "1", "--iterations", "2", "--threads", "1", "--quiet", "--seed", "5"]
    assert main([*argv, *small, *run, "--name", "tiny", "--out", str(out)]) == 0
    card = json.loads((out / "tiny.json").read_text())
    assert card["task"] == "detection" and card["classes"] == ["pit", "boulder"]
    assert len(card["arch_kwargs"]["anchors"]) == 3
    assert set(card["training"]["train"]["groups"]).isdisjoint(card["training"]["val"]["groups"])
    assert "ap50" in card["metrics"]["validation"]
    detector = load_detector(str(out / "tiny.json"), threads=1)
    found = detector.detect(np.full((64, 64), 0.5, np.float32))
    assert all(i.label in ("pit", "boulder") and i.score is not None for i in found)
    if arch == "maskrcnn":
        assert all(i.mask is not None and i.mask.shape == (64, 64) for i in found)
    shots = tmp_path / "shots"
    assert main(["detect", str(data.parent), "--model", str(out / "tiny.json"), "--out", str(shots), "--threads", "1", "--min-score", "0"]) == 0  # fmt: skip
    written = json.loads((shots / "detections.json").read_text())
    assert len(written["images"]) == 4 and (shots / "obs0_detections.png").is_file()
    assert all("score" in a and a["category_id"] in (1, 2) for a in written["annotations"])
    if arch == "fasterrcnn":  # a second chunk starts from the first one's weights
        init = ["--init", str(out / "tiny.json"), "--name", "again", "--out", str(out)]
        assert main([*argv, *small, *run, *init]) == 0
        again = json.loads((out / "again.json").read_text())["training"]["init"]
        assert again["tensors_copied"] == again["tensors_total"] > 100
    res = tmp_path / "r.json"
    ev = ["evaluate", "detector", "--model", str(out / "tiny.json"), "--data", str(data)]
    assert main([*ev, "--format", "via", "--json", str(res), "--threads", "1"]) == 0
    assert set(json.loads(res.read_text())) >= {"ap", "ap50", "ap75", "f1_50", "macro_f1_50"}


def _boxes_only(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for k in range(2):
        Image.new("L", (64, 64)).save(root / "images" / f"g{k}.png")
        (root / "labels" / f"g{k}.txt").write_text("0 0.5 0.5 0.5 0.25\n")
    return root


def test_mask_rcnn_refuses_boxes_only(tmp_path, capsys):
    data = _boxes_only(tmp_path / "d")
    argv = ["train", "detector", "--arch", "maskrcnn", "--data", str(data), "--format", "yolo"]
    assert main([*argv, "--name", "x", "--out", str(tmp_path / "m"), "--quiet"]) == 2
    assert "--box-masks ellipse" in capsys.readouterr().err


def test_box_only_instances_train_on_their_ellipse(tmp_path):
    ann = read_annotations(_boxes_only(tmp_path / "d"), "yolo")
    rng = np.random.default_rng(0)
    _, target = _sample(ann.images[0], ann.classes, True, rng, augment=False)
    mask = target["masks"][0].numpy().astype(bool)
    assert np.array_equal(mask, box_ellipse(ann.images[0].instances[0].box, 64, 64))
    assert box_of_mask(mask) == tuple(target["boxes"][0].tolist()) == (16.0, 24.0, 48.0, 40.0)


@pytest.mark.slow
def test_mask_rcnn_trains_on_box_ellipses_without_validation(tmp_path):
    data = _boxes_only(tmp_path / "d")
    argv = ["train", "detector", "--arch", "maskrcnn", "--data", str(data), "--format", "yolo"]
    small = ["--size", "64", "--channels", "16", "--head", "32", "--batch-size", "1"]
    run = [
        "--epochs",
        "1",
        "--iterations",
        "1",
        "--threads",
        "1",
        "--quiet",
        "--box-masks",
        "ellipse",
    ]
    assert main([*argv, *small, *run, "--val-fraction", "0", "--name", "x", "--out", str(tmp_path / "m")]) == 0  # fmt: skip
    card = json.loads((tmp_path / "m" / "x.json").read_text())
    assert card["training"]["config"]["box_masks"] == "ellipse"
    assert card["training"]["val"] is None and card["training"]["train"]["images"] == 2


def test_image_norm_makes_the_input_independent_of_brightness_and_contrast():
    import torch

    model = build_detector(
        "fasterrcnn", 2, anchors=[16, 32, 64], channels=16, head=32, norm="image"
    )
    x = torch.rand(1, 96, 96)
    (a, b) = (model.transform([x])[0].tensors, model.transform([0.3 * x + 0.6])[0].tensors)
    assert torch.allclose(a, b, atol=1e-4) and abs(float(a.mean())) < 1e-3
    fixed = build_detector("fasterrcnn", 2, anchors=[16, 32, 64], channels=16, head=32)
    assert not torch.allclose(
        fixed.transform([x])[0].tensors, fixed.transform([0.3 * x])[0].tensors
    )
    with pytest.raises(ValueError, match="unknown norm"):
        build_detector("fasterrcnn", 2, norm="tile")
