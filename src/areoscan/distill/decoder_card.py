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
    """Scale and weights hash of a shipped encoder (nothing for SAM: the checkpoint is the user's)."""
    if spec.startswith("sam:"):
        return {}
    from areoscan.models.registry import load_card

    card = load_card(spec)
    return {"scale_m_per_px": card.scale_m_per_px, "encoder_sha256": card.weights_sha256}


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
) -> tuple[Path, Path]:
    """Write ``out/name.safetensors`` + ``out/name.json``; returns their paths."""
    from areoscan.models.registry import save_model

    facts = _encoder_facts(cache.encoder)
    binary = n_outputs(data.classes) == 1
    card = ModelCard(
        name=name,
        task="segmentation",
        arch="light-decoder",
        classes=list(data.classes),
        tile_size=cache.input_size,
        level=0,
        scale_m_per_px=facts.get("scale_m_per_px"),
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
        },
        training=training,
        training_manifest_sha256=sha256_lines(list(data.stems)),
        split_rule=split_rule,
        metrics=metrics,
    )
    return save_model(net, card, out)


def decoder_encoder(card: ModelCard) -> tuple[str, int]:
    """(encoder spec, input side) a light-decoder card was trained on; ModelError for other cards."""
    if card.arch != "light-decoder":
        raise ModelError(f"model {card.name!r} is a {card.arch}, not a light decoder")
    kw = card.arch_kwargs
    return str(kw["encoder"]), int(kw["input_size"])
