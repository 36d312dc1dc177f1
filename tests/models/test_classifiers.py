import numpy as np
import pytest
import torch

from areoscan.models import registry
from areoscan.models.card import ModelCard
from areoscan.models.classifiers import ARCHS, TileClassifier, build_classifier, dihedral
from areoscan.models.export import export_onnx, make_runner
from areoscan.models.norm import TileNorm


def _card(arch, mode="spatial", size=128, classes=3, **kw):
    return ModelCard(
        name="t",
        task="classification",
        arch=arch,
        mode=mode,
        tile_size=size,
        classes=[f"c{i}" for i in range(classes)],
        **kw,
    )


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("mode", ["spatial", "dct"])
@pytest.mark.parametrize("size", [128, 256])
def test_every_arch_mode_size_builds_and_runs(arch, mode, size):
    torch.manual_seed(0)
    model = registry.build_module(_card(arch, mode, size, classes=5)).eval()
    assert isinstance(model, TileClassifier)
    with torch.no_grad():
        out = model(torch.rand(2, 1, size, size))
    assert out.shape == (2, 5)
    assert torch.isfinite(out).all()
    assert (model.dct is not None) == (mode == "dct")


def test_dihedral_group_has_eight_distinct_views():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    views = {tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(views) == 8


def test_tta_is_invariant_and_only_in_eval():
    torch.manual_seed(0)
    model = build_classifier(
        _card("small_cnn", size=64, arch_kwargs={"tta": 8, "widths": [8, 16]})
    ).eval()
    x = torch.rand(3, 1, 64, 64)
    with torch.no_grad():
        a = model(x)
        b = model(torch.rot90(x, 1, dims=(-2, -1)))
    assert torch.allclose(
        a, b, atol=1e-5
    )  # averaging over the full group makes it rotation invariant
    with pytest.raises(ValueError):
        TileClassifier(torch.nn.Identity(), TileNorm(), 2, tta=3)


def test_onnx_parity_for_dct_and_tta(tmp_path):
    torch.manual_seed(0)
    card = _card("mobilenetv3_small", mode="dct", size=128, arch_kwargs={"tta": 4})
    model = build_classifier(card).eval()
    registry.save_model(model, card, tmp_path)
    out = export_onnx(model, card, tmp_path / "t.onnx")
    x = np.random.default_rng(0).random((3, 1, 128, 128), dtype=np.float32)
    ref, _ = make_runner(tmp_path / "t.json")
    ort, _ = make_runner(out)
    assert np.abs(ref(x) - ort(x)).max() <= 1e-4


def test_bad_arch_kwargs_are_model_errors():
    from areoscan.errors import ModelError

    with pytest.raises(ModelError):
        registry.build_module(_card("small_cnn", size=100))
    with pytest.raises(ModelError):
        registry.build_module(_card("small_cnn", normalisation={"kind": "minmax"}))
