"""Models: each is a torch module + a JSON :class:`ModelCard` + safetensors weights.

Use :func:`load_model` to get a ready module from a shipped name or a path, :func:`save_model` to
write one, and :func:`register_builder` to make a new architecture loadable. torch is imported
lazily, so importing this package is cheap.
"""

from areoscan.models.card import ModelCard
from areoscan.models.registry import (
    build_module,
    load_card,
    load_model,
    register_builder,
    save_model,
    shipped_models,
)

__all__ = [
    "ModelCard",
    "build_module",
    "load_card",
    "load_model",
    "register_builder",
    "save_model",
    "shipped_models",
]
