"""Raster.upsample: the image seen at finer pixels, bilinear, nodata kept, levels reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from areoscan.io import open_raster, write_jp2, write_label
from areoscan.io.georef import label_centred_on

from .conftest import textured


@pytest.fixture
def half_metre(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = textured((120, 160), seed=7)
    jp2 = write_jp2(tmp_path / "ESP_000009_1000_RED.JP2", data, numres=3)
    label = label_centred_on(10.0, 20.0, *data.shape, map_scale=0.5)
    write_label(tmp_path / "ESP_000009_1000_RED.LBL", label)
    return jp2, data


def test_factor_two_reuses_the_real_levels(half_metre: tuple[Path, np.ndarray]) -> None:
    jp2, data = half_metre
    with open_raster(jp2) as plain, open_raster(jp2) as r:
        corner = plain.georef.pixel_to_xy(-0.5, -0.5)
        r.upsample(2.0)
        assert r.scale == 0.25 and r.shape == (240, 320) and r.levels == 4
        assert r.georef.pixel_to_xy(-0.5, -0.5) == pytest.approx(corner)  # same outer corner
        for level in (1, 2, 3):  # virtual level L is real level L - 1, untouched
            np.testing.assert_array_equal(r.read_raw(level), plain.read_raw(level - 1))
        fine = r.read_raw(0)
        # each real pixel's value sits between its two virtual children (bilinear, centre-aligned)
        inside = (fine[2:-2:2, 2:-2:2].astype(int), data[1:-1, 1:-1].astype(int))
        assert np.abs(inside[0] - inside[1]).max() <= 300
        assert fine.mean() == pytest.approx(data.mean(), rel=0.02)


def test_nodata_stays_exact_and_strips_match_whole_reads(half_metre) -> None:
    jp2, data = half_metre
    with open_raster(jp2) as r:
        r.upsample(1.5)
        assert r.shape == (180, 240)
        whole = r.read_raw(0)
        nearest = data[(np.arange(180) / 1.5).astype(int)][:, (np.arange(240) / 1.5).astype(int)]
        # nodata (0) where the nearest real pixel is nodata; never a blurred value in between
        assert ((whole == 0) == (nearest == 0)).mean() > 0.97
        assert not ((whole > 0) & (whole < data[data > 0].min())).any()
        stacked = np.concatenate([s.core for s in r.strips(0, rows=64, prefetch=False)])
        np.testing.assert_array_equal(stacked, r.read(0))
        np.testing.assert_array_equal(r.read_raw(0, (50, 60, 30, 40)), whole[50:80, 60:100])


def test_prefetch_and_other_facts_pass_to_the_real_backend(half_metre) -> None:
    jp2, _ = half_metre
    calls: list[tuple[int, list]] = []
    with open_raster(jp2) as r:
        r.upsample(2.0)
        r._backend.inner.prefetch = lambda level, wins: calls.append((level, wins))
        r._backend.inner.bytes_total = 1234
        r.prefetch(0, [(10, 20, 30, 40)])
        r.prefetch(2, None)
        assert r.bytes_total == 1234
    (level0, wins0), (level2, wins2) = calls
    assert level0 == 0 and wins2 == [None] and level2 == 1
    y, x, h, w = wins0[0]  # virtual rows 10..40 at 2x: real rows 4..21 (bilinear neighbours)
    assert (y, x) == (4, 9) and y + h >= 20 and x + w >= 30
