"""The CLI edge: every verb and sub-verb has working --help, and --version answers."""

import argparse
import subprocess
import sys

import pytest

from areoscan import __version__
from areoscan.cli import build_parser, main


def _verb_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append(prefix + (name,))
                paths.extend(_verb_paths(sub, prefix + (name,)))
    return paths


VERBS = _verb_paths(build_parser())


def test_the_expected_verbs_exist():
    top = {p[0] for p in VERBS}
    assert {
        "info",
        "synth",
        "scan",
        "compare",
        "train",
        "evaluate",
        "models",
        "export",
        "classify",
        "survey",
        "report",
    } <= top


@pytest.mark.parametrize("path", VERBS, ids=[" ".join(p) for p in VERBS])
def test_help_on_every_verb(path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: areoscan " + " ".join(path))


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"areoscan {__version__}"


def test_console_script_runs_as_a_module():
    proc = subprocess.run(
        [sys.executable, "-m", "areoscan", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and __version__ in proc.stdout
