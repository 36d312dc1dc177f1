from __future__ import annotations

import numpy as np
import pytest

from areoscan.annotations import AnnotatedImage, Instance
from areoscan.distill.prompts import Prompt, prompts_of
from areoscan.distill.rim import RimTeacher, contour_radii, rim_mask
from areoscan.distill.scenes import pit_scene
from areoscan.distill.teachers import EllipseTeacher, GrabCutTeacher, make_teacher

from .conftest import inside_boxes, iou


def _scored(teacher, scenes) -> list[float]:
    out = []
    for sc in scenes:
        h, w = sc.image.shape
        boxes = [Instance(i.label, i.box) for i in sc.instances]
        masks = teacher.segment(sc.image, prompts_of(AnnotatedImage("s", h, w, boxes, "g")))
        out += [iou(m, i.mask) for m, i in zip(masks, sc.instances, strict=True)]
    return out


def test_rim_beats_the_ellipse_and_grabcut_on_pits_whose_floor_is_the_plains():
    scenes = [pit_scene(s, floor="plains") for s in (1, 2, 3)]
    rim = _scored(RimTeacher(), scenes)
    ell = _scored(EllipseTeacher(), scenes)
    cut = _scored(GrabCutTeacher(), scenes)
    assert len(rim) >= 9
    assert np.mean(rim) > np.mean(ell) + 0.04
    assert np.mean(rim) > np.mean(cut)


def test_rim_follows_dark_pits_and_bright_mounds_inside_their_boxes():
    scene = pit_scene(5, classes=("pit", "mound"))
    h, w = scene.image.shape
    boxes = [Instance(i.label, i.box) for i in scene.instances]
    prompts = prompts_of(AnnotatedImage("s", h, w, boxes, "g"))
    masks = RimTeacher().segment(scene.image, prompts)
    assert {i.label for i in scene.instances} == {"pit", "mound"}
    assert min(iou(m, i.mask) for m, i in zip(masks, scene.instances, strict=True)) > 0.85
    assert inside_boxes(masks, prompts)  # never outside its box


def test_without_edges_the_contour_is_the_box_ellipse():
    flat = np.full((80, 80), 120, np.uint8)
    box = (20.0, 10.0, 60.0, 70.0)
    radii = contour_radii(flat, box)
    assert np.allclose(radii, radii[0]) and abs(radii[0] - 1.0) < 0.03
    (ell,) = EllipseTeacher().segment(flat, [Prompt("pit", box)])
    assert iou(rim_mask(flat, box), ell) > 0.95


def test_rim_is_a_teacher_by_name_and_takes_lone_points():
    teacher = make_teacher("rim")
    assert teacher.name == "rim"
    image = pit_scene(0, size=100).image
    (mask,) = teacher.segment(image, [Prompt("pit", None, [(50.0, 50.0)])])
    assert 0 < mask.sum() <= 32 * 32
    with pytest.raises(ValueError, match="floor"):
        pit_scene(0, floor="wet")
