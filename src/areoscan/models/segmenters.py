"""Segmentation architectures: the slim U-Net and its smp peers, behind one builder.

Use :func:`build_segmenter` to make any segmenter by architecture name; every one takes a
1-channel tile in [0, 1] (raw DN / 1023), standardises it (see :class:`~areoscan.models.norm.TileNorm`)
and returns logits ``(N, classes, H, W)``. ``classes=1`` means a binary mask (sigmoid);
``classes >= 2`` means one channel per class (softmax).

Architectures (``SEGMENTER_ARCHS``):

- ``slim-unet``: :class:`~areoscan.models.unet.SlimUNet`, the production model (fast on a CPU).
- ``unet``, ``fpn``, ``linknet``, ``pspnet``: segmentation-models-pytorch models with a timm
  encoder (``tu-<timm name>``; default ``tu-mobilenetv3_small_100``), built with
  ``encoder_weights=None`` so nothing is downloaded. Their decoders are slimmed by default to be
  comparable on a CPU (see ``SMP_DEFAULTS``); pass arch kwargs to override.

All of them expose ``encoder_modules()``, ``decoder_modules()`` and ``deep_logits(x)`` for the
three-phase training in :mod:`areoscan.train.phases`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from areoscan.models.norm import SEGMENTER_MIN_STD, TileNorm
from areoscan.models.predictor import Predictor, register_tile_loader
from areoscan.models.unet import SlimUNet

SMP_ARCHS = ("unet", "fpn", "linknet", "pspnet")
SEGMENTER_ARCHS = ("slim-unet", *SMP_ARCHS)
DEFAULT_ENCODER = "tu-mobilenetv3_small_100"

# Slim decoders for CPU comparison; the smp defaults (256-channel decoders) are 5-10x slower.
SMP_DEFAULTS: dict[str, dict[str, Any]] = {
    "unet": {"decoder_channels": [64, 32, 16, 16, 8]},
    "fpn": {"decoder_pyramid_channels": 64, "decoder_segmentation_channels": 32},
    "linknet": {},
    "pspnet": {"psp_out_channels": 64},
}


class SmpSegmenter(nn.Module):
    """A segmentation-models-pytorch model with tile normalisation and a phase-1 deep head.

    Args:
        arch: one of ``SMP_ARCHS``.
        encoder: smp encoder name, e.g. ``tu-mobilenetv3_small_100`` or ``tu-resnet18``.
        classes: output channels (1 = binary).
        in_channels: input channels.
        norm: ``"tile"`` or ``"fixed"`` (see :class:`TileNorm`).
        **kwargs: passed to the smp constructor (decoder sizes etc.).
    """

    def __init__(
        self,
        arch: str,
        encoder: str = DEFAULT_ENCODER,
        classes: int = 1,
        in_channels: int = 1,
        norm: str = "tile",
        **kwargs: Any,
    ) -> None:
        super().__init__()
        import segmentation_models_pytorch as smp

        if arch not in SMP_ARCHS:
            raise ValueError(f"unknown smp architecture {arch!r}; choose from {SMP_ARCHS}")
        self.norm = TileNorm(norm, min_std=SEGMENTER_MIN_STD)
        self.net = smp.create_model(
            arch,
            encoder_name=encoder,
            encoder_weights=None,
            in_channels=in_channels,
            classes=classes,
            **kwargs,
        )
        self.deep_head = nn.Conv2d(self.net.encoder.out_channels[-1], classes, 1)
        self.classes = classes

    def encoder_modules(self) -> list[nn.Module]:
        """Modules trained in phase 1 (with :attr:`deep_head`) and frozen in phase 2."""
        return [self.net.encoder]

    def decoder_modules(self) -> list[nn.Module]:
        """Modules trained in phase 2."""
        return [self.net.decoder, self.net.segmentation_head]

    def deep_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at the encoder's deepest resolution, for phase-1 training."""
        return self.deep_head(self.net.encoder(self.norm(x))[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(x))


def segmenter_kwargs(arch: str, **overrides: Any) -> dict[str, Any]:
    """The full keyword set that rebuilds ``arch`` (defaults merged with ``overrides``).

    Store the result in the model card's ``arch_kwargs`` so :func:`build_segmenter` can rebuild
    the exact module later.
    """
    if arch not in SEGMENTER_ARCHS:
        raise ValueError(f"unknown segmenter architecture {arch!r}; choose from {SEGMENTER_ARCHS}")
    if arch == "slim-unet":
        base: dict[str, Any] = {
            "encoder": "mobilenetv3_small_100",
            "decoder_channels": [64, 32, 24, 16],
            "classes": 1,
            "in_channels": 1,
            "norm": "tile",
            "half_stage": "sepconv",
        }
    else:
        base = {"encoder": DEFAULT_ENCODER, "classes": 1, "in_channels": 1, "norm": "tile"}
        base.update(SMP_DEFAULTS[arch])
    base.update({k: v for k, v in overrides.items() if v is not None})
    return base


def build_segmenter(arch: str, **kwargs: Any) -> nn.Module:
    """Build an untrained segmenter (weights=None) from its architecture name and kwargs."""
    full = segmenter_kwargs(arch, **kwargs)
    if arch == "slim-unet":
        return SlimUNet(**full)
    return SmpSegmenter(arch, **full)


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """An inference copy of ``module`` with batch norms folded into their convolutions.

    Folding saves about a third of CPU time (batch norm is a separate pass over every feature
    map in eager mode). Uses ``torch.fx``; a module that fx cannot trace is returned unchanged.
    """
    import copy

    from torch.fx.experimental.optimization import fuse

    try:
        return fuse(copy.deepcopy(module).eval())
    except Exception:  # fx tracing fails on data-dependent Python control flow
        return module


class SegmentPredictor(Predictor):
    """Per-pixel probabilities for batches of tiles from a segmenter; what the scan calls.

    The :class:`~areoscan.models.predictor.Predictor` of a segmentation model (pad to 32, sigmoid
    or softmax, threshold): float32 ``(N, 1, H, W)`` in [0, 1] → ``(N, K, H, W)``, K = 1 for a
    binary model (probability of ``card.positive_class``), else one channel per class.
    """


def load_segmenter(
    name_or_path: str | Any,
    backend: str = "torch",
    *,
    fuse: bool = True,
    threads: int | None = None,
) -> SegmentPredictor:
    """Load a segmenter (shipped name, directory, .json/.safetensors or .onnx path) for inference.

    ``backend="torch"`` runs eager PyTorch in channels_last with batch norm folded (``fuse``);
    ``backend="onnx"`` runs onnxruntime (exported in memory unless a ``.onnx`` path is given).
    ``threads`` sets onnxruntime's intra-op threads, or torch's (process-wide) for torch.
    ModelError if the model is not a segmenter.
    """
    from areoscan.errors import ModelError
    from areoscan.models.export import BACKENDS, OnnxRunner, TorchRunner, card_from_onnx, onnx_bytes
    from areoscan.models.registry import load_model

    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if str(name_or_path).lower().endswith(".onnx"):
        card = card_from_onnx(name_or_path)
        runner: Any = OnnxRunner(name_or_path, card, threads=threads)
        backend = "onnx"
    else:
        module, card = load_model(name_or_path)
        if card.task != "segmentation":
            raise ModelError(
                f"{name_or_path}: model {card.name!r} is a {card.task} model, not a segmenter"
            )
        if backend == "onnx":
            try:
                blob = onnx_bytes(module, card)
            except Exception as exc:  # the TorchScript exporter raises many types
                first = str(exc).splitlines()[0][:160]
                raise ModelError(
                    f"{name_or_path}: {card.arch} cannot be exported to ONNX ({first}); use --backend torch"
                ) from None
            runner = OnnxRunner(blob, card, threads=threads)
        else:
            if threads:
                torch.set_num_threads(int(threads))  # process-wide: torch has one intra-op pool
            runner = TorchRunner(fuse_conv_bn(module) if fuse else module, card)
    if card.task != "segmentation":
        raise ModelError(
            f"{name_or_path}: model {card.name!r} is a {card.task} model, not a segmenter"
        )
    return SegmentPredictor(runner, card, backend)


@register_tile_loader("segmentation")
def _load_tile_segmenter(model: str | Path, backend: str, threads: int) -> SegmentPredictor:
    """The scan's loader of segmenters (torch; ``onnx`` exports in memory)."""
    return load_segmenter(model, backend, threads=threads)


def _register_builders() -> None:
    """Let :func:`areoscan.models.registry.load_model` rebuild every segmenter from its card."""
    from areoscan.models.registry import register_builder

    for arch in SEGMENTER_ARCHS:

        def _build(card: Any, _arch: str = arch) -> nn.Module:
            kwargs = dict(card.arch_kwargs)
            kwargs.setdefault("classes", 1 if len(card.classes) <= 2 else len(card.classes))
            return build_segmenter(_arch, **kwargs)

        register_builder("segmentation", arch)(_build)


_register_builders()
