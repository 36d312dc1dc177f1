"""Train a torchvision Faster / Mask R-CNN on an :class:`AnnotationSet`, seeded, split by group.

Use :func:`train_detector` (the ``areoscan train detector`` verb is a thin wrapper): it draws
augmented images (flips, 90-degree turns, gain / offset), steps AdamW on a warm-up + cosine schedule,
scores the validation images with :func:`~areoscan.data.detection.detection_metrics` after every
epoch, keeps the best epoch's weights (by validation AP50) and writes safetensors + card. When there
is no separate validation set, :func:`split_by_group` holds out whole groups (observations), so no
copy or sibling tile of a validation image is trained on.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance, box_ellipse
from areoscan.annotations.pixels import load_gray
from areoscan.data.detection import detect_all, detection_metrics
from areoscan.errors import AnnotationError
from areoscan.models.card import ModelCard
from areoscan.models.detectors import (
    DETECTOR_FORMAT,
    FINE_MOBILENET_LAYERS,
    MOBILENET_LAYERS,
    DetectorSpec,
    TorchDetector,
    anchor_sizes,
)
from areoscan.train.classifier import init_from
from areoscan.train.loop import _lr_lambda, seed_everything


@dataclass
class DetectorConfig:
    """Everything that decides a detector training run (recorded in the card).

    size: images are resized so their longer side is ``size`` (the model's ``min/max_size``).
    iterations: optimiser steps per epoch (default: one pass over the training images).
    init: a trained detector whose matching tensors start the run (synthetic pretraining, or the
    next chunk of a long run; the schedule restarts with its warm-up).
    anchors_per_level: anchor sizes per pyramid level (see :func:`anchor_sizes`).
    norm: ``"image"`` standardises each image by its own mean / std inside the model (crops whose
    brightness varies a lot); ``"fixed"`` uses mean 0.5, std 0.25.
    min_stride: the finest pyramid level of a MobileNet backbone, 16 (strides 16/32/64) or 8
    (8/16/32/64: objects under ~30 px at ``size`` get anchors 8 px apart).
    rpn_fg_iou: IoU from which an anchor trains as an RPN positive (torchvision: 0.7).
    box_masks: ``"ellipse"`` gives every box-only instance the ellipse inscribed in its box as its
    Mask R-CNN training mask (boxes-only data such as the pits); None requires real masks.
    """

    arch: str = "fasterrcnn"
    backbone: str = "mobilenet_v3_large"
    epochs: int = 20
    batch_size: int = 2
    lr: float = 3e-4
    weight_decay: float = 1e-4
    size: int = 512
    channels: int = 128
    head: int = 256
    iterations: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    augment: bool = True
    threads: int = 2
    init: str | None = None
    box_masks: str | None = None
    anchors_per_level: int = 1
    norm: str = "fixed"
    min_stride: int = 16
    rpn_fg_iou: float = 0.7

    @property
    def mobilenet_layers(self) -> list[int] | None:
        """The MobileNet blocks the FPN reads (None for other backbones)."""
        if not self.backbone.startswith("mobilenet"):
            return None
        if self.min_stride not in (8, 16):
            raise AnnotationError(f"min stride {self.min_stride}: choose 8 or 16")
        return list(FINE_MOBILENET_LAYERS if self.min_stride == 8 else MOBILENET_LAYERS)


def split_by_group(
    ann: AnnotationSet, fraction: float, seed: int
) -> tuple[AnnotationSet, AnnotationSet]:
    """(train, validation): whole groups drawn at random until ``fraction`` of the images are held."""
    groups = sorted({im.group for im in ann.images})
    if len(groups) < 2:
        raise AnnotationError(
            f"{len(groups)} image group(s): cannot hold out a validation group; pass --val DIR"
        )
    order = np.random.default_rng(seed).permutation(len(groups))
    want = max(1, round(fraction * len(ann.images)))
    held: set[str] = set()
    count = 0
    for k in order:
        if count >= want or len(held) == len(groups) - 1:
            break
        held.add(groups[k])
        count += sum(1 for im in ann.images if im.group == groups[k])
    train = [im for im in ann.images if im.group not in held]
    val = [im for im in ann.images if im.group in held]
    return AnnotationSet(list(ann.classes), train), AnnotationSet(list(ann.classes), val)


def _box_sides(ann: AnnotationSet) -> list[float]:
    return [
        math.sqrt(max(i.box[2] - i.box[0], 1.0) * max(i.box[3] - i.box[1], 1.0))
        for im in ann.images
        for i in im.instances
    ]


def _mask_of(inst: Instance, im: AnnotatedImage) -> np.ndarray:
    """The instance's mask, or (box-only instance) the ellipse inscribed in its box."""
    if inst.mask is not None:
        return inst.mask
    return box_ellipse(inst.box, im.height, im.width)


def _sample(
    im: AnnotatedImage, classes: list[str], masks: bool, rng: np.random.Generator, augment: bool
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One (image, target) pair in torchvision's form, augmented when asked.

    masks: give Mask R-CNN targets (box-only instances get their box's ellipse: the caller checked
    that this is allowed).
    """
    pixels = load_gray(im.path, (im.height, im.width))
    boxes = np.array([i.box for i in im.instances], np.float32).reshape(-1, 4)
    labels = np.array([classes.index(i.label) + 1 for i in im.instances], np.int64)
    stack = (
        np.stack([_mask_of(i, im) for i in im.instances]).astype(np.uint8)
        if masks and im.instances
        else np.zeros((0, im.height, im.width), np.uint8)
    )
    if augment:
        pixels, boxes, stack = _augment(pixels, boxes, stack, rng)
    target = {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels)}
    if masks:
        target["masks"] = torch.from_numpy(np.ascontiguousarray(stack))
    return torch.from_numpy(np.ascontiguousarray(pixels))[None], target


def _augment(
    pixels: np.ndarray, boxes: np.ndarray, masks: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random flips, a random quarter turn, and a gain / offset on the pixels."""
    h, w = pixels.shape
    boxes = boxes.copy()
    if rng.random() < 0.5:  # left-right
        pixels, masks = pixels[:, ::-1], masks[:, :, ::-1]
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
    if rng.random() < 0.5:  # top-bottom
        pixels, masks = pixels[::-1], masks[:, ::-1]
        boxes[:, [1, 3]] = h - boxes[:, [3, 1]]
    if rng.random() < 0.5:  # transpose (with the flips: all eight symmetries of the square)
        pixels, masks = pixels.T, masks.transpose(0, 2, 1)
        boxes = boxes[:, [1, 0, 3, 2]]
    gain, offset = rng.uniform(0.8, 1.25), rng.uniform(-0.08, 0.08)
    pixels = np.clip((pixels - 0.5) * gain + 0.5 + offset, 0.0, 1.0).astype(np.float32)
    return pixels, boxes, masks


def _card(name: str, classes: list[str], cfg: DetectorConfig, anchors: list[int]) -> ModelCard:
    return ModelCard(
        name=name,
        task="detection",
        arch=cfg.arch,
        classes=list(classes),
        tile_size=cfg.size,
        in_channels=1,
        level=0,
        normalisation={
            "input": "float32 = raw / 255 (8-bit) or / 65535 (16-bit); colour -> luminance",
            "kind": "fixed" if cfg.norm == "fixed" else "image (inside the model)",
            "mean": 0.5,
            "std": 0.25,
        },
        resize="bilinear",
        arch_kwargs={
            "backbone": cfg.backbone,
            "anchors": anchors,
            "min_size": cfg.size,
            "max_size": cfg.size,
            "mean": 0.5,
            "std": 0.25,
            "channels": cfg.channels,
            "head": cfg.head,
            **({"norm": cfg.norm} if cfg.norm != "fixed" else {}),
            **({"mobilenet_layers": cfg.mobilenet_layers} if cfg.mobilenet_layers else {}),
            **({"rpn_fg_iou": cfg.rpn_fg_iou} if cfg.rpn_fg_iou != 0.7 else {}),
            "format_version": DETECTOR_FORMAT,
        },
        split_rule="by image group (HiRISE observation id, else source tile with copies collapsed)",
    )


def _evaluate(model: torch.nn.Module, card: ModelCard, val: AnnotationSet) -> dict[str, Any]:
    model.eval()
    dets = detect_all(TorchDetector(model, card), val, progress=False)
    res = detection_metrics(val, dets, iou_type="bbox")
    return {k: res[k] for k in ("ap", "ap50", "ap75", "f1_50", "macro_f1_50")}


def train_detector(
    train: AnnotationSet,
    val: AnnotationSet | None,
    cfg: DetectorConfig,
    name: str,
    out_dir: Path,
    command: str = "",
    progress: bool = True,
) -> tuple[ModelCard, dict[str, Any]]:
    """Train, keep the best validation epoch, save ``name.safetensors`` + ``name.json``; return both.

    Mask R-CNN needs a mask on every training instance (AnnotationError otherwise).
    """
    from tqdm import tqdm

    from areoscan.models.registry import save_model
    from areoscan.progress import on_terminal

    masks = cfg.arch == "maskrcnn"
    if cfg.box_masks not in (None, "ellipse"):
        raise AnnotationError(f"box masks {cfg.box_masks!r}: only 'ellipse' is known")
    boxes_only = any(i.mask is None for im in train.images for i in im.instances)
    if masks and boxes_only and cfg.box_masks is None:
        raise AnnotationError(
            "Mask R-CNN needs masks and these annotations have boxes only; use --arch fasterrcnn "
            "or --box-masks ellipse"
        )
    if not train.images:
        raise AnnotationError("no training images")
    seed_everything(cfg.seed, cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    scale = cfg.size / max(max(im.height, im.width) for im in train.images)
    anchors = anchor_sizes(
        _box_sides(train),
        cfg.backbone,
        scale=scale,
        per_level=cfg.anchors_per_level,
        mobilenet_layers=cfg.mobilenet_layers,
    )
    card = _card(name, train.classes, cfg, anchors)
    model = DetectorSpec.from_card(card).build()  # as the card will be read: what is trained loads
    init_info = init_from(model, cfg.init) if cfg.init else None
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.iterations or max(1, math.ceil(len(train.images) / cfg.batch_size))
    total = steps * cfg.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(total, min(100, total // 10)))
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any], dict[str, torch.Tensor]] | None = None
    started = time.monotonic()
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(np.resize(np.arange(len(train.images)), steps * cfg.batch_size))
        losses = []
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}", leave=False,
                   disable=not (progress and on_terminal()))  # fmt: skip
        for step in bar:
            batch = [
                _sample(train.images[k], train.classes, masks, rng, cfg.augment)
                for k in order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            ]
            loss_parts = model([b[0] for b in batch], [b[1] for b in batch])
            loss = sum(loss_parts.values())
            opt.zero_grad()
            loss.backward()  # type: ignore[union-attr]
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))  # type: ignore[union-attr]
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        entry: dict[str, Any] = {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4)}
        if val is not None and val.images:
            entry.update(_evaluate(model, card, val))
        history.append(entry)
        ap50 = entry.get("ap50")
        score = float(ap50) if ap50 is not None else -float(entry["loss"])
        if best is None or score >= best[0] or val is None:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = (score, epoch + 1, entry, state)
        if progress:
            print(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in entry.items() if v is not None))  # fmt: skip
    assert best is not None
    model.load_state_dict(best[3])
    card.training = {
        "command": command,
        "config": asdict(cfg),
        "seconds": round(time.monotonic() - started, 1),
        "kept_epoch": best[1],
        "init": init_info,
        "train": _summary(train),
        "val": _summary(val) if val is not None else None,
        "history": history,
    }
    card.metrics = {"validation": best[2]} if val is not None else {}
    save_model(model, card, out_dir)
    return card, best[2]


def _summary(ann: AnnotationSet) -> dict[str, Any]:
    return {
        "images": len(ann.images),
        "groups": sorted({im.group for im in ann.images}),
        "per_class": ann.counts(),
    }
