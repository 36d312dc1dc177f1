"""The onnx backend: models exported once into a cache (by a child process when torch is not loaded);
no torch in the scan; ``auto`` picks onnx when it works."""

import subprocess
import sys

import numpy as np
import pytest

from areoscan.errors import ModelError
from areoscan.models import ModelCard, build_module, save_model
from areoscan.models.segmenters import load_segmenter
from areoscan.scan.backends import OnnxSegmenter, onnx_model, resolve_backend


@pytest.fixture
def slim_unet(tmp_path):
    from areoscan.models.segmenters import segmenter_kwargs

    card = ModelCard(name="tiny-unet", task="segmentation", arch="slim-unet",
                     classes=["background", "brain_coral"], tile_size=64, level=0,
                     scale_m_per_px=0.25, threshold=0.5, positive_class="brain_coral",
                     arch_kwargs=segmenter_kwargs("slim-unet", encoder="mobilenetv3_small_050",
                                                  decoder_channels=[16, 16, 8, 8]))  # fmt: skip
    _, path = save_model(build_module(card).eval(), card, tmp_path / "m")
    return path


@pytest.mark.slow
def test_export_is_cached_matches_torch_and_runs_without_torch(slim_unet, tmp_path):
    cache = tmp_path / "cache"
    code = (  # a process without torch exports in a child process and stays without torch
        "import sys\n"
        "from pathlib import Path\n"
        "from areoscan.scan.backends import onnx_model\n"
        f"print(onnx_model({str(slim_unet)!r}, Path({str(cache)!r})))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    path, has_torch = out.stdout.split()
    assert has_torch == "False"
    first = onnx_model(slim_unet, cache)
    assert str(first) == path and first.parent == cache and first.suffix == ".onnx"
    mtime = first.stat().st_mtime_ns
    assert onnx_model(slim_unet, cache) == first and first.stat().st_mtime_ns == mtime
    x = np.random.default_rng(0).random((2, 1, 70, 90), dtype=np.float32)  # padded to 96 x 96
    onnx_p = OnnxSegmenter(first)(x)
    torch_p = load_segmenter(slim_unet, fuse=False)(x)
    assert onnx_p.shape == (2, 1, 70, 90)
    assert np.abs(onnx_p - torch_p).max() < 1e-4
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from areoscan.scan.backends import load_segment\n"
        f"p = load_segment({str(first)!r}, 'onnx', 1)\n"
        "p(np.zeros((1, 1, 64, 64), np.float32))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    # the same weights with another card (calibrated afterwards) get their own export
    card = ModelCard.load(slim_unet)
    card.calibration = {"method": "temperature", "temperature": 2.0}
    card.save(slim_unet)
    assert onnx_model(slim_unet, cache) != first


def test_onnx_paths_pass_through_and_bad_names_fail(tmp_path):
    assert onnx_model(tmp_path / "x.onnx") == tmp_path / "x.onnx"
    with pytest.raises(ModelError):
        onnx_model("no-such-model", tmp_path)


def test_auto_backend_is_onnx_when_the_export_works_else_torch_with_a_reason(
    slim_unet, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_backend("auto", [slim_unet]) == ("onnx", None)
    assert list((tmp_path / "xdg" / "areoscan" / "onnx").glob("tiny-unet-*.onnx"))
    assert resolve_backend("torch", [slim_unet]) == ("torch", None)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache cannot be created
    backend, why = resolve_backend("auto", [slim_unet])
    assert backend == "torch" and why is not None and why.startswith("onnx backend unavailable")
