"""``areoscan evaluate <what>``: evaluate a classifier or a segmenter against labelled data."""

from __future__ import annotations

from typing import Any

from areoscan.commandgroup import register_group

# One module per sub-verb; each exposes register(subparsers).
SUBCOMMAND_MODULES: list[str] = [
    "areoscan.evaluate.classifier_cli",
    "areoscan.evaluate.segmenter_cli",
    "areoscan.evaluate.detector_cli",
    "areoscan.evaluate.table_cli",
]


def register(subparsers: Any) -> None:
    register_group(
        subparsers,
        "evaluate",
        "Evaluate a model: metrics against the majority baseline.",
        SUBCOMMAND_MODULES,
    )
