"""Fixtures for distillation tests: generated pit scenes on disk and a tiny random SAM checkpoint."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from areoscan.annotations import AnnotatedImage, AnnotationSet, Instance, write_coco
from areoscan.distill.scenes import pit_scene


def tiny_sam() -> torch.nn.Module:
    """A randomly initialised SAM with tiny dims, built from segment_anything's own classes."""
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    torch.manual_seed(0)
    encoder = ImageEncoderViT(
        img_size=64,
        patch_size=8,
        embed_dim=32,
        depth=2,
        num_heads=2,
        mlp_ratio=2.0,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=(1,),
        window_size=4,
        out_chans=32,
    )
    prompt = PromptEncoder(
        embed_dim=32, image_embedding_size=(8, 8), input_image_size=(64, 64), mask_in_chans=4
    )
    decoder = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=2, embedding_dim=32, mlp_dim=64, num_heads=8),
        transformer_dim=32,
        iou_head_depth=3,
        iou_head_hidden_dim=32,
    )
    sam = Sam(
        image_encoder=encoder,
        prompt_encoder=prompt,
        mask_decoder=decoder,
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return sam.eval()


@pytest.fixture(scope="session")
def sam_checkpoint(tmp_path_factory) -> Path:
    """The tiny SAM's state dict saved as a ``.pth`` (the form of Meta's published checkpoints)."""
    path = tmp_path_factory.mktemp("sam") / "tiny_sam.pth"
    torch.save(tiny_sam().state_dict(), path)
    return path


def write_scenes(folder: Path, seeds: list[int], classes=("pit",)) -> tuple[Path, list]:
    """Scene PNGs in ``folder`` and a box-only COCO file beside them; returns (coco, scenes)."""
    folder.mkdir(parents=True, exist_ok=True)
    images, scenes = [], []
    for s in seeds:
        sc = pit_scene(s, classes=classes)
        path = folder / f"scene_{s}.png"
        Image.fromarray(sc.image).save(path)
        h, w = sc.image.shape
        boxes = [Instance(i.label, i.box) for i in sc.instances]
        images.append(AnnotatedImage(path, h, w, boxes, f"scene_{s}"))
        scenes.append(sc)
    coco = folder / "boxes.json"
    write_coco(AnnotationSet(list(classes), images), coco)
    return coco, scenes


def inside_boxes(masks: list[np.ndarray], prompts: list) -> bool:
    """True when no mask has a pixel outside its prompt's box (integer box edges)."""
    for m, p in zip(masks, prompts, strict=True):
        x0, y0, x1, y1 = (int(v) for v in p.box)
        outside = m.copy()
        outside[y0:y1, x0:x1] = False
        if outside.any():
            return False
    return True


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks (1.0 when both are empty)."""
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0
