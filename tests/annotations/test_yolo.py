"""YOLO / YOLO-seg reading and COCO writing, on tiny generated datasets."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from areoscan.annotations import read_annotations, write_coco
from areoscan.annotations.geometry import AnnotationWarning
from areoscan.cli import main
from areoscan.errors import AnnotationError


def _dataset(root: Path, labels: dict[str, str], size: tuple[int, int] = (40, 50)) -> Path:
    """A Roboflow-like YOLO dataset: data.yaml + train/images + train/labels."""
    (root / "train" / "images").mkdir(parents=True)
    (root / "train" / "labels").mkdir(parents=True)
    for stem, text in labels.items():
        Image.new("L", (size[1], size[0])).save(root / "train" / "images" / f"{stem}.jpg")
        if text is not None:
            (root / "train" / "labels" / f"{stem}.txt").write_text(text)
    (root / "data.yaml").write_text("train: ../train/images\nnc: 2\nnames: ['pit', 'skylight']\n")
    return root


def test_boxes_are_denormalised_named_and_grouped(tmp_path):
    root = _dataset(
        tmp_path,
        {
            "ESP_012600_1655_RED_H0_crop_mirrored_png.rf.0123456789abcdef0123": "1 0.5 0.5 0.2 0.5\n",
            "ESP_012600_1655_RED_H1_crop_png.rf.fedcba9876543210fedc": "0 0.1 0.25 0.2 0.5\n\n",
            "neg": "",
        },
    )
    ann = read_annotations(root, "yolo")
    assert ann.classes == ["pit", "skylight"]
    by_name = {(img.path.stem.split("_") + ["", "", "", "", ""])[4]: img for img in ann.images}
    first = by_name["H0"].instances[0]
    assert first.label == "skylight" and first.mask is None and first.score is None
    assert first.box == pytest.approx((20.0, 10.0, 30.0, 30.0))  # w=50, h=40
    assert by_name["H1"].instances[0].box == pytest.approx((0.0, 0.0, 10.0, 20.0))
    assert by_name["H0"].group == by_name["H1"].group == "ESP_012600_1655"
    assert [img.instances for img in ann.images if img.path.stem == "neg"] == [[]]
    assert ann.counts() == {"pit": 1, "skylight": 1}


def test_write_coco_is_readable_by_pycocotools(tmp_path):
    root = _dataset(tmp_path / "d", {"a": "0 0.5 0.5 0.4 0.4\n"})
    seg_root = _dataset(tmp_path / "s", {"b": "1 0.1 0.1 0.9 0.1 0.9 0.6 0.1 0.6\n"})
    for src, fmt in ((root, "yolo"), (seg_root, "yolo-seg")):
        ann = read_annotations(src, fmt)
        out = tmp_path / f"{fmt}.json"
        write_coco(ann, out)
        coco = COCO(str(out))
        [a] = coco.loadAnns(coco.getAnnIds())
        inst = ann.images[0].instances[0]
        x0, y0, x1, y1 = inst.box
        assert a["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0])
        assert coco.loadCats(a["category_id"])[0]["name"] == inst.label
        if fmt == "yolo-seg":
            # polygon 5..45 x 4..24 (pixel edges) on a 50 x 40 image: 40 x 20 pixel centres inside
            assert inst.mask is not None and int(inst.mask.sum()) == 40 * 20
            assert np.array_equal(coco.annToMask(a).astype(bool), inst.mask)
            assert inst.box == (5.0, 4.0, 45.0, 24.0)
        img = json.loads(out.read_text())["images"][0]
        assert (out.parent / img["file_name"]).exists()


@pytest.mark.parametrize(
    "line, message",
    [
        ("7 0.5 0.5 0.1 0.1", "class 7 is not one of the 2"),
        ("0 0.5 zero 0.1 0.1", "expected 'class x y ...' numbers"),
        ("0 0.5 0.5 0.1", "4 fields"),
        ("0 1.5 1.5 0.2 0.2", "outside the image"),
        ("0 0.5 0.5 -0.1 0.2", "non-positive size"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path, line, message):
    root = _dataset(tmp_path, {"a": f"0 0.5 0.5 0.1 0.1\n{line}\n"})
    with pytest.raises(AnnotationError, match=message) as err:
        read_annotations(root, "yolo")
    assert "a.txt: line 2" in str(err.value)


def test_partly_outside_boxes_are_clipped_with_one_warning(tmp_path):
    root = _dataset(
        tmp_path, {"a": "0 0.95 0.5 0.2 0.2\n0 0.0 0.0 0.2 0.2\n1 0.0 0.0 0.0001 0.0001\n"}
    )
    with pytest.warns(AnnotationWarning) as record:
        ann = read_annotations(root, "yolo")
    messages = " ".join(str(r.message) for r in record)
    assert "2 shape(s) extend past the image" in messages and "1 degenerate" in messages
    boxes = [i.box for i in ann.images[0].instances]
    assert boxes == [pytest.approx((42.5, 16.0, 50.0, 24.0)), pytest.approx((0.0, 0.0, 5.0, 4.0))]


def test_label_without_image_and_split_folder_layout(tmp_path):
    root = _dataset(tmp_path, {"a": "0 0.5 0.5 0.1 0.1\n"})
    ann = read_annotations(root / "train", "yolo", classes=["x", "y"])
    assert ann.classes == ["x", "y"] and ann.images[0].instances[0].label == "x"
    (root / "train" / "labels" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(AnnotationError, match="orphan.txt: no image"):
        read_annotations(root, "yolo")


def test_cli_convert_and_info(tmp_path, capsys):
    root = _dataset(tmp_path, {"a": "0 0.5 0.5 0.4 0.4\n1 0.2 0.2 0.1 0.1\n"})
    out = tmp_path / "out" / "a.json"
    assert main(["annotations", "convert", str(root), "--format", "yolo", "--out", str(out)]) == 0
    assert len(json.loads(out.read_text())["annotations"]) == 2
    assert "2 instances" in capsys.readouterr().out
    assert main(["annotations", "info", str(root), "--format", "yolo", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["per_class"] == {"pit": 1, "skylight": 1} and facts["groups"] == 1
    (root / "train" / "labels" / "a.txt").write_text("9 0.5 0.5 0.1 0.1\n")
    with warnings.catch_warnings():
        assert main(["annotations", "info", str(root), "--format", "yolo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a.txt: line 1: class 9" in err[0]


def test_polygon_output_rasterises_back_to_the_mask(tmp_path):
    from areoscan.annotations import AnnotatedImage, AnnotationSet, Instance, box_of_mask

    mask = np.zeros((30, 40), bool)
    mask[5:20, 10:30] = True
    mask[22:25, 2:5] = True
    box = box_of_mask(mask)
    assert box == (2.0, 5.0, 30.0, 25.0)
    img = AnnotatedImage(tmp_path / "x.png", 30, 40, [Instance("a", box, mask)], "x")
    out = tmp_path / "p.json"
    write_coco(AnnotationSet(["a"], [img]), out, segmentation="polygon")
    coco = COCO(str(out))
    [a] = coco.loadAnns(coco.getAnnIds())
    assert isinstance(a["segmentation"], list) and len(a["segmentation"]) == 2
    assert np.array_equal(coco.annToMask(a).astype(bool), mask)
