"""VGG Image Annotator 2.x reading, on tiny generated projects."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.annotations import read_annotations
from areoscan.annotations.geometry import AnnotationWarning
from areoscan.annotations.via import ViaOptions, is_outline
from areoscan.cli import main
from areoscan.errors import AnnotationError

H, W = 40, 60


def _project(root: Path, regions: list[dict], name: str = "a.jpg", export: bool = False) -> Path:
    """A VIA 2.x project (or plain export) with one 60 x 40 image beside it."""
    root.mkdir(parents=True, exist_ok=True)
    Image.new("L", (W, H)).save(root / name)
    entry = {"filename": name, "size": 123, "regions": regions, "file_attributes": {}}
    meta = {f"{name}123": entry}
    doc = meta
    if not export:
        doc = {
            "_via_settings": {},
            "_via_img_metadata": meta,
            "_via_attributes": {
                "region": {"Type": {"type": "dropdown", "options": {"Faint": "", "Bright": ""}}},
                "file": {},
            },
        }
    path = root / "project.json"
    path.write_text(json.dumps(doc))
    return path


def _region(shape: dict, label: str = "Bright") -> dict:
    return {"shape_attributes": shape, "region_attributes": {"Type": label}}


def test_every_shape_becomes_a_mask_of_the_right_size(tmp_path):
    regions = [
        _region({"name": "rect", "x": 2, "y": 3, "width": 10, "height": 5}),
        _region({"name": "circle", "cx": 30, "cy": 20, "r": 5}),
        _region({"name": "ellipse", "cx": 30, "cy": 20, "rx": 8, "ry": 3, "theta": math.pi / 2}),
        _region(
            {"name": "polygon", "all_points_x": [40, 50, 50, 40], "all_points_y": [2, 2, 8, 8]}
        ),
        _region({"name": "polyline", "all_points_x": [2, 20], "all_points_y": [30, 30]}, "Faint"),
        _region(
            {
                "name": "polyline",
                "all_points_x": [40, 50, 50, 40, 41],
                "all_points_y": [20, 20, 30, 30, 21],
            }
        ),
        _region({"name": "point", "cx": 55, "cy": 35}),
    ]
    ann = read_annotations(_project(tmp_path, regions), "via")
    assert ann.classes == ["Faint", "Bright"]
    rect, circle, ell, poly, line, outline, point = ann.images[0].instances
    assert rect.box == (2.0, 3.0, 12.0, 8.0) and rect.area == 50
    assert circle.area == pytest.approx(math.pi * 25, rel=0.1)
    # theta = 90 degrees turns the 8 x 3 ellipse upright: tall, narrow box
    x0, y0, x1, y1 = ell.box
    assert (y1 - y0) > 2.5 * (x1 - x0)
    assert poly.box == (40.0, 2.0, 50.0, 8.0) and poly.area == 60
    assert line.label == "Faint" and line.area == pytest.approx(
        18 * 3 + math.pi * 1.5**2, abs=8
    )  # 3 px, round caps
    assert outline.area == pytest.approx(100, abs=8)  # nearly closed: an outline, not a stroke
    assert point.mask is not None and 12 <= point.area <= 30
    shapes = [i.attributes["shape"] for i in ann.images[0].instances]
    assert shapes == ["rect", "circle", "ellipse", "polygon", "polyline", "polyline", "point"]
    wide = read_annotations(
        tmp_path / "project.json", "via", via=ViaOptions(line_width=7.0, polylines="open")
    )
    assert wide.images[0].instances[4].area == pytest.approx(18 * 7 + math.pi * 3.5**2, abs=12)
    ring = wide.images[0].instances[5].mask  # forced open: a 7 px stroke round an empty middle
    assert ring is not None and outline.mask is not None
    assert outline.mask[25, 45] and not ring[25, 45] and ring[20, 40]


def test_outline_rule():
    assert is_outline([0, 10, 10, 0, 1], [0, 0, 10, 10, 2])  # gap 2.2 of 40
    assert not is_outline([0, 10, 20, 30], [0, 5, 0, 5])  # a zig-zag stroke
    assert not is_outline([0, 10, 0.5], [0, 0, 0.5])  # three vertices: a V or a stroke


def test_export_form_missing_images_and_size(tmp_path):
    path = _project(
        tmp_path, [_region({"name": "rect", "x": 1, "y": 1, "width": 3, "height": 3})], export=True
    )
    (tmp_path / "a.jpg").unlink()
    with pytest.raises(AnnotationError, match="a.jpg not found"):
        read_annotations(path, "via")
    ann = read_annotations(path, "via", via=ViaOptions(size=(H, W)))
    assert (ann.images[0].height, ann.images[0].width) == (H, W)
    assert ann.classes == ["Bright"]


@pytest.mark.parametrize(
    "region, message",
    [
        (_region({"name": "rect", "x": 1, "y": 1, "width": 0, "height": 3}), "bad rect"),
        (_region({"name": "circle", "cx": 1, "cy": 1}), "bad circle \\(missing 'r'\\)"),
        (_region({"name": "star", "cx": 1, "cy": 1}), "unknown shape 'star'"),
        (_region({"name": "circle", "cx": 500, "cy": 500, "r": 3}), "outside the 60 x 40 image"),
        (_region({"name": "circle", "cx": 5, "cy": 5, "r": 3}, "Rays"), "class 'Rays' is not"),
        (
            {
                "shape_attributes": {"name": "circle", "cx": 5, "cy": 5, "r": 3},
                "region_attributes": {},
            },
            "no class",
        ),
        (
            _region({"name": "polygon", "all_points_x": [1, 2], "all_points_y": [1, 2]}),
            "at least 3",
        ),
    ],
)
def test_bad_regions_name_file_image_and_region(tmp_path, region, message):
    good = _region({"name": "circle", "cx": 5, "cy": 5, "r": 3})
    path = _project(tmp_path, [good, region])
    with pytest.raises(AnnotationError, match=message) as err:
        read_annotations(path, "via", classes=["Faint", "Bright"])
    assert "project.json" in str(err.value) and "a.jpg region 1" in str(err.value)


def test_unlabelled_regions_error_skip_or_default(tmp_path):
    bare = {"shape_attributes": {"name": "point", "cx": 3, "cy": 4}, "region_attributes": {}}
    path = _project(tmp_path, [_region({"name": "circle", "cx": 5, "cy": 5, "r": 3}), bare])
    with pytest.raises(AnnotationError, match="region 1: region has no class.*--unlabelled"):
        read_annotations(path, "via")
    with pytest.warns(AnnotationWarning, match="1 region\\(s\\) without a class dropped"):
        skipped = read_annotations(path, "via", via=ViaOptions(unlabelled="skip"))
    assert [i.label for i in skipped.images[0].instances] == ["Bright"]
    doc = json.loads(path.read_text())
    doc["_via_attributes"]["region"]["Type"]["default_options"] = {"Faint": True}
    path.write_text(json.dumps(doc))
    with pytest.warns(AnnotationWarning, match="default 'Faint'"):
        filled = read_annotations(path, "via", via=ViaOptions(unlabelled="default"))
    assert [i.label for i in filled.images[0].instances] == ["Bright", "Faint"]


def test_clipped_shapes_warn_once(tmp_path):
    regions = [
        _region({"name": "circle", "cx": 0, "cy": 0, "r": 6}),
        _region({"name": "rect", "x": 55, "y": 35, "width": 20, "height": 20}),
    ]
    with pytest.warns(AnnotationWarning, match="2 shape\\(s\\) extend past the image"):
        ann = read_annotations(_project(tmp_path, regions), "via")
    assert ann.images[0].instances[1].box == (55.0, 35.0, 60.0, 40.0)


def test_folder_of_projects_and_duplicate_image(tmp_path):
    _project(tmp_path / "d", [_region({"name": "circle", "cx": 5, "cy": 5, "r": 3})])
    other = tmp_path / "d" / "b.json"
    doc = json.loads((tmp_path / "d" / "project.json").read_text())
    other.write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match="also annotated in"):
        read_annotations(tmp_path / "d", "via")
    doc["_via_img_metadata"]["a.jpg123"]["filename"] = "b.jpg"
    Image.new("L", (W, H)).save(tmp_path / "d" / "b.jpg")
    other.write_text(json.dumps(doc))
    ann = read_annotations(tmp_path / "d", "via")
    assert sorted(im.path.name for im in ann.images) == ["a.jpg", "b.jpg"]
    assert np.array_equal(ann.images[0].instances[0].mask, ann.images[1].instances[0].mask)


def test_cli_reads_via_with_shape_options(tmp_path, capsys):
    path = _project(
        tmp_path, [_region({"name": "polyline", "all_points_x": [2, 20], "all_points_y": [30, 30]})]
    )
    out = tmp_path / "o.json"
    argv = ["annotations", "convert", str(path), "--format", "via", "--out", str(out)]
    assert main([*argv, "--line-width", "5"]) == 0
    assert json.loads(out.read_text())["annotations"][0]["area"] == pytest.approx(
        90 + math.pi * 6.25, abs=10
    )
    assert main([*argv, "--image-size", "60by40"]) == 2
    assert "--image-size" in capsys.readouterr().err
