"""ONNX export and the two inference backends (torch, onnxruntime) behind one call signature.

Use :func:`make_runner` to get a callable ``runner(x) -> logits`` for any model: ``x`` is a float32
array (N, C, H, W) or (N, H, W) of raw pixels scaled to [0, 1] (the model's own first layer does
the normalisation), the result is the float32 network output (N, n_classes) for classifiers, or
(N, n_classes, H, W) for segmenters. ``backend="onnx"`` runs onnxruntime (about 2x faster on CPU,
see design.md); it takes an exported ``.onnx`` file, or exports the torch model in memory.
Use :func:`export_onnx` to write a ``.onnx`` file; the model card is embedded in its metadata.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from areoscan.errors import ModelError
from areoscan.models.card import ModelCard, write_bytes_atomic

if TYPE_CHECKING:
    from torch import nn

CARD_METADATA_KEY = "areoscan_card"
BACKENDS = ("torch", "onnx")


def _as_nchw(x: np.ndarray, in_channels: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3 and in_channels == 1:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ModelError(
            f"model input must be (N, {in_channels}, H, W) float32, got shape {x.shape}"
        )
    return np.ascontiguousarray(x)


def onnx_bytes(module: nn.Module, card: ModelCard, opset: int = 17) -> bytes:
    """Serialise ``module`` to ONNX in memory (TorchScript exporter; batch axis dynamic)."""
    import torch

    size = int(card.tile_size)
    dummy = torch.rand(2, card.in_channels, size, size)
    dynamic: dict[str, dict[int, str]] = {"tiles": {0: "batch"}, "logits": {0: "batch"}}
    if card.task == "segmentation":
        dynamic = {
            "tiles": {0: "batch", 2: "height", 3: "width"},
            "logits": {0: "batch", 2: "height", 3: "width"},
        }
    buf = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", DeprecationWarning
            )  # the TorchScript exporter is on purpose
            torch.onnx.export(
                module,
                (dummy,),
                buf,  # type: ignore[arg-type]  # file-like objects are accepted
                input_names=["tiles"],
                output_names=["logits"],
                dynamic_axes=dynamic,
                opset_version=opset,
                dynamo=False,
            )
    finally:
        module.train(was_training)
    import onnx

    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    entry.key = CARD_METADATA_KEY
    entry.value = card.to_json()
    return proto.SerializeToString()


def export_onnx(module: nn.Module, card: ModelCard, out_path: str | Path, opset: int = 17) -> Path:
    """Write ``module`` as ONNX to ``out_path`` atomically (card embedded in metadata); return the path."""
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".onnx":
        raise ModelError(f"{out_path}: the ONNX output must end in .onnx")
    write_bytes_atomic(out_path, onnx_bytes(module, card, opset=opset))
    return out_path


def card_from_onnx(path: str | Path) -> ModelCard:
    """Read the model card embedded by :func:`export_onnx` (ModelError if absent)."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises several unrelated types for bad files
        raise ModelError(f"{path}: not a readable ONNX file ({type(exc).__name__})") from None
    for entry in proto.metadata_props:
        if entry.key == CARD_METADATA_KEY:
            return ModelCard.from_dict(json.loads(entry.value), source=str(path))
    raise ModelError(
        f"{path}: ONNX file has no areoscan model card; export it with `areoscan export`"
    )


class TorchRunner:
    """Run a torch module on numpy batches (eval mode, no grad, optional channels_last)."""

    def __init__(self, module: nn.Module, card: ModelCard, channels_last: bool = True):
        import torch

        self.card = card
        self.module = module.eval()
        self.channels_last = channels_last
        if channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        t = torch.from_numpy(_as_nchw(x, self.card.in_channels))
        if self.channels_last:
            t = t.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return self.module(t).float().numpy()


class OnnxRunner:
    """Run an ONNX model with onnxruntime on the CPU; same call as :class:`TorchRunner`."""

    def __init__(
        self,
        model: bytes | str | Path,
        card: ModelCard,
        threads: int | None = None,
        spinning: bool = True,
    ):
        """spinning: let idle worker threads busy-wait for work (onnxruntime's default); turn it
        off when other threads (a decoder) share the cores, or the spinning steals their time."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or min(2, os.cpu_count() or 1))
        opts.inter_op_num_threads = 1
        if not spinning:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        src: Any = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception classes
            raise ModelError(
                f"onnxruntime cannot load the model ({str(exc).splitlines()[0]})"
            ) from None
        self.card = card
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input_name: _as_nchw(x, self.card.in_channels)})
        return np.asarray(out[0], dtype=np.float32)


def make_runner(
    model: str | Path, backend: str = "torch"
) -> tuple[TorchRunner | OnnxRunner, ModelCard]:
    """(runner, card) for a model name/path; a ``.onnx`` path always uses onnxruntime."""
    from areoscan.models.registry import load_model

    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if str(model).lower().endswith(".onnx"):
        if not Path(model).is_file():
            raise ModelError(f"{model}: ONNX file not found")
        card = card_from_onnx(model)
        return OnnxRunner(model, card), card
    module, card = load_model(model)
    if backend == "onnx":
        return OnnxRunner(onnx_bytes(module, card), card), card
    return TorchRunner(module, card), card
