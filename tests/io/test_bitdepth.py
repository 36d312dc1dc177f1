"""Effective bit depth: label mask, codestream precision, NBITS, dtype; one [0, 1] scaling."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from areoscan.errors import LabelError
from areoscan.io import open_raster, write_geotiff, write_jp2, write_label
from areoscan.io.bitdepth import bits_from_mask, effective_bit_depth
from areoscan.io.georef import label_centred_on

from .conftest import textured


def _data(bits: int) -> np.ndarray:
    """The 10-bit texture stretched (or cut) to ``bits`` bits."""
    ten = textured((96, 128), seed=3).astype(np.int64)
    return ((ten << bits) >> 10).astype(np.uint8 if bits <= 8 else np.uint16)


@pytest.mark.parametrize("bits", [8, 10, 12, 16])
def test_jp2_and_geotiff_of_every_depth(tmp_path: Path, bits: int) -> None:
    data = _data(bits)
    jp2 = write_jp2(tmp_path / f"d{bits}.jp2", data, bit_depth=bits, numres=3)
    nbits = None if bits in (8, 16) else bits
    tif = write_geotiff(tmp_path / f"d{bits}.tif", data, nbits=nbits, overviews=False)
    for path in (jp2, tif):
        with open_raster(path) as r:
            assert r.bit_depth == bits
            assert r.container_bits == (8 if bits == 8 else 16)
            np.testing.assert_array_equal(r.read_raw(0), data)
            np.testing.assert_allclose(r.read(0), data / (2**bits - 1), rtol=1e-6)


def test_ten_bits_in_sixteen_reads_like_ten_bits(tmp_path: Path) -> None:
    """Real RED labels: SAMPLE_BITS = 16, SAMPLE_BIT_MASK = 2#0000001111111111#."""
    data = _data(10)
    label = label_centred_on(-35.0, 140.0, *data.shape, product_id="ESP_000001_1000_RED")
    assert (label.sample_bits, label.sample_bit_mask) == (16, 1023)
    ten = write_jp2(tmp_path / "ten" / "ESP_000001_1000_RED.JP2", data, bit_depth=10, numres=3)
    deep = write_jp2(tmp_path / "deep" / "ESP_000001_1000_RED.JP2", data, bit_depth=16, numres=3)
    tif = write_geotiff(tmp_path / "tif" / "ESP_000001_1000_RED.tif", data, overviews=False)
    for folder in ("ten", "deep", "tif"):
        write_label(tmp_path / folder / "ESP_000001_1000_RED.LBL", label)
    with open_raster(ten) as a, open_raster(deep) as b, open_raster(tif) as c:
        assert a.bit_depth == b.bit_depth == c.bit_depth == 10
        assert b.container_bits == 16
        for level in (0, 1, 2):
            np.testing.assert_array_equal(a.read(level), b.read(level))
        np.testing.assert_array_equal(a.read(0), c.read(0))
    alone = write_jp2(tmp_path / "alone.jp2", data, bit_depth=16, numres=3)
    with open_raster(alone) as r:
        assert r.bit_depth == 16  # codestream precision: nothing says otherwise


def test_bits_outside_the_mask_are_clipped(tmp_path: Path) -> None:
    data = _data(10)
    data[0, :4] = [1023, 1024, 4000, 65535]
    jp2 = write_jp2(tmp_path / "ESP_000002_1000_RED.JP2", data, bit_depth=16, numres=2)
    write_label(tmp_path / "ESP_000002_1000_RED.LBL", label_centred_on(0.0, 0.0, *data.shape))
    with open_raster(jp2) as r:
        assert r.read_raw(0, (0, 0, 1, 4)).tolist() == [[1023] * 4]
        assert float(r.read(0).max()) == 1.0


def test_label_claiming_more_bits_than_the_file(tmp_path: Path) -> None:
    data = _data(8)
    jp2 = write_jp2(tmp_path / "x.jp2", data, bit_depth=8, numres=2)
    label = dataclasses.replace(label_centred_on(0.0, 0.0, *data.shape), sample_bit_mask=1023)
    lbl = write_label(tmp_path / "x.LBL", label)
    with pytest.raises(LabelError, match="says 10-bit samples but x.jp2 has 8-bit"):
        open_raster(jp2, label=lbl)


def test_rules() -> None:
    assert bits_from_mask(16, 0b1111111111) == 10
    assert bits_from_mask(16, None) == 16
    assert effective_bit_depth(Path("a"), 16, 16, None) == 16
    assert effective_bit_depth(Path("a"), 16, 16, 10) == 10
    assert effective_bit_depth(Path("a"), 12, 16, 10) == 10
