"""Save, find and load models (safetensors weights + JSON card); the registry of builders.

Use :func:`load_model` everywhere a model is needed: it accepts a shipped model name (from
``areoscan/weights/``), a directory holding one model, or a ``.json`` / ``.safetensors`` path; it
checks the weights' sha256 against the card and rebuilds the module with the builder registered for
the card's ``task`` + ``arch``. Loading never unpickles (safetensors only).

A module that defines architectures registers a builder ``fn(card) -> torch.nn.Module``::

    @register_builder("segmentation", "slim_unet")
    def _build(card): ...

and is listed in ``BUILDER_MODULES`` so that it is imported on first use.
"""

from __future__ import annotations

import importlib
import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from areoscan.errors import ModelError
from areoscan.models.card import ModelCard, sha256_file, write_bytes_atomic

if TYPE_CHECKING:
    from torch import nn

Builder = Callable[[ModelCard], "nn.Module"]

# Modules that call register_builder when imported; a missing module is skipped.
BUILDER_MODULES: list[str] = [
    "areoscan.models.classifiers",
    "areoscan.models.segmenters",
    "areoscan.models.lightdecoder",
    "areoscan.models.detectors",
]

_BUILDERS: dict[tuple[str, str], Builder] = {}
_IMPORTED = False

WEIGHTS_PACKAGE = "areoscan"
WEIGHTS_DIR = "weights"


def register_builder(task: str, arch: str) -> Callable[[Builder], Builder]:
    """Decorator: register ``fn(card) -> nn.Module`` as the builder for ``task`` + ``arch``."""

    def deco(fn: Builder) -> Builder:
        _BUILDERS[(task, arch)] = fn
        return fn

    return deco


def _import_builders() -> None:
    global _IMPORTED
    if _IMPORTED:
        return
    for name in BUILDER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module
                raise
    _IMPORTED = True


def known_architectures(task: str | None = None) -> list[tuple[str, str]]:
    """All registered (task, arch) pairs, optionally for one task."""
    _import_builders()
    return sorted(k for k in _BUILDERS if task is None or k[0] == task)


def build_module(card: ModelCard) -> nn.Module:
    """Build an untrained module for ``card`` (ModelError if task/arch is unknown)."""
    _import_builders()
    fn = _BUILDERS.get((card.task, card.arch))
    if fn is None:
        archs = [a for t, a in _BUILDERS if t == card.task]
        raise ModelError(
            f"model {card.name!r}: unknown {card.task} architecture {card.arch!r}; known: {sorted(archs)}"
        )
    try:
        return fn(card)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model {card.name!r}: cannot build {card.arch!r}: {exc}") from None


def save_model(module: nn.Module, card: ModelCard, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``<name>.safetensors`` then ``<name>.json`` (with the weights hash) atomically.

    Returns (weights_path, card_path). ``card.weights_sha256`` is updated in place.
    """
    import torch
    from safetensors.torch import save

    out_dir = Path(out_dir)
    state = {
        k: v.detach().to("cpu").contiguous().clone()
        for k, v in module.state_dict().items()
        if isinstance(v, torch.Tensor)
    }
    blob = save(state, metadata={"name": card.name, "task": card.task, "arch": card.arch})
    weights_path = out_dir / f"{card.name}.safetensors"
    card_path = out_dir / f"{card.name}.json"
    write_bytes_atomic(weights_path, blob)
    card.weights_sha256 = sha256_file(weights_path)
    card.save(card_path)
    return weights_path, card_path


def shipped_dir() -> Path:
    """Folder of the models shipped inside the package."""
    return Path(str(importlib.resources.files(WEIGHTS_PACKAGE) / WEIGHTS_DIR))


def shipped_models() -> list[str]:
    """Names of the shipped models (those with both ``.json`` and ``.safetensors``)."""
    folder = shipped_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.with_suffix(".safetensors").is_file())


def resolve(name_or_path: str | Path) -> tuple[Path, Path]:
    """Find (card_path, weights_path) for a shipped name, a directory, or a .json/.safetensors path."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in (".json", ".safetensors"):
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        return path.with_suffix(".json"), path.with_suffix(".safetensors")
    if path.is_dir():
        cards = sorted(p for p in path.glob("*.json") if p.with_suffix(".safetensors").is_file())
        if len(cards) != 1:
            raise ModelError(
                f"{path}: expected exactly one model (name.json + name.safetensors), found {len(cards)}; "
                "pass the .json path instead"
            )
        return cards[0], cards[0].with_suffix(".safetensors")
    if "/" not in text and "\\" not in text:
        card = shipped_dir() / f"{text}.json"
        if card.is_file():
            return card, card.with_suffix(".safetensors")
    names = ", ".join(shipped_models()) or "none"
    raise ModelError(
        f"{text}: no such model; give a shipped name ({names}), a model directory or a .json path"
    )


def load_card(name_or_path: str | Path) -> ModelCard:
    """Read only the card of a model (cheap; no torch import)."""
    card_path, _ = resolve(name_or_path)
    return ModelCard.load(card_path)


def load_model(name_or_path: str | Path, *, verify: bool = True) -> tuple[nn.Module, ModelCard]:
    """Load (module in eval mode, card); ModelError if files are missing, altered or inconsistent."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    card_path, weights_path = resolve(name_or_path)
    card = ModelCard.load(card_path)
    try:
        blob = weights_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{weights_path}: cannot read weights ({exc.strerror or exc})") from None
    if verify:
        import hashlib

        digest = hashlib.sha256(blob).hexdigest()
        if digest != card.weights_sha256:
            raise ModelError(
                f"{weights_path}: sha256 {digest[:12]}… does not match its card "
                f"({card.weights_sha256[:12] or 'none'}…); the weights were altered or belong to another model"
            )
    try:
        state: dict[str, Any] = load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{weights_path}: not a readable safetensors file ({exc})") from None
    module = build_module(card)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{weights_path}: weights do not fit {card.arch!r}: {first}") from None
    module.eval()
    return module, card
