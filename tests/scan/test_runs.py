"""Run-length components against scipy.ndimage, pixel for pixel, on random masks."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from areoscan.scan.clean import CleanParams, clean_regions, fill_small_holes, label_regions
from areoscan.scan.quant import NO_VALUE, quantise
from areoscan.scan.runs import Runs, pack, unpack

CROSS = ndi.generate_binary_structure(2, 1)


def _masks():
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (1, 70), (70, 1), (37, 130), (64, 64), (64, 128), (129, 257)]:
        for p in (0.0, 0.05, 0.45, 0.9, 1.0):
            m = rng.random(shape) < p
            yield ndi.binary_dilation(m, iterations=1) if p == 0.05 else m


def test_runs_round_trip_every_mask():
    for m in _masks():
        runs = Runs.from_mask(m)
        assert np.array_equal(unpack(pack(m), m.shape[1]), m)
        assert np.array_equal(runs.paint(np.zeros(m.shape, bool)), m), m.shape
        assert int(runs.lengths.sum()) == int(m.sum())
        bg = runs.complement(0, m.shape[0], 0, m.shape[1])
        assert np.array_equal(bg.paint(np.zeros(m.shape, bool)), ~m)
        assert np.array_equal(runs.union(bg).paint(np.zeros(m.shape, bool)), np.ones(m.shape, bool))
        assert len(runs.union(bg)) == m.shape[0]  # every row becomes one run


def test_components_equal_ndimage_label_and_order():
    for m in _masks():
        ref, n_ref = ndi.label(m, structure=CROSS)
        labels, n = label_regions(m)
        assert n == n_ref and np.array_equal(labels, ref), m.shape


def test_offsets_and_clipping():
    m = np.zeros((5, 9), bool)
    m[1, 2:7] = m[3, 0:9] = True
    runs = Runs.from_mask(m, row0=100, col0=50)
    assert (
        list(runs.row) == [101, 103] and list(runs.start) == [52, 50] and list(runs.end) == [57, 59]
    )
    out = runs.paint(np.zeros((2, 4), np.int32), row0=101, col0=54, values=np.array([7, 8]))
    assert out.tolist() == [[7, 7, 7, 0], [0, 0, 0, 0]]
    assert runs.take(runs.rows_between(102, 200)).row.tolist() == [103]


def _ref_holes(m, max_hole):
    holes, n = ndi.label(~m, structure=CROSS)
    size = np.bincount(holes.ravel(), minlength=n + 1)
    fill = size < max_hole
    fill[0] = False
    fill[np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]])] = False
    return m | fill[holes]


def test_fill_small_holes_equals_ndimage():
    for m in _masks():
        for max_hole in (1, 3, 50, 10_000):
            assert np.array_equal(fill_small_holes(m, max_hole), _ref_holes(m, max_hole))


def _ref_clean(q, p):
    m = (q >= round(p.threshold * 250)) & (q <= 250)
    if p.opening_px:
        m = ndi.binary_dilation(ndi.binary_erosion(m, CROSS, iterations=p.opening_px), CROSS,
                                iterations=p.opening_px)  # fmt: skip
    if p.max_hole_px:
        m = _ref_holes(m, p.max_hole_px)
    labels, n = ndi.label(m, structure=CROSS)
    size = np.bincount(labels.ravel(), minlength=n + 1)
    keep = size >= p.min_area_px
    keep[0] = False
    table = np.where(keep, np.cumsum(keep), 0)
    return table[labels], int(keep.sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_regions_equals_an_ndimage_pipeline(seed):
    rng = np.random.default_rng(seed)
    blobs = ndi.gaussian_filter(rng.random((300, 410)), 6)
    p = (blobs - blobs.min()) / np.ptp(blobs)
    q = quantise(p)
    q[rng.random(q.shape) < 0.01] = NO_VALUE
    q[:, :7] = NO_VALUE
    for params in [
        CleanParams(0.5, 2, 200, 300),
        CleanParams(0.6, 0, 0, 1),
        CleanParams(0.4, 4, 3200, 800),
    ]:
        labels, n = clean_regions(q, params)
        ref, n_ref = _ref_clean(q, params)
        assert n == n_ref and np.array_equal(labels, ref), params
