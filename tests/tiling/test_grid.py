import numpy as np
import pytest

from areoscan.tiling import TileGrid, Window, level_for_scale, window_between_levels


def test_grid_covers_every_pixel_with_full_tiles():
    grid = TileGrid((1000, 700), tile=256, overlap=64)
    cover = np.zeros((1000, 700), dtype=int)
    for w in grid:
        assert (w.height, w.width) == (256, 256)
        assert 0 <= w.row and w.row + w.height <= 1000
        assert 0 <= w.col and w.col + w.width <= 700
        cover[w.slices] += 1
    assert cover.min() >= 1


def test_grid_without_overlap_partitions_exact_multiples():
    grid = TileGrid((512, 384), tile=128)
    wins = grid.windows()
    assert len(wins) == 4 * 3
    cover = np.zeros((512, 384), dtype=int)
    for w in wins:
        cover[w.slices] += 1
    assert (cover == 1).all()


def test_region_smaller_than_tile_gives_one_clipped_tile():
    grid = TileGrid((100, 100), tile=128, region=Window(10, 20, 50, 60))
    assert grid.windows() == [Window(10, 20, 50, 60)]


def test_region_is_clipped_to_image():
    grid = TileGrid((300, 300), tile=100, region=Window(250, 250, 200, 200))
    assert grid.region == Window(250, 250, 50, 50)


def test_inside_skips_nodata_tiles():
    fp = np.zeros((256, 256), dtype=bool)
    fp[:128, :128] = True
    fp[128:, 128:200] = True  # 72/128 of the bottom-right tile is valid
    grid = TileGrid((256, 256), tile=128)
    assert grid.inside(fp, 0.5) == [Window(0, 0, 128, 128), Window(128, 128, 128, 128)]
    assert grid.inside(fp, 0.9) == [Window(0, 0, 128, 128)]


def test_bad_arguments():
    with pytest.raises(ValueError):
        TileGrid((10, 10), tile=0)
    with pytest.raises(ValueError):
        TileGrid((10, 10), tile=8, overlap=8)


def test_window_between_levels_round_trip_and_outward_rounding():
    w = Window(5, 7, 10, 3)
    up = window_between_levels(w, 2, 0)
    assert up == Window(20, 28, 40, 12)
    assert window_between_levels(up, 0, 2) == w
    # a level-0 window not aligned to the level grid grows outward
    assert window_between_levels(Window(3, 5, 2, 6), 0, 2) == Window(0, 1, 2, 2)


@pytest.mark.parametrize(
    "image_scale,target,levels,expected",
    [
        (0.25, 1.0, 10, (2, 1.0)),
        (0.5, 1.0, 10, (1, 1.0)),
        (1.0, 1.0, 10, (0, 1.0)),
        (0.75, 1.0, 10, (0, 0.75)),
        (0.25, 0.25, 10, (0, 0.25)),
        (0.25, 1000.0, 3, (2, 1.0)),
    ],
)
def test_level_for_scale(image_scale, target, levels, expected):
    assert level_for_scale(image_scale, target, levels) == expected
