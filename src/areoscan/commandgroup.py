"""Verbs with sub-verbs (``areoscan train classifier``, ``areoscan evaluate segmenter``).

Use ``register_group`` from a package's ``commands.py`` when one verb has several sub-verbs that
live in different modules: each sub-verb module exposes ``register(subparsers)`` exactly like a
top-level verb module (see :mod:`areoscan.cli`).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any


def register_group(subparsers: Any, verb: str, help_text: str, modules: list[str]) -> None:
    """Add ``verb`` with one nested sub-parser per module in ``modules``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        verb, help=help_text, description=help_text
    )
    nested = parser.add_subparsers(dest=f"{verb}_what", metavar="WHAT")
    nested.required = True
    for name in modules:
        importlib.import_module(name).register(nested)
