"""ScanConfig: the one home of the scan's defaults, read by the CLI verbs and the scan."""

from __future__ import annotations

import argparse

import pytest

from areoscan.scan.commands import register
from areoscan.scan.config import ScanConfig
from areoscan.survey.commands import register as register_survey


def _parse(register_fn, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register_fn(parser.add_subparsers())
    return parser.parse_args(argv)


def test_scan_verb_defaults_are_the_config_defaults():
    args = _parse(register, ["scan", "image.jp2"])
    cfg = ScanConfig()
    assert args.screen_model == cfg.screen_model
    assert args.segment_model == cfg.segment_model
    assert args.memory_mb == cfg.memory_mb
    assert args.threads == cfg.threads
    assert args.backend == cfg.backend
    assert args.screen_overlap == cfg.screen_overlap
    assert args.min_area == cfg.min_area_m2


def test_survey_verb_reads_the_memory_budget_from_the_config():
    args = _parse(register_survey, ["survey", "ids.txt", "--out", "x"])
    assert args.memory_mb == ScanConfig().memory_mb
    assert args.threads == 1


def test_policy_rules():
    cfg = ScanConfig()
    assert cfg.segment_overlap_px(512) == 128
    assert cfg.with_options(fast=True).segment_overlap_px(512) == 64
    assert cfg.with_options(segment_overlap=10).segment_overlap_px(512) == 10
    assert cfg.segment_tile_px(512) == 512
    assert cfg.with_options(segment_tile=1024).segment_tile_px(512) == 1024
    assert cfg.margin_px(0.25, 512) == 64
    assert cfg.margin_px(None, 512) == 128
    # the same pixels per batch whatever the tile; twice as many from a 2 GB budget
    assert cfg.segment_batch(512, 512) == 2
    assert cfg.segment_batch(512, 1024) == 1
    assert cfg.with_options(memory_mb=2048).segment_batch(512, 256) == 16
    assert cfg.decoder_refresh_mpx() == 64
    assert cfg.with_options(memory_mb=256).decoder_refresh_mpx() == 32


def test_unknown_option_and_bad_backend_are_refused():
    with pytest.raises(TypeError):
        ScanConfig().with_options(colour="red")
    from areoscan.errors import ModelError

    with pytest.raises(ModelError, match="unknown backend"):
        ScanConfig(backend="tpu").check()
