"""Classifier tiles cut from a JP2 (or any raster) at a resolution level, labelled by a mask
GeoTIFF: :func:`from_image_mask` (the ``IMAGE.jp2`` ``--data`` spec).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from areoscan.data.sample_set import SampleSet, from_tiles
from areoscan.errors import DataError


def from_image_mask(
    image: Path,
    level: int,
    size: int,
    mask: Path | None = None,
    coverage: float = 0.9,
    negative_max: float = 0.0,
    min_valid: float = 0.95,
    stride: int | None = None,
) -> SampleSet:
    """Tiles of a JP2 (or any raster) at ``level``, labelled from a level-0 mask GeoTIFF.

    ``mask`` (default ``<stem>_mask.tif`` beside the image; None and absent = a background image):
    0 background, 1 brain coral, 255 no data. A tile is ``brain_coral`` when the coral share of its
    level-0 footprint (2**level times larger) is >= ``coverage``, ``background`` when it is <=
    ``negative_max``; tiles in between are skipped, and so are tiles with less than ``min_valid``
    data (image pixels != 0 and mask != 255). Group = the image's observation id.
    """
    import rasterio
    from rasterio.windows import Window

    from areoscan.io import open_raster

    if mask is None:
        cand = image.with_name(f"{image.stem}_mask.tif")
        mask = cand if cand.is_file() else None
    stride = stride or size
    f = 2**level
    tiles, labels, keys = [], [], []
    with open_raster(image) as r:
        group = r.observation_id or image.stem
        h, w = r.shape_at(level)
        with rasterio.open(mask) if mask else _NoMask() as m:
            if m is not None and (m.height, m.width) != tuple(r.shape):
                raise DataError(
                    f"{mask}: mask is {m.height}x{m.width} but {image} is {r.shape[0]}x{r.shape[1]}"
                )
            for row in range(0, h - size + 1, stride):
                for col in range(0, w - size + 1, stride):
                    img = r.read(level, (row, col, size, size))
                    valid = float((img > 0).mean())
                    cover = 0.0
                    if m is not None:
                        mk = m.read(1, window=Window(col * f, row * f, size * f, size * f))
                        valid = min(valid, float((mk != 255).mean()))
                        cover = float((mk == 1).mean())
                    if valid < min_valid:
                        continue
                    if cover >= coverage:
                        labels.append(1)
                    elif cover <= negative_max:
                        labels.append(0)
                    else:
                        continue
                    tiles.append(img.astype(np.float32))
                    keys.append(f"{image.name}/L{level}/{row}_{col}")
    return from_tiles(
        tiles, labels, ["background", "brain_coral"], [group] * len(labels), keys, image.name, size
    )


class _NoMask:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
