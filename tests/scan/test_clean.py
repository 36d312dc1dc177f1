import numpy as np

from areoscan.scan.clean import (
    CleanParams,
    binary_open_cross,
    clean_mask,
    clean_params,
    clean_regions,
    drop_small,
    fill_small_holes,
    label_regions,
)
from areoscan.scan.quant import NO_VALUE, NODATA, quantise


def _q(mask: np.ndarray) -> np.ndarray:
    return quantise(np.where(mask, 0.9, 0.1))


def test_params_follow_the_map_scale():
    a = clean_params(0.25, 0.5, min_area_m2=1000, max_hole_m2=200, opening_m=1.0)
    b = clean_params(0.5, 0.5, min_area_m2=1000, max_hole_m2=200, opening_m=1.0)
    assert (a.min_area_px, a.max_hole_px, a.opening_px) == (16000, 3200, 4)
    assert (b.min_area_px, b.max_hole_px, b.opening_px) == (4000, 800, 2)
    fast = clean_params(0.25, 0.5, min_area_m2=1000, fast=True)
    assert fast.opening_px == 0 and fast.max_hole_px == 0 and fast.min_area_px == a.min_area_px


def test_small_regions_dropped_large_kept():
    m = np.zeros((200, 200), dtype=bool)
    m[10:60, 10:60] = True  # 2500 px
    m[100:110, 100:110] = True  # 100 px
    labels, n = drop_small(m, 1000)
    assert n == 1 and labels.dtype == np.int32
    assert (labels[10:60, 10:60] == 1).all() and not labels[100:110, 100:110].any()


def test_only_small_enclosed_holes_are_filled():
    m = np.zeros((100, 100), dtype=bool)
    m[10:90, 10:90] = True
    m[20:25, 20:25] = False  # small hole
    m[40:80, 40:80] = False  # big hole
    m[0:5, 50:60] = False
    out = fill_small_holes(m, 100)
    assert out[20:25, 20:25].all()
    assert not out[40:80, 40:80].any()
    # background touching the border is never a hole, however small
    edge = np.ones((20, 20), dtype=bool)
    edge[0, 5] = False
    assert not fill_small_holes(edge, 100)[0, 5]


def test_opening_removes_speckle_and_thin_bridges():
    m = np.zeros((120, 200), dtype=bool)
    m[20:100, 10:90] = True
    m[20:100, 110:190] = True
    m[58:61, 90:110] = True  # 3-px bridge between the squares
    rng = np.random.default_rng(1)
    speck = rng.random(m.shape) < 0.01
    q = _q(m | speck)
    out = clean_mask(q, CleanParams(threshold=0.5, opening_px=2, max_hole_px=0, min_area_px=500))
    labels, n = label_regions(out)
    assert n == 2
    assert out[30:90, 20:80].all() and out[30:90, 120:180].all()


def test_no_value_and_nodata_pixels_are_never_coral():
    q = np.full((50, 50), quantise(np.array(0.9))[()], dtype=np.uint8)
    q[:, :10] = NO_VALUE
    q[:, 40:] = NODATA
    out = clean_mask(q, CleanParams(threshold=0.5, opening_px=0, max_hole_px=0, min_area_px=1))
    assert out[:, 10:40].all() and not out[:, :10].any() and not out[:, 40:].any()


def test_threshold_applies():
    q = quantise(np.tile(np.linspace(0, 1, 101, dtype=np.float32), (5, 1)))
    out = clean_mask(q, CleanParams(threshold=0.7, opening_px=0, max_hole_px=0, min_area_px=1))
    cols = np.flatnonzero(out[0])
    assert cols.min() == 70 and cols.max() == 100


def test_regions_are_numbered_consecutively():
    m = np.zeros((60, 200), dtype=bool)
    for k, c in enumerate(range(0, 200, 20)):
        m[5 : 10 + 4 * k, c : c + 10] = True  # growing areas: 50 .. 410 px
    labels, n = clean_regions(_q(m), CleanParams(threshold=0.5, opening_px=0, max_hole_px=0,
                                                 min_area_px=200))  # fmt: skip
    assert n == 6 and sorted(np.unique(labels)) == list(range(7))


def test_bit_packed_opening_equals_scipy():
    from scipy import ndimage as ndi

    rng = np.random.default_rng(5)
    cross = ndi.generate_binary_structure(2, 1)
    for shape in [(37, 130), (64, 64), (5, 3), (200, 257)]:
        m = ndi.binary_dilation(rng.random(shape) < 0.05, iterations=2) | (rng.random(shape) < 0.2)
        for r in (1, 2, 4):
            ref = ndi.binary_dilation(
                ndi.binary_erosion(m, cross, iterations=r), cross, iterations=r
            )
            assert np.array_equal(binary_open_cross(m, r), ref), (shape, r)
