"""Segmenters: every architecture builds for any class count; save/load; predictor; ONNX parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from areoscan.errors import ModelError
from areoscan.models.card import ModelCard
from areoscan.models.registry import load_model, save_model
from areoscan.models.segmenters import (
    SEGMENTER_ARCHS,
    build_segmenter,
    fuse_conv_bn,
    load_segmenter,
    segmenter_kwargs,
)


@pytest.mark.parametrize("arch", SEGMENTER_ARCHS)
@pytest.mark.parametrize("classes", [1, 4])
def test_every_arch_maps_a_tile_to_per_pixel_logits(arch: str, classes: int) -> None:
    model = build_segmenter(arch, classes=classes).eval()
    with torch.no_grad():
        y = model(torch.rand(2, 1, 64, 64))
        deep = model.deep_logits(torch.rand(2, 1, 64, 64))
    assert y.shape == (2, classes, 64, 64)
    assert deep.shape[:2] == (2, classes)
    assert torch.isfinite(y).all()


def output_stride(module: torch.nn.Module, size: int = 64) -> int:
    """The input/output size ratio of ``deep_logits`` (e.g. 32 for the slim U-Net)."""
    was_training = module.training
    module.eval()
    with torch.no_grad():
        out = module.deep_logits(torch.rand(1, 1, size, size))  # type: ignore[operator]
    module.train(was_training)
    return size // out.shape[-1]


def test_three_stage_slim_unet_predicts_at_quarter_resolution() -> None:
    """Three decoder stages end at 1/4: the head sees a 32² map, the output is full size."""
    model = build_segmenter("slim-unet", decoder_channels=[64, 32, 24]).eval()
    seen: list[tuple[int, ...]] = []
    model.head.register_forward_hook(lambda m, inp, out: seen.append(tuple(inp[0].shape)))
    with torch.no_grad():
        y = model(torch.rand(1, 1, 128, 128))
    assert seen == [(1, 24, 32, 32)]
    assert y.shape == (1, 1, 128, 128)
    with pytest.raises(ValueError, match="or 3"):
        build_segmenter("slim-unet", decoder_channels=[64, 32])


def test_light_half_stage_adds_projections_and_survives_export(tmp_path: Path) -> None:
    """half_stage='add': the 1/2 stage is two 1x1 projections summed; fused and ONNX agree."""
    from areoscan.models.export import OnnxRunner, onnx_bytes
    from areoscan.models.unet import AddStage

    kw = segmenter_kwargs("slim-unet", decoder_channels=[64, 32, 24, 8], half_stage="add")
    model = build_segmenter("slim-unet", **kw).eval()
    assert isinstance(model.decoder[3], AddStage) and model.head.in_channels == 8
    x = torch.rand(2, 1, 96, 96)
    with torch.no_grad():
        ref = torch.sigmoid(model(x)).numpy()
        fused = torch.sigmoid(fuse_conv_bn(model)(x)).numpy()
    assert ref.shape == (2, 1, 96, 96)
    np.testing.assert_allclose(fused, ref, atol=1e-5)
    card = _card(
        "light",
        "slim-unet",
        ["background", "brain_coral"],
        decoder_channels=[64, 32, 24, 8],
        half_stage="add",
    )
    onnx = OnnxRunner(onnx_bytes(model, card), card, threads=1)
    np.testing.assert_allclose(1 / (1 + np.exp(-onnx(x.numpy()))), ref, atol=1e-4)
    with pytest.raises(ValueError, match="half_stage"):
        build_segmenter("slim-unet", half_stage="concat")
    with pytest.raises(ValueError, match="needs the 1/2 stage"):
        build_segmenter("slim-unet", decoder_channels=[64, 32, 24], half_stage="add")


def test_output_strides() -> None:
    assert output_stride(build_segmenter("slim-unet")) == 32
    assert output_stride(build_segmenter("pspnet")) == 8


def _card(name: str, arch: str, classes: list[str], **kw: object) -> ModelCard:
    n_out = 1 if len(classes) == 2 else len(classes)
    return ModelCard(
        name=name,
        task="segmentation",
        arch=arch,
        classes=classes,
        tile_size=64,
        level=0,
        scale_m_per_px=0.25,
        threshold=0.5 if len(classes) == 2 else None,
        positive_class=classes[1] if len(classes) == 2 else None,
        arch_kwargs=segmenter_kwargs(arch, classes=n_out, **kw),
    )


@pytest.fixture(scope="module")
def saved_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    card = _card(
        "tiny-seg", "slim-unet", ["background", "brain_coral"], encoder="mobilenetv3_small_050"
    )
    model = build_segmenter("slim-unet", **card.arch_kwargs)
    # give batch norm non-trivial statistics so that folding them is really tested
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(4, 1, 64, 64))
    out = tmp_path_factory.mktemp("seg")
    _, card_path = save_model(model.eval(), card, out)
    return card_path


def test_save_and_load_round_trip(saved_binary: Path) -> None:
    model, card = load_model(saved_binary)
    assert card.task == "segmentation" and card.arch == "slim-unet"
    x = torch.rand(1, 1, 64, 64)
    again, _ = load_model(saved_binary)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))


def test_fused_model_matches(saved_binary: Path) -> None:
    model, _ = load_model(saved_binary)
    fused = fuse_conv_bn(model)
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert n_bn < sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(fused(x), model(x), atol=1e-4)


def test_predictor_binary_probabilities_any_size(saved_binary: Path) -> None:
    pred = load_segmenter(saved_binary)
    assert pred.tile_size == 64 and pred.level == 0 and pred.threshold == 0.5 and pred.binary
    x = np.random.default_rng(0).random((3, 1, 50, 70), dtype=np.float32)
    p = pred(x)
    assert p.shape == (3, 1, 50, 70) and p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1))
    assert pred.labels(x[:, 0]).shape == (3, 50, 70)
    with pytest.raises(ModelError, match="segmenter input"):
        pred(np.zeros((2, 3, 8, 8), np.float32))


def test_onnx_backend_parity(saved_binary: Path, tmp_path: Path) -> None:
    from areoscan.models.export import export_onnx

    torch_pred = load_segmenter(saved_binary, backend="torch", fuse=False)
    onnx_pred = load_segmenter(saved_binary, backend="onnx")
    x = np.random.default_rng(1).random((2, 1, 96, 64), dtype=np.float32)
    assert np.max(np.abs(onnx_pred.runner(x) - torch_pred.runner(x))) <= 1e-4
    assert np.max(np.abs(onnx_pred(x) - torch_pred(x))) <= 1e-4
    module, card = load_model(saved_binary)
    path = export_onnx(module, card, tmp_path / "seg.onnx")
    from_file = load_segmenter(path)
    assert from_file.backend == "onnx" and from_file.card.name == "tiny-seg"
    assert np.max(np.abs(from_file(x) - torch_pred(x))) <= 1e-4


def test_multiclass_predictor_softmax(tmp_path: Path) -> None:
    classes = ["coral", "mantle", "dunes"]
    card = _card("tiny-multi", "linknet", classes, encoder="tu-mobilenetv3_small_050")
    save_model(build_segmenter("linknet", **card.arch_kwargs).eval(), card, tmp_path)
    pred = load_segmenter(tmp_path / "tiny-multi.json")
    p = pred(np.random.default_rng(2).random((2, 1, 64, 64), dtype=np.float32))
    assert p.shape == (2, 3, 64, 64)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert pred.labels(np.zeros((1, 64, 64), np.float32)).max() < 3


def test_unknown_arch_and_wrong_task(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown segmenter"):
        build_segmenter("deeplab")
    card = _card("bad", "slim-unet", ["background", "brain_coral"])
    card.arch = "no-such-arch"
    card.arch_kwargs = {}
    save_model(torch.nn.Conv2d(1, 1, 1), card, tmp_path)
    with pytest.raises(ModelError, match="unknown segmentation architecture"):
        load_segmenter(tmp_path / "bad.json")
