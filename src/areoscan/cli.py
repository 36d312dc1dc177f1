"""Command-line entry point: ``areoscan <verb> ...``.

This module only parses arguments and dispatches. Each verb lives in a ``commands``
module next to the code it drives and exposes ``register(subparsers)``, which adds
its sub-parser and sets ``func`` (a callable taking the parsed ``argparse.Namespace``
and returning an exit code). Command modules must import heavy libraries (torch,
rasterio, dask) inside ``func`` so that ``areoscan --help`` stays fast.

Exit codes: 0 success; 1 ran but found a problem the user asked to be told about
(documented per verb); 2 bad input (one line on stderr); 3 output could not be
written; 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from areoscan import __version__
from areoscan.errors import AreoscanError

# Modules providing verbs, in the order they appear in --help.
COMMAND_MODULES: list[str] = [
    "areoscan.io.commands",
    "areoscan.survey.commands",
    "areoscan.synth.commands",
    "areoscan.scan.commands",
    "areoscan.train.commands",
    "areoscan.evaluate.commands",
    "areoscan.evaluate.agreement_cli",
    "areoscan.evaluate.detect_cli",
    "areoscan.models.commands",
    "areoscan.annotations.commands",
    "areoscan.distill.commands",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser with every verb registered."""
    parser = argparse.ArgumentParser(
        prog="areoscan",
        description="Find landforms (brain coral terrain first) in gigapixel HiRISE JPEG2000 images.",
    )
    parser.add_argument("--version", action="version", version=f"areoscan {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AreoscanError as exc:
        print(f"areoscan: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("areoscan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
