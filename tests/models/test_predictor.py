"""The model seam: one torch-free predictor, and detectors seen as per-pixel models."""

from __future__ import annotations

import numpy as np
import pytest

from areoscan.errors import ModelError
from areoscan.models.card import ModelCard
from areoscan.models.predictor import (
    InstanceModel,
    InstancePixels,
    Instances,
    PixelModel,
    Predictor,
    as_pixel_model,
    load_tile_model,
    positive_index,
    probabilities,
)


def _card(classes: list[str], task: str = "segmentation", **kw) -> ModelCard:
    return ModelCard(name="t", task=task, arch="none", classes=classes, tile_size=32, **kw)


class Shapes:
    """A runner that records the shape it was given and returns x - 0.5 per output channel."""

    def __init__(self, k: int) -> None:
        self.k, self.seen = k, []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(x.shape)
        return np.repeat(x - 0.5, self.k, axis=1) * np.arange(1, self.k + 1)[None, :, None, None]


def test_one_output_is_a_sigmoid_several_a_softmax():
    z = np.array([[0.0], [2.0]], dtype=np.float32)
    assert np.allclose(probabilities(z)[:, 0], [0.5, 1 / (1 + np.exp(-2.0))])
    many = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    p = probabilities(many)
    assert p.dtype == np.float32 and np.isclose(p.sum(), 1.0) and p.argmax() == 2


def test_tiles_are_padded_to_the_stride_and_cropped_back():
    runner = Shapes(1)
    pred = Predictor(runner, _card(["bg", "coral"]), "torch", pad_multiple=32)
    x = np.full((2, 1, 50, 70), 0.75, dtype=np.float32)
    p = pred(x)
    assert runner.seen == [(2, 1, 64, 96)] and p.shape == (2, 1, 50, 70)
    assert np.allclose(p, 1 / (1 + np.exp(-0.25)))
    assert pred.labels(x[:, 0]).all() and pred.binary and pred.threshold == 0.5


def test_multi_class_labels_are_the_argmax():
    pred = Predictor(Shapes(3), _card(["a", "b", "c"]), "onnx")
    x = np.stack([np.full((1, 8, 8), 0.2), np.full((1, 8, 8), 0.9)]).astype(np.float32)
    labels = pred.labels(x)
    assert (labels[0] == 0).all() and (labels[1] == 2).all()
    with pytest.raises(ModelError, match="segmenter input"):
        pred(np.zeros((2, 3, 8, 8), np.float32))


def test_positive_class_from_the_card():
    assert positive_index(_card(["background", "brain_coral"])) == 1
    assert positive_index(_card(["x", "y"], positive_class="x")) == 0
    with pytest.raises(ModelError, match="positive class"):
        positive_index(_card(["a", "b", "c"]))


class Boxes:
    """A detector finding one box per tile, class 2, score 0.8 (masks optional)."""

    tile_size, threshold, classes = 32, 0.5, ["background", "pit", "crater"]

    def __init__(self, masks: bool = False) -> None:
        self.masks = masks

    def detect(self, tiles: np.ndarray) -> list[Instances]:
        out = []
        for _ in tiles:
            m = None
            if self.masks:
                m = np.zeros((1, *tiles.shape[-2:]), dtype=bool)
                m[0, 4, 4] = True
            out.append(Instances(np.array([[2, 3, 10, 6]], np.float32), np.array([0.8], np.float32),
                                 np.array([2]), m))  # fmt: skip
        return out


def test_detectors_are_scanned_as_pixel_probabilities():
    det = Boxes()
    assert isinstance(det, InstanceModel) and not isinstance(det, PixelModel)
    model = as_pixel_model(det)
    assert isinstance(model, InstancePixels) and isinstance(model, PixelModel)
    p = model(np.zeros((2, 1, 16, 16), np.float32))
    assert p.shape == (2, 3, 16, 16)
    assert np.allclose(p[:, 2, 3:6, 2:10], 0.8) and p[:, 2].sum() == pytest.approx(2 * 24 * 0.8)
    assert np.allclose(p[:, 0, 3:6, 2:10], 0.2) and (p[:, 0, 10:] == 1).all()
    masked = as_pixel_model(Boxes(masks=True))(np.zeros((1, 1, 16, 16), np.float32))
    assert masked[0, 2, 4, 4] == pytest.approx(0.8) and masked[0, 2].sum() == pytest.approx(0.8)


def test_pixel_models_pass_through_and_unknown_kinds_are_refused():
    pred = Predictor(Shapes(1), _card(["bg", "coral"]), "torch")
    assert as_pixel_model(pred) is pred
    with pytest.raises(ModelError, match="cannot run regression models"):
        load_tile_model("x", "regression", "torch", 1)
