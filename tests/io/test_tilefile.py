"""One scaling rule for tile files: the declared bit depth (sBIT, NBITS, sample width), not content."""

import warnings

import numpy as np
import pytest
import rasterio
from PIL import Image

from areoscan.errors import DataError
from areoscan.io.tilefile import png_significant_bits, read_tile, write_tile_png


def test_eight_bit_and_colour(tmp_path):
    Image.fromarray(np.full((10, 30), 255, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((8, 8, 3), 51, np.uint8)).save(tmp_path / "c.jpg")
    assert read_tile(tmp_path / "a.png").max() == 1.0 and read_tile(tmp_path / "a.png").shape == (
        10,
        30,
    )
    c = read_tile(tmp_path / "c.jpg")
    assert c.shape == (8, 8) and abs(float(c.mean()) - 0.2) < 0.02


def test_sixteen_bit_follows_the_declared_depth_not_the_values(tmp_path):
    dn = np.array([[0, 100], [512, 1023]], np.uint16)
    write_tile_png(tmp_path / "ten.png", dn, bits=10)
    assert png_significant_bits(tmp_path / "ten.png") == 10
    np.testing.assert_allclose(read_tile(tmp_path / "ten.png"), dn / 1023.0, rtol=1e-6)
    Image.fromarray(dn).save(tmp_path / "plain.png")  # no sBIT: a 16-bit file is /65535
    assert png_significant_bits(tmp_path / "plain.png") is None
    with pytest.warns(UserWarning, match="sBIT"):
        plain = read_tile(tmp_path / "plain.png")
    np.testing.assert_allclose(plain, dn / 65535.0, rtol=1e-6)
    # a bright tile of the same file type is scaled the same way (no content-dependent rule)
    Image.fromarray(np.full((2, 2), 4000, np.uint16)).save(tmp_path / "bright.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_tile(tmp_path / "bright.png").max() == pytest.approx(4000 / 65535.0)


def test_packed_nbits_tiff_is_scaled_by_nbits(tmp_path):
    dn = (np.arange(64).reshape(8, 8) * 16).astype(np.uint16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        profile = dict(driver="GTiff", width=8, height=8, count=1, dtype="uint16", nbits=10)
        with rasterio.open(tmp_path / "n10.tif", "w", **profile) as ds:
            ds.write(dn, 1)
    np.testing.assert_allclose(read_tile(tmp_path / "n10.tif"), dn / 1023.0, rtol=1e-6)


def test_bad_files_are_data_errors(tmp_path):
    (tmp_path / "d.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="d.png"):
        read_tile(tmp_path / "d.png")
    with pytest.raises(ValueError):
        write_tile_png(tmp_path / "x.png", np.full((2, 2), 2000), bits=10)
