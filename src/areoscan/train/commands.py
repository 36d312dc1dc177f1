"""``areoscan train <what>``: train a classifier or a segmenter."""

from __future__ import annotations

from typing import Any

from areoscan.commandgroup import register_group

# One module per sub-verb; each exposes register(subparsers).
SUBCOMMAND_MODULES: list[str] = [
    "areoscan.train.classifier_cli",
    "areoscan.train.segmenter_cli",
    "areoscan.distill.train_cli",
    "areoscan.train.detector_cli",
]


def register(subparsers: Any) -> None:
    register_group(
        subparsers,
        "train",
        "Train a model and write safetensors + a JSON model card.",
        SUBCOMMAND_MODULES,
    )
