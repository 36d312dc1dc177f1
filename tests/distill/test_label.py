from __future__ import annotations

import json

import numpy as np
from PIL import Image

from areoscan.annotations import read_annotations
from areoscan.cli import main

from .conftest import iou, write_scenes


def test_label_grabcut_end_to_end(tmp_path, capsys):
    coco, scenes = write_scenes(tmp_path / "imgs", [1, 2], classes=("pit", "mound"))
    out = tmp_path / "out"
    rc = main(
        ["label", str(tmp_path / "imgs"), "--boxes", str(coco), "--format", "coco"]
        + ["--teacher", "grabcut", "--out", str(out)]
    )
    assert rc == 0
    n = sum(len(s.instances) for s in scenes)
    assert f"{n} masks (grabcut)" in capsys.readouterr().out
    got = read_annotations(out / "annotations.json", "coco", images=tmp_path / "imgs")
    assert got.classes == ["pit", "mound"]
    for img, scene in zip(got.images, scenes, strict=True):
        assert len(img.instances) == len(scene.instances)
        for inst, truth in zip(img.instances, scene.instances, strict=True):
            assert inst.label == truth.label
            assert inst.attributes["teacher"] == "grabcut" and inst.attributes["prompt"] == "box"
            assert iou(inst.mask, truth.mask) > 0.85
        classes = np.asarray(Image.open(out / "masks" / f"{img.path.stem}.png"))
        ids = np.asarray(Image.open(out / "instances" / f"{img.path.stem}.png"))
        for k, inst in enumerate(img.instances, start=1):
            assert (classes[inst.mask] == 1 + got.classes.index(inst.label)).all()
            assert (ids[inst.mask] == k).all()
        assert (classes == 0).sum() == (ids == 0).sum() > 0
        rgb = np.asarray(Image.open(out / "overlays" / f"{img.path.stem}.png"))
        assert rgb.shape == classes.shape + (3,)
    doc = json.loads((out / "annotations.json").read_text())
    assert "grabcut" in doc["info"]["description"]


def test_label_via_points_and_bad_input(tmp_path, capsys):
    coco, scenes = write_scenes(tmp_path / "imgs", [4])
    inst = scenes[0].instances[0]
    x0, y0, x1, y1 = inst.box
    via = {
        "scene_4.png": {
            "filename": "scene_4.png",
            "size": 1,
            "regions": [
                {
                    "shape_attributes": {
                        "name": "rect",
                        "x": x0,
                        "y": y0,
                        "width": x1 - x0,
                        "height": y1 - y0,
                    },
                    "region_attributes": {"class": "pit"},
                },
                {
                    "shape_attributes": {"name": "point", "cx": (x0 + x1) / 2, "cy": (y0 + y1) / 2},
                    "region_attributes": {"class": "pit"},
                },
            ],
        }
    }
    (tmp_path / "via.json").write_text(json.dumps(via))
    out = tmp_path / "out"
    rc = main(
        ["label", str(tmp_path / "imgs"), "--boxes", str(tmp_path / "via.json"), "--format", "via"]
        + ["--out", str(out)]
    )
    assert rc == 0, capsys.readouterr().err
    got = read_annotations(out / "annotations.json", "coco", images=tmp_path / "imgs")
    (one,) = got.images[0].instances
    assert one.attributes["prompt"] == "box+points" and iou(one.mask, inst.mask) > 0.85
    rc = main(
        [
            "label",
            str(tmp_path / "nope"),
            "--boxes",
            str(coco),
            "--format",
            "coco",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "not a folder" in err and len(err.splitlines()) == 1
