"""Real coral-free images as all-background segmentation tiles (--negative-tiles)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.data.seg_negatives import NEGATIVE_SOURCE, negative_tiles
from areoscan.data.seg_samples import IGNORE_INDEX
from areoscan.errors import DataError


def test_each_image_gives_a_grid_of_background_tiles(tmp_path: Path) -> None:
    img = np.full((40, 50), 120, np.uint8)
    img[:3, :3] = 0  # no data
    Image.fromarray(img).save(tmp_path / "ESP_012600_1655_RED_crop.jpg", quality=100)
    Image.fromarray(img).save(tmp_path / "pit.png")
    (tmp_path / "notes.txt").write_text("not an image")
    s = negative_tiles(tmp_path, 16, per_side=2)
    assert len(s) == 8 and s.images.shape == (8, 16, 16)
    assert set(s.sources) == {NEGATIVE_SOURCE}
    assert s.observations.count("ESP_012600_1655") == 4
    assert s.observations.count(f"{tmp_path.name}/pit") == 4
    png = [i for i, n in enumerate(s.names) if n.startswith("pit.png")]
    assert set(np.unique(s.targets[png[0]])) == {0, IGNORE_INDEX}  # the no-data corner ignored
    assert set(np.unique(s.targets[png[-1]])) == {0}


def test_a_folder_without_images_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no images"):
        negative_tiles(tmp_path, 16)
    with pytest.raises(DataError, match="no such folder"):
        negative_tiles(tmp_path / "missing", 16)
