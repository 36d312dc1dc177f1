"""Save a trained light decoder as a model like the others: safetensors + JSON card.

Use :func:`save_decoder` after training: the card names the encoder whose embeddings the decoder
reads (``arch_kwargs["encoder"]``, with the shipped encoder's weights hash), the input side and
grid, and the classes (background first); :func:`decoder_encoder` reads that back when applying it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from areoscan.distill.cache import EmbeddingCache
from areoscan.distill.fewshot import Examples, n_outputs
from areoscan.errors import ModelError
from areoscan.models.card import ModelCard, sha256_lines


def _encoder_facts(spec: str) -> dict[str, Any]:
    """Weights hash and build facts of a shipped encoder (nothing for SAM: the user's checkpoint)."""
    if spec.startswith("sam:"):
        return {}
    from areoscan.models.registry import load_card

    card = load_card(spec)
    return {
        "encoder_sha256": card.weights_sha256,
        "timm_encoder": card.arch_kwargs.get("encoder", "mobilenetv3_small_100"),
        "norm": card.arch_kwargs.get("norm", "tile"),
    }


def _full_module(net: Any, spec: str, facts: dict[str, Any]) -> Any:
    """The shipped U-Net's encoder and ``net`` in one :class:`DistilledUNet` (weights copied)."""
    from areoscan.models.lightdecoder import DistilledUNet
    from areoscan.models.registry import load_model

    unet, _ = load_model(spec)
    widths = [int(m.out_channels) for m in net.up if hasattr(m, "out_channels")]
    full = DistilledUNet(
        facts["timm_encoder"], net.up[0].in_channels, net.classes, widths, facts["norm"]
    )
    encoder: Any = unet.encoder
    full.encoder.load_state_dict(encoder.state_dict())
    full.decoder.load_state_dict(net.state_dict())
    return full.eval()


def save_decoder(
    net: Any,
    data: Examples,
    cache: EmbeddingCache,
    name: str,
    out: Path,
    *,
    metrics: dict[str, Any],
    training: dict[str, Any],
    split_rule: str,
    scale_m_per_px: float | None = None,
) -> tuple[Path, Path]:
    """Write ``out/name.safetensors`` + ``out/name.json``; returns their paths.

    With a shipped U-Net encoder the model saved is the whole :class:`DistilledUNet` (task
    ``segmentation``: scans, exports and evaluates like any segmenter); with SAM's, the decoder
    alone (task ``embedding-segmentation``: fed cached embeddings). scale_m_per_px: ground scale of
    the encoder's input (the images' scale times their stretch to the input side), if known.
    """
    from areoscan.models.registry import save_model

    facts = _encoder_facts(cache.encoder)
    binary = n_outputs(data.classes) == 1
    full = bool(facts)
    card = ModelCard(
        name=name,
        task="segmentation" if full else "embedding-segmentation",
        arch="distilled-unet" if full else "light-decoder",
        classes=list(data.classes),
        tile_size=cache.input_size,
        level=0,
        scale_m_per_px=scale_m_per_px,
        normalisation={
            "input": f"embedding of the image stretched to {cache.input_size} px by {cache.encoder}",
            "kind": "encoder",
        },
        resize="area",
        threshold=0.5 if binary else None,
        positive_class=data.classes[1] if binary else None,
        arch_kwargs={
            "in_channels": int(data.x.shape[1]),
            "classes": n_outputs(data.classes),
            "widths": [int(m.out_channels) for m in net.up if hasattr(m, "out_channels")],
            "encoder": cache.encoder,
            "encoder_sha256": facts.get("encoder_sha256"),
            "input_size": cache.input_size,
            "grid": cache.grid,
            **({"timm_encoder": facts["timm_encoder"], "norm": facts["norm"]} if full else {}),
        },
        training=training,
        training_manifest_sha256=sha256_lines(list(data.stems)),
        split_rule=split_rule,
        metrics=metrics,
    )
    module = _full_module(net, cache.encoder, facts) if full else net
    return save_model(module, card, out)


def decoder_encoder(card: ModelCard) -> tuple[str, int]:
    """(encoder spec, input side) a distilled decoder was trained on; ModelError for other cards."""
    if card.arch not in ("light-decoder", "distilled-unet"):
        raise ModelError(f"model {card.name!r} is a {card.arch}, not a distilled decoder")
    kw = card.arch_kwargs
    return str(kw["encoder"]), int(kw["input_size"])


def decoder_of(module: Any) -> Any:
    """The :class:`LightDecoder` inside a loaded distilled model (itself for a bare decoder)."""
    return getattr(module, "decoder", module)
