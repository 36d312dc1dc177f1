from __future__ import annotations

import numpy as np
import pytest

from areoscan.annotations import AnnotatedImage, Instance
from areoscan.distill.prompts import prompts_of
from areoscan.distill.scenes import pit_scene
from areoscan.distill.teachers import (
    EllipseTeacher,
    GrabCutTeacher,
    keep_main_part,
    make_teacher,
    to_uint8,
)
from areoscan.errors import ModelError

from .conftest import inside_boxes, iou


def _boxes(scene) -> AnnotatedImage:
    h, w = scene.image.shape
    return AnnotatedImage("s.png", h, w, [Instance(i.label, i.box) for i in scene.instances], "g")


def test_grabcut_recovers_exact_masks_from_boxes_better_than_the_box_ellipse():
    scene = pit_scene(3)
    prompts = prompts_of(_boxes(scene))
    cut = GrabCutTeacher().segment(scene.image, prompts)
    ell = EllipseTeacher().segment(scene.image, prompts)
    truth = [i.mask for i in scene.instances]
    cut_iou = [iou(m, t) for m, t in zip(cut, truth, strict=True)]
    ell_iou = [iou(m, t) for m, t in zip(ell, truth, strict=True)]
    assert len(cut) == len(scene.instances) >= 3
    assert min(cut_iou) > 0.85
    assert np.mean(cut_iou) > np.mean(ell_iou)
    assert inside_boxes(cut, prompts)  # never outside its box


def test_points_join_the_smallest_box_of_their_class_lone_points_stand_alone():
    insts = [
        Instance("pit", (10, 10, 50, 50)),
        Instance("pit", (20, 20, 40, 40)),
        Instance("pit", (29, 29, 31, 31), attributes={"shape": "point"}),
        Instance("pit", (79, 79, 81, 81), attributes={"shape": "point"}),
    ]
    prompts = prompts_of(AnnotatedImage("x.png", 100, 100, insts, "g"))
    assert [p.kind for p in prompts] == ["box", "box+points", "point"]
    assert prompts[1].points == [(30.0, 30.0)]
    assert prompts[2].box_or_square(32, 100, 100) == (64.0, 64.0, 96.0, 96.0)
    masks = GrabCutTeacher().segment(pit_scene(0, size=100).image, prompts)
    assert [m.shape for m in masks] == [(100, 100)] * 3


def test_box_filling_the_whole_image_still_cuts():
    scene = pit_scene(5, size=64, n=1)
    box = (0.0, 0.0, 64.0, 64.0)
    img = AnnotatedImage("x.png", 64, 64, [Instance("pit", box)], "g")
    (mask,) = GrabCutTeacher().segment(scene.image, prompts_of(img))
    assert 0 < mask.sum() < 64 * 64


def test_helpers_and_teacher_names():
    m = np.zeros((9, 9), bool)
    m[1:5, 1:5] = True
    m[2, 2] = False
    m[7, 7] = True
    kept = keep_main_part(m)
    assert kept.sum() == 16 and not kept[7, 7]
    ramp = np.linspace(100, 900, 64, dtype=np.float32).reshape(8, 8)
    u8 = to_uint8(ramp)
    assert u8.dtype == np.uint8 and u8.min() == 0 and u8.max() == 255
    assert make_teacher("grabcut").name == "grabcut"
    with pytest.raises(ModelError, match="expected grabcut"):
        make_teacher("watershed")


def test_grabcut_falls_back_to_the_ellipse_when_the_cut_is_thin():
    from areoscan.distill.label import label_one

    scene = pit_scene(3)
    boxes = _boxes(scene)
    strict = GrabCutTeacher(min_fill=1.01)  # no cut fills more than its box: every one falls back
    insts = label_one(scene.image, boxes, strict)
    ell = EllipseTeacher().segment(scene.image, prompts_of(boxes))
    assert strict.last_fallbacks == [True] * len(insts)
    assert all(np.array_equal(i.mask, e) for i, e in zip(insts, ell, strict=True))
    assert all(i.attributes["teacher_fallback"] == "ellipse" for i in insts)
    usual = GrabCutTeacher()
    usual.segment(scene.image, prompts_of(boxes))
    assert not any(usual.last_fallbacks)
