"""COCO reading (boxes, polygons, RLE) and the round trip of every format through COCO JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from areoscan.annotations import AnnotationSet, read_annotations, write_coco
from areoscan.annotations.coco_in import read_coco_results
from areoscan.annotations.geometry import AnnotationWarning
from areoscan.errors import AnnotationError

H, W = 30, 40


def _coco(tmp_path: Path, annotations: list[dict]) -> Path:
    doc = {
        "images": [{"id": 7, "file_name": "x.png", "height": H, "width": W}],
        "annotations": annotations,
        "categories": [{"id": 3, "name": "pit"}, {"id": 1, "name": "crater"}],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    return path


def _disc() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (yy - 12) ** 2 + (xx - 20) ** 2 <= 36


def test_boxes_polygons_and_both_rle_forms(tmp_path):
    mask = _disc()
    compressed = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    compressed = {"size": [H, W], "counts": compressed["counts"].decode()}
    flat = mask.T.ravel().astype(int)  # uncompressed RLE counts: column-major run lengths
    runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, flat, -1]) != 0))
    counts = ([0] if flat[0] else []) + runs.tolist()
    path = _coco(
        tmp_path,
        [
            {"id": 1, "image_id": 7, "category_id": 1, "bbox": [2, 3, 10, 5]},
            {
                "id": 2,
                "image_id": 7,
                "category_id": 3,
                "segmentation": [[30, 2, 38, 2, 38, 9, 30, 9]],
            },
            {"id": 3, "image_id": 7, "category_id": 3, "segmentation": compressed},
            {
                "id": 4,
                "image_id": 7,
                "category_id": 3,
                "iscrowd": 1,
                "segmentation": {"size": [H, W], "counts": counts},
            },
        ],
    )
    ann = read_annotations(path, "coco")
    assert ann.classes == ["crater", "pit"]  # category id order
    box, poly, rle, raw = ann.images[0].instances
    assert box.box == (2.0, 3.0, 12.0, 8.0) and box.mask is None and box.label == "crater"
    assert poly.box == (30.0, 2.0, 38.0, 9.0) and poly.area == 56
    assert np.array_equal(rle.mask, mask) and np.array_equal(raw.mask, mask)
    assert raw.attributes["iscrowd"] == 1 and rle.attributes["iscrowd"] == 0


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            {"id": 5, "image_id": 8, "category_id": 1, "bbox": [1, 1, 2, 2]},
            "annotation 5: image_id 8",
        ),
        (
            {"id": 5, "image_id": 7, "category_id": 9, "bbox": [1, 1, 2, 2]},
            "annotation 5: category_id 9",
        ),
        (
            {"id": 5, "image_id": 7, "category_id": 1, "bbox": [1, 1, 0, 2]},
            "not a positive-size box",
        ),
        ({"id": 5, "image_id": 7, "category_id": 1, "bbox": [100, 1, 2, 2]}, "outside the 40 x 30"),
        (
            {
                "id": 5,
                "image_id": 7,
                "category_id": 1,
                "segmentation": {"size": [3, 3], "counts": "x"},
            },
            "RLE size",
        ),
        ({"id": 5, "image_id": 7, "category_id": 1, "segmentation": [[1, 2, 3]]}, "x, y pairs"),
    ],
)
def test_bad_annotations_name_file_and_id(tmp_path, entry, message):
    with pytest.raises(AnnotationError, match=message) as err:
        read_annotations(_coco(tmp_path, [entry]), "coco")
    assert "c.json" in str(err.value)


def test_unknown_class_and_clipping(tmp_path):
    path = _coco(tmp_path, [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [35, 25, 10, 10]}])
    with pytest.raises(AnnotationError, match="class 'crater' is not one of pit"):
        read_annotations(path, "coco", classes=["pit"])
    with pytest.warns(AnnotationWarning, match="clipped"):
        ann = read_annotations(path, "coco")
    assert ann.images[0].instances[0].box == (35.0, 25.0, 40.0, 30.0)


def _yolo(root: Path, seg: bool = True) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    Image.new("L", (W, H)).save(root / "images" / "y.png")
    poly = "1 0.1 0.1 0.6 0.1 0.6 0.5 0.1 0.5" if seg else "1 0.3 0.3 0.4 0.4"
    (root / "labels" / "y.txt").write_text(f"0 0.5 0.5 0.25 0.4\n{poly}\n")
    (root / "classes.txt").write_text("pit\ncrater\n")
    return root


def _via(root: Path) -> Path:
    root.mkdir(parents=True)
    Image.new("L", (W, H)).save(root / "v.png")
    regions = [
        {"shape_attributes": s, "region_attributes": {"class": c}}
        for s, c in (
            ({"name": "ellipse", "cx": 20, "cy": 15, "rx": 9, "ry": 4, "theta": 0.5}, "pit"),
            (
                {"name": "polyline", "all_points_x": [1, 15, 30], "all_points_y": [25, 28, 25]},
                "crater",
            ),
            ({"name": "point", "cx": 35, "cy": 5}, "pit"),
        )
    ]
    (root / "v.json").write_text(json.dumps([{"filename": "v.png", "regions": regions}]))
    return root / "v.json"


def _same(a: AnnotationSet, b: AnnotationSet) -> None:
    assert a.classes == b.classes and len(a.images) == len(b.images)
    for ia, ib in zip(a.images, b.images, strict=True):
        assert (ia.height, ia.width, ia.group) == (ib.height, ib.width, ib.group)
        assert ia.path.resolve() == ib.path.resolve()
        assert len(ia.instances) == len(ib.instances) > 0
        for x, y in zip(ia.instances, ib.instances, strict=True):
            assert x.label == y.label and x.box == pytest.approx(y.box)
            assert (x.mask is None) == (y.mask is None)
            if x.mask is not None:
                assert np.array_equal(x.mask, y.mask)


@pytest.mark.parametrize("fmt", ["via", "coco", "yolo", "yolo-seg"])
@pytest.mark.parametrize("segmentation", ["rle", "polygon"])
def test_every_format_round_trips_through_coco(tmp_path, fmt, segmentation):
    if fmt == "via":
        src = _via(tmp_path / "src")
    elif fmt == "coco":
        src = _coco(tmp_path, [
            {"id": 1, "image_id": 7, "category_id": 3, "segmentation": [[5, 5, 15, 5, 15, 20]]},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [20, 1, 9.5, 7.25]},
        ])  # fmt: skip
        Image.new("L", (W, H)).save(tmp_path / "x.png")
    else:
        src = _yolo(tmp_path / "src", seg=fmt == "yolo-seg")
    first = read_annotations(src, fmt)
    out = tmp_path / "out" / "a.json"
    write_coco(first, out, segmentation=segmentation)
    second = read_annotations(out, "coco")
    if segmentation == "rle":
        _same(first, second)
    else:  # traced outlines: not exact, but each mask comes back almost whole
        for x, y in zip(first.images[0].instances, second.images[0].instances, strict=True):
            if x.mask is not None:
                assert y.mask is not None
                iou = (x.mask & y.mask).sum() / (x.mask | y.mask).sum()
                assert iou > 0.9
    again = tmp_path / "out" / "b.json"
    write_coco(second, again)
    _same(second, read_annotations(again, "coco"))


def test_results_file_reads_onto_the_truth(tmp_path):
    truth = read_annotations(_yolo(tmp_path / "src", seg=False), "yolo")
    res = tmp_path / "res.json"
    res.write_text(
        json.dumps([{"image_id": 1, "category_id": 2, "bbox": [1, 1, 5, 5], "score": 0.7}])
    )
    dets = read_coco_results(res, truth)
    [inst] = dets.images[0].instances
    assert inst.label == "crater" and inst.score == pytest.approx(0.7)
    res.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match="list of annotations"):
        read_coco_results(res, truth)
