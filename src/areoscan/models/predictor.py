"""The model seam: what the scan runs on a batch of tiles, and the one predictor behind every backend.

Use :class:`Predictor` to turn any runner (``runner(x) -> logits``: a torch module through
:class:`~areoscan.models.export.TorchRunner`, an onnxruntime session through
:class:`~areoscan.models.export.OnnxRunner`, or any callable) into probabilities: it pads tiles to
the network's stride, runs, crops back, applies a sigmoid (one output) or a softmax (several) and
thresholds. It imports neither torch nor onnxruntime, so the screen, the torch backend and the onnx
backend share it.

What the scan can run on tiles is one of two kinds (:data:`TileModel`):

- :class:`PixelModel` — per-pixel class probabilities ``(N, K, H, W)``: binary segmenters (K = 1,
  the positive class), multi-class segmenters (K = number of classes, softmax), distilled decoders.
- :class:`InstanceModel` — :class:`Instances` per tile (boxes, scores, labels, optional masks):
  detectors. :class:`InstancePixels` paints them into per-pixel probabilities, so a detector runs
  through the scan's blend / clean / vectorise stages unchanged.

A new model kind implements one of these protocols in this package (and, if it needs its own
output files, one scan stage); the pipeline does not change.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from areoscan.errors import ModelError
from areoscan.models.calibration import calibrate_logits
from areoscan.models.card import ModelCard

_ROLES = {"segmentation": "segmenter", "classification": "classifier", "detection": "detector"}


class Runner(Protocol):
    """A network on a CPU: float32 ``(N, C, H, W)`` in [0, 1] → float32 logits."""

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """float32 logistic of float32 logits."""
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    """float32 softmax along ``axis``, computed in float64 (no overflow, same bytes as scipy's)."""
    x = np.asarray(logits, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities of logits ``(N, K, ...)``: sigmoid when K = 1, else softmax over K."""
    if logits.shape[1] == 1:
        return sigmoid(logits)
    return softmax(logits, axis=1)


def output_channels(card: ModelCard) -> int:
    """Network outputs of a card: 1 for two classes (one sigmoid logit), else one per class."""
    return 1 if len(card.classes) <= 2 else len(card.classes)


def positive_index(card: ModelCard) -> int:
    """Output index of the positive (e.g. brain coral) class of a two-class classifier."""
    if card.positive_class is not None:
        return card.classes.index(card.positive_class)
    for i, name in enumerate(card.classes):
        if "coral" in name.lower():
            return i
    if len(card.classes) == 2:
        return 1
    raise ModelError(
        f"model {card.name!r}: cannot tell which of {card.classes} is the positive class; "
        "set positive_class in its card"
    )


class Predictor:
    """Probabilities for batches of tiles from any runner; the one place for pad, activation, cut.

    ``predictor(tiles)`` takes float32 ``(N, 1, H, W)`` (or ``(N, H, W)``) in [0, 1] (raw / (2^bits
    − 1); 0 = no data) and returns float32 ``(N, K, H, W)`` for a segmenter or ``(N, K)`` for a
    classifier: K = 1 for one output (sigmoid: the positive class), else the softmax over K.

    Args:
        runner: the network (see :class:`Runner`).
        card: its model card (``tile_size``, ``level``, ``threshold``, ``classes``).
        backend: ``"torch"`` or ``"onnx"`` (reported in summaries).
        pad_multiple: tiles are zero-padded (= no data) to a multiple of this and cropped back
            (32: the U-Net's stride); 1 for classifiers, whose pooling would see the padding.
    """

    def __init__(self, runner: Runner, card: ModelCard, backend: str, pad_multiple: int = 32):
        self.runner = runner
        self.card = card
        self.backend = backend
        self.pad_multiple = max(1, int(pad_multiple))

    @property
    def tile_size(self) -> int:
        """Tile side the model was trained for (the scan's tile size)."""
        return int(self.card.tile_size)

    @property
    def level(self) -> int:
        """Resolution level the model reads (0 = full resolution)."""
        return int(self.card.level)

    @property
    def threshold(self) -> float:
        """Decision threshold on the positive-class probability (0.5 when the card has none)."""
        return 0.5 if self.card.threshold is None else float(self.card.threshold)

    @property
    def binary(self) -> bool:
        """True when the model has one sigmoid output (two classes)."""
        return len(self.card.classes) == 2

    @property
    def classes(self) -> list[str]:
        """Class names, index = output channel (for a binary model: channel 0 is the positive)."""
        return list(self.card.classes)

    def logits(self, tiles: np.ndarray) -> np.ndarray:
        """Raw network outputs of ``tiles`` (padded for the run, cropped back)."""
        x = np.asarray(tiles, dtype=np.float32)
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1] != self.card.in_channels:
            what = _ROLES.get(self.card.task, f"{self.card.task} model")
            raise ModelError(
                f"{what} input must be (N, {self.card.in_channels}, H, W) float32, got {x.shape}"
            )
        h, w = x.shape[-2:]
        m = self.pad_multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)))
        out = np.asarray(self.runner(np.ascontiguousarray(x)), dtype=np.float32)
        return out[..., :h, :w] if out.ndim == 4 else out

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        """Probabilities, calibrated when the card carries a calibration (see
        :mod:`areoscan.models.calibration`; ``threshold`` is on the same scale)."""
        return probabilities(calibrate_logits(self.logits(tiles), self.card.calibration))

    def labels(self, tiles: np.ndarray) -> np.ndarray:
        """Hard labels: positive where p >= threshold (one output), else the argmax (uint8)."""
        p = self(tiles)
        if p.shape[1] == 1:
            return (p[:, 0] >= self.threshold).astype(np.uint8)
        return p.argmax(axis=1).astype(np.uint8)


@runtime_checkable
class PixelModel(Protocol):
    """Per-pixel class probabilities of a tile batch: segmenters, distilled decoders.

    ``model(tiles)``: float32 ``(N, 1, H, W)`` in [0, 1] → float32 ``(N, K, H, W)``; K = 1 means the
    positive class's probability (binary), K ≥ 2 one channel per class of ``classes`` (softmax).
    """

    @property
    def tile_size(self) -> int: ...

    @property
    def threshold(self) -> float: ...

    @property
    def classes(self) -> list[str]: ...

    def __call__(self, tiles: np.ndarray) -> np.ndarray: ...


@dataclass
class Instances:
    """Objects found in one tile (tile pixel coordinates).

    boxes: ``(K, 4)`` float32 ``(x0, y0, x1, y1)``, end exclusive; scores: ``(K,)`` in [0, 1];
    labels: ``(K,)`` class index into the model's ``classes``; masks: ``(K, H, W)`` bool instance
    masks, or None for box-only detectors (the box is the mask).
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)


@runtime_checkable
class InstanceModel(Protocol):
    """Objects in a tile batch: detectors. ``detect(tiles)`` → one :class:`Instances` per tile."""

    @property
    def tile_size(self) -> int: ...

    @property
    def threshold(self) -> float: ...

    @property
    def classes(self) -> list[str]: ...

    def detect(self, tiles: np.ndarray) -> list[Instances]: ...


TileModel = PixelModel | InstanceModel


class InstancePixels:
    """A detector seen as a :class:`PixelModel`: each pixel's probability is the best score of the
    instances covering it (its mask, or its box). Two classes: ``(N, 1, H, W)``; more: one channel
    per class, channel 0 (background) = 1 − the best score of any class.

    Use it to scan with a detector through the same blend, clean and vectorise stages as a
    segmenter (regions are then the union of overlapping detections).
    """

    def __init__(self, model: InstanceModel) -> None:
        self.model = model

    @property
    def tile_size(self) -> int:
        """The detector's tile side."""
        return int(self.model.tile_size)

    @property
    def threshold(self) -> float:
        """The detector's score threshold."""
        return float(self.model.threshold)

    @property
    def classes(self) -> list[str]:
        """The detector's class names."""
        return list(self.model.classes)

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        x = np.asarray(tiles, dtype=np.float32)
        if x.ndim == 3:
            x = x[:, None]
        n, _, h, w = x.shape
        k = 1 if len(self.classes) <= 2 else len(self.classes)
        out = np.zeros((n, k, h, w), dtype=np.float32)
        for i, inst in enumerate(self.model.detect(x)):
            for j in range(len(inst)):
                ch = 0 if k == 1 else int(inst.labels[j])
                cover = _instance_cover(inst, j, h, w)
                np.maximum(out[i, ch], np.where(cover, inst.scores[j], 0.0), out=out[i, ch])
        if k > 1:
            out[:, 0] = 1.0 - out[:, 1:].max(axis=1)
        return out


def _instance_cover(inst: Instances, j: int, h: int, w: int) -> np.ndarray:
    """Bool ``(h, w)`` pixels of instance ``j``: its mask, else its box."""
    if inst.masks is not None:
        return np.asarray(inst.masks[j], dtype=bool)[:h, :w]
    x0, y0, x1, y1 = (int(round(float(v))) for v in inst.boxes[j])
    cover = np.zeros((h, w), dtype=bool)
    cover[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
    return cover


def as_pixel_model(model: TileModel) -> PixelModel:
    """The scan's view of any tile model: pixel models as they are, detectors through
    :class:`InstancePixels`."""
    if isinstance(model, InstanceModel):
        return InstancePixels(model)
    return model


# Model kinds the scan can run on tiles: card task -> module whose import registers its loader.
TILE_TASK_MODULES: dict[str, str] = {
    "segmentation": "areoscan.models.segmenters",
    "detection": "areoscan.models.tile_detector",
}
TileLoader = Callable[[str | Path, str, int], TileModel]
_LOADERS: dict[str, TileLoader] = {}


def register_tile_loader(task: str) -> Callable[[TileLoader], TileLoader]:
    """Decorator: ``fn(model, backend, threads) -> TileModel`` loads models of card ``task``.

    Use it in the module named for the task in :data:`TILE_TASK_MODULES` (add the entry there):
    that is all a new model kind needs for ``areoscan scan --segment-model`` to run it.
    """

    def deco(fn: TileLoader) -> TileLoader:
        _LOADERS[task] = fn
        return fn

    return deco


def load_tile_model(model: str | Path, task: str, backend: str, threads: int) -> TileModel:
    """The tile model of a card ``task`` (ModelError when the scan cannot run that kind)."""
    if task not in TILE_TASK_MODULES:
        kinds = ", ".join(sorted(TILE_TASK_MODULES))
        raise ModelError(f"{model}: the scan cannot run {task} models on tiles (only {kinds})")
    importlib.import_module(TILE_TASK_MODULES[task])
    return _LOADERS[task](model, backend, threads)
