"""Frozen image encoders for the light decoder: SAM's ViT, or the shipped U-Net's MobileNet backbone.

Use :func:`make_encoder` with ``--encoder``: ``sam:CHECKPOINT[:KIND]`` (the study's setting: SAM's
image encoder, 256 channels at 1/16 of 1024 px) or the name / path of a shipped ``slim-unet``
segmenter (default ``brain-coral-unet``: its MobileNetV3 features at 1/16 and 1/32, the latter
upsampled, concatenated: 624 channels at 1/16 of 512 px), so the workflow runs here without any
checkpoint. Every encoder takes an 8-bit grayscale image of any size, stretches it to its square
``input_size`` and returns a float16 ``(C, grid, grid)`` embedding; ``spec`` names it in caches and
model cards, so a decoder is only ever fed the embeddings it was trained on.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from areoscan.errors import ModelError

DEFAULT_ENCODER = "brain-coral-unet"
# The shipped U-Net was trained on 512 px tiles at 0.25 m/px: the same input side keeps its features
# at home. SAM's is fixed by its checkpoint (1024 for the published ones).
UNET_INPUT = 512


class Encoder(Protocol):
    """What the embedding cache runs once per image."""

    spec: str
    input_size: int
    grid: int
    channels: int

    def embed(self, image: np.ndarray) -> np.ndarray:
        """float16 ``(channels, grid, grid)`` embedding of an 8-bit ``(H, W)`` image."""
        ...


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    """An 8-bit image as float32 in [0, 1], stretched to ``size`` x ``size`` (area rule)."""
    from areoscan.models.classify import resize_tile

    return resize_tile(image.astype(np.float32) / 255.0, size, "area")


class UnetEncoder:
    """The encoder half of a shipped ``slim-unet`` segmenter (its own tile normalisation first)."""

    def __init__(self, name: str = DEFAULT_ENCODER, input_size: int = UNET_INPUT) -> None:
        import torch

        from areoscan.models.registry import load_model

        module, card = load_model(name)
        if card.arch != "slim-unet":
            raise ModelError(
                f"--encoder {name}: model {card.name!r} is a {card.arch}; use a slim-unet "
                "segmenter (e.g. brain-coral-unet) or sam:CHECKPOINT"
            )
        self.module: Any = module
        self.spec = card.name if "/" not in name and "\\" not in name else name
        self.weights_sha256 = card.weights_sha256
        self.scale_m_per_px = card.scale_m_per_px
        self.input_size = int(input_size)
        if self.input_size % 32:
            raise ModelError(f"encoder input size {input_size} must be a multiple of 32")
        self.grid = self.input_size // 16
        with torch.no_grad():
            self.channels = int(self._features(torch.zeros(1, 1, 64, 64)).shape[1])

    def _features(self, x: Any) -> Any:
        from areoscan.models.lightdecoder import unet_embedding

        return unet_embedding(self.module.encoder(self.module.norm(x)))

    def embed(self, image: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(_resize(image, self.input_size))[None, None]
        with torch.inference_mode():
            return self._features(x)[0].numpy().astype(np.float16)


class SamEncoder:
    """SAM's image encoder (ViT + neck) from a user checkpoint; see :mod:`areoscan.distill.sam`."""

    def __init__(self, spec: str) -> None:
        from areoscan.distill.sam import load_sam, parse_sam_spec

        checkpoint, kind = parse_sam_spec(spec[4:])
        self.sam: Any = load_sam(checkpoint, kind)
        self.spec = spec
        self.weights_sha256 = None
        self.scale_m_per_px = None
        self.input_size = int(self.sam.image_encoder.img_size)
        self.grid = int(self.sam.image_encoder.pos_embed.shape[1])
        self.channels = int(self.sam.prompt_encoder.embed_dim)

    def embed(self, image: np.ndarray) -> np.ndarray:
        import torch

        small = _resize(image, self.input_size) * 255.0
        x = torch.from_numpy(np.repeat(small[None], 3, axis=0))[None]
        with torch.inference_mode():
            y = self.sam.image_encoder(self.sam.preprocess(x))
        return y[0].numpy().astype(np.float16)


def make_encoder(spec: str | None = None) -> Encoder:
    """The encoder ``--encoder`` names (default: the shipped brain-coral U-Net's backbone)."""
    text = (spec or DEFAULT_ENCODER).strip()
    if text.startswith("sam:"):
        return SamEncoder(text)
    return UnetEncoder(text)
