import numpy as np
import pytest
import torch
from torch import nn

from areoscan.errors import ModelError
from areoscan.models import registry
from areoscan.models.card import ModelCard
from areoscan.models.export import card_from_onnx, export_onnx, make_runner


@registry.register_builder("classification", "test_export_net")
def _build(card: ModelCard) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.Hardswish(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, card.n_classes),
    )


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(1)
    card = ModelCard(
        name="exp",
        task="classification",
        arch="test_export_net",
        classes=["x", "y", "z"],
        tile_size=32,
    )
    module = registry.build_module(card)
    registry.save_model(module, card, tmp_path)
    return tmp_path / "exp.json"


def test_onnx_parity_and_embedded_card(saved, tmp_path):
    module, card = registry.load_model(saved)
    out = export_onnx(module, card, tmp_path / "exp.onnx")
    assert card_from_onnx(out).classes == ["x", "y", "z"]
    x = np.random.default_rng(0).random((5, 1, 32, 32), dtype=np.float32)
    torch_run, _ = make_runner(saved, backend="torch")
    onnx_run, _ = make_runner(out)
    mem_run, _ = make_runner(saved, backend="onnx")
    a, b, c = torch_run(x), onnx_run(x), mem_run(x[:, 0])  # (N, H, W) accepted too
    assert a.shape == (5, 3)
    assert np.abs(a - b).max() <= 1e-4
    assert np.abs(a - c).max() <= 1e-4


def test_runner_errors(saved, tmp_path):
    run, _ = make_runner(saved)
    with pytest.raises(ModelError, match="model input"):
        run(np.zeros((2, 3, 32, 32), np.float32))
    with pytest.raises(ModelError, match="unknown backend"):
        make_runner(saved, backend="tensorrt")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ModelError, match="ONNX"):
        make_runner(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match=r"\.onnx"):
        export_onnx(*registry.load_model(saved), tmp_path / "x.pt")
