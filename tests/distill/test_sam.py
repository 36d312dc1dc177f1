from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from areoscan.annotations import AnnotatedImage, Instance
from areoscan.cli import main
from areoscan.distill.prompts import prompts_of
from areoscan.distill.sam import infer_shape, load_sam, parse_sam_spec, read_state_dict
from areoscan.distill.scenes import pit_scene
from areoscan.distill.teachers import make_teacher
from areoscan.errors import ModelError

from .conftest import tiny_sam, write_scenes


def test_tiny_checkpoint_loads_through_the_real_path_with_identical_weights(sam_checkpoint):
    shape = infer_shape(read_state_dict(sam_checkpoint), "x")
    assert (shape.img_size, shape.patch, shape.embed_dim, shape.depth, shape.heads) == (
        64,
        8,
        32,
        2,
        2,
    )
    assert (shape.window, shape.global_blocks, shape.kind) == (4, (1,), None)
    sam = load_sam(sam_checkpoint)
    ref = tiny_sam()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(sam.image_encoder(x), ref.image_encoder(x))


def test_sam_teacher_gives_one_mask_per_box_and_point(sam_checkpoint):
    scene = pit_scene(1, size=96, n=3)
    insts = [Instance(i.label, i.box) for i in scene.instances]
    insts.append(Instance("pit", (10, 10, 12, 12), attributes={"shape": "point"}))
    prompts = prompts_of(AnnotatedImage("s.png", 96, 96, insts, "g"))
    teacher = make_teacher(f"sam:{sam_checkpoint}")
    masks = teacher.segment(scene.image, prompts)
    assert len(masks) == len(prompts) == len(insts)
    assert all(m.shape == (96, 96) and m.dtype == bool for m in masks)
    assert len(teacher.last_scores) == len(masks)


def test_label_cli_with_sam(tmp_path, sam_checkpoint):
    coco, _ = write_scenes(tmp_path / "imgs", [1])
    out = tmp_path / "out"
    rc = main(
        ["label", str(tmp_path / "imgs"), "--boxes", str(coco), "--format", "coco"]
        + ["--teacher", f"sam:{sam_checkpoint}", "--out", str(out)]
    )
    assert rc == 0
    assert (out / "annotations.json").is_file() and (out / "masks" / "scene_1.png").is_file()


def test_bad_checkpoints_are_one_line_exit_2(tmp_path, sam_checkpoint, capsys):
    coco, _ = write_scenes(tmp_path / "imgs", [1])
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"x": np.float64}))  # an object, not a tensor
    foreign = tmp_path / "foreign.pth"
    torch.save({"w": torch.zeros(3)}, foreign)
    cases = {
        str(tmp_path / "missing.pth"): "not found",
        str(evil): "not a readable SAM checkpoint",
        str(foreign): "not a SAM checkpoint",
        f"{sam_checkpoint}:vit_b": "not vit_b",
    }
    for spec, message in cases.items():
        rc = main(
            ["label", str(tmp_path / "imgs"), "--boxes", str(coco), "--format", "coco"]
            + ["--teacher", f"sam:{spec}", "--out", str(tmp_path / "o")]
        )
        err = capsys.readouterr().err.strip()
        assert rc == 2 and message in err and len(err.splitlines()) == 1, (spec, err)
    assert not (tmp_path / "o").exists()


def test_spec_parsing():
    assert parse_sam_spec("a/b.pth:vit_h") == (__import__("pathlib").Path("a/b.pth"), "vit_h")
    assert parse_sam_spec("c:/w/b.pth")[1] is None
    with pytest.raises(ModelError):
        parse_sam_spec("")
