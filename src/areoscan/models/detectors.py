"""Instance detectors: torchvision Faster R-CNN (boxes) and Mask R-CNN (boxes + masks).

Use :class:`DetectorSpec` (``DetectorSpec.from_card(card).build()``, or the registered builders,
through the card) for any object detector and :func:`load_detector` for a trained one as a
:class:`TorchDetector` with ``detect(image)``. Every detector is built from scratch
(``weights=None, weights_backbone=None``: nothing can be downloaded here), reads one band in [0, 1]
(the first convolution takes 1 channel; the transform standardises with ``mean`` / ``std``), has
``len(classes) + 1`` outputs (0 = background) and anchor sizes chosen from the training boxes
(:func:`anchor_sizes`). Backbones (``BACKBONES``): MobileNetV3 Large + FPN (fast on a CPU) and
ResNet-18/34/50 + FPN. A card's ``arch_kwargs`` are the fields of :class:`DetectorSpec` plus
``format_version`` (what a card's missing keys mean: :data:`DETECTOR_FORMAT`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from areoscan.annotations.model import Instance
from areoscan.models.card import ModelCard
from areoscan.models.registry import register_builder

DETECTOR_ARCHS = ("fasterrcnn", "maskrcnn")
BACKBONES = ("mobilenet_v3_large", "resnet18", "resnet34", "resnet50")
ASPECT_RATIOS = (0.5, 1.0, 2.0)


def _levels(backbone: str, mobilenet_layers: Sequence[int] | None = None) -> int:
    """Feature maps the FPN returns: the blocks it reads + the max-pooled top level."""
    if backbone.startswith("mobilenet"):
        return len(mobilenet_layers or MOBILENET_LAYERS) + 1
    return 5


def anchor_sizes(
    box_sides: Sequence[float],
    backbone: str,
    scale: float = 1.0,
    per_level: int = 1,
    mobilenet_layers: Sequence[int] | None = None,
) -> list[int]:
    """Anchor sizes (px, at the model's input size), ``per_level`` per pyramid level, smallest first.

    box_sides: ``sqrt(w * h)`` of the training boxes in image pixels; scale: model input size /
    image size. Sizes run geometrically from the 2nd to the 98th percentile (the smallest at least
    8 px; neighbours at least a factor ``min(1.5, 2 ** (1 / per_level))`` apart, so the sizes of
    one level span about an octave, the step between levels), so every object has an anchor of
    about its size. Use ``per_level`` > 1 when the pyramid is short (MobileNet's 3-4 levels): with
    one size per level a box between two sizes overlaps its best anchor at IoU ~0.6, under the
    RPN's 0.7, and trains few positives. mobilenet_layers: as for :class:`DetectorSpec`.
    """
    n = _levels(backbone, mobilenet_layers) * per_level
    sides = np.asarray(box_sides, float) * scale
    if sides.size == 0:
        return [int(round(v)) for v in np.geomspace(16, 256, n)]
    lo, hi = np.percentile(sides, [2, 98])
    lo = max(float(lo), 8.0)
    hi = max(float(hi), lo * min(1.5, 2 ** (1 / per_level)) ** (n - 1))
    sizes = [int(round(v)) for v in np.geomspace(lo, hi, n)]
    for k in range(1, n):  # strictly increasing after rounding
        sizes[k] = max(sizes[k], sizes[k - 1] + 1)
    return sizes


def _one_channel(module: nn.Module) -> None:
    """Replace the first 3-channel convolution by a 1-channel one (same shape otherwise)."""
    for parent in module.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d) and child.in_channels == 3:
                setattr(
                    parent,
                    name,
                    nn.Conv2d(
                        1,
                        child.out_channels,
                        child.kernel_size,  # type: ignore[arg-type]
                        child.stride,  # type: ignore[arg-type]
                        child.padding,  # type: ignore[arg-type]
                        bias=child.bias is not None,
                    ),
                )
                return
    raise ValueError("no 3-channel convolution to replace")


# MobileNetV3-Large blocks the FPN reads: block 6 ends the stride-8 stage, 12 the stride-16 stage,
# 16 is the last layer (stride 32); the FPN's max-pool adds one more level at twice the last stride.
# MOBILENET_LAYERS (strides 16/32/64) is the default of a format-2 card; FINE_MOBILENET_LAYERS adds
# stride 8 (`train detector --min-stride 8`: pits of 12-30 px at 384 px get anchors 8 px apart).
# Cards of format 1 (no ``format_version``: trained before session 14) without ``mobilenet_layers``
# read blocks 13 and 16 (LEGACY, trained before session 13): both stride 32, so every anchor sat on
# a 32-px grid and the smallest pits (12-30 px at 384) fell between anchors.
MOBILENET_LAYERS = (12, 16)
FINE_MOBILENET_LAYERS = (6, 12, 16)
LEGACY_MOBILENET_LAYERS = (13, 16)
# What a card's ``arch_kwargs`` mean. 1 (no key): missing ``mobilenet_layers`` = LEGACY. 2: missing
# ``mobilenet_layers`` = MOBILENET_LAYERS; ``train_detector`` writes the key explicitly anyway.
DETECTOR_FORMAT = 2


def _mobilenet_layers(layers: Sequence[int] | None, format_version: int) -> list[int]:
    """The MobileNet blocks a card of ``format_version`` reads (see :data:`DETECTOR_FORMAT`)."""
    if format_version not in (1, DETECTOR_FORMAT):
        raise ValueError(
            f"detector card format {format_version} is newer than this areoscan "
            f"({DETECTOR_FORMAT}): upgrade areoscan"
        )
    if layers is not None:
        return [int(v) for v in layers]
    return list(LEGACY_MOBILENET_LAYERS if format_version == 1 else MOBILENET_LAYERS)


def _backbone(name: str, channels: int, layers: Sequence[int]) -> nn.Module:
    """A from-scratch backbone + FPN with ``channels`` per pyramid level (BatchNorm, 1-band input).

    layers: MobileNet blocks to read (:func:`_mobilenet_layers`); ignored for ResNets.
    """
    import torchvision
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}")
    if name.startswith("mobilenet"):
        features = torchvision.models.mobilenet_v3_large(
            weights=None, norm_layer=nn.BatchNorm2d
        ).features
        picked = list(layers)
        return_layers = {str(i): str(k) for k, i in enumerate(picked)}
        in_channels = [features[i].out_channels for i in picked]
        body: nn.Module = features
    else:
        body = getattr(torchvision.models, name)(weights=None, norm_layer=nn.BatchNorm2d)
        width = 64 * (4 if name == "resnet50" else 1)
        return_layers = {f"layer{k}": str(k - 1) for k in range(1, 5)}
        in_channels = [width, width * 2, width * 4, width * 8]
    _one_channel(body)
    return BackboneWithFPN(body, return_layers, in_channels, channels, LastLevelMaxPool())


NORMS = ("fixed", "image")


def _standardising_transform(transform: nn.Module) -> nn.Module:
    """``transform`` (a GeneralizedRCNNTransform) standardising each image by its own mean / std.

    Use it (arch kwarg ``norm="image"``) when crops of one dataset differ a lot in brightness and
    contrast (see :class:`~areoscan.models.standardise.Standardising`).
    """
    from areoscan.models.standardise import Standardising

    t = transform
    return Standardising(t.min_size, t.max_size, t.image_mean, t.image_std)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DetectorSpec:
    """What an untrained detector is: the arch, the class count and a card's ``arch_kwargs``.

    Use :meth:`from_card` for a trained model (it reads old cards as they were trained), the
    constructor for a detector made by hand, and :meth:`build` for the torch module.
    channels: FPN width (torchvision: 256); head: box-head width (torchvision: 1024). The slimmer
    defaults keep a detector near 10 MB and a CPU training step a few times faster.
    anchors: sizes, as many per pyramid level, smallest first (None: :func:`anchor_sizes` of no
    boxes, one per level). min_size / max_size: the side images are resized to.
    mobilenet_layers: the MobileNet blocks the FPN reads: :data:`MOBILENET_LAYERS` (strides 16
    and 32) or :data:`FINE_MOBILENET_LAYERS` (8, 16 and 32).
    norm: ``"fixed"`` (``(x - mean) / std``) or ``"image"`` (each image by its own mean and std,
    see :func:`_standardising_transform`).
    rpn_fg_iou: IoU from which an anchor is an RPN positive (torchvision's 0.7; small objects on a
    coarse grid rarely reach it, so each box then trains about one anchor: 0.5 gives several).
    """

    arch: str
    n_classes: int
    backbone: str = "mobilenet_v3_large"
    anchors: tuple[int, ...] | None = None
    min_size: int = 512
    max_size: int = 512
    mean: float = 0.5
    std: float = 0.25
    score_thresh: float = 0.05
    detections_per_img: int = 100
    channels: int = 128
    head: int = 256
    mobilenet_layers: tuple[int, ...] = MOBILENET_LAYERS
    norm: str = "fixed"
    rpn_fg_iou: float = 0.7

    def __post_init__(self) -> None:
        if self.arch not in DETECTOR_ARCHS:
            raise ValueError(
                f"unknown detector {self.arch!r}; choose from {', '.join(DETECTOR_ARCHS)}"
            )
        if self.n_classes < 1:
            raise ValueError("a detector needs at least one class")
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; choose from {', '.join(NORMS)}")
        sizes, levels = self.resolved_anchors, _levels(self.backbone, self.mobilenet_layers)
        if len(sizes) < levels or len(sizes) % levels:
            raise ValueError(
                f"{self.backbone} needs a multiple of {levels} anchor sizes (as many per level, "
                f"smallest first), got {len(sizes)}"
            )

    @classmethod
    def from_card(cls, card: ModelCard) -> DetectorSpec:
        """The spec a detector's card was trained with (ValueError if not a detection card)."""
        if card.task != "detection":
            raise ValueError(f"task {card.task!r} is not detection")
        return cls.from_kwargs(card.arch, card.n_classes, card.arch_kwargs)

    @classmethod
    def from_kwargs(cls, arch: str, n_classes: int, arch_kwargs: Mapping[str, Any]) -> DetectorSpec:
        """The spec of a card's parts: ``format_version`` (1 if absent) and ``mobilenet_layers``
        only say which blocks the FPN reads (:func:`_mobilenet_layers`), the rest are fields."""
        kwargs = dict(arch_kwargs)
        version = int(kwargs.pop("format_version", 1))
        layers = _mobilenet_layers(kwargs.pop("mobilenet_layers", None), version)
        anchors = kwargs.pop("anchors", None)
        return cls(
            arch,
            n_classes,
            anchors=None if anchors is None else tuple(int(v) for v in anchors),
            mobilenet_layers=tuple(layers),
            **kwargs,
        )

    @property
    def resolved_anchors(self) -> list[int]:
        """The anchor sizes (px), smallest level first: :attr:`anchors` or one default per level."""
        if self.anchors is not None:
            return list(self.anchors)
        return anchor_sizes(
            [], self.backbone, scale=1.0, per_level=1, mobilenet_layers=self.mobilenet_layers
        )

    def build(self) -> nn.Module:
        """An untrained torchvision detector for :attr:`n_classes` object classes (+ background)."""
        return _build(self)


def build_detector(arch: str, n_classes: int, **arch_kwargs: Any) -> nn.Module:
    """An untrained detector from a card's parts (``DetectorSpec.from_kwargs(...).build()``).

    Use it for kwargs as a card holds them; with no ``format_version`` they read as format 1 (an
    old card: a missing ``mobilenet_layers`` is :data:`LEGACY_MOBILENET_LAYERS`).
    """
    return DetectorSpec.from_kwargs(arch, n_classes, arch_kwargs).build()


def _build(spec: DetectorSpec) -> nn.Module:
    from torchvision.models.detection import FasterRCNN, MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.models.detection.rpn import RPNHead

    levels = _levels(spec.backbone, spec.mobilenet_layers)
    sizes = spec.resolved_anchors
    per = len(sizes) // levels
    channels, n_classes = spec.channels, spec.n_classes
    generator = AnchorGenerator(
        sizes=tuple(tuple(int(s) for s in sizes[k * per : (k + 1) * per]) for k in range(levels)),
        aspect_ratios=(ASPECT_RATIOS,) * levels,
    )
    common: dict[str, Any] = {
        "min_size": spec.min_size,
        "max_size": spec.max_size,
        "image_mean": [spec.mean],
        "image_std": [spec.std],
        "rpn_anchor_generator": generator,
        "rpn_head": RPNHead(channels, per * len(ASPECT_RATIOS)),
        "rpn_fg_iou_thresh": spec.rpn_fg_iou,
        "rpn_pre_nms_top_n_train": 1000,
        "rpn_post_nms_top_n_train": 500,
        "rpn_pre_nms_top_n_test": 500,
        "rpn_post_nms_top_n_test": 300,
        "box_head": TwoMLPHead(channels * 7 * 7, spec.head),
        "box_predictor": FastRCNNPredictor(spec.head, n_classes + 1),
        "box_batch_size_per_image": 128,
        "box_score_thresh": spec.score_thresh,
        "box_detections_per_img": spec.detections_per_img,
    }
    body = _backbone(spec.backbone, channels, spec.mobilenet_layers)
    if spec.arch == "maskrcnn":
        model: nn.Module = MaskRCNN(
            body,
            mask_head=MaskRCNNHeads(channels, (channels,) * 4, 1),
            mask_predictor=MaskRCNNPredictor(channels, channels, n_classes + 1),
            **common,
        )
    else:
        model = FasterRCNN(body, **common)
    if spec.norm == "image":
        model.transform = _standardising_transform(model.transform)  # type: ignore[arg-type]
    return model


def _from_card(card: ModelCard) -> nn.Module:
    return DetectorSpec.from_card(card).build()


for _arch in DETECTOR_ARCHS:
    register_builder("detection", _arch)(_from_card)


class TorchDetector:
    """A trained detector with the ``detect(image) -> list[Instance]`` of the metrics' protocol.

    Use it through :func:`load_detector`. Masks (Mask R-CNN) are the soft masks cut at 0.5.
    """

    def __init__(self, module: nn.Module, card: ModelCard) -> None:
        self.module = module.eval()
        self.card = card
        self.name = card.name
        self.classes = list(card.classes)

    @torch.inference_mode()
    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Instance]]:
        """Instances of several ``(H, W)`` float [0, 1] images (sizes may differ)."""
        tensors = [torch.from_numpy(np.ascontiguousarray(im, np.float32))[None] for im in images]
        outputs = self.module(tensors)
        return [self._instances(out) for out in outputs]

    def detect(self, image: np.ndarray) -> list[Instance]:
        """Instances of one ``(H, W)`` float [0, 1] image, best score first."""
        return self.detect_batch([image])[0]

    def _instances(self, out: dict[str, torch.Tensor]) -> list[Instance]:
        boxes = out["boxes"].numpy()
        scores = out["scores"].numpy()
        labels = out["labels"].numpy()
        masks = out["masks"][:, 0].numpy() >= 0.5 if "masks" in out else None
        found = []
        for k in np.argsort(-scores, kind="stable"):
            mask = masks[k] if masks is not None else None
            if mask is not None and not mask.any():
                mask = None  # too small to cut: keep the box
            x0, y0, x1, y1 = (float(v) for v in boxes[k])
            found.append(
                Instance(self.classes[int(labels[k]) - 1], (x0, y0, x1, y1), mask, float(scores[k]))
            )
        if masks is not None and any(i.mask is None for i in found):
            for inst in found:  # keep one kind per run: metrics compare masks only if all have them
                if inst.mask is None:
                    inst.mask = _box_mask(inst.box, masks.shape[1:])
        return found

    def describe(self) -> dict[str, Any]:
        """Architecture, backbone and anchors (for reports and JSON)."""
        return {"arch": self.card.arch, **self.card.arch_kwargs}


def _box_mask(box: tuple[float, float, float, float], shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    mask[max(y0, 0) : max(y1, y0 + 1), max(x0, 0) : max(x1, x0 + 1)] = True
    return mask


def load_detector(name: str, threads: int = 2) -> TorchDetector:
    """A trained detector by shipped name, folder or ``.json`` path (ModelError if not a detector)."""
    from areoscan.errors import ModelError
    from areoscan.models.registry import load_model

    torch.set_num_threads(max(1, threads))
    module, card = load_model(name)
    if card.task != "detection":
        raise ModelError(f"{name}: a {card.task} model, not a detector")
    return TorchDetector(module, card)
