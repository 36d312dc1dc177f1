"""The ``--synth*`` arguments reach synthesize_scenes in one place, for training and evaluation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from areoscan.data import synth_args
from areoscan.train.seg_data_cli import add_data_arguments


def test_synthesize_from_args_passes_every_synth_argument_and_the_extras(monkeypatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(synth_args, "synthesize_scenes", lambda *a, **kw: calls.append((a, kw)))
    p = argparse.ArgumentParser()
    add_data_arguments(p)
    args = p.parse_args(["--synth", "3", "--synth-seed", "9", "--synth-size", "64", "96"])
    synth_args.synthesize_from_args(args, Path("out"), incidence=30.0)
    (a, kw) = calls[0]
    assert a == (Path("out"), 3)
    assert kw == {
        "seed": 9,
        "size": (64, 96),
        "scale": 0.25,
        "coral_fraction": 0.3,
        "families": args.synth_families,
        "layout": args.synth_layout,
        "incidence": 30.0,
    }
