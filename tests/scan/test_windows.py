import numpy as np

from areoscan.scan.windows import grow_flagged, plan_segmentation
from areoscan.tiling import TileGrid, Window


def coverage(group) -> np.ndarray:
    """bool over the group's bbox: pixels covered by at least one of its tiles (rasterised)."""
    b = group.bbox
    cov = np.zeros((b.height, b.width), dtype=bool)
    for t in group.tiles:
        cov[t.row - b.row : t.row - b.row + t.height, t.col - b.col : t.col - b.col + t.width] = (
            True
        )
    return cov


def test_flagged_tile_maps_to_the_tiles_that_touch_it():
    # screen level 2, 32-px tiles: tile (1, 2) covers level-0 rows 128..256, cols 256..384
    plan = plan_segmentation(
        [Window(32, 64, 32, 32)], 2, 0, (1024, 1536), tile=128, overlap=32, margin=0
    )
    assert len(plan.groups) == 1
    tiles = plan.groups[0].tiles
    cov = coverage(plan.groups[0])
    bbox = plan.groups[0].bbox
    full = np.zeros((1024, 1536), dtype=bool)
    full[bbox.slices] = cov
    assert full[128:256, 256:384].all()  # the flagged area is covered
    for t in tiles:  # and every selected tile touches it
        assert t.intersect(Window(128, 256, 128, 128)) is not None


def test_separate_patches_form_separate_groups_and_margins_clip():
    flagged = [Window(0, 0, 32, 32), Window(200, 300, 32, 32)]
    plan = plan_segmentation(flagged, 2, 0, (1024, 1536), tile=128, overlap=32, margin=64)
    assert len(plan.groups) == 2
    a, b = plan.groups
    assert a.bbox.row == 0 and a.bbox.col == 0
    assert a.bbox.intersect(b.bbox) is None
    grown = grow_flagged(flagged, 2, 0, (1024, 1536), 64)
    assert grown[0] == Window(0, 0, 192, 192)  # clipped at the image edge


def test_nothing_flagged_gives_no_groups():
    plan = plan_segmentation([], 2, 0, (512, 512), tile=128, overlap=32)
    assert plan.groups == [] and plan.to_dict()["tiles"] == 0


def test_segment_level_coarser_than_screen_level():
    plan = plan_segmentation(
        [Window(64, 64, 64, 64)], 0, 1, (100, 100), tile=32, overlap=8, margin=0
    )
    cov = np.zeros((100, 100), dtype=bool)
    g = plan.groups[0]
    cov[g.bbox.slices] = coverage(g)
    assert cov[32:64, 32:64].all()


def test_every_flagged_pixel_has_half_an_overlap_of_context():
    shape, tile, overlap = (1000, 1300), 128, 32
    flagged = [Window(40, 50, 32, 32), Window(100, 200, 32, 32)]  # level 2 -> x4 at level 0
    plan = plan_segmentation(flagged, 2, 0, shape, tile=tile, overlap=overlap, margin=0)
    depth = np.zeros(shape, dtype=int)  # distance to the nearest edge of the best covering tile
    for t in plan.tiles:
        r = np.arange(t.row, t.row + t.height)
        c = np.arange(t.col, t.col + t.width)
        d = np.minimum.outer(np.minimum(r - t.row, t.row + t.height - 1 - r),
                             np.minimum(c - t.col, t.col + t.width - 1 - c))  # fmt: skip
        view = depth[t.slices]
        np.maximum(view, d, out=view)
    for w in flagged:
        area = depth[w.row * 4 : (w.row + w.height) * 4, w.col * 4 : (w.col + w.width) * 4]
        assert area.min() >= overlap // 2 - 1
    # with fewer tiles than all those touching the area
    rects = [Window(w.row * 4, w.col * 4, w.height * 4, w.width * 4) for w in flagged]
    grid = TileGrid(shape, tile, overlap)
    touching = [t for t in grid if any(t.intersect(r) is not None for r in rects)]
    assert len(plan.tiles) < len(touching)


def test_valid_fraction_agrees_with_tilegrid_inside():
    from areoscan.scan.screen import valid_fraction

    rng = np.random.default_rng(2)
    fp = rng.random((300, 470)) < 0.6
    fp[:, :100] = False
    grid = TileGrid(fp.shape, 64)
    wins = grid.windows()
    frac = valid_fraction(fp, wins)
    for t in (0.25, 0.5, 0.9):
        assert [w for w, f in zip(wins, frac, strict=True) if f >= t] == grid.inside(fp, t)


def test_union_area_equals_the_rasterised_union():
    from areoscan.scan.windows import union_area

    rng = np.random.default_rng(3)
    wins = [Window(int(r), int(c), int(h), int(w))
            for r, c, h, w in rng.integers([0, 0, 1, 1], [300, 400, 120, 150], size=(40, 4))]  # fmt: skip
    full = np.zeros((420, 550), dtype=bool)
    for w in wins:
        full[w.slices] = True
    assert union_area(wins) == int(full.sum())
    assert union_area([]) == 0
    flagged = [Window(0, 0, 32, 32), Window(200, 300, 32, 32), Window(40, 40, 64, 64)]
    plan = plan_segmentation(flagged, 2, 0, (1024, 1536), tile=128, overlap=32, margin=64)
    assert plan.covered_px == sum(int(coverage(g).sum()) for g in plan.groups)
