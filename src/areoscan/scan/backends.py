"""Load the scan's two models for the chosen backend; the onnx backend never imports torch.

Use :func:`load_screen` and :func:`load_segment` in the scan. With ``backend="torch"`` they return
the models' own predictors (:class:`~areoscan.scan.screen.TileScreen` over a torch runner and
:func:`areoscan.models.segmenters.load_segmenter`). With ``backend="onnx"`` each model is first
exported once to an ONNX file cached under ``~/.cache/areoscan/onnx`` (keyed by the weights' sha256;
the export runs in a separate Python process), and the scan then runs onnxruntime only: importing
torch alone costs ~580 MB of resident memory, a third of the 1.5 GB a gigapixel scan may use, and
onnxruntime is also faster on a CPU.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from areoscan.errors import ModelError
from areoscan.models.card import ModelCard
from areoscan.models.predictor import (
    InstanceModel,
    PixelModel,
    Predictor,
    as_pixel_model,
    load_tile_model,
)

_EXPORT = (
    "import sys\n"
    "from areoscan.models.registry import load_model\n"
    "from areoscan.models.export import export_onnx\n"
    "module, card = load_model(sys.argv[1])\n"
    "export_onnx(module, card, sys.argv[2])\n"
)


def onnx_cache_dir() -> Path:
    """Folder of cached ONNX exports (``$XDG_CACHE_HOME/areoscan/onnx`` or ``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "areoscan" / "onnx"


def onnx_model(model: str | Path, cache_dir: Path | None = None) -> Path:
    """Path of an ONNX export of ``model`` (itself if it is a ``.onnx`` file), exporting it once.

    The export runs in a child Python process so the caller never imports torch (in this process
    when torch is already imported).
    """
    if str(model).lower().endswith(".onnx"):
        return Path(model)
    from areoscan.models.registry import load_card

    card = load_card(model)
    folder = cache_dir or onnx_cache_dir()
    # the card travels inside the export: a re-calibrated card (same weights) needs its own file
    card_sha = hashlib.sha256(card.to_json().encode()).hexdigest()[:8]
    path = folder / f"{card.name}-{card.weights_sha256[:16] or 'unhashed'}-{card_sha}.onnx"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    if "torch" in sys.modules:  # already paid for (and knows models registered in this process)
        from areoscan.models.export import export_onnx
        from areoscan.models.registry import load_model

        try:
            module, card = load_model(model)
            export_onnx(module, card, path)
        except Exception as exc:  # torch.onnx raises many kinds
            raise ModelError(f"{model}: ONNX export for the onnx backend failed ({exc})") from None
        return path
    proc = subprocess.run(
        [sys.executable, "-c", _EXPORT, str(model), str(path)], capture_output=True, text=True
    )
    if proc.returncode != 0 or not path.is_file():
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise ModelError(f"{model}: ONNX export for the onnx backend failed ({last})")
    return path


class OnnxSegmenter(Predictor):
    """A segmenter's :class:`~areoscan.models.predictor.Predictor` on onnxruntime, without torch.

    ``predictor(tiles)``: float32 ``(N, 1, H, W)`` in [0, 1] → ``(N, K, H, W)`` probabilities (K = 1:
    sigmoid of the positive class; else softmax). Tiles are zero-padded to a multiple of 32.
    """

    def __init__(self, path: Path, threads: int = 2, pad_multiple: int = 32) -> None:
        from areoscan.models.export import OnnxRunner, card_from_onnx

        card: ModelCard = card_from_onnx(path)
        if card.task != "segmentation":
            raise ModelError(f"{path}: model {card.name!r} is a {card.task} model, not a segmenter")
        # no busy-waiting: the decoder thread shares the cores (measured: 7.1 -> 10.3 Mpx/s of
        # prediction while a window decodes alongside, the decoder's speed unchanged)
        runner = OnnxRunner(path, card, threads=threads, spinning=False)
        super().__init__(runner, card, "onnx", pad_multiple)


def resolve_backend(backend: str, models: list[str | Path]) -> tuple[str, str | None]:
    """The backend to use and, when ``"auto"`` falls back to torch, why.

    ``"auto"`` is onnx when onnxruntime imports and every model has (or gets) its cached ONNX
    export; else torch. Other values are returned unchanged.
    """
    if backend != "auto":
        return backend, None
    try:
        import onnxruntime  # noqa: F401

        for model in models:
            onnx_model(model)
    except (ImportError, ModelError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return "torch", f"onnx backend unavailable ({reason}): using torch"
    return "onnx", None


def load_screen(model: str | Path, backend: str, threads: int) -> Any:
    """The screening classifier as a :class:`~areoscan.scan.screen.TileScreen`."""
    from areoscan.scan.screen import TileScreen

    if backend == "onnx":
        return TileScreen(onnx_model(model), "onnx")
    _torch_threads(threads)
    return TileScreen(model, backend)


def load_segment(model: str | Path, backend: str, threads: int) -> PixelModel:
    """The segment stage's model as per-pixel probabilities, whatever its kind.

    Segmenters on onnx run the cached export (:class:`OnnxSegmenter`); every other case goes
    through the models package's loader for the card's task
    (:func:`areoscan.models.predictor.load_tile_model`); detectors come back as
    :class:`~areoscan.models.predictor.InstancePixels`.
    """
    from areoscan.models.registry import load_card

    task = "segmentation" if str(model).lower().endswith(".onnx") else load_card(model).task
    if backend == "onnx" and task == "segmentation":
        return OnnxSegmenter(onnx_model(model), threads=threads)
    if backend == "torch":
        _torch_threads(threads)
    return as_pixel_model(load_tile_model(model, task, backend, threads))


def load_detect(model: str | Path, threads: int, min_score: float | None = None) -> InstanceModel:
    """The detect stage's model (:mod:`areoscan.scan.detect`): a detector on torch, whatever the
    scan's backend (detectors have no ONNX path in the scan yet). min_score: the smallest score
    the stage publishes (None: the card's threshold); the network stops at it too."""
    from areoscan.models.tile_detector import load_tile_detector

    _torch_threads(threads)
    return load_tile_detector(model, threads, min_score)


def _torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, int(threads)))
