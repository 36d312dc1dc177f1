"""'areoscan detect' reads planetary crops (PDS3, ISIS3) through areoscan.io, PNGs as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.errors import AnnotationError
from areoscan.evaluate.detect_cli import _images, load_pixels
from areoscan.io.pdswriters import MapSpec, write_isis3, write_pds3


def test_crops_of_every_format(tmp_path: Path) -> None:
    dn = np.random.default_rng(0).integers(1, 1024, (48, 64)).astype(np.uint16)
    spec = MapSpec("EQUIRECTANGULAR", "MOON", 1737.4, 0.0, 0.0, 1.0, 0.0, 0.0)
    img = write_pds3(tmp_path / "crop.IMG", dn, spec, bits=10)
    cub = write_isis3(tmp_path / "crop2.cub", dn << 6, spec)
    Image.fromarray((dn >> 2).astype(np.uint8)).save(tmp_path / "crop3.png")
    assert [p.name for p in _images([tmp_path])] == ["crop.IMG", "crop2.cub", "crop3.png"]
    np.testing.assert_allclose(load_pixels(img), dn / 1023.0, rtol=1e-6)
    np.testing.assert_allclose(load_pixels(cub), (dn << 6) / 65535.0, rtol=1e-6)
    assert load_pixels(tmp_path / "crop3.png").shape == (48, 64)


def test_a_scene_is_not_a_crop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import areoscan.evaluate.detect_cli as cli

    monkeypatch.setattr(cli, "MAX_CROP_PX", 1000)
    spec = MapSpec("EQUIRECTANGULAR", "MARS", 3396.19, 0.0, 0.0, 6.0, 0.0, 0.0)
    img = write_pds3(tmp_path / "big.IMG", np.ones((48, 64), np.uint8), spec)
    with pytest.raises(AnnotationError, match="is a scene, not a crop; run 'areoscan scan'"):
        load_pixels(img)
